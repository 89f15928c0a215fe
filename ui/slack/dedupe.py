"""De-duplication of Slack deliveries.

Slack retries an Events API delivery (``X-Slack-Retry-Num``) when it got no 2xx within 3 seconds,
with the same ``event_id``; a mention in a channel also arrives twice, as ``app_mention`` and as
``message`` — and with several replicas, to different ones. Anything with ``first(key) -> bool``
(:class:`Seen`) decides: :class:`ui.slack.state.SlackState` claims the key in the shared store
(exactly once across replicas); :class:`SeenCache` is the in-process fallback, a bounded,
thread-safe cache that answers True exactly once per key within ``ttl_s``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from slack_bolt.response import BoltResponse

NO_RETRY: dict[str, str | Sequence[str]] = {"x-slack-no-retry": "1"}


class Seen(Protocol):
    """Says True exactly once per key."""

    def first(self, key: str) -> bool:
        """True the first time ``key`` is offered; False for repeats."""
        ...


class SeenCache:
    """Keys seen in the last ``ttl_s`` seconds, at most ``max_size`` of them (oldest dropped)."""

    def __init__(self, ttl_s: float = 600.0, max_size: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_size = max_size
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first(self, key: str) -> bool:
        """True the first time ``key`` is offered within the TTL; False for repeats."""
        now = self._clock()
        with self._lock:
            while self._seen:
                oldest, at = next(iter(self._seen.items()))
                if now - at < self.ttl_s and len(self._seen) < self.max_size:
                    break
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
            return True

    def __len__(self) -> int:
        return len(self._seen)


def dedupe_middleware(seen: Seen) -> Callable[..., BoltResponse | None]:
    """A Bolt global middleware that acknowledges repeated ``event_id`` s without running listeners.

    It runs after Bolt's signature check, so forged requests cannot fill the cache.
    """
    def skip_repeated_events(body: dict[str, Any], next: Callable[[], None],
                             logger: Any) -> BoltResponse | None:
        event_id = body.get("event_id")
        if body.get("type") == "event_callback" and isinstance(event_id, str):
            if not seen.first(f"event:{event_id}"):
                logger.info("ignoring repeated delivery of event %s", event_id)
                return BoltResponse(status=200, body="", headers=dict(NO_RETRY))
        next()
        return None

    return skip_repeated_events
