"""The per-cycle live line of ``run`` and ``canary``: a rich live panel on a terminal, one ``key=value`` line otherwise.

The plain line has stable keys, always all present (``-`` when a figure does not apply), so it can be grepped
and parsed::

    cycle=3/10 mode=observe safe_mode=on BTCTRY.reason=dry_run:would_submit BTCTRY.market_data_age_ms=120.00
    order_submit_latency_ms=- reconcile_lag_ms=12.30 update_to_order_ms=0.71 cycle_ms=45.20 open_orders=0
    unknown_orders=0 elapsed_s=4.0 remaining_s=16.0

(one line per cycle; wrapped here). ``LiveLine.show`` is the session's ``on_cycle``: it only queues the view, and
a thread of its own renders it, so a slow terminal or a blocked pipe never holds up the next cycle.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from datetime import timedelta
from types import TracebackType
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from btcbot.runtime.cycle_view import CycleView

log = logging.getLogger(__name__)

_NONE = "-"
# Codes the operator should notice at a glance on the terminal (the plain line is never coloured).
_ALARM_PREFIXES = ("market_data:", "supervisor:", "order:unknown", "order:rejected", "order:send_failed")
_GOOD = ("order:submitted", "dry_run:would_submit")
_STOP = object()


def _ms(value: float | None) -> str:
    return _NONE if value is None else f"{value:.2f}"


def plain_line(view: CycleView) -> str:
    """The cycle as one line of ``key=value`` pairs (keys stable, per-symbol keys prefixed by the symbol)."""
    total = _NONE if view.max_cycles is None else str(view.max_cycles)
    parts = [f"cycle={view.cycle_id}/{total}", f"mode={view.mode}", f"safe_mode={view.safe_mode}"]
    for s in view.symbols:
        parts += [f"{s.symbol}.reason={s.reason_code}", f"{s.symbol}.market_data_age_ms={_ms(s.market_data_age_ms)}"]
    parts += [
        f"order_submit_latency_ms={_ms(view.order_submit_latency_ms)}",
        f"reconcile_lag_ms={_ms(view.reconcile_lag_ms)}",
        f"update_to_order_ms={_ms(view.update_to_order_ms)}",
        f"cycle_ms={_ms(view.cycle_ms)}",
        f"open_orders={view.open_orders}",
        f"unknown_orders={view.unknown_orders}",
        f"elapsed_s={view.elapsed_s:.1f}",
        f"remaining_s={_NONE if view.remaining_s is None else f'{view.remaining_s:.1f}'}",
    ]
    return " ".join(parts)


def _clock(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))


def _reason_style(code: str) -> str:
    if code.startswith(_ALARM_PREFIXES):
        return "bold red"
    return "green" if code in _GOOD else ""


def panel(view: CycleView) -> RenderableType:
    """The cycle as a terminal panel: progress, mode and safety, timing figures, and a row per symbol."""
    bounded = view.max_cycles is not None
    bar = ProgressBar(total=view.max_cycles if bounded else None, completed=view.cycle_id, width=30)
    remaining = f"remaining ≤{_clock(view.remaining_s)}" if view.remaining_s is not None else "until stopped"
    head = Table.grid(padding=(0, 2))
    head.add_row(
        bar,
        Text(f"cycle {view.cycle_id}/{view.max_cycles if bounded else '∞'}", style="bold"),
        Text(f"elapsed {_clock(view.elapsed_s)}  {remaining}"),
    )
    safe_style = "bold red" if view.safe_mode.startswith("latched:") else ""
    state = Text.assemble(
        ("mode ", "dim"),
        (view.mode, "bold yellow" if view.mode == "live" else "bold"),
        ("   safe mode ", "dim"),
        (view.safe_mode, safe_style),
        ("   open orders ", "dim"),
        str(view.open_orders),
        ("   unknown ", "dim"),
        (str(view.unknown_orders), "bold red" if view.unknown_orders else ""),
    )
    timing = Text.assemble(
        ("cycle ", "dim"),
        f"{_ms(view.cycle_ms)} ms",
        ("   update→order ", "dim"),
        f"{_ms(view.update_to_order_ms)} ms",
        ("   submit ", "dim"),
        f"{_ms(view.order_submit_latency_ms)} ms",
        ("   reconcile lag ", "dim"),
        f"{_ms(view.reconcile_lag_ms)} ms",
    )
    symbols = Table(box=None, padding=(0, 2), show_edge=False)
    symbols.add_column("symbol", style="bold")
    symbols.add_column("reason")
    symbols.add_column("market data age", justify="right")
    for s in view.symbols:
        age = _NONE if s.market_data_age_ms is None else f"{s.market_data_age_ms:.0f} ms"
        symbols.add_row(s.symbol, Text(s.reason_code, style=_reason_style(s.reason_code)), age)
    return Group(head, state, timing, symbols)


class LiveLine:
    """``with LiveLine(sys.stdout) as line: ... on_cycle=line.show``; renders off the cycle loop's thread."""

    def __init__(
        self, stream: TextIO, *, tty: bool | None = None, max_pending: int = 64, close_timeout_s: float = 5.0
    ) -> None:
        self._stream = stream
        self._close_timeout_s = close_timeout_s
        self._tty = stream.isatty() if tty is None else tty
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_pending)
        self._thread = threading.Thread(target=self._render_all, name="btcbot-live-line", daemon=True)
        self._live: Live | None = None
        self.dropped = 0  # views not shown because the display fell behind
        self.failures = 0

    def show(self, view: CycleView) -> None:
        try:
            self._queue.put_nowait(view)
        except queue.Full:
            self.dropped += 1

    def __enter__(self) -> LiveLine:
        if self._tty:
            # Logs on stderr are printed above the panel instead of tearing it.
            self._live = Live(console=Console(file=self._stream), auto_refresh=False, redirect_stdout=False)
            self._live.start()
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Show what is queued and stop; bounded, so a display stuck on a blocked pipe never keeps the process
        from printing its summary (the stuck thread is a daemon). Safe to call again."""
        with contextlib.suppress(queue.Full):
            self._queue.put(_STOP, timeout=self._close_timeout_s)
        self._thread.join(self._close_timeout_s)
        if self._live is not None:
            try:
                self._live.stop()
            except Exception:  # the display is never a reason to lose the run's summary
                log.warning("the live display did not close cleanly", exc_info=True)
            self._live = None
        if self.dropped:
            log.warning("the per-cycle display fell behind: %d cycle view(s) not shown", self.dropped)

    def _render_all(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP or not isinstance(item, CycleView):
                return
            try:
                self._render(item)
            except Exception:  # a display error must not stop trading: note it, keep showing the next cycles
                self.failures += 1
                if self.failures == 1:
                    log.warning("the per-cycle display failed; cycles go on", exc_info=True)

    def _render(self, view: CycleView) -> None:
        if self._live is not None:
            self._live.update(panel(view), refresh=True)
        else:
            self._stream.write(plain_line(view) + "\n")
            self._stream.flush()
