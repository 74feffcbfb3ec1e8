"""Exchange checks over a fake probe: every status of connectivity, clock, symbols and min notional."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from btcbot.doctor.model import Status
from btcbot.doctor.network import (
    SymbolFacts,
    check_clock,
    check_connectivity,
    check_min_notional,
    check_symbols,
)
from btcbot.settings import Settings


def test_connectivity_pass_warn_fail(kit: Any) -> None:
    assert check_connectivity(kit.facts(), live_intended=False).status is Status.PASS
    down = kit.facts(reachable=False)
    observe = check_connectivity(down, live_intended=False)
    assert observe.status is Status.WARN and "unreachable" in observe.reason
    assert check_connectivity(down, live_intended=True).status is Status.FAIL


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (12.0, Status.PASS),
        (-999.0, Status.PASS),
        (1000.0, Status.WARN),
        (-2500.0, Status.WARN),
        (4000.0, Status.FAIL),
        (-6000.0, Status.FAIL),
    ],
)
def test_clock_thresholds(kit: Any, make_settings: Callable[..., Settings], offset: float, expected: Status) -> None:
    settings = make_settings(doctor_clock_warn_ms=1000, doctor_clock_fail_ms=4000)
    result = check_clock(kit.facts(offset_ms=offset), settings)
    assert result.status is expected
    assert result.details["offset_ms"] == offset


def test_clock_skipped_when_unreachable(kit: Any, make_settings: Callable[..., Settings]) -> None:
    assert check_clock(kit.facts(reachable=False), make_settings()).status is Status.SKIP


def test_symbols_statuses(kit: Any, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(universe_symbols="BTCTRY,ETHTRY,FOOTRY")
    ok = {s: SymbolFacts(True, "TRADING", Decimal("99.91")) for s in ("BTCTRY", "ETHTRY", "FOOTRY")}
    assert check_symbols(kit.facts(symbols=ok), settings).status is Status.PASS
    bad = {**ok, "ETHTRY": SymbolFacts(True, "HALTED", Decimal("99.91")), "FOOTRY": SymbolFacts(False)}
    result = check_symbols(kit.facts(symbols=bad), settings)
    assert result.status is Status.FAIL
    assert "ETHTRY (HALTED)" in result.reason and "FOOTRY (not listed)" in result.reason
    assert check_symbols(kit.facts(reachable=False), settings).status is Status.SKIP


def test_min_notional_statuses(kit: Any, make_settings: Callable[..., Settings]) -> None:
    above = make_settings(min_order_notional_try="100")
    assert check_min_notional(kit.facts(), above).status is Status.PASS
    below = check_min_notional(kit.facts(), make_settings(min_order_notional_try="10"))
    assert below.status is Status.FAIL and "99.91" in below.reason and "MIN_ORDER_NOTIONAL_TRY" in below.action
    observe = check_min_notional(kit.facts(), make_settings(min_order_notional_try="10"), live_intended=False)
    assert observe.status is Status.WARN
    assert check_min_notional(kit.facts(reachable=False), above).status is Status.SKIP
    unknown = kit.facts(symbols={"BTCTRY": SymbolFacts(True, "TRADING", None)})
    assert check_min_notional(unknown, above).status is Status.SKIP
