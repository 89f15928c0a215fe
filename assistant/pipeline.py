"""The one answer pipeline used by the CLI, the web app and the Slack bot.

    assistant = Assistant()                       # settings from the environment / config file
    for event in assistant.stream("can I fine-tune 13B on one A10?", "conv-1"):
        ...                                       # Token, ToolStarted, ToolFinished, Notice, Final
    assistant.ask("and with two of them?", "conv-1").to_json()

LLM mode runs when an endpoint is configured (``HEADROOM_LLM_BASE_URL``); the verdict and the
options then come from the tool results, the grounding check guards the figures, and every
failure ends in the offline answer with a one-line notice. Offline mode parses the question
deterministically and calls the same tools. Both remember the conversation per id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Iterator
from dataclasses import replace
from typing import Any, Literal

from pydantic import ValidationError

from . import citing, guard, offline
from . import lexicon as lx
from .ask import Ask, merge
from .checked import Checker, Gate, Removal
from .config import ConfigError, Settings, load_settings
from .db import StoreError
from .events import Answer, Event, Final, Notice, Option, Token, ToolFinished, ToolStarted
from .memory import ConversationStore, open_store
from .parse import parse, split_paste
from .tools import TOOLS, Toolbox, ToolContext, ToolResult

log = logging.getLogger("headroom.assistant")
BackendChoice = Literal["auto", "offline", "llm"]
PASTE_KEEP = 20_000
"""Characters of a pasted nvidia-smi output kept in the conversation for follow-ups."""
NOTICES = {
    "en": {"fallback": "The language model did not answer ({why}); this is the offline answer.",
           "corrected": "Removed from the model's reply: {figs}, which the estimator does not "
           "give; the figures shown come from the tool results.",
           "untooled": "The model answered without the estimator; this is the offline answer.",
           "contradicted": "The model said {said!r} but the estimator says {verdict!r}; that "
           "sentence was removed.",
           "placeholder": "The model referred to figures the tools did not produce ({figs}); "
           "that sentence was removed.",
           "guarded": "A sentence of the model's reply quoted its instructions or a secret and "
           "was removed.",
           "unsaved": "This turn was not saved to the conversation history ({why}); a follow-up "
           "may not remember it."},
    "zh": {"fallback": "语言模型没有给出回答（{why}），以下是离线回答。",
           "corrected": "已从模型回复中删除：{figs}（估算工具没有给出这个数字）；显示的数字都来自工具结果。",
           "untooled": "模型没有调用估算工具，以下是离线回答。",
           "contradicted": "模型的结论（{said}）与估算工具（{verdict}）相反，该句已删除。",
           "placeholder": "模型引用了工具没有给出的数字（{figs}），该句已删除。",
           "guarded": "模型回复中有一句引用了系统指令或密钥，已删除。",
           "unsaved": "本轮对话未能保存到对话记录（{why}），后续追问可能无法引用它。"},
}


class Assistant:
    """Answers questions; one instance serves many conversations (thread-safe store)."""

    def __init__(self, settings: Settings | None = None, *, store: ConversationStore | None = None,
                 backend: BackendChoice = "auto", context: ToolContext | None = None,
                 allow_local_probe: bool = False) -> None:
        self.settings = settings or load_settings()
        if backend == "llm" and not self.settings.llm_enabled:
            raise ConfigError("the LLM backend needs an endpoint: set HEADROOM_LLM_BASE_URL "
                              "(e.g. https://api.openai.com/v1 or http://localhost:11434/v1)")
        self.store = store if store is not None else open_store(self.settings)
        self.backend = backend
        self.context = context or ToolContext()
        if allow_local_probe and self.context.local_probe is None:
            from tools.probe import probe_local

            self.context = replace(self.context, local_probe=probe_local)

    @property
    def uses_llm(self) -> bool:
        return self.backend == "llm" or (self.backend == "auto" and self.settings.llm_enabled)

    def ask(self, message: str, conversation_id: str = "default") -> Answer:
        """The final answer of one turn (the stream, consumed)."""
        answer = None
        for event in self.stream(message, conversation_id):
            if isinstance(event, Final):
                answer = event.answer
        assert answer is not None
        return answer

    def stream(self, message: str, conversation_id: str = "default") -> Iterator[Event]:
        """Answer one message of a conversation, yielding progress events and then Final."""
        message = message.encode("utf-8", "replace").decode("utf-8")  # lone surrogates
        refusal = guard.too_long(message)
        if refusal is not None:
            lang = "zh" if re.search(r"[\u3400-\u9fff]", message[:2000]) else "en"
            text = guard.too_long_text(message, lang)
            yield Notice(text)
            yield Final(Answer(verdict="need_more_info", answer=text, notices=[text], lang=lang,
                               kind="other", missing=["a shorter message"]))
            return
        question, paste = split_paste(message)
        new = parse(question)
        if paste:
            new = new.model_copy(update={"paste": paste[:PASTE_KEEP]})
            if not question.strip() or new.kind == "other":
                new = new.model_copy(update={"kind": "fit", "intent": "fit"})
        ask = merge(self._state(conversation_id), new)
        box = Toolbox(replace(self.context))
        if self.uses_llm:
            answer = yield from self._llm(message, conversation_id, ask, box)
        else:
            ask = self._gpus_from_machine(ask, ask.paste, box)
            answer = yield from self._offline(ask, "", box)
        try:
            self._remember(conversation_id, message, ask, answer)
        except Exception as e:  # noqa: BLE001 - a store failure (locked, disk full) keeps the answer
            log.warning("conversation %s not saved: %s", conversation_id, e)
            notes = NOTICES[ask.lang if ask.lang in NOTICES else "en"]
            notice = notes["unsaved"].format(why=_one_line(e))
            yield Notice(notice)
            answer = answer.model_copy(update={"notices": [*answer.notices, notice]})
        yield Final(answer)

    # ------------------------------------------------------------------ offline

    def _offline(self, ask: Ask, paste: str, box: Toolbox) -> Generator[Event, None, Answer]:
        ask = self._gpus_from_machine(ask, paste, box)
        answer = offline.compose(ask, box)
        yield from box.events()
        return answer

    def _gpus_from_machine(self, ask: Ask, paste: str, box: Toolbox) -> Ask:
        """Pasted tool output (this message's or an earlier one's) or "my GPU": size for those
        cards (their free memory); "GPU 1" or "the free one" picks one of them."""
        if paste and ask.gpu in (None, "pasted") and ask.gpu_memory_gb is None:
            result = box.call("read_gpu_paste", {"text": paste})
            if result.ok and result.data.ok:
                gpus = list(result.data.gpus)
                if lx.WHEN_FREED.search(ask.query.lower()):
                    # "once GPU 1's job finishes", "杀掉那个进程以后": sized on the whole card
                    gpus = [g.model_copy(update={"used_bytes": 0, "free_bytes": g.total_bytes,
                                                 "processes": ()}) for g in gpus]
                    box.ctx.pasted = result.data = result.data.model_copy(update={"gpus": gpus})
                picked = _pick(gpus, ask.gpu_pick) if (ask.num_gpus or 1) == 1 else None
                if picked is not None:
                    box.ctx.pasted = result.data.model_copy(update={"gpus": [picked]})
                    return ask.model_copy(update={
                        "gpu": "pasted", "gpu_name": f"GPU {picked.index}: {picked.name}",
                        "gpu_memory_gb": None, "gpu_local": False, "num_gpus": 1})
                count = sum(1 for g in gpus if g.name == gpus[0].name)
                return ask.model_copy(update={"gpu": "pasted", "gpu_name": "pasted GPUs",
                                              "gpu_memory_gb": None, "gpu_local": False,
                                              "num_gpus": ask.num_gpus or count})
        if ask.gpu_local and not ask.gpu:
            if self.context.local_probe is None:
                return ask.model_copy(update={"gpu_local": False})
            result = box.call("probe_local_gpus", {})
            if not (result.ok and result.data.ok):
                return ask.model_copy(update={"gpu_local": False})
            count = sum(1 for g in result.data.gpus if g.name == result.data.gpus[0].name)
            return ask.model_copy(update={"num_gpus": ask.num_gpus or count})
        return ask

    # ------------------------------------------------------------------ LLM

    def _llm(self, message: str, conversation_id: str, ask: Ask,
             box: Toolbox) -> Generator[Event, None, Answer]:
        """One LLM turn, checked before shown: the model's text reaches the front ends only in
        sentences that passed :class:`~assistant.checked.Checker` (figures, fit claims, secrets,
        the system prompt), after the understood and verdict lines rendered from the tools."""
        from .agent import LlmFailure, run_agent

        try:
            history = self.store.history(conversation_id)
        except Exception as e:  # an unreadable store must not cost the answer
            log.warning("conversation history unavailable: %s", type(e).__name__)
            history = []
        names = [t.name for t in TOOLS if t.name != "probe_local_gpus" or
                 self.context.local_probe is not None]
        notes = NOTICES[ask.lang if ask.lang in NOTICES else "en"]
        secrets = [self.settings.llm_api_key]
        allowed = [message, *(t.content for t in history)]
        gate = self._gate(ask, box, allowed)
        try:
            agent = run_agent(self.settings, message, history, box, names)
            while True:
                try:
                    event = next(agent)
                except StopIteration:
                    break
                yield from _gated(event, gate, secrets)
        except LlmFailure as failure:
            notice = guard.redact(notes["fallback"].format(why=failure.detail), secrets)
            yield Notice(notice)
            answer = yield from self._offline(ask, split_paste(message)[1], Toolbox(
                replace(self.context)))
            return answer.model_copy(update={"notices": [notice, *answer.notices]})
        answer = yield from self._finish_llm(ask, gate, box, notes)
        answer = answer.model_copy(update={
            "answer": guard.redact(answer.answer, secrets),
            "notices": [guard.redact(n, secrets) for n in answer.notices]})
        so_far = "".join(gate.emitted)
        if so_far and answer.answer.startswith(so_far) and answer.answer != so_far:
            yield Token(answer.answer[len(so_far):])  # citations, after the checked prose
        return answer

    def _gate(self, ask: Ask, box: Toolbox, allowed: list[str]) -> Gate:
        def sizing() -> list[ToolResult]:
            return [r for r in box.results if r.name in offline.SIZING and r.ok]

        def options() -> list[Option] | None:
            found = sizing()
            return [o for r in found for o in r.options] if found else None

        def head() -> str:
            base = offline.answer_from_results(_ask_from_tools(ask, sizing()), box.results,
                                               backend="llm")
            return "\n\n".join(base.answer.split("\n\n")[:2])

        checker = Checker(secrets=[self.settings.llm_api_key], allowed=allowed)
        needs_tools = ask.intent in ("fit", "number", "plan") and not ask.missing()
        return Gate(checker, lambda: box.results, options, head, needs_tools)

    def _finish_llm(self, ask: Ask, gate: Gate, box: Toolbox,
                    notes: dict[str, str]) -> Generator[Event, None, Answer]:
        results = box.results
        sizing = [r for r in results if r.name in offline.SIZING and r.ok]
        if not sizing and gate.needs_tools:  # nothing was shown: every unit is still held
            yield Notice(notes["untooled"])
            answer = yield from self._offline(ask, "", Toolbox(replace(self.context)))
            return answer.model_copy(update={"notices": [notes["untooled"]]})
        for text in gate.finish():
            yield Token(text)
        notices = _removal_notices(gate.checker.removed, notes, results)
        for notice in notices:
            yield Notice(notice)
        prose = gate.prose.strip()
        if not sizing and not prose:
            notice = notices[0] if notices else notes["untooled"]
            answer = yield from self._offline(ask, "", Toolbox(replace(self.context)))
            return answer.model_copy(update={"notices": notices or [notice]})
        if sizing:
            ask = _ask_from_tools(ask, sizing)
        base = offline.answer_from_results(ask, results, backend="llm")
        if sizing:
            paragraphs = base.answer.split("\n\n")
            head = gate.head_shown or "\n\n".join(paragraphs[:2])
            md = head + "\n\n" + (prose or "\n\n".join(paragraphs[2:]))
        else:
            md = prose
        if base.sources and not any(s.path in md for s in base.sources):
            md += citing.citations(base.sources, ask.lang)
        verdict = base.verdict
        if not sizing:
            verdict = "need_more_info" if ask.missing() else None
        return base.model_copy(update={"answer": md, "verdict": verdict, "notices": notices})

    # ------------------------------------------------------------------ memory

    def _state(self, conversation_id: str) -> Ask | None:
        try:
            data = self.store.load_state(conversation_id)
        except Exception as e:  # noqa: BLE001 - an unreadable store: answer without the context
            log.warning("conversation %s not loaded: %s", conversation_id, e)
            return None
        if data is None:
            return None
        try:
            return Ask.model_validate(data)
        except ValidationError:
            return None

    def _remember(self, conversation_id: str, message: str, ask: Ask, answer: Answer) -> None:
        """The message, the answer and the state: one transaction, stored whole or not at all."""
        keep = ask.intent in ("fit", "number", "plan") or ask.kind in ("why", "delta", "compare")
        state = ask.model_dump(mode="json") if keep else None
        self.store.record_turn(conversation_id, message, answer.answer, answer.backend, state)


def _one_line(e: Exception) -> str:
    """A store failure in one short line, credentials masked."""
    from tools.redact import redact_text

    text = str(e) if isinstance(e, StoreError) else f"{type(e).__name__}: {e}"
    return redact_text(" ".join(text.split()))[:240]


def _pick(gpus: list[Any], pick: str) -> Any:
    """The pasted GPU the user pointed at: "GPU 1" by index, "the free one" by free memory."""
    if not pick or len(gpus) < 2 and pick == "free":
        return None
    if pick == "free":
        return max(gpus, key=lambda g: g.free_bytes or 0)
    return next((g for g in gpus if str(g.index) == pick), None)


def _ask_from_tools(ask: Ask, sizing: list[ToolResult]) -> Ask:
    """What the LLM's sizing calls asked, filling in what the parser missed."""
    args = sizing[0].args
    workloads = list(dict.fromkeys(o.workload for r in sizing for o in r.options))
    update: dict[str, object] = {"workloads": workloads or ask.workloads}
    if ask.intent not in ("fit", "number", "plan"):
        update["intent"] = "plan" if sizing[0].name == "plan_gpus" else "fit"
    if not ask.has_model:
        update["model"] = args.get("model")
    if not ask.has_gpu:
        update.update(gpu=args.get("gpu"), gpu_memory_gb=args.get("gpu_memory_gb"),
                      num_gpus=args.get("num_gpus"))
    return ask.model_copy(update=update)


def _gated(event: Event, gate: Gate, secrets: list[str | None]) -> Iterator[Event]:
    """One agent event as the front ends may see it: model text only through the gate, tool
    events with any secret the model or server echoed redacted."""
    if isinstance(event, Token):
        for text in gate.feed(event.text):
            yield Token(text)
    elif isinstance(event, ToolStarted):
        gate.restart()
        args = {k: guard.redact(v, secrets) if isinstance(v, str) else v
                for k, v in event.args.items()}
        yield ToolStarted(event.name, args, event.call_id)
    elif isinstance(event, ToolFinished):
        yield ToolFinished(event.name, guard.redact(event.result, secrets), event.ok,
                           event.call_id)
    else:
        yield event


def _removal_notices(removed: list[Removal], notes: dict[str, str],
                     results: list[ToolResult]) -> list[str]:
    """One notice per kind of removal, quoting what the model wrote as it wrote it."""
    out: list[str] = []
    figs = [f for r in removed if r.reason == "figure" for f in r.said]
    if figs:
        out.append(notes["corrected"].format(figs=", ".join(dict.fromkeys(figs[:4]))))
    verdicts = [r for r in removed if r.reason == "verdict"]
    if verdicts:
        fits = {o.fits for r in results if r.ok and r.name in offline.SIZING for o in r.options}
        truth = "yes" if fits == {True} else "no" if fits == {False} else "mixed"
        out.append(notes["contradicted"].format(said=verdicts[0].said[0], verdict=truth))
    names = [f for r in removed if r.reason == "placeholder" for f in r.said]
    if names:
        out.append(notes["placeholder"].format(figs=", ".join(dict.fromkeys(names[:4]))))
    if any(r.reason in ("secret", "instructions") for r in removed):
        out.append(notes["guarded"])
    return out
