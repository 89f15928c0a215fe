"""What the answer pipeline yields: progress events and the final :class:`Answer`.

Every front end (CLI, web app, Slack bot) consumes the same stream::

    for event in assistant.stream("can I fine-tune 13B on one A10?", "conv-1"):
        match event:
            case Token(text=t): ...          # streamed text (LLM mode; replaced by the final)
            case ToolStarted(name=n): ...    # a tool call began
            case ToolFinished(name=n, result=r): ...
            case Notice(text=t): ...         # fallback or correction, one line
            case Final(answer=a): ...        # authoritative answer; a.to_json() is the contract

``Answer.to_json()`` is the JSON contract of ``headroom ask --json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

Verdict = Literal["yes", "no", "borderline", "depends", "need_more_info"]
Backend = Literal["offline", "llm"]
UNDERSTOOD_PREFIXES = ("Understood:", "理解为：")


class Option(BaseModel):
    """One workload considered for the question, straight from the estimator."""

    workload: str
    fits: bool
    total_gib: float = Field(description="per GPU, what nvidia-smi would show")
    capacity_gib: float = Field(description="usable memory of one GPU")
    model: str = ""
    gpu: str = ""
    num_gpus: int = 1
    terms: dict[str, float] = Field(
        default_factory=dict, description="per-GPU GiB of each estimator term (PerGpu field "
        "names: weights_gib, kv_cache_gib, ...); empty when the tool gave only the total")


class Source(BaseModel):
    """A guide section the answer cites."""

    title: str
    path: str
    section: str = ""


class Figure(BaseModel):
    """A named number of the answer (number questions): e.g. the KV cache in GiB."""

    name: str
    gib: float


class Answer(BaseModel):
    """The final answer of one turn."""

    verdict: Verdict | None = Field(
        default=None, description="None for explanation and pure number questions")
    options: list[Option] = []
    answer: str = Field(description="Markdown")
    sources: list[Source] = []
    backend: Backend = "offline"
    request: dict[str, Any] = {}
    figures: list[Figure] = []
    notices: list[str] = []
    missing: list[str] = []
    lang: str = "en"
    kind: str | None = Field(default=None, description=(
        "what was asked: fit, why, concept, delta, compare, capacity, plan or other"))
    understood: dict[str, Any] = Field(default={}, description=(
        "the slots the answer used (canonical values: model id, workload, quant, gpu id, ...)"))
    counts: dict[str, int] = Field(default={}, description=(
        "counts the answer gives: users, tokens (longest context), batch"))

    def understood_line_first(self) -> bool:
        """True when the answer opens with what was understood (every answer but "other")."""
        return self.answer.lstrip("_*> ").startswith(UNDERSTOOD_PREFIXES)

    @property
    def body(self) -> str:
        """The answer after its understood line (the verdict comes first there)."""
        if not self.understood_line_first():
            return self.answer
        return self.answer.split("\n", 1)[1].lstrip("\n") if "\n" in self.answer else ""

    def to_json(self) -> dict[str, Any]:
        """The contract read by our checks (and a few helpful extras)."""
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class Token:
    """A piece of streamed answer text."""

    text: str


@dataclass(frozen=True)
class ToolStarted:
    """A tool call began."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    call_id: str = ""


@dataclass(frozen=True)
class ToolFinished:
    """A tool call ended; ``result`` is the text the model (or the composer) read."""

    name: str
    result: str
    ok: bool = True
    call_id: str = ""


@dataclass(frozen=True)
class Notice:
    """A one-line note for the user: fallback to offline, corrected figures."""

    text: str


@dataclass(frozen=True)
class Final:
    """The last event of a turn."""

    answer: Answer


Event = Token | ToolStarted | ToolFinished | Notice | Final
