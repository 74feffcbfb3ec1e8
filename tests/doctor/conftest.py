"""Shared helpers for doctor tests: settings in a temp dir, fake exchange probes, DBs written by StateStore."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from btcbot.doctor.network import ExchangeFacts, SymbolFacts
from btcbot.settings import Settings, load_settings
from btcbot.storage import StateStore

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def _make(**overrides: Any) -> Settings:
        overrides.setdefault("state_db_path", tmp_path / "var" / "state.db")
        return load_settings(**overrides)

    return _make


def facts(
    *,
    reachable: bool = True,
    offset_ms: float = 12.0,
    symbols: dict[str, SymbolFacts] | None = None,
) -> ExchangeFacts:
    if not reachable:
        return ExchangeFacts(reachable=False, base_url="http://127.0.0.1:9", error="connection refused")
    return ExchangeFacts(
        reachable=True,
        base_url="http://127.0.0.1:9",
        latency_ms=1.5,
        clock_offset_ms=offset_ms,
        clock_rtt_ms=0.8,
        symbols=symbols
        if symbols is not None
        else {"BTCTRY": SymbolFacts(listed=True, status="TRADING", min_exchange_value=Decimal("99.91"))},
    )


def order_row(cid: str, *, status: str, created: datetime, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "client_order_id": cid,
        "run_id": "r1",
        "cycle_id": 1,
        "symbol": "BTCTRY",
        "side": "buy",
        "method": "limit",
        "price": Decimal("2500000"),
        "quantity": Decimal("0.00006"),
        "status": status,
        "created_at": created,
        "updated_at": created,
        "submitted_at": created,
        "ttl_seconds": 30,
    }
    row.update(kw)
    return row


def decision_row(i: int, reason_code: str, ts: datetime) -> dict[str, Any]:
    return {
        "decision_id": f"d{i}-{reason_code}",
        "run_id": "r1",
        "cycle_id": i,
        "ts": ts,
        "symbol": "BTCTRY",
        "mode": "observe",
        "action": "block",
        "reason_code": reason_code,
        "details": "{}",
    }


def balance_rows(cycle: int, ts: datetime, try_total: str, btc_total: str) -> list[dict[str, Any]]:
    return [
        {
            "run_id": "r1",
            "cycle_id": cycle,
            "ts": ts,
            "asset": asset,
            "total": Decimal(total),
            "free": Decimal(total),
            "locked": Decimal(0),
        }
        for asset, total in (("TRY", try_total), ("BTC", btc_total))
    ]


def write_db(
    path: Path,
    *,
    orders: list[dict[str, Any]] | None = None,
    decisions: list[dict[str, Any]] | None = None,
    balances: list[dict[str, Any]] | None = None,
    fills: list[dict[str, Any]] | None = None,
) -> None:
    store = StateStore(path)
    store.migrate()
    for o in orders or []:
        store.upsert_order(o)
    if decisions:
        store.insert("decisions", decisions)
    if balances:
        store.insert("balance_snapshots", balances)
    if fills:
        store.insert("fills", fills)
    store.close()


def minutes_ago(n: float) -> datetime:
    return NOW - timedelta(minutes=n)


class Kit:
    """Test helpers as a fixture (test modules cannot import conftest under --import-mode=importlib)."""

    now = NOW
    facts = staticmethod(facts)
    order_row = staticmethod(order_row)
    decision_row = staticmethod(decision_row)
    balance_rows = staticmethod(balance_rows)
    write_db = staticmethod(write_db)
    minutes_ago = staticmethod(minutes_ago)


@pytest.fixture
def kit() -> type[Kit]:
    return Kit


class FakeVenue:
    """A tiny loopback BTCTurk (server time, exchangeinfo, ticker, WS 991 greeting) with a settable clock skew.

    Enough to drive the real adapter from ``doctor``/``health`` without the full simulator.
    """

    def __init__(self) -> None:
        import asyncio
        import threading

        self.skew_ms = 0
        self.status = "TRADING"
        self.min_value = "99.91"
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        assert self._ready.wait(10)

    def _serve(self) -> None:
        import asyncio
        import time

        from aiohttp import web

        async def server_time(_: web.Request) -> web.Response:
            return web.json_response({"serverTime": int(time.time() * 1000) + self.skew_ms})

        async def exchange_info(_: web.Request) -> web.Response:
            symbol = {
                "id": 1,
                "name": "BTCTRY",
                "nameNormalized": "BTC_TRY",
                "status": self.status,
                "numerator": "BTC",
                "denominator": "TRY",
                "numeratorScale": 8,
                "denominatorScale": 0,
                "hasFraction": False,
                "orderMethods": ["LIMIT", "MARKET"],
                "filters": [
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": "1",
                        "maxPrice": "10000000",
                        "tickSize": "10",
                        "minExchangeValue": self.min_value,
                    }
                ],
            }
            data = {"timeZone": "UTC", "serverTime": int(time.time() * 1000), "symbols": [symbol]}
            return web.json_response({"success": True, "message": None, "code": 0, "data": data})

        async def ticker(_: web.Request) -> web.Response:
            row = {
                "pair": "BTCTRY",
                "timestamp": int(time.time() * 1000),
                "last": 3844648,
                "bid": 3842925,
                "ask": 3844704,
            }
            return web.json_response({"success": True, "message": None, "code": 0, "data": [row]})

        async def ws(request: web.Request) -> web.WebSocketResponse:
            sock = web.WebSocketResponse()
            await sock.prepare(request)
            await sock.send_json([991, {"type": 991, "current": "6.0.0", "min": "2.3.0"}])
            await sock.close()
            return sock

        async def start() -> None:
            app = web.Application()
            app.add_routes(
                [
                    web.get("/api/v2/server/time", server_time),
                    web.get("/api/v2/server/exchangeinfo", exchange_info),
                    web.get("/api/v2/ticker", ticker),
                    web.get("/ws", ws),
                ]
            )
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self._ready.set()

        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(start())
        self._loop.run_forever()

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def close(self) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture
def fake_venue() -> Iterator[FakeVenue]:
    venue = FakeVenue()
    try:
        yield venue
    finally:
        venue.close()
