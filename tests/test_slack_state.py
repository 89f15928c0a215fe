"""The Slack bot's shared state on SQLite: claims are won once, threads and turns are seen by a
second ``SlackState`` on the same file (a second replica on one machine), and a store that
cannot be reached never stops the bot (claims fall back to this process's memory)."""

from __future__ import annotations

import threading
from pathlib import Path

from assistant.db import Database, DbOptions, sqlite_url
from assistant.events import Answer
from ui.slack.state import SlackState


def test_claims_threads_and_turns_are_shared(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "h.sqlite3")
    a, b = SlackState(Database(url)), SlackState(Database(url))
    assert a.claim("event:Ev1") and not b.claim("event:Ev1") and not a.claim("event:Ev1")
    a.remember_thread("C1", "1700.1")
    assert b.in_thread("C1", "1700.1") and not b.in_thread("C1", "1700.2")
    first = a.save_turn("slack:T:C1:1700.1", "q1", Answer(answer="one"))
    second = b.save_turn("slack:T:C1:1700.1", "q2", Answer(answer="two"))
    turn = b.turn(first)
    assert turn is not None and turn.answer.answer == "one" and turn.question == "q1"
    assert (a.message_index(first), a.message_index(second)) == (1, 3)
    assert b.turn("unknown") is None


def test_racing_claims_have_one_winner(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "h.sqlite3")
    states = [SlackState(Database(url)) for _ in range(4)]
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def claim(state: SlackState) -> None:
        barrier.wait()
        wins.append(state.claim("event:race"))

    threads = [threading.Thread(target=claim, args=(states[i % 4],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True]


def test_an_unreachable_store_never_stops_the_bot(tmp_path: Path) -> None:
    state = SlackState(Database(sqlite_url(tmp_path / "h.sqlite3"), DbOptions()))
    state.db = Database("postgresql://u:pw@127.0.0.1:9/none", DbOptions(connect_timeout_s=2))
    assert state.claim("event:x") and not state.claim("event:x")  # this process remembers
    state.remember_thread("C1", "1.2")  # logged, not raised
    assert not state.in_thread("C1", "1.2")
    assert len(state.save_turn("c", "q", Answer(answer="a"))) == 16
