"""How far the local clock is from BTCTurk's, corrected for the round trip.

Signing uses local time and the venue accepts stamps within ±5 s of its own clock, so an offset that eats most
of that window means authenticated calls are about to fail with 401.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from btcbot.errors import UsageError

STAMP_WINDOW_MS = 5000.0


class ServerClock(Protocol):
    """Anything that reads the venue's time: BtcturkHttp for doctor, an ExchangeReader for the runtime."""

    def server_time_ms(self) -> int: ...


@dataclass(frozen=True, slots=True)
class ClockOffset:
    offset_ms: float  # server minus local: positive when the local clock is behind
    rtt_ms: float  # round trip of the sample the offset came from (the fastest)

    @property
    def uncertainty_ms(self) -> float:
        return self.rtt_ms / 2

    def threatens_stamp_window(self, *, window_ms: float = STAMP_WINDOW_MS, margin_ms: float = 1000.0) -> bool:
        """True when |offset| (plus its uncertainty) leaves less than ``margin_ms`` of the ±5 s stamp window."""
        return abs(self.offset_ms) + self.uncertainty_ms >= window_ms - margin_ms


def stamp_window_threatened(offset: ClockOffset, *, margin_ms: float = 1000.0) -> bool:
    return offset.threatens_stamp_window(margin_ms=margin_ms)


def clock_hint(offset: ClockOffset) -> str | None:
    """The operator's next step when the offset alone explains refused signed requests (401), else None."""
    if not offset.threatens_stamp_window():
        return None
    return f"clock offset {offset.offset_ms:.0f} ms: fix the host clock (NTP)"


def measure_clock_offset(
    http: ServerClock, samples: int = 3, *, now_ns: Callable[[], int] = time.time_ns
) -> ClockOffset:
    """NTP-style: offset = server - (t_send + rtt/2), from the sample with the smallest round trip."""
    if samples < 1:
        raise UsageError("samples must be at least 1")
    best: ClockOffset | None = None
    for _ in range(samples):
        t0 = now_ns()
        server_ms = http.server_time_ms()
        t1 = now_ns()
        rtt_ms = (t1 - t0) / 1e6
        offset_ms = server_ms - (t0 / 1e6 + rtt_ms / 2)
        if best is None or rtt_ms < best.rtt_ms:
            best = ClockOffset(offset_ms=offset_ms, rtt_ms=rtt_ms)
    assert best is not None  # noqa: S101 - samples >= 1
    return best
