"""The "choosing a GPU" guide page is generated from the catalog and must not drift."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_gpu_guide",
                                                  ROOT / "scripts" / "gen_gpu_guide.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_page_matches_the_catalog() -> None:
    gen = _generator()
    for lang, path in gen.OUT.items():
        assert path.read_text("utf-8") == gen.render(lang), (
            f"{path} is stale: run python scripts/gen_gpu_guide.py")


def test_every_catalog_gpu_is_listed_with_its_source() -> None:
    from tools.estimator.catalog import gpus

    gen = _generator()
    page = gen.render("en")
    for gpu in gpus():
        assert gpu.name in page
        if gpu.source_url:
            assert f"]({gpu.source_url})" in page


def test_rules_give_sane_ceilings() -> None:
    from tools.estimator.catalog import find_gpu

    gen = _generator()
    rtx4090, a100, a6000 = find_gpu("RTX 4090"), find_gpu("A100 80GB"), find_gpu("RTX A6000")
    assert 8.0 < gen.ceiling_b(rtx4090, "serve_bf16") < 10  # an 8B model serves in bf16
    assert gen.ceiling_b(rtx4090, "qlora") < 70 < gen.ceiling_b(a6000, "qlora")  # 70B QLoRA
    assert gen.ceiling_b(a100, "full") < 13  # no 13B full fine-tune on one 80 GB card
    assert gen.ceiling_b(a100, "full") > 1  # but a 1B model does
