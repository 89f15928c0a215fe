"""Turn any exception into one readable line for the page; never a stack trace.

Known user errors (estimator, probe, knowledge base, pydantic validation) keep their own message.
Anything else is logged with its traceback on the server and shown as a short apology that
names the exception type, so a user can report it without seeing internals.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from pydantic import ValidationError

log = logging.getLogger("headroom.web")

P = ParamSpec("P")
R = TypeVar("R")

_USER_ERRORS: tuple[str, ...] = (
    "EstimatorError", "ProbeError", "KnowledgeError", "FeedbackError", "ConfigError",
    "WebInputError",
)


class WebInputError(ValueError):
    """A form value the page cannot use; the message names the field and the fix."""


def _is_user_error(exc: BaseException) -> bool:
    return any(c.__name__ in _USER_ERRORS for c in type(exc).__mro__)


def friendly(exc: BaseException) -> str:
    """One line for the user: the error's own message for known errors, else a short apology."""
    if _is_user_error(exc):
        return str(exc).strip() or type(exc).__name__
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:3]:
            where = ".".join(str(p) for p in err.get("loc", ())) or "value"
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
        return "invalid input: " + "; ".join(parts)
    log.error("unexpected error in the web app", exc_info=exc)
    return (f"Something went wrong ({type(exc).__name__}). The details are in the server log; "
            "please try again or change the input.")


def error_markdown(exc: BaseException) -> str:
    """The message as a visible Markdown block."""
    return f"**⚠️ {friendly(exc)}**"


def guarded(on_error: Callable[[str], R]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a handler so that any exception becomes ``on_error(message_markdown)``."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @wraps(fn)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 - the page must never show a traceback
                return on_error(error_markdown(e))

        return inner

    return wrap
