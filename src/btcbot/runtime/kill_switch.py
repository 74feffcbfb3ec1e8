"""What the kill switch did on a symbol this cycle, and how that shapes the symbol's decision record."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from btcbot import reason_codes as rc
from btcbot.domain.orders import OrderStatus
from btcbot.runtime.cycle import SymbolOutcome
from btcbot.runtime.lifecycle import OrderRecord

# The detail key under which a record carries the kill switch's work on its symbol (always, whatever heads it).
KILL_SWITCH_DETAIL = "kill_switch"


def kill_switch_work(live: Iterable[OrderRecord], symbol: str) -> str:
    """After the protective cancels: an owned order still open means the cancel failed (no write authority, or
    the venue refused); a cancel pending means it went out; otherwise there was nothing to cancel."""
    mine = [r.status for r in live if r.symbol == symbol]
    if any(st in (OrderStatus.OPEN, OrderStatus.PARTIAL) for st in mine):
        return rc.KILL_SWITCH_CANCEL_FAILED
    if OrderStatus.CANCEL_PENDING in mine:
        return rc.KILL_SWITCH_CANCEL
    return rc.KILL_SWITCH_IDLE


def kill_switch_record(o: SymbolOutcome, work: str) -> SymbolOutcome:
    """The record keeps the first blocking cause in pipeline order; the kill switch's work is always in details.

    A market-data block comes first whatever the gates, and an observe-only ``dry_run:would_submit`` shows what the
    strategy and the risk gate made of fresh data. Otherwise the kill switch's own work on the symbol heads the
    record when it acted or failed to (an owned order it could not cancel must not hide behind a skip), or when it
    was the refusal and had nothing to cancel.
    """
    work_detail = (KILL_SWITCH_DETAIL, work)
    if o.action in ("block", "submit", "would_submit"):
        return replace(o, details=(*o.details, work_detail))
    if work == rc.KILL_SWITCH_IDLE and o.reason_code != rc.RISK_KILL_SWITCH:
        return replace(o, details=(*o.details, work_detail))
    action = "cancel" if work == rc.KILL_SWITCH_CANCEL else "none"
    return replace(o, action=action, reason_code=work, details=(*o.details, ("was", o.reason_code), work_detail))
