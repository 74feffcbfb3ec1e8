"""When the simulated WebSocket pings a socket and when it gives up on one, as the real exchange does.

The venue sends a protocol ping every ~15 s and closes (close frame, code 1000) a socket that has not answered
for ~45 s, so a reader that blocks for 25-40 s survives. ``Keepalive`` is the pure policy; the hub drives it
with the loop's monotonic time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PING_INTERVAL_S = 15.0
PING_TIMEOUT_S = 45.0
CLOSE_CODE = 1000  # the venue closes a silent socket cleanly, not with an abnormal 1006

Action = Literal["ping", "close"]


def check_timings(interval_s: float, timeout_s: float) -> None:
    if not 0 < interval_s < timeout_s:
        raise ValueError(
            f"WebSocket keepalive needs 0 < ping interval ({interval_s}) < ping timeout ({timeout_s}): "
            "a socket must be pinged before it can be dropped for not answering"
        )


@dataclass(slots=True)
class Keepalive:
    interval_s: float
    timeout_s: float
    alive_at: float  # the last pong (or the connection's start): the socket proved it was being read
    next_ping_at: float

    @classmethod
    def start(cls, now: float, interval_s: float = PING_INTERVAL_S, timeout_s: float = PING_TIMEOUT_S) -> Keepalive:
        check_timings(interval_s, timeout_s)
        return cls(interval_s, timeout_s, alive_at=now, next_ping_at=now + interval_s)

    def on_pong(self, now: float) -> None:
        self.alive_at = max(self.alive_at, now)

    def due(self, now: float) -> Action | None:
        """What to do at ``now``: close a socket silent for the timeout, else ping when the interval is up."""
        if now - self.alive_at >= self.timeout_s:
            return "close"
        if now >= self.next_ping_at:
            self.next_ping_at = now + self.interval_s
            return "ping"
        return None

    def wake_at(self) -> float:
        return min(self.next_ping_at, self.alive_at + self.timeout_s)
