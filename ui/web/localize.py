"""The page in the visitor's language: every fixed text relabelled when the page loads.

The app is built once, in English. Each component whose text is fixed (a tab, a label, a hint,
a button, a placeholder, an example) is registered with the :mod:`ui.web.i18n` keys of its texts;
on page load :func:`page_lang` picks the language (``?lang=zh`` / ``?lang=en`` from the page's
switch, else the browser's ``Accept-Language``) and :meth:`Localizer.updates` returns one
update per component in that language.

    loc = Localizer()
    box = loc.add(gr.Textbox(label="model"), label="model_label", info="model_hint")
    ...
    demo.load(lambda request: loc.updates(page_lang(request)), None, loc.components)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .i18n import LANGS, field_text, items, pick_lang, text

C = TypeVar("C")
Texts = Callable[[str], dict[str, Any]]


class Localizer:
    """Components with fixed texts and how to say them in each language."""

    def __init__(self) -> None:
        self._entries: list[tuple[Any, Texts]] = []

    def add(self, component: C, **keys: str) -> C:
        """Register ``component`` whose attribute ``attr`` is the text ``keys[attr]``."""
        return self.add_fn(component, lambda lang: {a: text(lang, k) for a, k in keys.items()})

    def add_list(self, component: C, attr: str, key: str) -> C:
        """An attribute that is a list of texts (table headers)."""
        return self.add_fn(component, lambda lang: {attr: items(lang, key)})

    def add_field(self, component: C, name: str, english: tuple[str, str | None]) -> C:
        """An estimator form field: English as built, other languages from ``[lang.field]``."""
        def texts(lang: str) -> dict[str, Any]:
            if lang == "en":
                return {"label": english[0], "info": english[1]}
            label, hint = field_text(lang, name)
            return {"label": label, "info": hint or None}
        return self.add_fn(component, texts)

    def add_fn(self, component: C, texts: Texts) -> C:
        """Register ``component`` with a function giving its texts in a language."""
        self._entries.append((component, texts))
        return component

    @property
    def components(self) -> list[Any]:
        """The registered components, in the order of :meth:`updates`."""
        return [c for c, _ in self._entries]

    def updates(self, lang: str) -> list[dict[str, Any]]:
        """One Gradio update per component with its texts in ``lang``."""
        import gradio as gr

        return [gr.update(**texts(lang)) for _, texts in self._entries]


def merged_outputs(components: list[Any], loc: Localizer) -> list[Any]:
    """An event's outputs with the localizer's components not among them appended."""
    have = {id(c) for c in components}
    return [*components, *(c for c in loc.components if id(c) not in have)]


def merge(components: list[Any], values: list[Any], loc: Localizer, lang: str) -> list[Any]:
    """The values for :func:`merged_outputs`: a component that is already an output (a form
    field that a shared link fills) gets its texts in the same update as its value."""
    out = list(values)
    index = {id(c): i for i, c in enumerate(components)}
    for c, update in zip(loc.components, loc.updates(lang), strict=True):
        i = index.get(id(c))
        if i is None:
            out.append(update)
            continue
        old = out[i]
        if isinstance(old, dict) and old.get("__type__") == "update":
            out[i] = {**old, **update}
        else:
            out[i] = {**update, "value": old}
    return out


def page_lang(params: Mapping[str, str], headers: Mapping[str, str]) -> str:
    """The page's language: the switch's ``?lang=`` when valid, else ``Accept-Language``."""
    chosen = params.get("lang")
    if chosen in LANGS:
        return str(chosen)
    return pick_lang(headers.get("accept-language"))


def switch_markdown(lang: str) -> str:
    """The link to the page in the other language (keeps nothing else of the URL)."""
    other = "en" if lang == "zh" else "zh"
    return f"[{text(lang, 'switch')}](?lang={other})"
