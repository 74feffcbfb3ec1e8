"""Risk-gate actor: runs ``btcbot.runtime.risk_gate.assess`` over the cycle's proposals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from btcbot import reason_codes as rc
from btcbot.actors._base import ActorServices, BtcbotActor
from btcbot.actors.messages import IntentsProposed, RiskAssessed
from btcbot.arming import ArmingGate
from btcbot.domain.rules import SymbolRules
from btcbot.runtime.cycle import SymbolOutcome
from btcbot.runtime.risk_gate import RiskInput, RiskLimits, assess
from btcbot.telemetry.tracing import inject, start_span


class RiskGateActor(BtcbotActor):
    actor_name = "risk_gate"

    def __init__(
        self, services: ActorServices, *, limits: RiskLimits, rules: Mapping[str, SymbolRules], gate: ArmingGate
    ) -> None:
        super().__init__(services)
        self._limits = limits
        self._rules = dict(rules)
        self._gate = gate

    def handle(self, message: Any) -> None:
        if not isinstance(message, IntentsProposed):
            raise TypeError(f"risk gate cannot handle {type(message).__name__}")
        ctx = message.ctx
        outcomes = list(message.outcomes)
        ages = {fb.symbol: fb.verdict.age_ms for fb in message.fresh}
        with start_span("risk_gate", carrier=message.trace, attributes={"btcbot.actor": self.actor_name}):
            inputs = [
                RiskInput(
                    p.symbol,
                    p.intents,
                    self._rules.get(p.symbol),
                    fb.book.mid,
                    best_bid=fb.book.best_bid,
                    best_ask=fb.book.best_ask,
                    cancels=p.cancels,
                )
                for p, fb in zip(message.proposals, message.fresh, strict=True)
            ]
            verdicts = assess(
                inputs,
                limits=self._limits,
                live_orders=ctx.live_orders,
                # Live always judges balances (none known = none free); observe-only without credentials skips it.
                free_balances=ctx.balances_map() if (ctx.free_balances or self._gate.live) else None,
                # The kill switch refuses up front only where it is what holds back a process that has write
                # authority. An observe-only run has nothing to hold back: its intents are judged on their merits
                # and recorded as dry_run:would_submit with every arm reason, the kill switch among them.
                kill_switch=ctx.kill_switch and self._gate.decision.protective_cancel_allowed,
                safe_mode_latched=self._gate.safe_mode_cause is not None,
                positions=ctx.account.net_base(),
                orders_placed=ctx.orders_placed,
            )
            approved = []
            for v in verdicts:
                if v.approved or v.cancels:
                    approved.append(v)
                for refusal in v.refused:  # every refused intent is a decision record of its own
                    action = "none" if refusal.reason_code == rc.RISK_KILL_SWITCH else "refuse"
                    cid = dict(refusal.details).get("client_order_id") if refusal.intent is None else None
                    outcomes.append(
                        SymbolOutcome(v.symbol, action, refusal.reason_code, refusal.details, ages.get(v.symbol), cid)
                    )
            trace = inject()
        self.tell(
            "order_manager",
            RiskAssessed(
                ctx=ctx,
                verdicts=tuple(approved),
                market_data_ages=tuple(ages.items()),
                book_received_ns=tuple((fb.symbol, fb.book.received_monotonic_ns) for fb in message.fresh),
                outcomes=tuple(outcomes),
                trace=trace,
            ),
        )
