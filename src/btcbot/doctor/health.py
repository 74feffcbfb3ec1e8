"""``btcbot health`` probes: the public REST API and, when enabled, the WebSocket's 991 greeting.

Each probe returns OK / FAIL / SKIP with its latency. Public endpoints only: health never signs a request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from btcbot.settings import Settings

OK, FAIL, SKIP = "OK", "FAIL", "SKIP"


@dataclass(frozen=True, slots=True)
class Probe:
    name: str
    status: str
    latency_ms: float | None
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "latency_ms": self.latency_ms, "detail": self.detail}


def _timed(name: str, fn: Callable[[], str]) -> Probe:
    from btcbot.errors import BtcbotError

    started = time.perf_counter()
    try:
        detail = fn()
    except (BtcbotError, OSError, ValueError) as exc:
        lines = str(exc).strip().splitlines()
        return Probe(name, FAIL, None, (lines[0] if lines else exc.__class__.__name__)[:300])
    return Probe(name, OK, round((time.perf_counter() - started) * 1000.0, 1), detail)


def probe_rest(settings: Settings) -> list[Probe]:
    from btcbot.exchange.btcturk.http import BtcturkHttp
    from btcbot.exchange.retry import NO_RETRY

    symbol = settings.universe_symbols[0]
    with BtcturkHttp(settings.btcturk_base_url, connect_timeout_s=2.0, read_timeout_s=4.0, retry=NO_RETRY) as http:

        def server_time() -> str:
            skew = http.server_time_ms() - time.time() * 1000.0
            return f"{settings.btcturk_base_url} serverTime ok (server-local {skew:+.0f} ms)"

        def ticker() -> str:
            row = http.ticker(symbol)
            if row is None:
                raise ValueError(f"{symbol} is not listed in the ticker")
            return f"{symbol} last={row.last} bid={row.bid} ask={row.ask}"

        return [_timed("rest_server_time", server_time), _timed("rest_ticker", ticker)]


def probe_ws(settings: Settings, timeout_s: float = 5.0) -> Probe:
    if not settings.btcturk_ws_enabled:
        return Probe("websocket", SKIP, None, "BTCTURK_WS_ENABLED=false")

    def greet() -> str:
        import websocket

        try:
            conn = websocket.create_connection(settings.btcturk_ws_url, timeout=timeout_s, enable_multithread=False)
        except websocket.WebSocketException as exc:
            raise ValueError(f"websocket connect failed: {exc}") from None
        try:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                frame = conn.recv()
                data = json.loads(frame) if isinstance(frame, str | bytes) and frame else None
                if isinstance(data, list) and data and data[0] == 991:
                    version = data[1].get("current") if len(data) > 1 and isinstance(data[1], dict) else None
                    return f"{settings.btcturk_ws_url} greeted (991, version {version})"
            raise ValueError("no 991 greeting frame")
        except websocket.WebSocketException as exc:
            raise ValueError(f"websocket error: {exc}") from None
        finally:
            conn.close()

    return _timed("websocket", greet)


def overall(probes: list[Probe]) -> int:
    """0 when every probed component is OK (a disabled component is SKIP and does not count), else 2."""
    return 0 if all(p.status in (OK, SKIP) for p in probes) and any(p.status == OK for p in probes) else 2
