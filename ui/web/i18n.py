"""The web app's two languages: fixed texts from ``strings.toml`` and the page language.

    text("zh", "tab_chat")                    # "对话"
    text("en", "fit_note", model=..., ...)    # filled in
    pick_lang("zh-CN,zh;q=0.9,en;q=0.8")      # "zh"

The app serves English at ``/`` and Chinese at ``/zh``; a browser whose ``Accept-Language``
prefers Chinese is sent to ``/zh`` unless the visitor chose a language with the switch
(``?lang=en`` / ``?lang=zh``, remembered in a cookie): see :class:`LanguageRedirect`.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

LANGS = ("en", "zh")
ZH_PATH = "/zh"
COOKIE = "headroom_lang"


@cache
def _strings() -> dict[str, dict[str, Any]]:
    data = tomllib.loads(resources.files("ui.web").joinpath("strings.toml").read_text("utf-8"))
    return {lang: data[lang] for lang in LANGS}


def text(lang: str, key: str, **values: Any) -> str:
    """A fixed text in ``lang`` (English for an unknown language), ``{name}`` filled in."""
    table = _strings()[lang if lang in LANGS else "en"]
    raw = table[key]
    return str(raw).format(**values) if values else str(raw)


def items(lang: str, key: str) -> list[str]:
    """A list-valued text (examples, table headers)."""
    return [str(x) for x in _strings()[lang if lang in LANGS else "en"][key]]


def field_text(lang: str, name: str) -> tuple[str, str]:
    """(label, hint) of an estimator form field; the field name itself when not translated."""
    pair = _strings()[lang if lang in LANGS else "en"]["field"].get(name)
    return (str(pair[0]), str(pair[1])) if pair else (name.replace("_", " "), "")


def pick_lang(accept_language: str | None) -> str:
    """The best of our languages for an ``Accept-Language`` header (q-values honoured)."""
    best, best_q = "en", -1.0
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        lang = tag.strip().lower().split("-")[0]
        if lang in LANGS and q > best_q and q > 0:
            best, best_q = lang, q - i * 1e-6  # earlier wins a tie
    return best


def page_path(lang: str) -> str:
    """Where a language's page is served."""
    return ZH_PATH if lang == "zh" else "/"


class LanguageRedirect:
    """ASGI middleware: ``GET /`` from a browser preferring Chinese goes to ``/zh``.

    ``?lang=en`` or ``?lang=zh`` on either page records the visitor's choice in a cookie (and
    ``/?lang=zh`` goes to ``/zh``, ``/zh?lang=en`` to ``/``); a recorded choice beats the header.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        root = (scope.get("root_path") or "").rstrip("/")
        path = scope.get("path", "")
        if root and path.startswith(root):
            path = path[len(root):] or "/"
        if path.rstrip("/") not in ("", ZH_PATH):
            await self.app(scope, receive, send)
            return
        here = "zh" if path.rstrip("/") == ZH_PATH else "en"
        query = scope.get("query_string", b"").decode("latin-1")
        params = dict(p.partition("=")[::2] for p in query.split("&") if p)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        chosen = params.get("lang")
        if chosen not in LANGS:
            chosen = None
        cookie = _cookie(headers.get("cookie", ""))
        want = chosen or cookie or (pick_lang(headers.get("accept-language")) if here == "en"
                                    else "zh")
        set_cookie = chosen is not None and chosen != cookie
        if want != here:
            rest = "&".join(p for p in query.split("&") if p and not p.startswith("lang="))
            location = root + page_path(want) + (f"?{rest}" if rest else "")
            head = [(b"location", location.encode("latin-1")), (b"content-length", b"0"),
                    (b"vary", b"Accept-Language, Cookie")]
            if set_cookie:
                head.append(_cookie_header(want))
            await send({"type": "http.response.start", "status": 307, "headers": head})
            await send({"type": "http.response.body", "body": b""})
            return
        if not set_cookie:
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  _cookie_header(here)]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _cookie(header: str) -> str | None:
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value in LANGS:
            return value
    return None


def _cookie_header(lang: str) -> tuple[bytes, bytes]:
    return (b"set-cookie", f"{COOKIE}={lang}; Path=/; Max-Age=31536000; SameSite=Lax".encode())
