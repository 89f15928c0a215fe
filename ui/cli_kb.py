"""``headroom kb``: build, extend and search the knowledge base from the command line.

Registered in ``ui/cli.py`` as ``cli.add_command(kb)``; also runnable on its own with
``python -m ui.cli_kb search "what does ZeRO-2 shard?"``. The ``knowledge`` package (and with it
chromadb) is imported inside the commands so that ``headroom --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from knowledge.index import CommitResult

BACKENDS = click.Choice(["hash", "openai"])
backend_option = click.option(
    "--backend", type=BACKENDS, default=None,
    help="Embedding backend (default: openai when HEADROOM_EMBEDDINGS_URL is set, else hash).",
)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn knowledge-base errors into one-line ClickExceptions."""
    from knowledge import KnowledgeError

    try:
        yield
    except KnowledgeError as e:
        raise click.ClickException(str(e)) from e


class _Bar:
    """A progress callback that draws a bar on stderr once there is more than one batch."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.done = 0
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if total <= 64:
                return
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None]]:
    bar = _Bar(label)
    try:
        yield bar
    finally:
        bar.close()


def _describe(result: CommitResult) -> str:
    if not result.changed:
        return f"Index up to date: {result.total} chunks ({result.collection})."
    return (f"Indexed {result.total} chunks: {result.embedded} embedded, {result.reused} unchanged, "
            f"{result.removed} removed ({result.collection}).")


@click.group()
def kb() -> None:
    """Search and extend the knowledge base (the guide plus your team's documents).

    \b
    Example:
      headroom kb search "how much memory does ZeRO-3 save?"
      headroom kb add docs/cluster-notes.md runbooks/
    """


@kb.command("build")
@click.option("--force", is_flag=True, help="Re-embed every chunk instead of only changed ones.")
@backend_option
def build_cmd(force: bool, backend: str | None) -> None:
    """Build or update the index (only changed sections are re-embedded)."""
    from knowledge import build

    with _errors(), _progress("Embedding") as progress:
        result = build(backend=backend, force=force, progress=progress)
    click.echo(_describe(result))


@kb.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@backend_option
def add_cmd(paths: tuple[str, ...], backend: str | None) -> None:
    """Add Markdown, text, HTML or PDF files (or folders of them) to the index."""
    from knowledge import add

    with _errors(), _progress("Embedding") as progress:
        report = add(paths, backend=backend, progress=progress)
    for source, chunks in report.added:
        click.echo(f"added {source} ({chunks} chunks)")
    for path, reason in report.errors:
        click.echo(f"skipped {path}: {reason}", err=True)
    if report.result is not None:
        click.echo(_describe(report.result))
    if not report.added:
        raise click.ClickException("no document could be read")


@kb.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@backend_option
def list_cmd(as_json: bool, backend: str | None) -> None:
    """List indexed documents."""
    from knowledge import list_sources

    with _errors():
        sources = list_sources(backend=backend)
    if as_json:
        click.echo(json.dumps([asdict(s) for s in sources], ensure_ascii=False, indent=2))
        return
    for s in sources:
        click.echo(f"{s.kind:5}  {s.lang}  {s.chunks:3} chunks  {s.source}  ({s.title})")


@kb.command("remove")
@click.argument("sources", nargs=-1, required=True)
@backend_option
def remove_cmd(sources: tuple[str, ...], backend: str | None) -> None:
    """Remove team documents by path (as shown by `headroom kb list`)."""
    from knowledge import remove

    with _errors():
        gone = remove(list(sources), backend=backend)
    for source in gone:
        click.echo(f"removed {source}")


@kb.command("search")
@click.argument("query")
@click.option("-k", "--top", "k", type=click.IntRange(1, 50), default=5, show_default=True,
              help="How many passages.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default=None,
              help="Only passages in this language.")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "lexical"]), default="hybrid",
              show_default=True, help="Ranking: fused, embeddings only, or BM25 only.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@backend_option
def search_cmd(query: str, k: int, lang: str | None, mode: str, as_json: bool,
               backend: str | None) -> None:
    """Search the knowledge base; each hit names the section to cite."""
    from knowledge import search

    with _errors(), _progress("Building the index") as progress:
        passages = search(query, k, mode=mode, lang=lang, backend=backend, progress=progress)
    if as_json:
        rows = [{k: v for k, v in p.to_dict().items() if k != "text"} for p in passages]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not passages:
        click.echo("No matching passage.")
    for i, p in enumerate(passages, 1):
        click.echo(f"{i}. {p.title} § {p.section}  [{p.source}]")
        click.echo(f"   {p.excerpt}")


if __name__ == "__main__":
    kb()
