"""Typed, user-facing errors of the estimator.

Each error keeps its fields (the bad value, what is accepted, the nearest matches) and builds a
one-line message in ``__str__``, so every front end can show it as is (CLI: exit 2 with the line;
agent tools: the line goes back to the model so it can correct its call).
"""

from __future__ import annotations

from collections.abc import Sequence


class EstimatorError(ValueError):
    """Base class: any problem with the user's request that the user can fix."""


class UnknownNameError(EstimatorError):
    """A model or GPU name that is not in the catalog."""

    kind = "name"

    def __init__(self, name: str, suggestions: Sequence[str] = (), hint: str = "") -> None:
        self.name = name
        self.suggestions = list(suggestions)
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        shown = self.name if len(self.name) <= 120 else self.name[:100] + f"… ({len(self.name)} characters)"
        msg = f"unknown {self.kind} {shown!r}"
        if self.suggestions:
            msg += "; closest matches: " + ", ".join(self.suggestions)
        if self.hint:
            msg += f". {self.hint}"
        return msg


class UnknownModelError(UnknownNameError):
    """A model name that is neither in the catalog nor a size such as '13B'."""

    kind = "model"


class UnknownGpuError(UnknownNameError):
    """A GPU name that is not in the catalog."""

    kind = "GPU"


class InvalidRequestError(EstimatorError):
    """A value that is impossible or inconsistent (0 GPUs, rank 0, TP not dividing heads, ...)."""

    def __init__(self, field: str, value: object, accepted: str) -> None:
        self.field = field
        self.value = value
        self.accepted = accepted
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"invalid {self.field}={self.value!r}: {self.accepted}"


class ConfigFileError(EstimatorError):
    """A local HF config.json that cannot be read or lacks the fields we need."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"cannot use config {self.path!r}: {self.reason}"
