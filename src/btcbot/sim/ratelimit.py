"""BTCTurk's published rate limits (btcturk-api.md section 3): fixed windows from the first request."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    limit: int
    period_s: int
    policy: str  # "ip" or "account"

    @property
    def period_label(self) -> str:
        return f"{self.period_s // 60}m" if self.period_s >= 60 else f"{self.period_s}s"


# (method, route key) -> rules. Route keys are assigned by the REST router.
RULES: dict[tuple[str, str], tuple[Rule, ...]] = {
    ("GET", "balances"): (Rule(120, 60, "ip"),),
    ("POST", "order"): (Rule(10, 1, "account"), Rule(300, 60, "account")),
    ("DELETE", "order"): (Rule(10, 1, "account"), Rule(300, 60, "account")),
    ("GET", "order_id"): (Rule(30, 1, "account"), Rule(900, 60, "account")),
    ("GET", "openorders"): (Rule(300, 60, "ip"),),
    ("GET", "allorders"): (Rule(300, 60, "ip"),),
    ("GET", "usertrades"): (Rule(120, 60, "ip"),),
    ("GET", "ticker"): (Rule(600, 60, "ip"),),
    ("GET", "orderbook"): (Rule(180, 60, "ip"),),
    ("GET", "ohlcs"): (Rule(120, 60, "ip"), Rule(600, 600, "ip")),
    ("GET", "klines"): (Rule(600, 600, "ip"),),
    ("WS", "connect"): (Rule(15, 60, "ip"),),  # WebSocket handshakes (subscribe frames are not counted)
}


@dataclass(frozen=True, slots=True)
class Limited:
    rule: Rule
    retry_after_s: int

    def body(self) -> dict[str, object]:
        r = self.rule
        return {
            "message": "TOO_MANY_REQUESTS",
            "success": False,
            "code": 429,
            "details": (
                f"Quota exceeded. Maximum allowed: {r.limit} per {r.period_label}. "
                f"Please try again in {self.retry_after_s} second(s)."
            ),
            "limit": str(r.limit),
            "period": r.period_label,
            "policy": r.policy,
        }


class RateLimiter:
    def __init__(self) -> None:
        self._windows: dict[tuple[str, str, int, str], list[float]] = {}  # -> [window start, count]

    def reset(self) -> None:
        self._windows.clear()

    def check(self, method: str, route: str, account: str | None, ip: str, now_s: float) -> Limited | None:
        """Count one request; a ``Limited`` (and no count) if any rule's window is exhausted."""
        rules = RULES.get((method, route))
        if not rules:
            return None
        keys = []
        for rule in rules:
            who = account if (rule.policy == "account" and account) else ip
            key = (method, route, rule.period_s, who)
            window = self._windows.get(key)
            if window is None or now_s >= window[0] + rule.period_s:
                window = [now_s, 0.0]
                self._windows[key] = window
            if window[1] >= rule.limit:
                return Limited(rule, max(1, math.ceil(window[0] + rule.period_s - now_s)))
            keys.append(window)
        for window in keys:
            window[1] += 1
        return None
