"""The backtest summary: what one replay run did, from its DB rows and the venue's account.

PnL is mark-to-market in the quote asset (TRY): the change of every asset's balance since the start, valued
at the last recorded mid of ``<ASSET>TRY``; fees are already inside the balances. Assets the run never
touched are left out (a BTCTRY dataset has no price for the account's ETH). Drawdown is the largest fall of
that PnL from its running peak, sampled once per venue query in virtual time (at least once per cycle); its
ratio is against the starting value of the traded assets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from btcbot import reason_codes as rc

QUOTE = "TRY"


@dataclass(slots=True)
class EquityCurve:
    """Equity samples (virtual ms, TRY value); the peak-to-trough figure is kept as it goes."""

    samples: list[tuple[int, Decimal]] = field(default_factory=list)
    peak: Decimal | None = None
    base_value: Decimal | None = None  # starting value of the traded assets, for the ratio
    max_drawdown: Decimal = Decimal(0)
    max_drawdown_ratio: Decimal = Decimal(0)

    def add(self, ts_ms: int, pnl: Decimal) -> None:
        self.samples.append((ts_ms, pnl))
        if self.peak is None or pnl > self.peak:
            self.peak = pnl
        dd = self.peak - pnl
        if dd > self.max_drawdown:
            self.max_drawdown = dd
            base = self.base_value
            self.max_drawdown_ratio = dd / base if base is not None and base > 0 else Decimal(0)


def deltas(start: dict[str, Decimal], end: dict[str, Decimal]) -> dict[str, Decimal]:
    zero = Decimal(0)
    return {a: end.get(a, zero) - start.get(a, zero) for a in set(start) | set(end)}


def value_in_quote(balances: dict[str, Decimal], mids: dict[str, Decimal]) -> Decimal | None:
    """Sum of non-zero balances valued in TRY at ``mids`` (symbol -> mid); None if one has no TRY price."""
    total = Decimal(0)
    for asset, amount in balances.items():
        if amount == 0:
            continue
        if asset == QUOTE:
            total += amount
            continue
        mid = mids.get(f"{asset}{QUOTE}")
        if mid is None:
            return None
        total += amount * mid
    return total


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    idx = max(0, math.ceil(q * len(ordered)) - 1)
    return ordered[idx]


def build_summary(
    *,
    run_id: str,
    dataset: str,
    events: int,
    wall_s: float,
    virtual_span_ms: int,
    decisions: list[tuple[str, str]],
    orders: list[tuple[str, Any]],
    latencies_ms: list[float],
    fills: list[tuple[Decimal, Decimal, Decimal, Decimal]],
    start_balances: dict[str, Decimal],
    end_balances: dict[str, Decimal],
    last_mids: dict[str, Decimal],
    curve: EquityCurve,
    cycles: int,
) -> dict[str, Any]:
    """``decisions``: (action, reason_code); ``orders``: (status, filled_qty); ``fills``: (price, qty, fee, tax)."""
    reason_counts: dict[str, int] = {}
    for _, code in decisions:
        reason_counts[code] = reason_counts.get(code, 0) + 1
    submitted = [o for o in orders if o[0] not in ("INTENT", "NOT_SENT")]
    rejected = [o for o in submitted if o[0] == "REJECTED"]
    filled = [o for o in submitted if o[0] == "FILLED"]
    fees = sum((f[2] + f[3] for f in fills), Decimal(0))
    notional = sum((f[0] * f[1] for f in fills), Decimal(0))
    change = deltas(start_balances, end_balances)
    pnl = value_in_quote(change, last_mids)
    balance_changes = {a: str(d) for a, d in sorted(change.items()) if d != 0}
    return {
        "run_id": run_id,
        "dataset": dataset,
        "events": events,
        "cycles": cycles,
        "virtual_seconds": round(virtual_span_ms / 1000, 3),
        "wall_seconds": round(wall_s, 3),
        "events_per_second": round(events / wall_s) if wall_s > 0 else None,
        "decisions": len(decisions),
        "reason_codes": dict(sorted(reason_counts.items())),
        "orders": len(submitted),
        "orders_filled": len(filled),
        "orders_rejected": len(rejected),
        "fills": len(fills),
        "filled_notional": str(notional),
        "fees": str(fees),
        "pnl": None if pnl is None else str(pnl.quantize(Decimal("0.01"))),
        "pnl_quote": QUOTE,
        "balance_changes": balance_changes,
        "max_drawdown": str(curve.max_drawdown.quantize(Decimal("0.01"))),
        "max_drawdown_ratio": float(curve.max_drawdown_ratio),
        "reject_rate": (len(rejected) / len(submitted)) if submitted else 0.0,
        "fill_rate": (len(filled) / len(submitted)) if submitted else 0.0,
        "submit_latency_p50_ms": _pct(latencies_ms, 0.50),
        "submit_latency_p95_ms": _pct(latencies_ms, 0.95),
        "stale_blocks": reason_counts.get(rc.MARKET_DATA_STALE, 0),
    }


def format_text(summary: dict[str, Any]) -> str:
    lines = [
        f"backtest {summary['run_id']}  dataset {summary['dataset']}",
        *([f"  {summary['strategy']}"] if summary.get("strategy") else []),
        f"  events {summary['events']}  cycles {summary['cycles']}  virtual {summary['virtual_seconds']} s  "
        f"wall {summary['wall_seconds']} s  ({summary['events_per_second']} events/s)",
        f"  orders {summary['orders']}  filled {summary['orders_filled']}  rejected {summary['orders_rejected']}  "
        f"fills {summary['fills']}  notional {summary['filled_notional']} {summary['pnl_quote']}",
        f"  fees {summary['fees']} {summary['pnl_quote']}  PnL {summary['pnl']} {summary['pnl_quote']} "
        f"(mark-to-market at the last mid)  max drawdown {summary['max_drawdown']} "
        f"({summary['max_drawdown_ratio']:.6%})",
        f"  reject rate {summary['reject_rate']:.2%}  fill rate {summary['fill_rate']:.2%}  "
        f"submit latency p50 {summary['submit_latency_p50_ms']} ms p95 {summary['submit_latency_p95_ms']} ms  "
        f"stale blocks {summary['stale_blocks']}",
        "  reason codes: " + ", ".join(f"{k} {v}" for k, v in summary["reason_codes"].items()),
    ]
    return "\n".join(lines)
