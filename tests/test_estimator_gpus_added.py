"""The GPUs added for issue 12: names people type, sources, usable memory, and memory-only cards.

``scripts/data/gpus_added.jsonl`` is the source of these entries (``scripts/import_gpus.py`` turns it
into ``data/gpus.toml``); the tests read it to know which cards were added, then check the catalog.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.estimator import UnknownGpuError, estimate, find_gpu, fit_matrix, gpus, make_request
from tools.estimator.perf import speed
from tools.estimator.plan import plan
from tools.estimator.resolve import resolve

ADDED = Path(__file__).resolve().parent.parent / "scripts" / "data" / "gpus_added.jsonl"
ROWS = [json.loads(line) for line in ADDED.read_text("utf-8").splitlines() if line.strip()]

# what people type (English, Slack-style, nvidia-smi and Chinese-style names) -> catalog id
NAMES = {
    "rtx-2080-ti": ["RTX 2080 Ti", "2080ti", "2080 Ti", "GeForce RTX 2080 Ti", "rtx2080ti"],
    "titan-rtx": ["Titan RTX", "NVIDIA TITAN RTX", "titanrtx"],
    "rtx-3060-12gb": ["3060", "RTX 3060", "3060 12gb", "3060 12G", "RTX3060 12GB",
                      "NVIDIA GeForce RTX 3060"],
    "rtx-3060-ti": ["3060 Ti", "RTX 3060Ti"],
    "rtx-3070": ["3070", "RTX 3070", "GeForce RTX 3070"],
    "rtx-3080-10gb": ["3080", "RTX 3080", "3080 10GB", "3080 10G"],
    "rtx-3080-12gb": ["3080 12GB", "RTX 3080 12G", "rtx 3080 12gb"],
    "rtx-3080-ti": ["3080 Ti", "RTX 3080Ti"],
    "rtx-4060-ti-8gb": ["4060 Ti", "4060ti", "RTX 4060 Ti 8GB"],
    "rtx-4060-ti-16gb": ["4060 Ti 16GB", "4060ti 16g", "RTX 4060 Ti 16G"],
    "rtx-4070": ["4070", "RTX 4070"],
    "rtx-4070-ti": ["4070 Ti", "4070ti", "RTX 4070 Ti"],
    "rtx-4070-ti-super": ["4070 Ti Super", "RTX 4070 Ti SUPER", "4070tis"],
    "rtx-4080-super": ["4080 Super", "4080S", "NVIDIA GeForce RTX 4080 SUPER"],
    "rtx-5070": ["5070", "RTX 5070"],
    "rtx-5070-ti": ["5070 Ti", "RTX 5070Ti"],
    "rtx-5080": ["5080", "RTX 5080", "GeForce RTX 5080"],
    "p40": ["p40", "P40", "Tesla P40", "P40 24G"],
    "p100-16gb-pcie": ["P100", "Tesla P100", "P100 16GB", "Tesla P100-PCIE-16GB"],
    "p100-12gb-pcie": ["P100 12GB", "Tesla P100-PCIE-12GB"],
    "a2": ["A2", "NVIDIA A2", "a2 16g"],
    "rtx-a4000": ["a4000", "RTX A4000", "NVIDIA RTX A4000"],
    "rtx-a4500": ["a4500", "RTX A4500"],
    "rtx-a5000": ["a5000", "RTX A5000"],
    "rtx-5000-ada-generation": ["RTX 5000 Ada", "rtx 5000 ada", "NVIDIA RTX 5000 Ada Generation"],
    "l20": ["L20", "NVIDIA L20", "l20 48g"],
    "mi210": ["MI210", "mi210", "AMD Instinct MI210"],
    "mi250x": ["MI250X", "mi250x", "AMD Instinct MI250X"],
}
# already in the catalog, asked about under these names
EXISTING = {
    "rtx-3090-ti": ["3090 Ti", "3090ti"],
    "rtx-4080": ["4080", "RTX 4080"],
    "rtx-6000-ada-generation": ["rtx 6000 ada", "RTX 6000 Ada Generation"],
    "intel-gaudi-2": ["gaudi2", "Gaudi 2", "Intel Gaudi 2", "Habana Gaudi2"],
    "intel-gaudi-3": ["gaudi3", "Gaudi 3", "Habana Gaudi3"],
}
MEMORY_ONLY = ("p40", "l20")  # no sourced 16-bit TFLOPS


def test_every_added_card_is_in_the_catalog_with_its_source() -> None:
    by_name = {g.name: g for g in gpus()}
    assert {n for n in NAMES} == {by_name[r["name"]].id for r in ROWS}
    for r in ROWS:
        g = by_name[r["name"]]  # KeyError: gpus.toml was not regenerated
        assert g.source_url == r["source_url"] and g.source_url.startswith("https://"), g.id
        assert g.memory_gib == r["memory_gib"] and 0 < g.usable_gib < g.memory_gib, g.id


@pytest.mark.parametrize(("gpu_id", "name"),
                         [(i, n) for i, names in {**NAMES, **EXISTING}.items() for n in names])
def test_common_names_resolve(gpu_id: str, name: str) -> None:
    assert find_gpu(name).id == gpu_id


@pytest.mark.parametrize(("name", "gpu_id", "says"), [
    ("3080", "rtx-3080-10gb", "RTX 3080 12GB"),
    ("RTX 3060", "rtx-3060-12gb", "8 GB RTX 3060 is not in the catalog"),
    ("4060 Ti", "rtx-4060-ti-8gb", "RTX 4060 Ti 16GB"),
    ("P100", "p100-16gb-pcie", "P100 12GB"),
    ("RTX 6000", "rtx-6000-ada-generation", "Quadro RTX 6000"),
])
def test_a_name_for_several_cards_takes_one_and_says_so(name: str, gpu_id: str, says: str) -> None:
    e = estimate(model="llama-3.2-1b", gpu=name, suggest=False)
    assert e.gpu_id == gpu_id
    assert any(says in a for a in e.assumptions), e.assumptions


@pytest.mark.parametrize(("name", "suggested"), [
    ("3060 8GB", "3060"),  # not silently the 12 GB card
    ("RTX 5000", "RTX 5000 Ada"),  # Quadro RTX 5000 (16 GB) or RTX 5000 Ada (32 GB)
    ("4070 Super", "4070"),
])
def test_a_size_or_card_the_catalog_lacks_is_an_error_with_the_nearest(name: str, suggested: str) -> None:
    with pytest.raises(UnknownGpuError) as e:
        find_gpu(name)
    assert suggested in str(e.value)


@pytest.mark.parametrize(("gpu_id", "usable"), [
    ("rtx-3060-12gb", 12 - 0.42),  # consumer GDDR: nominal minus 0.42 GiB
    ("rtx-2080-ti", 11 - 0.42),
    ("rtx-5080", 16 - 0.42),
    ("rtx-a4000", 16 * 15 / 16 - 0.4),  # pro/data-centre GDDR with ECC on
    ("rtx-5000-ada-generation", 32 * 15 / 16 - 0.4),
    ("a2", 16 * 15 / 16 - 0.4),
    ("l20", 48 * 15 / 16 - 0.4),
    ("p40", 24 * 15 / 16 - 0.4),
    ("p100-16gb-pcie", 16 * 0.99),  # HBM: ~99% visible
    ("mi210", 64 * 0.99),
])
def test_usable_memory_follows_the_catalog_rule(gpu_id: str, usable: float) -> None:
    assert find_gpu(gpu_id).usable_gib == pytest.approx(usable, abs=0.01)


@pytest.mark.parametrize("gpu_id", list(NAMES))
def test_estimate_and_fit_run_on_every_added_card(gpu_id: str) -> None:
    g = find_gpu(gpu_id)
    e = estimate(model="llama-3.2-1b", workload="qlora", gpu=gpu_id, suggest=False)
    assert e.capacity_gib == pytest.approx(g.usable_gib) and e.total_gib > 0
    assert e.fits == (e.total_gib <= e.capacity_gib)
    m = fit_matrix("llama-3.2-1b", gpu=gpu_id)
    assert {r.workload for r in m.rows} >= {"full", "lora", "qlora", "inference", "serve"}
    assert all(r.capacity_gib == pytest.approx(g.usable_gib) for r in m.rows)
    # a 1B model's inference fits on every one of these cards (>= 7.5 GiB usable)
    assert next(r for r in m.rows if r.workload == "inference").fits


@pytest.mark.parametrize("gpu_id", MEMORY_ONLY)
def test_memory_only_cards_say_what_speed_they_cannot_estimate(gpu_id: str) -> None:
    assert not find_gpu(gpu_id).has_compute and find_gpu(gpu_id).has_bandwidth
    req = {"model": "llama-3.2-1b", "workload": "lora", "gpu": gpu_id}
    sp = speed(resolve(make_request(**req)), estimate(**req, suggest=False))
    assert sp.train_tokens_per_s is None
    assert any("training tokens/s not estimated" in n and find_gpu(gpu_id).name in n
               for n in sp.not_estimated)
    assert not any("TFLOPS x MFU" in f for f in sp.formulas)  # no "0e12" formula
    serve = {"model": "llama-3.2-1b", "workload": "serve", "gpu": gpu_id}
    sp = speed(resolve(make_request(**serve)), estimate(**serve, suggest=False))
    assert sp.decode_tokens_per_s and sp.prefill_tokens_per_s is None  # bandwidth is sourced


def test_a_card_with_compute_reports_nothing_missing() -> None:
    req = {"model": "llama-3.2-1b", "workload": "lora", "gpu": "RTX 3060"}
    sp = speed(resolve(make_request(**req)), estimate(**req, suggest=False))
    assert sp.train_tokens_per_s and sp.not_estimated == []


def test_plan_ranks_memory_only_cards_last_for_speed_and_says_why() -> None:
    p = plan("llama-3.2-1b", goal="fine-tune", gpus=["P40", "RTX 3060", "L20"], max_gpus=1,
             objective="fastest", top=20)
    assert {o.gpu_id for o in p.options} == {"p40", "rtx-3060-12gb", "l20"}
    rated = [o for o in p.options if o.speed.train_tokens_per_s]
    assert rated and all(o.gpu_id == "rtx-3060-12gb" for o in rated)
    assert p.options[: len(rated)] == rated  # cards with a speed come first
    assert any("speed ranking skips" in a and "Tesla P40" in a and "L20" in a for a in p.assumptions)
    assert all("speed not estimated" in o.why for o in p.options if o.gpu_id in MEMORY_ONLY)
    # the other objectives plan on them as usual
    assert plan("llama-3.2-1b", goal="inference", gpus=["P40"], max_gpus=1).options
