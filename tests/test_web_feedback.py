"""The thumbs up/down store (assistant/feedback.py): round trip, validation, atomic writes."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from assistant.feedback import (
    FeedbackError,
    latest_feedback,
    list_feedback,
    normalize_rating,
    record_feedback,
)


def test_round_trip_in_headroom_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADROOM_HOME", str(tmp_path / "home"))
    fb = record_feedback("conv-1", 3, "up", text="Yes, with QLoRA.", now=1700000000.0)
    assert (tmp_path / "home" / "headroom.sqlite3").is_file()  # the one store
    assert fb.rating == "up" and fb.message_index == 3 and fb.created_at == 1700000000.0
    record_feedback("conv-2", 1, False, text="no", source="slack")
    assert [f.conversation_id for f in list_feedback()] == ["conv-1", "conv-2"]
    only = list_feedback("conv-2")
    assert len(only) == 1 and only[0].rating == "down" and only[0].source == "slack"


def test_latest_vote_per_message(tmp_path: Path) -> None:
    db = tmp_path / "fb.sqlite3"
    record_feedback("c", 1, "Like", path=db)
    record_feedback("c", 1, "Dislike", path=db)      # change of mind: a later row
    record_feedback("c", 3, "up", path=db)
    record_feedback("c", 3, None, path=db)           # withdrawn
    latest = latest_feedback("c", path=db)
    assert {i: f.rating for i, f in latest.items()} == {1: "down"}
    assert len(list_feedback("c", path=db)) == 4     # append-only: every vote is kept
    assert [f.message_index for f in list_feedback(limit=2, path=db)] == [3, 3]


@pytest.mark.parametrize(("value", "expected"), [
    (True, "up"), (False, "down"), (None, "none"), ("Like", "up"), ("dislike", "down"),
    ("👍", "up"), ("none", "none"),
])
def test_normalize_rating(value: str | bool | None, expected: str) -> None:
    assert normalize_rating(value) == expected


@pytest.mark.parametrize(("conv", "index", "rating"), [
    ("", 0, "up"), ("c", -1, "up"), ("c", True, "up"), ("c", 0, "meh"),
])
def test_invalid_votes_are_refused(tmp_path: Path, conv: str, index: int, rating: str) -> None:
    with pytest.raises(FeedbackError):
        record_feedback(conv, index, rating, path=tmp_path / "fb.sqlite3")


def test_failed_write_keeps_stored_rows(tmp_path: Path) -> None:
    """A write that cannot get the database fails whole; earlier rows stay; later ones work."""
    db = tmp_path / "fb.sqlite3"
    for i in range(3):
        record_feedback("c", i, "up", text=f"answer {i}", path=db)
    blocker = sqlite3.connect(db, timeout=0.1)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(FeedbackError, match="locked"):
            record_feedback("c", 9, "down", path=db, timeout_s=0.05)
    finally:
        blocker.rollback()
        blocker.close()
    assert [f.message_index for f in list_feedback("c", path=db)] == [0, 1, 2]
    record_feedback("c", 9, "down", path=db)
    assert len(list_feedback("c", path=db)) == 4
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "fb.sqlite3"
    record_feedback("warm", 0, "up", path=db)  # create the schema once

    def vote(worker: int) -> None:
        for i in range(10):
            record_feedback(f"conv-{worker}", i, "up" if i % 2 else "down", path=db)

    threads = [threading.Thread(target=vote, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(list_feedback(path=db)) == 1 + 6 * 10


def test_unwritable_location_is_a_readable_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(FeedbackError, match="feedback store"):
        record_feedback("c", 0, "up", path=not_a_dir / "fb.sqlite3")
