"""Local fakes for the adapter tests: a scripted BTCTurk-shaped HTTP server on an OS-chosen loopback port."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from btcbot.arming import ArmingGate, ArmingInputs, WriteToken, decide_arming
from btcbot.exchange.btcturk import BtcturkHttp
from btcbot.exchange.btcturk.limiter import RateLimiter
from btcbot.exchange.btcturk.ws import WsMarketData
from btcbot.exchange.retry import RetryPolicy

FIXTURES = Path(__file__).parent / "fixtures"
API_KEY = "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
API_SECRET = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False  # close the connection without answering (after reading the request)
    reset: bool = False  # RST the connection without answering


DEFAULT_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/api/v2/server/time"): "server_time.json",
    ("GET", "/api/v2/server/exchangeinfo"): "exchangeinfo.json",
    ("GET", "/api/v2/ticker"): "ticker.json",
    ("GET", "/api/v2/orderbook"): "orderbook.json",
    ("GET", "/api/v1/users/balances"): "balances.json",
    ("GET", "/api/v1/openorders"): "open_orders.json",
    ("GET", "/api/v1/allorders"): "all_orders.json",
    ("GET", "/api/v1/users/transactions/trade"): "user_trades.json",
    ("POST", "/api/v1/order"): "submit.json",
    ("DELETE", "/api/v1/order"): "cancel.json",
}


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # clients that time out or get reset on purpose break pipes; that is the point of the test


class FakeVenue:
    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.script: Callable[[Seen], Reply | None] | None = None
        self._lock = threading.Lock()
        venue = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                req = Seen(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), body)
                with venue._lock:
                    venue.seen.append(req)
                reply = venue.reply_for(req)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.reset:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                if reply.drop:
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply.body)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_DELETE = _serve

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def reply_for(self, req: Seen) -> Reply:
        if self.script is not None:
            scripted = self.script(req)
            if scripted is not None:
                return scripted
        path = req.path.lower()
        if path.startswith("/api/v1/order/"):
            return Reply(body=fixture_bytes("order.json"))
        name = DEFAULT_ROUTES.get((req.method, path))
        if name is None:
            return Reply(status=404)
        return Reply(body=fixture_bytes(name))

    def count(self, method: str | None = None) -> int:
        with self._lock:
            return sum(1 for s in self.seen if method is None or s.method == method)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.seen.clear()
        self.script = None


@pytest.fixture(scope="session")
def _venue_server() -> Iterator[FakeVenue]:
    v = FakeVenue()
    yield v
    v.close()


@pytest.fixture
def shared_venue(_venue_server: FakeVenue) -> Iterator[FakeVenue]:
    """One server for the big error table (count attempts on the client side: late arrivals can leak in)."""
    _venue_server.reset()
    yield _venue_server
    _venue_server.reset()


@pytest.fixture
def venue() -> Iterator[FakeVenue]:
    v = FakeVenue()
    yield v
    v.close()


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_http(sleeps: Sleeps) -> Iterator[Callable[..., BtcturkHttp]]:
    made: list[BtcturkHttp] = []

    def make(url: str, **kw: Any) -> BtcturkHttp:
        kw.setdefault("api_key", API_KEY)
        kw.setdefault("api_secret", API_SECRET)
        kw.setdefault("read_timeout_s", 10.0)  # a wedge guard: a reply that is meant to come must never miss it
        kw.setdefault("connect_timeout_s", 1.0)
        kw.setdefault("retry", RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02, sleep=sleeps))
        kw.setdefault("limiter", RateLimiter())
        http = BtcturkHttp(url, **kw)
        # Attempts are counted where they leave the client: a server under load may accept a timed-out request
        # only after the test has moved on.
        sent: list[str] = []
        real = http._session.request

        def counting(method: str, *args: Any, **kwargs: Any) -> Any:
            sent.append(method)
            return real(method, *args, **kwargs)

        http._session.request = counting  # type: ignore[method-assign]
        http.sent = sent  # type: ignore[attr-defined]
        made.append(http)
        return http

    yield make
    for h in made:
        h.close()


def armed_gate() -> ArmingGate:
    return ArmingGate(
        decide_arming(
            ArmingInputs(
                live_trading=True,
                live_trading_ack="I_UNDERSTAND",
                dry_run=False,
                kill_switch=False,
                safe_mode=False,
                cli_dry_run=False,
                credentials_present=True,
            )
        )
    )


@pytest.fixture
def gate() -> ArmingGate:
    return armed_gate()


@pytest.fixture
def submit_token(gate: ArmingGate) -> WriteToken:
    return gate.submit_token()


@pytest.fixture
def cancel_token(gate: ArmingGate) -> WriteToken:
    return gate.cancel_token()


def closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def json_body(payload: Any) -> bytes:
    return json.dumps(payload).encode()


class RecordingWs(WsMarketData):
    """Notes the (virtual) time of every connection attempt."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.attempts_s: list[float] = []

    def _open(self) -> Any:
        self.attempts_s.append(self._clock.monotonic_ns() / 1e9)
        return super()._open()


class Helpers:
    """Test helpers as a fixture: test modules must not import each other or conftest (importlib mode)."""

    Reply = Reply
    API_KEY = API_KEY
    API_SECRET = API_SECRET
    fixture_bytes = staticmethod(fixture_bytes)
    closed_port_url = staticmethod(closed_port_url)
    RecordingWs = RecordingWs
    json_body = staticmethod(json_body)
    armed_gate = staticmethod(armed_gate)


@pytest.fixture
def fx() -> type[Helpers]:
    return Helpers


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    """One simulator per test module (and xdist worker), market clock off: tests drive ticks themselves."""
    from btcbot.sim import Simulator

    with Simulator(seed=7, symbols=("BTCTRY", "ETHTRY", "ETHBTC"), market_tick_ms=0) as s:
        yield s


@pytest.fixture
def fresh_sim(sim: Any) -> Iterator[Any]:
    sim.reset()
    sim.set_faults(**NO_FAULTS)
    yield sim
    sim.set_faults(**NO_FAULTS)


NO_FAULTS: dict[str, Any] = {
    "latency_ms": 0,
    "error_rate": 0.0,
    "rate_limit": False,
    "drop_order_response": False,
    "reject_orders": False,
    "freeze_market_data": False,
    "crossed_book": False,
    "zero_bid": False,
    "ws_disconnect": False,
    "ws_stall": False,
    "clock_skew_ms": 0,
}
