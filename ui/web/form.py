"""The estimator form, derived from ``EstimateRequest.model_fields`` (no Gradio here).

Each request field becomes a :class:`FieldSpec` (choice, bool, tri-state, int, float or text)
with the request's own default and description, so a new request field appears in the page
without editing the UI. ``config_path`` is left out on purpose: it reads a file on the server.

The same specs convert form values to request keyword arguments (:func:`to_request`) and to and
from the page URL (:func:`encode_query` / :func:`decode_query`) so that an estimate can be shared
as a link such as ``?tab=estimator&model=llama-2-13b&workload=qlora&gpu=a10``.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin
from urllib.parse import urlencode

from tools.estimator import EstimateRequest, find_gpu

from .errors import WebInputError

Kind = Literal["choice", "bool", "tristate", "int", "float", "text"]
AUTO = "auto"
TRISTATE = (AUTO, "yes", "no")
DEFAULT_MODEL = "llama-3.1-8b"
"""The model the form opens with (the request itself has no default model)."""
PRIMARY = ("model", "workload", "gpu", "num_gpus", "seq_len", "batch_size", "quant")
"""Fields shown above the fold; the rest go into the "More settings" accordion."""
EXCLUDED = frozenset({"config_path"})
_TRUE = frozenset({"1", "true", "yes", "on", "y"})
_FALSE = frozenset({"0", "false", "no", "off", "n"})


@dataclass(frozen=True)
class FieldSpec:
    """How one request field is edited in the page."""

    name: str
    kind: Kind
    default: Any
    """The form's default value ("auto" for an optional choice, None for an empty number)."""
    choices: tuple[str, ...] = ()
    optional: bool = False
    """The request accepts None (shown as "auto" or an empty box)."""
    info: str = ""

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the annotation without ``None``, whether None is allowed)."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(args) < len(get_args(annotation))
        return (args[0] if len(args) == 1 else annotation), optional
    return annotation, False


def _spec(name: str) -> FieldSpec:
    field = EstimateRequest.model_fields[name]
    base, optional = _unwrap(field.annotation)
    info = field.description or ""
    default = field.default
    if get_origin(base) is Literal:
        choices = tuple(str(c) for c in get_args(base))
        if optional:
            return FieldSpec(name, "choice", AUTO if default is None else default,
                             (AUTO, *choices), True, info)
        return FieldSpec(name, "choice", default, choices, False, info)
    if base is bool:
        if optional:
            return FieldSpec(name, "tristate", AUTO, TRISTATE, True, info)
        return FieldSpec(name, "bool", bool(default), (), False, info)
    if base is int:
        return FieldSpec(name, "int", default, (), optional, info)
    if base is float:
        return FieldSpec(name, "float", default, (), optional, info)
    if name == "model":
        default = DEFAULT_MODEL
    if name == "gpu":
        default = find_gpu(str(default)).id  # the picker's value for the request's default GPU
    return FieldSpec(name, "text", default, (), optional, info)


@cache
def form_fields() -> tuple[FieldSpec, ...]:
    """Every editable request field: the primary ones first, then the request's order."""
    names = [n for n in EstimateRequest.model_fields if n not in EXCLUDED]
    ordered = [n for n in PRIMARY if n in names] + [n for n in names if n not in PRIMARY]
    return tuple(_spec(n) for n in ordered)


def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in form_fields())


def defaults() -> dict[str, Any]:
    """The form's initial values."""
    return {f.name: f.default for f in form_fields()}


def _number(spec: FieldSpec, value: Any) -> int | float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if spec.optional:
            return None
        raise WebInputError(f"{spec.label}: a number is required")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise WebInputError(f"{spec.label}: {value!r} is not a number") from None
    if spec.optional and number == 0:
        return None  # an emptied number box arrives as 0; every optional number here is > 0
    if spec.kind == "int":
        if not number.is_integer():
            raise WebInputError(f"{spec.label}: {value!r} is not a whole number")
        return int(number)
    return number


def convert(spec: FieldSpec, value: Any) -> Any:
    """One form value as the request expects it."""
    if spec.kind == "choice":
        text = str(value if value is not None else spec.default)
        return None if spec.optional and text == AUTO else text
    if spec.kind == "tristate":
        return {"yes": True, "no": False}.get(str(value), None)
    if spec.kind == "bool":
        return bool(value)
    if spec.kind in ("int", "float"):
        return _number(spec, value)
    text = "" if value is None else str(value).strip()
    if not text:
        if spec.name == "model":
            raise WebInputError("model: pick a model or type a size such as 13B")
        if spec.optional:
            return None
        return spec.default
    return text


def to_request(values: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``estimate()`` from the form values (missing ones take defaults)."""
    return {f.name: convert(f, values.get(f.name, f.default)) for f in form_fields()}


def _differs(spec: FieldSpec, value: Any) -> bool:
    try:
        return bool(convert(spec, value) != convert(spec, spec.default))
    except WebInputError:
        return False


def _query_value(spec: FieldSpec, value: Any) -> str:
    if spec.kind == "bool":
        return "1" if value else "0"
    if spec.kind in ("int", "float"):
        number = convert(spec, value)
        return "" if number is None else f"{number:g}"
    return str(value)


def encode_query(values: Mapping[str, Any], **extra: str) -> str:
    """``tab=estimator&...`` with the fields that differ from the form's defaults."""
    pairs: list[tuple[str, str]] = [("tab", "estimator")]
    for spec in form_fields():
        if spec.name in values and (spec.name == "model" or _differs(spec, values[spec.name])):
            pairs.append((spec.name, _query_value(spec, values[spec.name])))
    pairs += [(k, v) for k, v in extra.items() if v]
    return urlencode(pairs)


def _parse(spec: FieldSpec, raw: str) -> Any:
    raw = raw.strip()
    if spec.kind in ("choice", "tristate"):
        value = raw.lower() if spec.name != "engine" else raw
        if value not in spec.choices:
            raise WebInputError(f"{spec.label}={raw!r} in the link is not one of "
                                f"{', '.join(spec.choices)}")
        return value
    if spec.kind == "bool":
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise WebInputError(f"{spec.label}={raw!r} in the link is not on/off")
    if spec.kind in ("int", "float"):
        return _number(spec, raw)
    return raw


def decode_query(params: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Form values from a page URL's query (defaults for the rest) and the problems found."""
    values = defaults()
    problems: list[str] = []
    by_name = {f.name: f for f in form_fields()}
    for key, raw in params.items():
        spec = by_name.get(key)
        if spec is None:
            continue
        try:
            values[key] = _parse(spec, raw)
        except WebInputError as e:
            problems.append(str(e))
    return values, problems
