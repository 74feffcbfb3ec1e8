"""Shared helpers for the simulator tests: a fresh simulator, a signed REST client, WS clients, shape checks.

Everything talks to the simulator over real loopback HTTP/WebSocket with ``requests`` and ``websocket-client``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest
import requests
import websocket

from btcbot.sim import Simulator, signed_headers
from btcbot.testing.waiting import wait_until

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "btcturk"

# Keys whose reference value happens to be an integer but which are prices/amounts: any JSON number is fine.
_NUMBER_KEYS = {
    "last", "high", "low", "bid", "ask", "open", "volume", "average", "daily", "dailyPercent",
    "maximumLimitOrderPrice", "minimumLimitOrderPrice", "o", "h", "l", "c", "v", "close", "total",
    "dailyChangeAmount", "dailyChangePercentage", "minWithdrawal", "minDeposit",
    "marketPriceWarningThresholdPercentage", "preciseAmount",
}  # fmt: skip


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _is_decimal_text(value: str) -> bool:
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return "e" not in value.lower() and "," not in value


def assert_shape(actual: Any, reference: Any, path: str = "$", key: str = "") -> None:
    """Same keys and JSON types as the reference; decimal strings stay decimal strings."""
    if isinstance(reference, bool):
        assert isinstance(actual, bool), f"{path}: expected bool, got {actual!r}"
    elif isinstance(reference, int) and key not in _NUMBER_KEYS:
        assert isinstance(actual, int) and not isinstance(actual, bool), f"{path}: expected int, got {actual!r}"
    elif isinstance(reference, (int, float)):
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool), f"{path}: expected number"
    elif isinstance(reference, str):
        assert isinstance(actual, str), f"{path}: expected string, got {actual!r}"
        if _is_decimal_text(reference):
            assert _is_decimal_text(actual), f"{path}: expected a decimal string, got {actual!r}"
    elif reference is None:
        assert actual is None, f"{path}: expected null, got {actual!r}"
    elif isinstance(reference, list):
        assert isinstance(actual, list), f"{path}: expected list, got {type(actual).__name__}"
        if reference:
            if len(reference) == 2 and isinstance(reference[0], int) and isinstance(reference[1], dict):
                assert len(actual) == 2, f"{path}: expected a [type, object] frame"
                assert actual[0] == reference[0], f"{path}: frame type {actual[0]} != {reference[0]}"
                assert_shape(actual[1], reference[1], f"{path}[1]")
                return
            for i, item in enumerate(actual):
                assert_shape(item, reference[0], f"{path}[{i}]", key)
    elif isinstance(reference, dict):
        assert isinstance(actual, dict), f"{path}: expected object, got {type(actual).__name__}"
        missing = set(reference) - set(actual)
        assert not missing, f"{path}: missing keys {sorted(missing)}"
        for k, ref in reference.items():
            assert_shape(actual[k], ref, f"{path}.{k}", k)


class Api:
    """requests over loopback, signing private calls the way BTCTurk's docs describe."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.base = sim.rest_url
        self.session = requests.Session()
        self.session.trust_env = False
        self.stamp_offset_ms = 0

    def headers(self) -> dict[str, str]:
        stamp = int(time.time() * 1000) + self.stamp_offset_ms
        return signed_headers(self.sim.api_key, self.sim.api_secret, stamp)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.session.get(self.base + path, timeout=10, **kw)

    def pget(self, path: str, **kw: Any) -> requests.Response:
        return self.session.get(self.base + path, headers=self.headers(), timeout=10, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.session.post(self.base + path, headers=self.headers(), json=body, timeout=10, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.session.delete(self.base + path, headers=self.headers(), timeout=10, **kw)

    def control(self, path: str, body: Any | None = None) -> Any:
        if body is None:
            resp = self.session.get(self.base + path, timeout=10)
        else:
            resp = self.session.post(self.base + path, json=body, timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def order(self, side: str, price: Any, quantity: Any, method: str = "limit", pair: str = "BTCTRY") -> Any:
        body = {"orderType": side, "orderMethod": method, "pairSymbol": pair, "quantity": str(quantity)}
        if method == "limit":
            body["price"] = str(price)
        resp = self.post("/api/v1/order", body)
        assert resp.status_code == 200, resp.text
        return resp.json()["data"]

    def book(self, pair: str = "BTCTRY") -> dict[str, Any]:
        resp = self.get(f"/api/v2/orderbook?pairSymbol={pair}")
        assert resp.status_code == 200, resp.text
        data: dict[str, Any] = resp.json()["data"]
        return data

    def wait_order_status(self, order_id: int, status: str) -> dict[str, Any]:
        def row_in_status() -> dict[str, Any] | None:
            row: dict[str, Any] = self.pget(f"/api/v1/order/{order_id}").json()["data"]
            return row if row["status"] == status else None

        return wait_until(row_in_status, what=f"order {order_id} reaches {status}")


class Ws:
    def __init__(self, url: str) -> None:
        self.conn = websocket.create_connection(url, timeout=5, skip_utf8_validation=True)

    def send(self, frame: Any) -> None:
        self.conn.send(json.dumps(frame))

    def recv(self) -> Any:
        return json.loads(self.conn.recv())

    def recv_type(self, model: int, max_skipped: int = 500) -> Any:
        """Next frame of the given model type, skipping others (bounded by count: ``recv`` has its own timeout)."""
        skipped = []
        while len(skipped) < max_skipped:
            frame = self.recv()
            if frame[0] == model:
                return frame
            skipped.append(frame[0])
        raise AssertionError(f"no frame of type {model} among {max_skipped}: {skipped[:20]}...")

    def subscribe(self, channel: str, event: str, join: bool = True) -> Any:
        self.send([151, {"type": 151, "channel": channel, "event": event, "join": join}])
        return self.recv_type(100)

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(seed=7, market_tick_ms=0, symbols=("BTCTRY", "ETHTRY", "ETHBTC", "BTCUSDT")) as s:
        yield s


@pytest.fixture
def api(sim: Simulator) -> Iterator[Api]:
    client = Api(sim)
    yield client
    client.session.close()


@pytest.fixture
def api_for() -> Iterator[Callable[[Simulator], Api]]:
    """An Api for a simulator the test starts itself (non-default options)."""
    made: list[Api] = []

    def make(target: Simulator) -> Api:
        client = Api(target)
        made.append(client)
        return client

    yield make
    for client in made:
        client.session.close()


@pytest.fixture
def ws_factory(sim: Simulator) -> Iterator[Callable[[], Ws]]:
    opened: list[Ws] = []

    def make() -> Ws:
        ws = Ws(sim.ws_url)
        opened.append(ws)
        return ws

    yield make
    for ws in opened:
        ws.close()


@pytest.fixture
def fixture_json() -> Callable[[str], Any]:
    """A reference file of tests/fixtures/btcturk, parsed (test modules cannot import this conftest)."""
    return load_fixture


@pytest.fixture
def shape() -> Callable[[Any, str], None]:
    def check(actual: Any, fixture_name: str) -> None:
        assert_shape(actual, load_fixture(fixture_name))

    return check
