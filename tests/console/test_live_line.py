"""The per-cycle live line: its plain format, the terminal panel, and that the display never holds up a cycle."""

from __future__ import annotations

import io
import logging
import threading
from dataclasses import replace

import pytest
from rich.console import Console

from btcbot.console.live_line import LiveLine, panel, plain_line
from btcbot.runtime.cycle_view import CycleView, SymbolView
from btcbot.testing.waiting import WEDGED_AFTER_S, wait_until

KEYS = [
    "cycle",
    "mode",
    "safe_mode",
    "BTCTRY.reason",
    "BTCTRY.market_data_age_ms",
    "ETHTRY.reason",
    "ETHTRY.market_data_age_ms",
    "order_submit_latency_ms",
    "reconcile_lag_ms",
    "update_to_order_ms",
    "cycle_ms",
    "open_orders",
    "unknown_orders",
    "elapsed_s",
    "remaining_s",
]


def view(cycle_id: int = 3, **changes: object) -> CycleView:
    base = CycleView(
        command="run",
        cycle_id=cycle_id,
        max_cycles=10,
        mode="live",
        safe_mode="off",
        symbols=(SymbolView("BTCTRY", "order:submitted", 12.5), SymbolView("ETHTRY", "market_data:stale", None)),
        order_submit_latency_ms=41.234,
        reconcile_lag_ms=None,
        update_to_order_ms=0.714,
        cycle_ms=55.0,
        open_orders=1,
        unknown_orders=0,
        elapsed_s=20.04,
        remaining_s=70.0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def parse(line: str) -> dict[str, str]:
    pairs = [p.split("=", 1) for p in line.split(" ")]
    assert all(len(p) == 2 for p in pairs), line
    return dict(pairs)  # type: ignore[arg-type]


def test_plain_line_has_every_key_in_a_stable_order() -> None:
    line = plain_line(view())
    assert "\n" not in line
    fields = parse(line)
    assert list(fields) == KEYS
    assert fields["cycle"] == "3/10" and fields["mode"] == "live" and fields["safe_mode"] == "off"
    assert fields["BTCTRY.reason"] == "order:submitted" and fields["BTCTRY.market_data_age_ms"] == "12.50"
    assert fields["ETHTRY.reason"] == "market_data:stale" and fields["ETHTRY.market_data_age_ms"] == "-"
    assert fields["order_submit_latency_ms"] == "41.23" and fields["reconcile_lag_ms"] == "-"
    assert fields["update_to_order_ms"] == "0.71" and fields["cycle_ms"] == "55.00"
    assert fields["open_orders"] == "1" and fields["unknown_orders"] == "0"
    assert fields["elapsed_s"] == "20.0" and fields["remaining_s"] == "70.0"


def test_plain_line_of_an_unbounded_loop_and_a_latched_safe_mode() -> None:
    fields = parse(plain_line(view(max_cycles=None, remaining_s=None, safe_mode="latched:stale_data")))
    assert list(fields) == KEYS
    assert fields["cycle"] == "3/-" and fields["remaining_s"] == "-"
    assert fields["safe_mode"] == "latched:stale_data"


def test_the_terminal_panel_shows_progress_safety_timing_and_each_symbol() -> None:
    console = Console(file=io.StringIO(), width=140, record=True)
    console.print(panel(view(safe_mode="latched:stale_data", unknown_orders=1)))
    text = console.export_text()
    for part in (
        "cycle 3/10",
        "elapsed 0:00:20",
        "remaining ≤0:01:10",
        "mode live",
        "safe mode latched:stale_data",
        "open orders 1",
        "unknown 1",
        "update→order 0.71 ms",
        "submit 41.23 ms",
        "reconcile lag - ms",
        "BTCTRY",
        "order:submitted",
        "12 ms",
        "ETHTRY",
        "market_data:stale",
    ):
        assert part in text, (part, text)
    unbounded = Console(file=io.StringIO(), width=140, record=True)
    unbounded.print(panel(view(max_cycles=None, remaining_s=None)))
    text = unbounded.export_text()
    assert "cycle 3/∞" in text and "until stopped" in text


def test_one_line_per_view_in_order_when_not_a_terminal() -> None:
    out = io.StringIO()
    with LiveLine(out, tty=False) as line:
        for n in range(1, 6):
            line.show(view(n))
    lines = out.getvalue().splitlines()
    assert [parse(x)["cycle"] for x in lines] == [f"{n}/10" for n in range(1, 6)]


def test_on_a_terminal_the_panel_is_updated_in_place() -> None:
    out = io.StringIO()
    with LiveLine(out, tty=True) as line:
        line.show(view(1))
        line.show(view(2))
    text = out.getvalue()
    assert "cycle 2/10" in text and "cycle=" not in text


class _BlockedStream(io.StringIO):
    """A pipe nobody reads: every write waits until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def write(self, s: str) -> int:
        self.entered.set()
        self.release.wait()
        return super().write(s)

    def isatty(self) -> bool:
        return False


def test_a_blocked_display_never_holds_up_the_caller() -> None:
    stream = _BlockedStream()
    line = LiveLine(stream, max_pending=2, close_timeout_s=0.05)
    with line:
        line.show(view(1))
        assert stream.entered.wait(WEDGED_AFTER_S)  # the renderer is now stuck inside write()
        for n in range(2, 10):
            line.show(view(n))  # returns at once: queued, then dropped once the queue is full
    # Leaving the block closed the line without waiting for the stuck display (past its short close timeout).
    assert line.dropped == 6  # two waited in the queue, the rest were dropped and counted
    stream.release.set()
    wait_until(lambda: len(stream.getvalue().splitlines()) == 3, what="the queued views, once the display unblocks")
    line.close()
    wait_until(lambda: not [t for t in threading.enumerate() if t.name == "btcbot-live-line"], what="the renderer ends")
    assert [parse(x)["cycle"] for x in stream.getvalue().splitlines()] == ["1/10", "2/10", "3/10"]


class _FailingOnce(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def write(self, s: str) -> int:
        self.calls += 1
        if self.calls == 1:
            raise OSError("terminal went away")
        return super().write(s)

    def isatty(self) -> bool:
        return False


def test_a_display_error_is_logged_once_and_the_next_cycles_still_show(caplog: pytest.LogCaptureFixture) -> None:
    stream = _FailingOnce()
    with caplog.at_level(logging.WARNING, logger="btcbot.console.live_line"), LiveLine(stream) as line:
        for n in range(1, 4):
            line.show(view(n))
    assert line.failures == 1
    assert [parse(x)["cycle"] for x in stream.getvalue().splitlines()] == ["2/10", "3/10"]
    assert "per-cycle display failed" in caplog.text
