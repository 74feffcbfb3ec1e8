"""The quiet window: the gap after one cycle has completed and before the next one starts.

Work that must happen but must never share the interpreter with a decision (exporting finished spans, the
state store's flush) waits for this window. The session opens it after every cycle with ``run()``; telemetry
set-up installs what runs in it. opentelemetry-api only, so the runtime imports it without the SDK.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

# Given the seconds it may take, does its work and says whether it finished in time.
WindowTask = Callable[[float], bool]

_lock = threading.Lock()
_task: WindowTask | None = None


def install(task: WindowTask | None) -> None:
    """What the window runs from now on (None: nothing)."""
    global _task
    with _lock:
        _task = task


def uninstall(task: WindowTask) -> None:
    """Remove ``task`` if it is still the installed one (a newer configuration may have replaced it)."""
    global _task
    with _lock:
        if _task is task:
            _task = None


def run(timeout_s: float) -> bool:
    """Run the installed work, waiting at most ``timeout_s``; True when all of it finished."""
    task = _task
    return True if task is None else task(timeout_s)
