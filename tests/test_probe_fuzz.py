"""Fuzzing the paste parsers: any text gives a result or a one-line ProbeError, never a crash."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.probe import ProbeError, parse_paste

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "nvidia-smi").glob("*.*"))
TEXTS = [p.read_text(encoding="utf-8") for p in FIXTURES if p.suffix in (".txt", ".csv", ".json")]


def _check(text: str) -> None:
    try:
        result = parse_paste(text)
    except ProbeError as e:
        assert str(e) and "\n" not in str(e)
        return
    for g in result.gpus:
        for v in (g.total_bytes, g.used_bytes, g.free_bytes):
            assert v is None or v >= 0


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=2000))
def test_random_text_never_crashes(text: str) -> None:
    _check(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(TEXTS), st.integers(min_value=0, max_value=5000), st.integers(min_value=0, max_value=5000),
       st.text(max_size=50))
def test_truncated_and_spliced_fixtures_never_crash(text: str, start: int, stop: int, junk: str) -> None:
    a, b = sorted((start % (len(text) + 1), stop % (len(text) + 1)))
    _check(text[:a] + junk + text[b:])
    _check(text[a:b])
