"""The Headroom web app (Gradio). Importing this package is cheap; Gradio loads on first use.

    from ui.web import build_demo, serve
    demo = build_demo()                   # gr.Blocks; nothing is launched
    serve(demo, host="127.0.0.1", port=7860)

``headroom ui`` (``ui/cli_web.py``) does the same from the command line. Needs the ``web``
extra: ``pip install -e '.[web]'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import gradio as gr

INSTALL_HINT = "the web app needs Gradio: pip install -e '.[web]'  (or: pip install gradio matplotlib)"


class MissingDependencyError(ImportError):
    """Gradio or matplotlib is not installed; the message says how to install them."""


def require_web() -> None:
    """Raise :class:`MissingDependencyError` with the install hint when Gradio is missing."""
    import importlib.util

    missing = [m for m in ("gradio", "matplotlib") if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependencyError(f"{' and '.join(missing)} not installed; {INSTALL_HINT}")


def build_demo(*args: Any, **kwargs: Any) -> gr.Blocks:
    """See :func:`ui.web.app.build_demo`."""
    require_web()
    from .app import build_demo as build

    return build(*args, **kwargs)


def serve(demo: gr.Blocks, **kwargs: Any) -> Any:
    """See :func:`ui.web.app.serve`."""
    from .app import serve as launch

    return launch(demo, **kwargs)


def warm_up() -> None:
    """See :func:`ui.web.app.warm_up`."""
    from .app import warm_up as run

    run()


__all__ = ["INSTALL_HINT", "MissingDependencyError", "build_demo", "require_web", "serve", "warm_up"]
