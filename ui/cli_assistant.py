"""``headroom ask``, ``headroom chat`` and ``headroom bench answers``: the assistant on the CLI.

    headroom ask "Can I fine-tune 13B on one A10?"            # Markdown answer
    headroom ask --json "单卡4090能QLoRA微调Qwen2.5-14B吗?"     # the JSON contract
    headroom ask -c mine "what about two of them?"             # follow-up in conversation 'mine'
    nvidia-smi | headroom ask "can I serve Llama-3-8B here?" -  # '-' appends stdin (a paste)
    headroom chat                                              # interactive terminal chat
    headroom bench answers                                     # the evaluation set

Only click is imported at module level; the assistant loads inside the commands, LangChain only
when an LLM endpoint is configured (``HEADROOM_LLM_BASE_URL``).
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterable
from typing import Any

import click

BACKENDS = click.Choice(["auto", "offline", "llm"])


def _assistant(backend: str) -> Any:
    from assistant import Assistant
    from assistant.config import ConfigError

    try:
        return Assistant(backend=backend, allow_local_probe=True)  # type: ignore[arg-type]
    except ConfigError as e:
        raise click.ClickException(str(e)) from None


def _question(words: tuple[str, ...]) -> str:
    parts = list(words)
    if parts and parts[-1] == "-":
        parts[-1] = "\n" + sys.stdin.read()
    text = " ".join(parts).strip()
    if not text:
        raise click.UsageError("ask a question, e.g. headroom ask \"can I fine-tune 13B on an A10?\"")
    return text


def show(events: Iterable[Any], verbose: bool = False) -> Any:
    """Print a stream of events: tokens as they come, tool progress and notices on stderr, and
    the final answer (again, if it differs from what was streamed). Returns the Answer."""
    from assistant import Final, Notice, Token, ToolFinished, ToolStarted

    streamed: list[str] = []
    answer = None
    for event in events:
        if isinstance(event, Token):
            streamed.append(event.text)
            click.echo(event.text, nl=False)
        elif isinstance(event, ToolStarted) and verbose:
            args = ", ".join(f"{k}={v!r}" for k, v in event.args.items() if k != "text")
            click.secho(f"  > {event.name}({args})", err=True, dim=True)
        elif isinstance(event, ToolFinished) and verbose:
            first = event.result.splitlines()[0] if event.result else ""
            click.secho(f"  < {event.name}: {first[:100]}", err=True, dim=True)
        elif isinstance(event, Notice):
            click.secho(f"note: {event.text}", err=True, fg="yellow")
        elif isinstance(event, Final):
            answer = event.answer
            text = "".join(streamed).strip()
            if not text:
                click.echo(answer.answer)
            elif text != answer.answer.strip():
                click.echo("\n\n---\n" + answer.answer)
            else:
                click.echo()
    return answer


@click.command()
@click.argument("question", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="print the JSON contract")
@click.option("--conversation", "-c", default=None,
              help="conversation id; follow-ups in the same id reuse what is known")
@click.option("--backend", type=BACKENDS, default="auto", show_default=True,
              help="auto: the LLM when HEADROOM_LLM_BASE_URL is set, else offline")
@click.option("--verbose", "-v", is_flag=True, help="show tool calls on stderr")
def ask(question: tuple[str, ...], as_json: bool, conversation: str | None, backend: str,
        verbose: bool) -> None:
    """Answer a GPU-memory question (English or Chinese); '-' as last word appends stdin."""
    text = _question(question)
    assistant = _assistant(backend)
    cid = conversation or f"cli-{uuid.uuid4().hex[:12]}"
    if as_json:
        answer = assistant.ask(text, cid)
        click.echo(json.dumps(answer.to_json(), indent=2, ensure_ascii=False))
        return
    show(assistant.stream(text, cid), verbose=verbose)


@click.command()
@click.option("--conversation", "-c", default=None, help="resume a conversation id")
@click.option("--backend", type=BACKENDS, default="auto", show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="show tool calls")
def chat(conversation: str | None, backend: str, verbose: bool) -> None:
    """Interactive chat in the terminal (empty line, 'exit' or Ctrl-D to quit)."""
    assistant = _assistant(backend)
    cid = conversation or f"chat-{uuid.uuid4().hex[:12]}"
    mode = "LLM" if assistant.uses_llm else "offline"
    click.secho(f"Headroom chat ({mode}; conversation {cid}). Ask about GPU memory; "
                "'exit' quits.", dim=True)
    while True:
        try:
            line = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return
        if line.lower() in ("", "exit", "quit", ":q"):
            return
        show(assistant.stream(line, cid), verbose=verbose)
        click.echo()


@click.command("answers")
@click.option("--backend", type=BACKENDS, default="offline", show_default=True)
@click.option("--set", "which", type=click.Choice(["blind", "legacy"]), default="blind",
              show_default=True, help="blind: the set written without seeing the parser (tune + "
              "holdout halves); legacy: the team's own 124 questions")
@click.option("--failures", is_flag=True, help="list the tune half's failures (never the holdout's)")
@click.option("--half", type=click.Choice(["both", "tune", "holdout"]), default="both",
              show_default=True, help="which half to run (tune while improving the assistant)")
@click.option("--json", "as_json", is_flag=True)
@click.option("--verbose", "-v", is_flag=True, help="legacy set: list every question")
def bench_answers(backend: str, which: str, failures: bool, half: str, as_json: bool,
                  verbose: bool) -> None:
    """Accuracy of the assistant on its evaluation sets, per half, language and question kind."""
    assistant = _assistant(backend)
    assistant.ask("warm-up: can I run a 7B model on an A10?", f"warmup-{uuid.uuid4().hex}")
    if which == "legacy":
        from assistant.eval.runner import run

        report = run(assistant.ask, backend="llm" if assistant.uses_llm else "offline")
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False) if as_json
                   else report.text(verbose=verbose))
        return
    from assistant.eval import blind

    halves = blind.HALVES if half == "both" else (half,)
    results = {h: blind.run(assistant.ask, blind.load(h)) for h in halves}
    if as_json:
        click.echo(json.dumps({h: {"total": len(o), "right": sum(x.ok for x in o)}
                               for h, o in results.items()}, indent=2))
        return
    mode = "LLM" if assistant.uses_llm else "offline"
    click.echo(f"blind evaluation set ({mode}): tune half (may be read while tuning) and "
               "holdout half (never read)\n")
    click.echo(blind.table(results))
    if failures and "tune" in results:
        click.echo("\ntune failures:\n" + blind.failures(results["tune"]))
