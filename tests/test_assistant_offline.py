"""Offline answers: verdict first, a table, what to change, citations, and asking for what is
missing; every figure comes from the estimator; the answer survives a broken knowledge base."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fake_openai import make_assistant, shared_kb_settings

from assistant import Final, ToolFinished, ToolStarted
from assistant.ask import merge
from assistant.offline import compose
from assistant.parse import parse
from assistant.tools import Toolbox, ToolContext
from tools.estimator import estimate
from tools.probe import capacity_spec, local_capacity, parse_paste

FIXTURES = Path(__file__).parent / "fixtures" / "nvidia-smi"


def _box(**ctx: Any) -> Toolbox:
    return Toolbox(ToolContext(kb_settings=shared_kb_settings(), **ctx))


def test_fit_answer_has_verdict_table_changes_and_citations(tmp_path: Path) -> None:
    answer = make_assistant(tmp_path).ask("Can I LoRA fine-tune Llama-2-13B on one A10?")
    est = estimate(model="llama-2-13b", workload="lora", gpu="A10")
    assert answer.verdict == "no" and answer.backend == "offline"
    assert [(o.workload, o.fits, o.total_gib, o.capacity_gib) for o in answer.options] == [
        ("lora", False, est.total_gib, est.capacity_gib)]
    assert answer.understood_line_first()
    lines = answer.body.splitlines()
    assert lines[0].startswith("**No.**") and f"{est.total_gib:.2f} GiB" in lines[0]
    assert "| **total (nvidia-smi)** |" in answer.answer
    assert "**What to change**" in answer.answer
    assert "switch to QLoRA" in answer.answer
    assert answer.sources and all(s.path.startswith("knowledge/guide/en/") for s in answer.sources)
    assert f"]({answer.sources[0].path})" in answer.answer


def test_generic_fine_tune_considers_three_methods_and_shows_the_matrix(tmp_path: Path) -> None:
    answer = make_assistant(tmp_path).ask("Can I fine-tune Llama-2-13B on one A10?")
    fits = {o.workload: o.fits for o in answer.options}
    assert fits == {"full": False, "lora": False, "qlora": True}
    assert answer.verdict == "yes"
    assert answer.body.startswith("**Yes, with QLoRA.**")
    assert "| workload | fits | per GPU (GiB) | usable (GiB) | max batch | max seq |" in answer.answer
    assert any("qlora" in s.path for s in answer.sources)


def test_a_bare_size_is_judged_over_its_size_class(tmp_path: Path) -> None:
    answer = make_assistant(tmp_path).ask("Can I fine-tune a 13B model on one A10?")
    models = {o.model for o in answer.options}
    assert len(models) >= 4  # the catalog's 13B-class models, not one synthetic shape
    qlora = [o for o in answer.options if o.workload == "qlora"]
    verdict = "yes" if all(o.fits for o in qlora) else "depends" if any(o.fits for o in qlora) \
        else "no"
    assert answer.verdict == verdict
    first = answer.body.splitlines()[0]
    assert "with QLoRA" in first and "13B" in first
    assert "LoRA: " in answer.answer and "full fine-tuning: " in answer.answer


def test_nothing_fits_gives_suggestions_for_the_cheapest_method(tmp_path: Path) -> None:
    answer = make_assistant(tmp_path).ask("Can I fine-tune a 70B model on one RTX 4090?")
    assert answer.verdict == "no"
    assert "**What to change**" in answer.answer
    assert "GPUs with ZeRO-3" in answer.answer


def test_chinese_question_gets_a_chinese_answer_and_chinese_sources(tmp_path: Path) -> None:
    answer = make_assistant(tmp_path).ask("单卡RTX 4090能用QLoRA微调Qwen2.5-7B吗?")
    assert answer.verdict == "yes" and answer.lang == "zh"
    assert answer.body.startswith("**可以。**")
    assumptions = next(b for b in answer.answer.split("\n\n") if b.startswith("假设："))
    assert "序列长度" in assumptions and "sequence length" not in assumptions
    assert "| 每张卡 | GiB |" in answer.answer
    assert answer.sources and all("/zh/" in s.path for s in answer.sources)


def test_every_figure_of_an_offline_answer_comes_from_a_tool() -> None:
    from assistant.grounding import check

    for question in ("Can I serve Llama-3-8B to 20 users with 4k context on an A10?",
                     "Can I fine-tune Llama-3-70B on 8x A100 80GB?",
                     "How much memory do the weights of Llama-3-8B take in bf16?",
                     "单张A10能用LoRA微调Llama-2-13B吗?"):
        box = _box()
        answer = compose(merge(None, parse(question)), box)
        grounding = check(answer.answer, box.results, [question])
        assert grounding.figures and grounding.ok, (question, grounding)


def test_number_question_reports_the_figure(tmp_path: Path) -> None:
    answer = make_assistant(tmp_path).ask(
        "How much memory does the KV cache of Llama-3-8B take at 8k context in bf16?")
    assert answer.verdict is None and answer.options == []
    assert [f.name for f in answer.figures] == ["kv_cache"]
    assert answer.figures[0].gib == pytest.approx(1.0, abs=0.01)
    assert answer.body.startswith("**KV cache: 1.00 GiB**")


@pytest.mark.parametrize(("question", "missing", "words"), [
    ("Can I fine-tune Llama-3-8B?", ["gpu"], "Which GPU, and how many?"),
    ("Can I run Llama 3 on a 4090?", ["model_size"], "Llama 3 8B"),
    ("Can I run it on my GPU?", ["model", "gpu"], "Which model?"),
    ("能微调Qwen2.5-7B吗?", ["gpu"], "哪种显卡"),
])
def test_asks_for_exactly_what_is_missing(tmp_path: Path, question: str, missing: list[str],
                                          words: str) -> None:
    answer = make_assistant(tmp_path).ask(question)
    assert answer.verdict == "need_more_info"
    assert answer.missing == missing
    assert words in answer.answer
    assert answer.options == []


def test_explanation_cites_the_guide(tmp_path: Path) -> None:
    answer = make_assistant(tmp_path).ask("What does ZeRO stage 2 shard?")
    assert answer.verdict is None
    assert any("zero" in s.path for s in answer.sources)
    assert "(knowledge/guide/en/zero.md)" in answer.answer


@pytest.mark.parametrize("error", [RuntimeError("index is corrupt"), ImportError("chromadb")])
def test_answers_without_citations_when_the_knowledge_base_fails(tmp_path: Path,
                                                                 error: Exception) -> None:
    def broken(*args: Any, **kwargs: Any) -> list[Any]:
        raise error

    assistant = make_assistant(tmp_path)
    assistant.context.search = broken
    answer = assistant.ask("Can I QLoRA Llama-2-13B on an A10?")
    assert answer.verdict == "yes" and answer.sources == []
    assert "**Sources**" not in answer.answer
    explained = assistant.ask("What is PagedAttention?")  # quoted from the packaged guide pages
    assert [s.path for s in explained.sources] == ["knowledge/guide/en/vllm.md"]
    assert "PagedAttention" in explained.body


def test_pasted_nvidia_smi_sizes_for_those_gpus(tmp_path: Path) -> None:
    paste = (FIXTURES / "h100_table_wilicc-gpu-burn-114.txt").read_text()
    answer = make_assistant(tmp_path).ask("Can I run Llama-3-8B in bf16 here?\n" + paste)
    free = capacity_spec(local_capacity(parse_paste(paste))).usable_gib
    assert free < 10  # a busy machine: other processes hold most of each card
    assert answer.verdict == "no"
    assert answer.options[0].num_gpus == 2
    assert answer.options[0].capacity_gib == pytest.approx(free, abs=0.01)


def test_my_gpu_uses_the_probe_when_allowed(tmp_path: Path) -> None:
    paste = (FIXTURES / "rtx4090_table_RLinf-255.txt").read_text()
    assistant = make_assistant(tmp_path)
    assistant.context.local_probe = lambda: parse_paste(paste)
    answer = assistant.ask("Can I QLoRA Llama-3-8B on my GPU?")
    assert answer.verdict == "yes"
    assert answer.options[0].gpu == "NVIDIA GeForce RTX 4090"
    assistant.context.local_probe = None
    asked = assistant.ask("Can I QLoRA Llama-3-8B on my GPU?", "other")
    assert asked.verdict == "need_more_info" and asked.missing == ["gpu"]


def test_stream_shows_tool_progress_then_the_final_answer(tmp_path: Path) -> None:
    events = list(make_assistant(tmp_path).stream("Can I run Llama-3-8B on a T4?", "c1"))
    assert isinstance(events[-1], Final)
    started = [e.name for e in events if isinstance(e, ToolStarted)]
    finished = [e.name for e in events if isinstance(e, ToolFinished)]
    assert started == finished == ["estimate_memory", "search_guide"]


def test_conversation_survives_a_restart(tmp_path: Path) -> None:
    make_assistant(tmp_path).ask("Can I LoRA fine-tune Llama-2-13B on one A10?", "conv")
    again = make_assistant(tmp_path)  # a new process would build a new instance like this
    answer = again.ask("what about two of them?", "conv")
    assert answer.verdict == "yes"
    assert [(o.workload, o.num_gpus) for o in answer.options] == [("lora", 2)]
    history = again.store.history("conv")
    assert [t.role for t in history] == ["user", "assistant", "user", "assistant"]


def test_answers_are_fast_after_start_up(tmp_path: Path) -> None:
    """A regression guard (e.g. an index rebuilt per answer); the 200 ms target is measured by
    `headroom bench answers` on an idle machine, not asserted under shared CI load."""
    assistant = make_assistant(tmp_path)
    assistant.ask("Can I run a 7B model on an A10?", "warm")
    times = []
    for q in ("Can I fine-tune a 13B model on one A10?", "Can I serve Qwen2.5-7B on a 4090?",
              "70B模型在一张A100 80G上用FP16推理可以吗?", "What is PagedAttention in vLLM?"):
        start = time.perf_counter()
        assistant.ask(q)
        times.append(time.perf_counter() - start)
    assert sorted(times)[len(times) // 2] < 1.0, times


def test_which_gpu_questions_get_a_ranked_plan(tmp_path: Path) -> None:
    answer = make_assistant(tmp_path).ask("How many H100s do I need to serve Llama-3.1-405B in bf16?")
    assert answer.verdict == "yes" and answer.options[0].workload == "serve"
    assert answer.options[0].gpu == "NVIDIA H100 SXM5" and answer.options[0].num_gpus >= 8
    assert answer.body.startswith("**Yes: ") and "| # | option |" in answer.answer


def test_a_plan_for_a_method_that_never_fits_says_no_and_shows_the_others(tmp_path: Path) -> None:
    answer = make_assistant(tmp_path).ask("How many T4s do I need to full fine-tune Llama-3-70B?")
    assert answer.verdict == "no" and answer.options == []
    assert "**What to change**" in answer.answer and "QLoRA" in answer.answer


def test_a_crashing_tool_does_not_take_the_answer_down(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import tools.estimator.plan as planner

    def broken(*args: Any, **kwargs: Any) -> None:
        raise AttributeError("planner under construction")

    monkeypatch.setattr(planner, "plan", broken)
    answer = make_assistant(tmp_path).ask("Which GPU do I need to fine-tune Llama-3-70B?")
    assert answer.verdict == "need_more_info"
    assert "plan_gpus tool failed" in answer.answer
