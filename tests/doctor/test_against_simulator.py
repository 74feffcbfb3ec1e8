"""The doctor's exchange checks against the real simulator, including its clock_skew_ms fault."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from btcbot.doctor.model import Status
from btcbot.doctor.network import network_checks, probe_exchange
from btcbot.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def sim() -> Iterator[Any]:
    simulator = pytest.importorskip("btcbot.sim").Simulator
    with simulator(seed=1, symbols=("BTCTRY", "ETHTRY"), market_tick_ms=0) as s:
        yield s


def _faults(sim: Any, **faults: Any) -> None:
    req = urllib.request.Request(  # noqa: S310 - loopback simulator
        sim.rest_url + "/sim/faults",
        data=json.dumps(faults).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - loopback simulator
        assert resp.status == 200


@pytest.mark.parametrize(("skew_ms", "expected"), [(0, Status.PASS), (2000, Status.WARN), (-4500, Status.FAIL)])
def test_clock_offset_follows_the_simulated_skew(
    sim: Any, make_settings: Callable[..., Settings], skew_ms: int, expected: Status
) -> None:
    _faults(sim, clock_skew_ms=skew_ms)
    settings = make_settings(
        btcturk_base_url=sim.rest_url, universe_symbols="BTCTRY,ETHTRY", min_order_notional_try="100"
    )
    by = {c.name: c for c in network_checks(probe_exchange(settings), settings, live_intended=True)}
    assert by["clock_offset"].status is expected
    offset = by["clock_offset"].details
    assert abs(offset["offset_ms"] - skew_ms) <= offset["rtt_ms"] / 2 + 1  # half the round trip, however slow
    assert by["exchange_connectivity"].status is Status.PASS
    assert by["symbols_tradable"].status is Status.PASS
    assert by["min_order_notional"].status is Status.PASS


def test_unknown_symbol_and_low_minimum_against_simulator(sim: Any, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(btcturk_base_url=sim.rest_url, universe_symbols="BTCTRY,XYZTRY")
    by = {c.name: c for c in network_checks(probe_exchange(settings), settings, live_intended=True)}
    assert by["symbols_tradable"].status is Status.FAIL and "XYZTRY (not listed)" in by["symbols_tradable"].reason
    assert by["min_order_notional"].status is Status.FAIL
