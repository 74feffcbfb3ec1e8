"""Shared helpers for replay tests: small datasets written the way the recorder writes them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from btcbot.arming import ArmingGate
from btcbot.replay.dataset import DatasetHeader, DatasetWriter
from btcbot.settings import Settings

BTCTRY_INFO: dict[str, Any] = {
    "id": 1,
    "name": "BTCTRY",
    "status": "TRADING",
    "numerator": "BTC",
    "denominator": "TRY",
    "numeratorScale": 8,
    "denominatorScale": 0,
    "hasFraction": False,
    "filters": [{"filterType": "PRICE_FILTER", "minPrice": "1", "maxPrice": "10000000", "minExchangeValue": "99.91"}],
    "orderMethods": ["MARKET", "LIMIT"],
    "maximumOrderAmount": None,
    "maximumLimitOrderPrice": 30000000,
    "minimumLimitOrderPrice": 300000,
}

T0 = 1_790_000_000_000


def header(symbols: tuple[str, ...] = ("BTCTRY",)) -> DatasetHeader:
    return DatasetHeader(
        path="",
        source="ws",
        symbols=symbols,
        recorded_from="ws://test",
        started_ms=T0,
        exchange_info={s: {**BTCTRY_INFO, "name": s} for s in symbols},
    )


def full(t: int, bid: str = "3000000", ask: str = "3001000", cs: int = 1, size: str = "0.5") -> list[Any]:
    return [431, T0 + t, None, "BTCTRY", cs, [[bid, size], ["2999000", "1"]], [[ask, size], ["3002000", "1"]]]


def diff(t: int, cs: int, bids: list[list[Any]] | None = None, asks: list[list[Any]] | None = None) -> list[Any]:
    return [432, T0 + t, None, "BTCTRY", cs, bids or [], asks or []]


@pytest.fixture
def write_dataset(tmp_path: Path) -> Callable[..., Path]:
    def _write(events: list[list[Any]], name: str = "ds.jsonl.gz") -> Path:
        path = tmp_path / name
        writer = DatasetWriter(path, header())
        for ev in events:
            writer.write(ev)
        writer.close()
        return path

    return _write


def armed_gate() -> ArmingGate:
    """A fully armed gate: the replay venue refuses writes without one, as the live client does."""
    return ArmingGate.from_settings(
        Settings(
            safe_mode=False,
            dry_run=False,
            kill_switch=False,
            live_trading=True,
            live_trading_ack="I_UNDERSTAND",
            btcturk_api_key="k",
            btcturk_api_secret="cw==",
        )
    )
