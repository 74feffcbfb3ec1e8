"""The backtest summary: what one replay run did, from its DB rows, its fills and the venue's request log.

The money figures come from ``btcbot.replay.accounting`` (average cost per symbol; an open position valued at
the last recorded touch: bid if long, ask if short). ``balance_changes`` are the venue account's own deltas, an
independent view of the same trades: the net PnL equals them valued at the same marks. Decimal amounts are
strings in the JSON form.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from btcbot import reason_codes as rc
from btcbot.domain.decimal_text import plain_decimal
from btcbot.replay.accounting import QUOTE, Accounting, fill_ratio, rate_limit_use
from btcbot.replay.venue import R_CANCEL

_CENT = Decimal("0.01")
_FINE = Decimal("1e-8")


def deltas(start: Mapping[str, Decimal], end: Mapping[str, Decimal]) -> dict[str, Decimal]:
    zero = Decimal(0)
    return {a: end.get(a, zero) - start.get(a, zero) for a in set(start) | set(end)}


def value_in_quote(balances: Mapping[str, Decimal], mids: Mapping[str, Decimal]) -> Decimal | None:
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


def _text(value: Decimal | None, quantum: Decimal = _FINE) -> str | None:
    """Plain decimal text (never ``1E-8``), rounded to ``quantum``, without trailing zeros."""
    return None if value is None else plain_decimal(value.quantize(quantum))


def _symbol_block(acc: Accounting) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for symbol, a in acc.ledger.accounts.items():
        mark = acc.mark(symbol)
        out[symbol] = {
            "quote": a.quote,
            "position": _text(a.position),
            "average_cost": _text(a.average_cost),
            "mark": _text(mark),
            "realized_pnl": _text(a.realized_pnl),
            "unrealized_pnl": _text(a.unrealized_pnl(mark)),
            "fees": _text(a.fees),
            "fee": _text(a.fee),
            "tax": _text(a.tax),
            "maker_fees": _text(a.maker_fees),
            "taker_fees": _text(a.taker_fees),
            "net_pnl": _text(a.net_pnl(mark)),
            "turnover": _text(a.turnover),
            "bought": _text(a.bought),
            "sold": _text(a.sold),
            "fills": a.fills,
            "maker_fills": a.maker_fills,
            "taker_fills": a.fills - a.maker_fills,
        }
    return out


def build_summary(
    *,
    run_id: str,
    dataset: str,
    events: int,
    wall_s: float,
    virtual_span_ms: int,
    cycles: int,
    latency_ms: int,
    decisions: Sequence[tuple[str, str]],
    orders: Sequence[tuple[str, Decimal, Decimal]],
    latencies_ms: list[float],
    acc: Accounting,
    start_balances: Mapping[str, Decimal],
    end_balances: Mapping[str, Decimal],
    calls: Mapping[tuple[str, str], Sequence[int]],
) -> dict[str, Any]:
    """``decisions``: (action, reason_code); ``orders``: (status, quantity, filled quantity) per order row."""
    reason_counts: dict[str, int] = {}
    for _, code in decisions:
        reason_counts[code] = reason_counts.get(code, 0) + 1
    submitted = [o for o in orders if o[0] not in ("INTENT", "NOT_SENT")]
    rejected = [o for o in submitted if o[0] == "REJECTED"]
    filled = [o for o in submitted if o[0] == "FILLED"]
    cancelled = [o for o in submitted if o[0] == "CANCELLED"]
    partial = [o for o in submitted if o[0] != "FILLED" and o[2] > 0]
    touches = acc.touches
    ledger = acc.ledger
    accounts = ledger.accounts.values()
    change = deltas(start_balances, end_balances)
    traded_assets = ledger.traded_assets()
    first_marks = {s: series[0][1] for s, series in acc.prices.items() if series}
    capital = value_in_quote({a: v for a, v in start_balances.items() if a in traded_assets}, first_marks)
    dd = acc.drawdown
    ratio = dd.amount / capital if capital else Decimal(0)
    fills_total = sum(a.fills for a in accounts)
    maker_total = sum(a.maker_fills for a in accounts)
    ratio_of_fills = fill_ratio(orders)
    rate_use = rate_limit_use(calls)
    return {
        "run_id": run_id,
        "dataset": dataset,
        "events": events,
        "cycles": cycles,
        "virtual_seconds": round(virtual_span_ms / 1000, 3),
        "wall_seconds": round(wall_s, 3),
        "events_per_second": round(events / wall_s) if wall_s > 0 else None,
        "latency_ms": latency_ms,
        "decisions": len(decisions),
        "reason_codes": dict(sorted(reason_counts.items())),
        "orders": len(submitted),
        "orders_filled": len(filled),
        "orders_partially_filled": len(partial),
        "orders_cancelled": len(cancelled),
        "orders_rejected": len(rejected),
        "cancels": len(calls.get(R_CANCEL, ())),
        "fills": fills_total,
        "maker_fills": maker_total,
        "taker_fills": fills_total - maker_total,
        "fill_ratio": None if ratio_of_fills is None else float(ratio_of_fills),
        "pnl_quote": QUOTE,
        "pnl": _text(acc.net_pnl(), _CENT),
        "realized_pnl": _text(ledger.total_in_try(touches, lambda a, _: a.realized_pnl)),
        "unrealized_pnl": _text(ledger.total_in_try(touches, lambda a, m: a.unrealized_pnl(m))),
        "fees": _text(ledger.total_in_try(touches, lambda a, _: a.fees)),
        "fee": _text(ledger.total_in_try(touches, lambda a, _: a.fee)),
        "tax": _text(ledger.total_in_try(touches, lambda a, _: a.tax)),
        "filled_notional": _text(ledger.total_in_try(touches, lambda a, _: a.turnover)),
        "symbols": _symbol_block(acc),
        "balance_changes": {a: plain_decimal(d) for a, d in sorted(change.items()) if d != 0},
        "max_drawdown": _text(dd.amount, _CENT),
        "max_drawdown_ratio": float(ratio),
        "equity_points": len(acc.curve),
        # No order sent: no rate (null, as stage7-report says for the same DB), not a 0 % that reads as a result.
        "reject_rate": (len(rejected) / len(submitted)) if submitted else None,
        "fill_rate": (len(filled) / len(submitted)) if submitted else None,
        "rate_limits": [u.as_dict() for u in rate_use],
        "submit_latency_p50_ms": _pct(latencies_ms, 0.50),
        "submit_latency_p95_ms": _pct(latencies_ms, 0.95),
        "stale_blocks": reason_counts.get(rc.MARKET_DATA_STALE, 0),
    }


def shown(value: object) -> str:
    """A figure as the text and the HTML report print it: ``-`` where the JSON has null."""
    return "-" if value is None else str(value)


def percent(value: float | None, places: int = 2) -> str:
    """A rate as a percentage (the text and the HTML report alike); ``-`` when it has no denominator."""
    return "-" if value is None else f"{value:.{places}%}"


DRAWDOWN_PLACES = 6  # a drawdown against the traded assets' whole value is a small fraction of a percent


def _rate_line(summary: dict[str, Any]) -> str:
    uses = summary["rate_limits"]
    if not uses:
        return "  rate limits: no limited request made"
    shown = ", ".join(f"{u['method']} {u['route']} {u['peak']}/{u['limit']} per {u['period_s']:g} s" for u in uses[:3])
    over = [u for u in uses if u["headroom"] < 0]
    verdict = f"OVER THE LIMIT on {len(over)}" if over else f"tightest headroom {uses[0]['headroom']}"
    return f"  rate limits (peak per window / venue limit): {shown}; {verdict}"


def format_text(summary: dict[str, Any]) -> str:
    q = summary["pnl_quote"]
    lines = [
        f"backtest {summary['run_id']}  dataset {summary['dataset']}",
        *([f"  {summary['strategy']}"] if summary.get("strategy") else []),
        f"  events {summary['events']}  cycles {summary['cycles']}  virtual {summary['virtual_seconds']} s  "
        f"wall {summary['wall_seconds']} s  ({summary['events_per_second']} events/s)  "
        f"order latency {summary['latency_ms']} ms",
        f"  orders {summary['orders']}  filled {summary['orders_filled']}  "
        f"partially filled {summary['orders_partially_filled']}  cancelled {summary['orders_cancelled']}  "
        f"rejected {summary['orders_rejected']}  cancel requests {summary['cancels']}",
        f"  fills {summary['fills']} (maker {summary['maker_fills']}, taker {summary['taker_fills']})  "
        f"fill ratio {percent(summary['fill_ratio'])}  "
        f"turnover {summary['filled_notional']} {q}",
        f"  PnL {summary['pnl']} {q} = realized {summary['realized_pnl']} + unrealized {summary['unrealized_pnl']} "
        f"(open position at the bid if long, the ask if short) - fees {summary['fees']} "
        f"(fee {summary['fee']} + tax {summary['tax']})",
        f"  max drawdown {summary['max_drawdown']} {q} ({percent(summary['max_drawdown_ratio'], DRAWDOWN_PLACES)})",
    ]
    for symbol, s in summary["symbols"].items():
        if not s["fills"]:
            continue
        lines.append(
            f"  {symbol}: position {s['position']} at average cost {shown(s['average_cost'])}, "
            f"mark {shown(s['mark'])}; "
            f"realized {s['realized_pnl']} unrealized {s['unrealized_pnl']} fees {s['fees']} {s['quote']}"
        )
    lines += [
        _rate_line(summary),
        f"  reject rate {percent(summary['reject_rate'])}  fill rate {percent(summary['fill_rate'])}  "
        f"submit latency p50 {shown(summary['submit_latency_p50_ms'])} ms "
        f"p95 {shown(summary['submit_latency_p95_ms'])} ms  "
        f"stale blocks {summary['stale_blocks']}",
        "  reason codes: " + ", ".join(f"{k} {v}" for k, v in summary["reason_codes"].items()),
    ]
    return "\n".join(lines)
