"""Time as a dependency: the runtime, simulator and replay read time only through a ``Clock``.

Replay runs the real runtime in virtual time, and tests use a fake clock instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def wall_ms(self) -> int:
        """Unix time in milliseconds."""
        ...

    def monotonic_ns(self) -> int:
        """A clock that never goes backwards, for ages and durations."""
        ...

    def wait(self, event: threading.Event, timeout_s: float) -> bool:
        """Wait for ``event`` up to ``timeout_s`` of this clock's time; True if the event was set."""
        ...


class SystemClock:
    def wall_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()

    def wait(self, event: threading.Event, timeout_s: float) -> bool:
        return event.wait(max(0.0, timeout_s))


class VirtualClock:
    """Time moves only when told to. ``wait`` advances time by the timeout instead of sleeping."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._now_ns = start_ms * 1_000_000
        self._lock = threading.Lock()

    def wall_ms(self) -> int:
        with self._lock:
            return self._now_ns // 1_000_000

    def monotonic_ns(self) -> int:
        with self._lock:
            return self._now_ns

    def advance_ms(self, ms: float) -> None:
        with self._lock:
            self._now_ns += int(ms * 1_000_000)

    def set_ms(self, ms: int) -> None:
        """Jump forward to ``ms`` (never backwards: monotonic time must not decrease)."""
        with self._lock:
            self._now_ns = max(self._now_ns, ms * 1_000_000)

    def wait(self, event: threading.Event, timeout_s: float) -> bool:
        if event.is_set():
            return True
        self.advance_ms(timeout_s * 1000)
        return event.is_set()
