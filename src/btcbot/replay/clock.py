"""Replay speed: ``max`` runs virtual time as fast as the code goes; ``Nx`` paces it against the wall clock."""

from __future__ import annotations

import re
import threading
import time

from btcbot.domain.clock import VirtualClock
from btcbot.errors import UsageError

_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*x?\s*$", re.IGNORECASE)


def parse_speed(value: object) -> float | None:
    """``max`` -> None (unpaced); ``1x``, ``10x``, ``2.5``, ``4`` -> that factor. Anything else is a UsageError."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        factor = float(value)
    elif isinstance(value, str) and value.strip().lower() == "max":
        return None
    else:
        m = _SPEED.match(str(value))
        if m is None:
            raise UsageError(f"--speed {value!r}: expected max, 1x or Nx (for example 10x)")
        factor = float(m.group(1))
    if factor <= 0:
        raise UsageError(f"--speed {value!r}: the factor must be positive")
    return factor


class PacedClock(VirtualClock):
    """Virtual time that a ``wait`` also spends on the wall clock, divided by ``speed``."""

    def __init__(self, start_ms: int, speed: float) -> None:
        super().__init__(start_ms=start_ms)
        self._speed = speed

    def wait(self, event: threading.Event, timeout_s: float) -> bool:
        if event.is_set():
            return True
        began = time.monotonic()
        if event.wait(max(0.0, timeout_s) / self._speed):
            self.advance_ms((time.monotonic() - began) * self._speed * 1000)
            return True
        self.advance_ms(timeout_s * 1000)
        return event.is_set()
