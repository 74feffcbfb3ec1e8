"""Strategy actor: asks the configured strategy what it wants on each fresh book, and plans the difference."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from btcbot import reason_codes as rc
from btcbot.actors._base import ActorServices, BtcbotActor
from btcbot.actors.messages import BooksChecked, IntentsProposed
from btcbot.domain.orders import OrderStatus
from btcbot.domain.rules import SymbolRules
from btcbot.runtime.cycle import FreshBook, SymbolOutcome
from btcbot.runtime.freshness import assess_book
from btcbot.runtime.risk_gate import RiskLimits
from btcbot.runtime.strategy import AnyStrategy, Proposal, ask, build_view, plan, strategy_limits, strategy_orders
from btcbot.telemetry.tracing import inject, start_span


class StrategyActor(BtcbotActor):
    actor_name = "strategy"

    def __init__(
        self,
        services: ActorServices,
        *,
        strategy: AnyStrategy,
        rules: Mapping[str, SymbolRules],
        account_scope: str,
        limits: RiskLimits,
        balances_known: bool,
        max_age_ms: int,
    ) -> None:
        super().__init__(services)
        self._strategy = strategy
        self._rules = dict(rules)
        self._scope = account_scope
        self._limits = {s: strategy_limits(limits, s) for s in self._rules}
        # Without credentials there are no balances to show (observe-only): the view says "unknown", not "zero".
        self._balances_known = balances_known
        self._max_age_ms = max_age_ms

    def handle(self, message: Any) -> None:
        if not isinstance(message, BooksChecked):
            raise TypeError(f"strategy cannot handle {type(message).__name__}")
        ctx = message.ctx
        proposals: list[Proposal] = []
        fresh = []
        outcomes = list(message.outcomes)
        balances = ctx.balances_map() if self._balances_known else None
        attrs = {"btcbot.actor": self.actor_name, "btcbot.strategy": self._strategy.name}
        with start_span("strategy", carrier=message.trace, attributes=attrs):
            for fb in message.fresh:
                rules = self._rules.get(fb.symbol)
                if rules is None:
                    outcomes.append(
                        SymbolOutcome(
                            fb.symbol,
                            "refuse",
                            rc.RISK_SYMBOL_NOT_TRADABLE,
                            (("why", "no exchange rules for symbol"),),
                            fb.verdict.age_ms,
                        )
                    )
                    continue
                unknown = [r for r in ctx.live_on(fb.symbol) if r.status is OrderStatus.UNKNOWN]
                if unknown:
                    # Blocked before the strategy is even asked: nothing on this symbol until it is resolved.
                    outcomes.append(
                        SymbolOutcome(
                            fb.symbol,
                            "refuse",
                            rc.RISK_UNKNOWN_ORDER,
                            (("client_order_id", unknown[0].client_order_id),),
                            fb.verdict.age_ms,
                            unknown[0].client_order_id,
                        )
                    )
                    continue
                mine = strategy_orders(ctx, fb.symbol)
                view = build_view(ctx, fb.book, rules, self._limits[fb.symbol], orders=mine, balances=balances)
                wanted = ask(self._strategy, view)
                aged = self._aged(fb)
                if aged is not None:
                    outcomes.append(aged)
                    continue
                proposal = plan(wanted, mine, rules, ctx=ctx, scope=self._scope)
                if proposal.intents or proposal.cancels:
                    proposals.append(proposal)
                    fresh.append(fb)
                else:
                    outcomes.append(
                        SymbolOutcome(
                            fb.symbol,
                            "skip",
                            proposal.skip_reason or rc.STRATEGY_NO_INTENT,
                            proposal.details,
                            fb.verdict.age_ms,
                        )
                    )
            trace = inject()
        self.tell(
            "risk_gate",
            IntentsProposed(
                ctx=ctx, proposals=tuple(proposals), fresh=tuple(fresh), outcomes=tuple(outcomes), trace=trace
            ),
        )

    def _aged(self, fb: FreshBook) -> SymbolOutcome | None:
        """The freshness guard judged the book before the strategy was asked; a slow ``decide`` (or the ones before
        it this cycle) can age it past the limit, and then its orders would be priced and collared on a stale book."""
        clock = self.services.clock
        verdict = assess_book(
            fb.book, now_wall_ms=clock.wall_ms(), now_monotonic_ns=clock.monotonic_ns(), max_age_ms=self._max_age_ms
        )
        if verdict.ok:
            return None
        details = (("age_ms", f"{verdict.age_ms or 0:.0f}"), ("max_age_ms", str(self._max_age_ms)))
        return SymbolOutcome(fb.symbol, "refuse", rc.STRATEGY_TOO_SLOW, details, verdict.age_ms)
