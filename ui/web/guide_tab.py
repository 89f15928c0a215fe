"""The Guide tab: browse the bilingual guide (``knowledge/guide/{en,zh}``) and search the KB.

Pages are read from the package's guide directory by name (``en/qlora.md``); a name that is not
one of those files is refused, so the page cannot read anything else. A citation link
``?tab=guide&doc=en/qlora.md&section=Bits per parameter`` opens that section.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .chat import guide_doc
from .errors import WebInputError, error_markdown
from .i18n import text
from .localize import Localizer

LANGS = ("en", "zh")
SEARCH_K = 8
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def guide_dir() -> Path:
    """The shipped guide (``knowledge/guide``)."""
    import knowledge

    return Path(knowledge.__file__).parent / "guide"


@cache
def pages(lang: str = "en") -> tuple[tuple[str, str], ...]:
    """(title, doc) of every guide page in one language, sorted by title."""
    out = []
    for path in sorted((guide_dir() / lang).glob("*.md")):
        first = path.read_text("utf-8").lstrip().splitlines()[:1]
        title = first[0].lstrip("# ").strip() if first else path.stem
        out.append((title, f"{lang}/{path.name}"))
    return tuple(sorted(out))


def _read(doc: str) -> str:
    lang = doc.split("/", 1)[0]
    if lang not in LANGS or doc not in {d for _, d in pages(lang)}:
        raise WebInputError(f"no guide page {doc!r}; pick one from the list")
    return (guide_dir() / doc).read_text("utf-8")


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text).strip().lower()


def section_text(markdown: str, section: str) -> str | None:
    """The Markdown of one section (its heading down to the next heading of the same level)."""
    lines = markdown.splitlines()
    want = _norm(section)
    for i, line in enumerate(lines):
        m = _HEADING.match(line)
        if m and _norm(m.group(2)) == want:
            level = len(m.group(1))
            end = len(lines)
            for j in range(i + 1, len(lines)):
                n = _HEADING.match(lines[j])
                if n and len(n.group(1)) <= level:
                    end = j
                    break
            return "\n".join(lines[i:end]).strip()
    return None


def render_page(doc: str, section: str = "") -> str:
    """A guide page (or one of its sections) as Markdown, or a readable message."""
    try:
        text = _read(doc)
    except WebInputError as e:
        return error_markdown(e)
    if section:
        part = section_text(text, section)
        if part is not None:
            title = dict((d, t) for t, d in pages(doc.split("/", 1)[0]))[doc]
            return (f"*{title}*, section **§ {section}** (use “Whole page” to read all of it)"
                    f"\n\n{part}")
        return f"*Section “{section}” was not found; showing the whole page.*\n\n{text}"
    return text


def search_results(query: str) -> tuple[str, list[tuple[str, str]]]:
    """Markdown of the best passages for ``query`` and (label, "doc|section") choices to open."""
    if not (query or "").strip():
        return "Type a question or keywords (English or 中文).", []
    try:
        from knowledge import search

        found = search(query, k=SEARCH_K)
    except Exception as e:  # noqa: BLE001 - shown in the page
        return error_markdown(e), []
    if not found:
        return f"Nothing in the knowledge base matches “{query}”.", []
    lines: list[str] = []
    choices: list[tuple[str, str]] = []
    for i, p in enumerate(found, 1):
        label = f"{p.title} § {p.section}" if p.section else p.title
        excerpt = " ".join(p.excerpt.split())  # one paragraph: no stray lists or tables
        lines.append(f"{i}. **{label}** ({p.lang}, {p.kind})  \n   {excerpt}")
        doc = guide_doc(p.source)
        if doc is not None:
            choices.append((f"{i}. {label}", f"{doc}|{p.section}"))
    return "\n".join(lines), choices


@dataclass
class GuideTab:
    """The components a page load fills from the URL, and the function that fills them."""

    outputs: list[Any]
    from_params: Callable[[Mapping[str, str]], list[Any]]


def page_choices() -> list[tuple[str, str]]:
    """Every page of both languages: ('EN · QLoRA: ...', 'en/qlora.md')."""
    tags = {"en": "EN", "zh": "中文"}
    return [(f"{tags[lang]} · {t}", d) for lang in LANGS for t, d in pages(lang)]


def first_page(lang: str) -> str:
    """The page the Guide tab opens on in ``lang`` ('en/memory-basics.md'...)."""
    return pages(lang if lang in LANGS else "en")[0][1]


def build(loc: Localizer | None = None) -> GuideTab:
    """Lay out the tab inside the current Blocks and wire its events."""
    import gradio as gr

    loc = loc or Localizer()
    first = first_page("en")
    page = loc.add(gr.Dropdown(page_choices(), value=first, label=text("en", "page_label"),
                               filterable=True, elem_id="guide-page"), label="page_label")
    with gr.Row(equal_height=True):
        query = loc.add(gr.Textbox(label=text("en", "search_label"), scale=4,
                                   elem_id="guide-query",
                                   placeholder=text("en", "search_placeholder")),
                        label="search_label", placeholder="search_placeholder")
        go = loc.add(gr.Button(text("en", "search"), scale=1, min_width=90), value="search")
    results = gr.Markdown(elem_id="guide-results")
    hits = gr.Radio([], label=text("en", "open_result"), visible=False, elem_id="guide-hits")
    whole = loc.add(gr.Button(text("en", "whole_page"), size="sm"), value="whole_page")
    viewer = gr.Markdown(render_page(first), elem_id="guide-viewer", header_links=True)

    def do_search(q: str) -> tuple[str, Any]:
        text, choices = search_results(q)
        return text, gr.Radio(choices=choices, value=None, visible=bool(choices))

    def open_hit(choice: str | None) -> list[Any]:
        if not choice:
            return [gr.skip(), gr.skip()]
        doc, _, section = choice.partition("|")
        return [doc, render_page(doc, section)]

    def from_params(params: Mapping[str, str]) -> list[Any]:
        if not ({"q", "doc"} & set(params)):
            return [gr.skip()] * 5
        q = params.get("q", "")
        text, choices = do_search(q) if q else ("", gr.Radio(choices=[], visible=False))
        doc = params.get("doc", "")
        known = doc in {d for _, d in page_choices()}
        shown = [doc if known else gr.skip(), render_page(doc, params.get("section", ""))] \
            if doc else [gr.skip(), gr.skip()]
        return [*shown, q, text, choices]

    page.input(render_page, page, viewer, api_name="guide_page")
    whole.click(render_page, page, viewer, api_visibility="undocumented")
    go.click(do_search, query, [results, hits], api_name="guide_search")
    query.submit(do_search, query, [results, hits], api_visibility="undocumented")
    hits.input(open_hit, hits, [page, viewer], api_visibility="undocumented")
    return GuideTab(outputs=[page, viewer, query, results, hits], from_params=from_params)
