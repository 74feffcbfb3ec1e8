"""Waiting in tests for what another thread or process does: poll a condition, never sleep a guessed time."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb

from btcbot.storage import open_reader

T = TypeVar("T")

# Only a wedged test ever reaches it: a passing run returns as soon as the condition holds, so a bound far above
# what a loaded machine needs costs nothing (and stays under pytest-timeout's 120 s so the message is ours).
WEDGED_AFTER_S = 60.0


def wait_until(
    condition: Callable[[], T], *, what: str, timeout_s: float = WEDGED_AFTER_S, interval_s: float = 0.01
) -> T:
    """Poll ``condition`` until it returns something truthy, and return that.

    An ``AssertionError`` raised by ``condition`` (e.g. "the process exited early") propagates at once.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout_s:g} s")
        time.sleep(interval_s)


def recorded_reason_codes(db_path: str | os.PathLike[str]) -> list[str]:
    """The decision records a (possibly still running) btcbot has flushed to ``db_path``, oldest first:
    its progress, to wait on instead of guessing how long a few cycles take."""
    if not Path(db_path).is_file():
        return []
    with open_reader(db_path) as con:
        try:
            rows = con.execute("SELECT reason_code FROM decisions ORDER BY ts").fetchall()
        except duckdb.CatalogException:  # the file exists, its schema not yet
            return []
    return [row[0] for row in rows]
