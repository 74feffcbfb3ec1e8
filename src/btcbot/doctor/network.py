"""Exchange-facing checks: connectivity, clock offset, symbols tradable, MIN_ORDER_NOTIONAL_TRY vs the venue.

The network part is one injectable function (``ExchangeProbe``) returning plain facts; the checks are pure
functions of those facts, so every status is unit-testable with a fake probe.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from btcbot.doctor.model import CheckResult, Status

if TYPE_CHECKING:
    from btcbot.settings import Settings

SIGNING_WINDOW_MS = 5000


@dataclass(frozen=True, slots=True)
class SymbolFacts:
    listed: bool
    status: str | None = None
    min_exchange_value: Decimal | None = None

    @property
    def tradable(self) -> bool:
        return self.listed and self.status == "TRADING"


@dataclass(frozen=True, slots=True)
class ExchangeFacts:
    reachable: bool
    base_url: str
    error: str | None = None  # one line, never a secret (public endpoints only)
    latency_ms: float | None = None
    clock_offset_ms: float | None = None
    clock_rtt_ms: float | None = None
    symbols: dict[str, SymbolFacts] = field(default_factory=dict)


ExchangeProbe = Callable[["Settings"], ExchangeFacts]


def probe_exchange(settings: Settings) -> ExchangeFacts:
    """The real probe: public endpoints only (server time, exchangeinfo), no retries, short timeouts."""
    from btcbot.errors import BtcbotError
    from btcbot.exchange.btcturk.clock import measure_clock_offset
    from btcbot.exchange.btcturk.http import BtcturkHttp
    from btcbot.exchange.retry import NO_RETRY

    base = settings.btcturk_base_url
    # Public calls only: the doctor never needs to sign, so credentials are not handed to the client.
    http = BtcturkHttp(base, connect_timeout_s=2.0, read_timeout_s=4.0, retry=NO_RETRY)
    try:
        started = time.perf_counter()
        try:
            offset = measure_clock_offset(http, samples=3)
            info = http.exchange_info()
        except BtcbotError as exc:
            return ExchangeFacts(reachable=False, base_url=base, error=_one_line(exc))
        latency_ms = (time.perf_counter() - started) * 1000.0 / 4
        symbols: dict[str, SymbolFacts] = {}
        for symbol in settings.universe_symbols:
            found = info.find(symbol)
            if found is None:
                symbols[symbol] = SymbolFacts(listed=False)
                continue
            pf = found.price_filter()
            symbols[symbol] = SymbolFacts(
                listed=True, status=found.status, min_exchange_value=pf.min_exchange_value if pf else None
            )
        return ExchangeFacts(
            reachable=True,
            base_url=base,
            latency_ms=latency_ms,
            clock_offset_ms=offset.offset_ms,
            clock_rtt_ms=offset.rtt_ms,
            symbols=symbols,
        )
    finally:
        http.close()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else exc.__class__.__name__)[:300]


NETWORK_CHECK_NAMES = ("exchange_connectivity", "clock_offset", "symbols_tradable", "min_order_notional")


def skipped_network_checks(reason: str, action: str = "none") -> list[CheckResult]:
    return [CheckResult(name, Status.SKIP, reason, action) for name in NETWORK_CHECK_NAMES]


def check_connectivity(facts: ExchangeFacts, *, live_intended: bool) -> CheckResult:
    details: dict[str, object] = {"base_url": facts.base_url, "latency_ms": facts.latency_ms}
    if facts.reachable:
        lat = f"{facts.latency_ms:.0f} ms" if facts.latency_ms is not None else "n/a"
        return CheckResult(
            "exchange_connectivity", Status.PASS, f"{facts.base_url} answered (mean {lat} a call)", "none", details
        )
    # Observe-only can still be exercised offline (stage 0); anything heading for live cannot.
    status = Status.FAIL if live_intended else Status.WARN
    return CheckResult(
        "exchange_connectivity",
        status,
        f"{facts.base_url} unreachable: {facts.error}",
        "check network/DNS/firewall and BTCTURK_BASE_URL; do not proceed to stage 1+ until it answers",
        details,
    )


def check_clock(facts: ExchangeFacts, settings: Settings) -> CheckResult:
    if not facts.reachable or facts.clock_offset_ms is None:
        return CheckResult("clock_offset", Status.SKIP, "exchange unreachable: offset not measured", "see connectivity")
    offset = facts.clock_offset_ms
    warn, fail = settings.doctor_clock_warn_ms, settings.doctor_clock_fail_ms
    details = {
        "offset_ms": offset,
        "rtt_ms": facts.clock_rtt_ms,
        "warn_ms": warn,
        "fail_ms": fail,
        "signing_window_ms": SIGNING_WINDOW_MS,
    }
    text = f"local clock is {abs(offset):.0f} ms {'behind' if offset > 0 else 'ahead of'} the exchange"
    if abs(offset) >= fail:
        return CheckResult(
            "clock_offset",
            Status.FAIL,
            f"{text} (>= {fail} ms; signed requests are valid only within ±{SIGNING_WINDOW_MS} ms)",
            "fix NTP on this host before any authenticated call",
            details,
        )
    if abs(offset) >= warn:
        return CheckResult(
            "clock_offset", Status.WARN, f"{text} (>= {warn} ms)", "check NTP sync on this host", details
        )
    return CheckResult("clock_offset", Status.PASS, f"{text} (< {warn} ms)", "none", details)


def check_symbols(facts: ExchangeFacts, settings: Settings) -> CheckResult:
    if not facts.reachable:
        return CheckResult("symbols_tradable", Status.SKIP, "exchange unreachable", "see connectivity")
    bad = {s: f for s, f in facts.symbols.items() if not f.tradable}
    details = {s: ("TRADING" if f.tradable else (f.status or "not listed")) for s, f in facts.symbols.items()}
    if not bad:
        return CheckResult(
            "symbols_tradable", Status.PASS, f"all tradable: {','.join(settings.universe_symbols)}", "none", details
        )
    listing = ", ".join(f"{s} ({f.status or 'not listed'})" for s, f in bad.items())
    return CheckResult(
        "symbols_tradable",
        Status.FAIL,
        f"not tradable: {listing}",
        "fix UNIVERSE_SYMBOLS (spelling such as BTCTRY) or wait until the pair trades",
        details,
    )


def check_min_notional(facts: ExchangeFacts, settings: Settings, *, live_intended: bool = True) -> CheckResult:
    """Below the venue minimum every order is rejected: FAIL when heading for live, WARN while observe-only."""
    if not facts.reachable:
        return CheckResult("min_order_notional", Status.SKIP, "exchange unreachable", "see connectivity")
    ours = settings.min_order_notional_try
    # Only TRY-quoted pairs compare with a TRY floor; a USDT pair's minimum is in USDT.
    minimums = {s: f.min_exchange_value for s, f in facts.symbols.items() if f.listed and s.endswith("TRY")}
    details = {s: (str(v) if v is not None else None) for s, v in minimums.items()}
    details["MIN_ORDER_NOTIONAL_TRY"] = str(ours)
    known = {s: v for s, v in minimums.items() if v is not None}
    if not known:
        return CheckResult(
            "min_order_notional",
            Status.SKIP,
            "exchange minimums unknown for the universe",
            "see symbols_tradable",
            details,
        )
    below = {s: v for s, v in known.items() if ours < v}
    if below:
        listing = ", ".join(f"{s} minExchangeValue {v}" for s, v in below.items())
        return CheckResult(
            "min_order_notional",
            Status.FAIL if live_intended else Status.WARN,
            f"MIN_ORDER_NOTIONAL_TRY={ours} is below the exchange minimum: {listing}",
            f"set MIN_ORDER_NOTIONAL_TRY >= {max(below.values())} (orders below it are rejected)",
            details,
        )
    top = max(known.values())
    return CheckResult(
        "min_order_notional", Status.PASS, f"MIN_ORDER_NOTIONAL_TRY={ours} >= exchange minimum {top}", "none", details
    )


def network_checks(facts: ExchangeFacts, settings: Settings, *, live_intended: bool) -> list[CheckResult]:
    return [
        check_connectivity(facts, live_intended=live_intended),
        check_clock(facts, settings),
        check_symbols(facts, settings),
        check_min_notional(facts, settings, live_intended=live_intended),
    ]
