"""``stage7-alerts``: alerts derived from decision records, stored alerts and order state (pure functions).

Every raw observation becomes a :class:`Signal` (kind, dedup key, severity, time); :func:`deduplicate`
folds signals with the same kind and key into one :class:`Alert` carrying first/last seen, a count and the
worst severity seen. There is no acknowledgement workflow, so an alert is *open* unless the row it came
from shows the condition has since cleared (an UNKNOWN order later resolved, a stale streak that ended).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import IntEnum

from btcbot import reason_codes as rc
from btcbot.reports.records import DecisionRow, OrderRow, Window
from btcbot.reports.summary import order_is_rejected, percentile, utc_iso
from btcbot.storage.equity import max_drawdown


class Severity(IntEnum):
    INFO = 0
    WARNING = 1
    CRITICAL = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Alert thresholds; built from Settings by the command, defaults match the settings' defaults."""

    stale_streak_warn: int = 3
    max_reject_rate: Decimal = Decimal("0.2")
    reject_spike_min_orders: int = 3
    max_latency_p95_ms: Decimal = Decimal("1500")
    max_drawdown_ratio: Decimal = Decimal("0.05")


@dataclass(frozen=True, slots=True)
class Signal:
    kind: str
    key: str
    severity: Severity
    ts: datetime
    reason_code: str
    message: str
    open: bool = True
    weight: int = 1


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str
    key: str
    severity: Severity
    reason_code: str
    message: str
    first_seen: datetime
    last_seen: datetime
    count: int
    open: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "key": self.key,
            "severity": self.severity.label,
            "status": "open" if self.open else "resolved",
            "reason_code": self.reason_code,
            "message": self.message,
            "first_seen": utc_iso(self.first_seen),
            "last_seen": utc_iso(self.last_seen),
            "count": self.count,
        }


# ----- individual derivations -------------------------------------------------------------------


def stale_streak_signals(decisions: Sequence[DecisionRow], threshold: int) -> list[Signal]:
    """One signal per run of consecutive stale cycles for a symbol; warning once it reaches ``threshold``."""
    out: list[Signal] = []
    by_key: dict[tuple[str, str], list[DecisionRow]] = {}
    for d in decisions:
        if d.symbol != "*":
            by_key.setdefault((d.run_id, d.symbol), []).append(d)
    for (run_id, symbol), rows in by_key.items():
        streak: list[DecisionRow] = []
        tail: list[DecisionRow | None] = [*rows, None]
        for nxt in tail:
            if nxt is not None and nxt.reason_code == rc.MARKET_DATA_STALE:
                streak.append(nxt)
                continue
            if streak:
                n = len({s.cycle_id for s in streak})
                severity = Severity.WARNING if n >= threshold else Severity.INFO
                out.append(
                    Signal(
                        kind="stale_streak",
                        key=symbol,
                        severity=severity,
                        ts=streak[0].ts,
                        reason_code=rc.MARKET_DATA_STALE,
                        message=f"{symbol}: {n} consecutive cycle(s) blocked on stale market data (run {run_id})",
                        open=nxt is None,  # the streak is still going at the end of the window
                        weight=n,
                    )
                )
                out.append(_last_seen(out[-1], streak[-1].ts))
                streak = []
    return out


def _last_seen(signal: Signal, ts: datetime) -> Signal:
    """A zero-weight twin carrying the streak's end time, so dedup sees the real last_seen."""
    return Signal(signal.kind, signal.key, signal.severity, ts, signal.reason_code, signal.message, signal.open, 0)


def reject_spike_signals(orders: Sequence[OrderRow], thresholds: Thresholds) -> list[Signal]:
    sent = [o for o in orders if o.sent]
    rejected = [o for o in sent if order_is_rejected(o)]
    if not rejected or len(sent) < thresholds.reject_spike_min_orders:
        return []
    rate = Decimal(len(rejected)) / Decimal(len(sent))
    if rate <= thresholds.max_reject_rate:
        return []
    everything = len(rejected) == len(sent)
    return [
        Signal(
            kind="reject_spike",
            key="*",
            severity=Severity.CRITICAL if everything else Severity.WARNING,
            ts=o.updated_at,
            reason_code=rc.ORDER_REJECTED,
            message=(
                f"reject rate {rate:.2f} over {len(sent)} sent order(s) exceeds DOCTOR_MAX_REJECT_RATE "
                f"{thresholds.max_reject_rate}"
            ),
        )
        for o in rejected
    ]


def latency_signals(orders: Sequence[OrderRow], thresholds: Thresholds) -> list[Signal]:
    timed = [o for o in orders if o.sent and o.submit_latency_ms is not None]
    p95 = percentile((o.submit_latency_ms for o in timed if o.submit_latency_ms is not None), 95)
    if p95 is None or Decimal(str(p95)) <= thresholds.max_latency_p95_ms:
        return []
    slow = [o for o in timed if o.submit_latency_ms is not None and o.submit_latency_ms > thresholds.max_latency_p95_ms]
    return [
        Signal(
            kind="latency_breach",
            key="order_submit_latency_ms",
            severity=Severity.WARNING,
            ts=o.updated_at,
            reason_code="slo:latency_p95",
            message=(
                f"submit latency p95 {p95:.0f} ms exceeds DOCTOR_MAX_LATENCY_P95_MS {thresholds.max_latency_p95_ms}"
            ),
        )
        for o in slow
    ]


def drawdown_signals(window: Window, thresholds: Thresholds) -> list[Signal]:
    """The doctor's ``slo_max_drawdown_ratio`` over the window's equity curve: critical where the doctor FAILs."""
    ratio = max_drawdown([value for _, value in window.equity])
    if ratio is None or Decimal(str(ratio)) <= thresholds.max_drawdown_ratio:
        return []
    return [
        Signal(
            kind="drawdown_breach",
            key="account",
            severity=Severity.CRITICAL,
            ts=window.equity[-1][0],
            reason_code=rc.SLO_MAX_DRAWDOWN,
            message=(
                f"max drawdown {ratio:.4g} over {len(window.equity)} balance snapshot(s) exceeds "
                f"DOCTOR_MAX_DRAWDOWN_RATIO {thresholds.max_drawdown_ratio}; stop, set KILL_SWITCH=true, review fills"
            ),
        )
    ]


def operator_cleanup_signals(window: Window) -> list[Signal]:
    """``btcbot orders cancel-all`` runs: info when the venue showed none left, critical (open) until a later
    clean-up of the same scope succeeds."""
    out: list[Signal] = []
    for a in window.stored_alerts:
        if a.kind != OPERATOR_CLEANUP_KIND:
            continue
        ok = a.reason_code == rc.OPERATOR_CANCEL_ALL
        severity = Severity.INFO if ok else Severity.CRITICAL
        out.append(
            Signal(a.kind, f"scope:{_detail(a.details, 'scope')}", severity, a.ts, a.reason_code, a.message, not ok)
        )
    return out


def unknown_order_signals(window: Window) -> list[Signal]:
    """UNKNOWN orders: critical while unresolved (wherever they are), resolved ones stay visible as warnings."""
    out: list[Signal] = []
    seen: set[str] = set()
    for o in window.unresolved_orders:
        seen.add(o.client_order_id)
        out.append(
            Signal(
                kind="unknown_order",
                key=o.client_order_id,
                severity=Severity.CRITICAL,
                ts=o.updated_at,
                reason_code=rc.ORDER_UNKNOWN,
                message=(
                    f"order {o.client_order_id} ({o.symbol}) outcome unknown since {o.updated_at:%H:%M:%S}; "
                    "set KILL_SWITCH=true and reconcile before any further live cycle"
                ),
            )
        )
    for d in window.decisions:
        if d.reason_code == rc.ORDER_UNKNOWN and d.client_order_id and d.client_order_id not in seen:
            out.append(
                Signal(
                    kind="unknown_order",
                    key=d.client_order_id,
                    severity=Severity.WARNING,
                    ts=d.ts,
                    reason_code=rc.ORDER_UNKNOWN,
                    message=f"order {d.client_order_id} ({d.symbol}) was UNKNOWN and has since been resolved",
                    open=False,
                )
            )
    return out


# Decision reason codes that map one-to-one to an alert.
_DECISION_ALERTS: dict[str, tuple[str, Severity, str]] = {
    rc.SUPERVISOR_SAFE_MODE: ("safe_mode", Severity.CRITICAL, "supervisor latched SAFE MODE; the run is observe-only"),
    rc.SUPERVISOR_RESTART_BUDGET_SPENT: ("actor_failure", Severity.CRITICAL, "actor restart budget spent"),
    rc.SUPERVISOR_ACTOR_RESTARTED: ("actor_failure", Severity.WARNING, "an actor failed and was restarted"),
    rc.RECONCILE_ORPHAN_FOUND: (
        "orphan_order",
        Severity.CRITICAL,
        "an order with this bot's prefix is unknown locally",
    ),
    rc.MARKET_DATA_INVALID_BOOK: ("invalid_book", Severity.WARNING, "invalid order book (crossed or zero bid)"),
}

# The kind `btcbot orders cancel-all` stores its outcome under (btcbot.cleanup.records writes it).
OPERATOR_CLEANUP_KIND = "operator_cancel_all"

_STORED_KINDS: dict[str, Severity] = {
    "safe_mode": Severity.CRITICAL,
    "orphan_order": Severity.WARNING,
    "unknown_order": Severity.CRITICAL,
    "lock_contention": Severity.WARNING,
    "restart_budget": Severity.CRITICAL,
    "actor_restart": Severity.WARNING,
}


def _detail(details: str, name: str) -> str:
    try:
        parsed = json.loads(details)
    except ValueError:
        return ""
    return str(parsed.get(name) or "") if isinstance(parsed, dict) else ""


def decision_signals(decisions: Iterable[DecisionRow]) -> list[Signal]:
    out: list[Signal] = []
    for d in decisions:
        spec = _DECISION_ALERTS.get(d.reason_code)
        if spec is None:
            continue
        kind, severity, text = spec
        key = d.client_order_id if kind == "orphan_order" and d.client_order_id else d.run_id
        cause = _detail(d.details, "cause")
        message = f"{text} (cause {cause}; run {d.run_id})" if cause else f"{text} (run {d.run_id})"
        out.append(Signal(kind, key, severity, d.ts, d.reason_code, message))
        if d.reason_code == rc.SUPERVISOR_SAFE_MODE and _is_lock_contention(_detail(d.details, "detail")):
            out.append(
                Signal(
                    "lock_contention",
                    d.run_id,
                    Severity.WARNING,
                    d.ts,
                    d.reason_code,
                    f"the state DB stayed locked by another process past the writer's retries (run {d.run_id}); "
                    "look for a long-running reader or a second writer on STATE_DB_PATH",
                )
            )
    return out


# A writer that could not get the DuckDB file fails with StateStoreBusy (or DuckDB's own lock error text).
_LOCK_MARKERS = ("StateStoreBusy", "locked by another process", "Could not set lock on file", "Conflicting lock")


def _is_lock_contention(detail: str) -> bool:
    return any(marker in detail for marker in _LOCK_MARKERS)


def stored_alert_signals(window: Window) -> list[Signal]:
    """Rows of the ``alerts`` table (written by the runtime), e.g. lock contention or safe-mode entries."""
    out: list[Signal] = []
    # The supervisor writes both a decision and an alert per latch: count the latch once.
    escalated_runs = {d.run_id for d in window.decisions if d.reason_code == rc.SUPERVISOR_SAFE_MODE}
    # UNKNOWN orders are judged from the orders themselves (still UNKNOWN or since resolved), not the alert.
    judged = {o.client_order_id for o in window.unresolved_orders} | {
        d.client_order_id for d in window.decisions if d.reason_code == rc.ORDER_UNKNOWN and d.client_order_id
    }
    for a in window.stored_alerts:
        if a.kind == "unknown_order" and _detail(a.details, "client_order_id") in judged:
            continue
        if a.kind == OPERATOR_CLEANUP_KIND:
            continue  # judged by operator_cleanup_signals
        try:
            severity = Severity[a.severity.upper()]
        except KeyError:
            severity = _STORED_KINDS.get(a.kind, Severity.WARNING)
        # A stored alert for a kind the decisions already report folds into the same alert (same key).
        order = _detail(a.details, "client_order_id")
        if order:
            key = order
        elif a.kind in ("safe_mode", "actor_failure"):
            key = a.run_id or "*"
        else:
            key = a.reason_code
        weight = 0 if a.kind == "safe_mode" and a.run_id in escalated_runs else 1
        out.append(Signal(a.kind, key, severity, a.ts, a.reason_code, a.message, weight=weight))
    return out


# ----- folding ----------------------------------------------------------------------------------


def deduplicate(signals: Iterable[Signal]) -> list[Alert]:
    """Fold signals by (kind, key): worst severity, first/last seen, summed count; critical first."""
    merged: dict[tuple[str, str], Alert] = {}
    for s in sorted(signals, key=lambda s: s.ts):
        prev = merged.get((s.kind, s.key))
        if prev is None:
            merged[(s.kind, s.key)] = Alert(
                s.kind, s.key, s.severity, s.reason_code, s.message, s.ts, s.ts, s.weight, s.open
            )
            continue
        worse = s.severity > prev.severity
        merged[(s.kind, s.key)] = Alert(
            kind=prev.kind,
            key=prev.key,
            severity=max(prev.severity, s.severity),
            reason_code=s.reason_code if worse else prev.reason_code,
            # The newest message describes the latest state (e.g. the longest streak so far).
            message=s.message if s.weight or worse else prev.message,
            first_seen=prev.first_seen,
            last_seen=max(prev.last_seen, s.ts),
            count=prev.count + s.weight,
            open=s.open,
        )
    return sorted(merged.values(), key=lambda a: (-a.severity, a.first_seen, a.kind, a.key))


def contention_signals(events: Iterable[Mapping[str, object]], since: datetime | None) -> list[Signal]:
    """Refused second instances (recorded beside the instance lock by ``btcbot.lock``), one alert per scope."""
    out: list[Signal] = []
    for e in events:
        ts = datetime.fromtimestamp(int(str(e["ts_ms"])) / 1000, tz=UTC)
        if since is not None and ts < since:
            continue
        scope = str(e.get("scope", "?"))
        out.append(
            Signal(
                "lock_contention",
                f"instance_lock:{scope}",
                Severity.WARNING,
                ts,
                rc.LOCK_INSTANCE_HELD,
                f"a second instance (PID {e.get('pid')}) was refused: PID {e.get('holder_pid')} holds scope "
                f"{scope}; check for duplicate launches (runbook: abort on lock contention)",
            )
        )
    return out


def derive_alerts(window: Window, thresholds: Thresholds, extra: Iterable[Signal] = ()) -> list[Alert]:
    signals: list[Signal] = list(extra)
    signals += stale_streak_signals(window.decisions, thresholds.stale_streak_warn)
    signals += reject_spike_signals(window.orders, thresholds)
    signals += latency_signals(window.orders, thresholds)
    signals += unknown_order_signals(window)
    signals += decision_signals(window.decisions)
    signals += stored_alert_signals(window)
    signals += operator_cleanup_signals(window)
    signals += drawdown_signals(window, thresholds)
    return deduplicate(signals)


def alerts_exit_code(alerts: Iterable[Alert]) -> int:
    """2 when a critical alert is open, 1 when only warnings are open, 0 otherwise (info never fails)."""
    worst = max((a.severity for a in alerts if a.open), default=Severity.INFO)
    return {Severity.CRITICAL: 2, Severity.WARNING: 1}.get(worst, 0)
