"""Negation with scope: every switch, every negation form, English and Chinese (issue 12).

Properties: for each switch and each form, the negated phrasing yields the switch off (even where
the default would turn it on), the answer never reports a negated setting as on, and a negation's
scope ends where the sentence turns ("without offload but with ZeRO-3" keeps ZeRO-3).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fake_openai import make_assistant
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant import Assistant
from assistant.ask import Ask
from assistant.parse import parse

Check = Callable[[Ask], bool]

# switch -> (English mention, Chinese mention, base kind, "is off" on the parsed question)
SWITCHES: dict[str, tuple[str, str, str, Check]] = {
    "quantization": ("quantization", "量化", "infer", lambda a: a.quant == "none"),
    "4-bit": ("4-bit", "4bit", "infer", lambda a: a.quant == "none"),
    "int8": ("int8", "int8", "infer", lambda a: a.quant == "none"),
    "gptq": ("GPTQ", "GPTQ", "infer", lambda a: a.quant == "none"),
    "awq": ("AWQ", "AWQ", "infer", lambda a: a.quant == "none"),
    "gguf": ("GGUF", "GGUF", "infer", lambda a: a.quant == "none"),
    "fp8": ("fp8", "fp8", "infer", lambda a: a.quant == "none"),
    "offload": ("CPU offload", "CPU offload", "train", lambda a: a.offload == "none"),
    "deepspeed": ("DeepSpeed", "DeepSpeed", "train", lambda a: a.zero_stage == 0),
    "zero": ("ZeRO-3", "ZeRO-3", "train", lambda a: a.zero_stage == 0),
    "fsdp": ("FSDP", "FSDP", "train", lambda a: a.zero_stage == 0),
    "flash": ("flash attention", "flash attention", "train", lambda a: a.flash_attn is False),
    "ckpt": ("gradient checkpointing", "梯度检查点", "train", lambda a: a.grad_ckpt is False),
    "lora": ("LoRA", "LoRA", "tune", lambda a: "lora" not in a.considered()),
    "vllm": ("vLLM", "vLLM", "serve", lambda a: a.engine != "vllm"),
    "tp": ("tensor parallel", "张量并行", "infer", lambda a: a.tensor_parallel == 1),
}
EN_FORMS = ["without {m}", "no {m}", "not using {m}", "w/o {m}", "{m} disabled", "{m} off",
            "turn off {m}", "skip {m}", "don't use {m}", "disable {m}", "{m} turned off"]
ZH_FORMS = ["不用{m}", "不要{m}", "不开{m}", "无{m}", "没有{m}", "关闭{m}", "禁用{m}", "不做{m}", "别用{m}"]
EN_BASE = {
    "infer": "Can I run Llama-3.1-70B on 2x H100, {neg}?",
    "train": "Can I full fine-tune Llama-3.1-8B on 4x A100 80GB, {neg}?",
    "tune": "Can I fine-tune Llama-3.1-8B on one A100 80GB, {neg}?",
    "serve": "Can I serve Llama-3.1-8B to 8 users on one A10, {neg}?",
}
ZH_BASE = {
    "infer": "两张 H100 推理 Llama-3.1-70B，{neg}，能跑吗？",
    "train": "4 张 A100 80GB 全参微调 Llama-3.1-8B，{neg}，能放下吗？",
    "tune": "一张 A100 80GB 微调 Llama-3.1-8B，{neg}，可以吗？",
    "serve": "一张 A10 部署 Llama-3.1-8B 给 8 个人用，{neg}，行吗？",
}


def _question(switch: str, form: str, lang: str) -> str:
    en, zh, base, _ = SWITCHES[switch]
    mention = zh if lang == "zh" else en
    return (ZH_BASE if lang == "zh" else EN_BASE)[base].format(neg=form.format(m=mention))


@pytest.mark.parametrize("switch", list(SWITCHES))
@pytest.mark.parametrize("form", EN_FORMS)
def test_every_english_negation_form_turns_every_switch_off(switch: str, form: str) -> None:
    q = _question(switch, form, "en")
    assert SWITCHES[switch][3](parse(q)), q


@pytest.mark.parametrize("switch", list(SWITCHES))
@pytest.mark.parametrize("form", ZH_FORMS)
def test_every_chinese_negation_form_turns_every_switch_off(switch: str, form: str) -> None:
    q = _question(switch, form, "zh")
    assert SWITCHES[switch][3](parse(q)), q


@pytest.mark.parametrize("word", ["unquantized", "non-quantized", "not quantized", "un-quantized",
                                  "without any quantization", "不量化", "原版 bf16", "未量化"])
def test_words_that_negate_themselves(word: str) -> None:
    ask = parse(f"Mistral-Small-24B on an RTX 5090, {word}?")
    assert ask.quant == "none", word


@pytest.mark.parametrize(("question", "slot", "value"), [
    ("Full fine-tune Llama-3.1-8B on 4x A100 80GB without offload but with ZeRO-3", "zero_stage", 3),
    ("Full fine-tune Llama-3.1-8B on 4x A100 80GB, no ZeRO, just CPU offload", "offload",
     "optimizer"),
    ("Run Llama-3.1-70B on 2x H100 without tensor parallel, in 4-bit AWQ", "quant", "awq-4"),
    ("不用DeepSpeed也不用CPU offload，4 张 A100 80GB 全参 Llama-3.1-8B", "offload", "none"),
    ("4 张 A100 80GB 全参 Llama-3.1-8B，不开 offload，但是用 ZeRO-3", "zero_stage", 3),
    ("I'm not sure about quantization; can Llama-3.1-8B run in 4-bit on a T4?", "quant", "nf4"),
])
def test_scope_ends_where_the_sentence_turns(question: str, slot: str, value: object) -> None:
    assert getattr(parse(question), slot) == value


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    assistant: Assistant = make_assistant(Path(tmp_path_factory.mktemp("neg")))
    return assistant


_REPORTED_OFF: dict[str, Callable[[dict[str, object]], bool]] = {
    "quant": lambda u: u.get("quant") in (None, "none"),
    "offload": lambda u: u.get("offload") in (None, "none"),
    "zero_stage": lambda u: u.get("zero_stage") in (None, 0),
    "flash_attn": lambda u: u.get("flash_attn") is not True,
    "grad_ckpt": lambda u: u.get("grad_ckpt") is not True,
    "engine": lambda u: u.get("engine") != "vllm",
    "tensor_parallel": lambda u: u.get("tensor_parallel") in (None, 1),
}
_SLOT = {"quantization": "quant", "4-bit": "quant", "int8": "quant", "gptq": "quant",
         "awq": "quant", "gguf": "quant", "fp8": "quant", "offload": "offload",
         "deepspeed": "zero_stage", "zero": "zero_stage", "fsdp": "zero_stage",
         "flash": "flash_attn", "ckpt": "grad_ckpt", "vllm": "engine", "tp": "tensor_parallel"}


@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(switch=st.sampled_from(sorted(_SLOT)), lang=st.sampled_from(["en", "zh"]),
       data=st.data())
def test_no_answer_reports_a_setting_the_question_negated(assistant: Assistant, switch: str,
                                                         lang: str, data: st.DataObject) -> None:
    form = data.draw(st.sampled_from(ZH_FORMS if lang == "zh" else EN_FORMS))
    q = _question(switch, form, lang)
    answer = assistant.ask(q, f"neg-{switch}-{lang}-{form}")
    assert _REPORTED_OFF[_SLOT[switch]](answer.understood), (q, answer.understood)
    assert answer.understood_line_first() and answer.lang == lang
