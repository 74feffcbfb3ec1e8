"""The simulator over loopback and the real ``btcbot`` CLI as subprocesses, for the operator clean-up tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from btcbot.arming import ArmingGate
from btcbot.domain.orders import OrderIntent, OrderSide, VenueOrder, client_order_id
from btcbot.exchange.btcturk import BtcturkExchange
from btcbot.settings import Settings
from btcbot.sim import Simulator
from btcbot.testing.waiting import wait_until

ARMED = {
    "LIVE_TRADING": "true",
    "LIVE_TRADING_ACK": "I_UNDERSTAND",
    "DRY_RUN": "false",
    "KILL_SWITCH": "false",
    "SAFE_MODE": "false",
}
# The minimum safe baseline: every gate closed.
BASELINE = {
    "LIVE_TRADING": "false",
    "LIVE_TRADING_ACK": "",
    "DRY_RUN": "true",
    "KILL_SWITCH": "true",
    "SAFE_MODE": "true",
}


class Venue:
    """One simulator, one state DB, and the helpers the tests share (tests cannot import conftest)."""

    ARMED = ARMED
    BASELINE = BASELINE

    def __init__(self, sim: Simulator, tmp_path: Path) -> None:
        self.sim = sim
        self.tmp_path = tmp_path
        self.db = tmp_path / "var" / "state.db"

    def env(self, **extra: str) -> dict[str, str]:
        """The process environment for a btcbot subprocess: the baseline, this simulator, this DB."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "BTCTURK_"))}
        env.update(
            {
                "PYTHONDONTWRITEBYTECODE": "1",
                "BTCTURK_BASE_URL": self.sim.rest_url,
                "BTCTURK_WS_URL": self.sim.ws_url,
                "BTCTURK_API_KEY": self.sim.api_key,
                "BTCTURK_API_SECRET": self.sim.api_secret,
                "STATE_DB_PATH": str(self.db),
                "TRACE_SINK_ENABLED": "false",
                "OTEL_SDK_DISABLED": "true",
                "RECONCILE_MIN_INTERVAL_MS": "0",
                "CANCEL_OPEN_ORDERS_ON_STOP": "false",
                **BASELINE,
            }
        )
        env.update(extra)
        return env

    def settings(self, **overrides: Any) -> Settings:
        base: dict[str, Any] = {
            "btcturk_base_url": self.sim.rest_url,
            "btcturk_ws_url": self.sim.ws_url,
            "btcturk_api_key": self.sim.api_key,
            "btcturk_api_secret": self.sim.api_secret,
            "state_db_path": self.db,
        }
        base.update(overrides)
        return Settings(**base)

    def btcbot(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 90
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "btcbot", *args],
            cwd=self.tmp_path,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def killed_canary(self) -> None:
        """An armed canary loop, SIGKILLed while its order rests at the venue (nothing cancels it)."""
        argv = [sys.executable, "-m", "btcbot", "canary", "loop", "--symbol", "BTCTRY", "--notional-try", "150",
                "--ttl-seconds", "600", "--cycle-seconds", "0.2", "--max-cycles", "500"]  # fmt: skip
        proc = subprocess.Popen(argv, cwd=self.tmp_path, env=self.env(**ARMED), stdout=subprocess.DEVNULL)

        def placed() -> list[VenueOrder]:
            assert proc.poll() is None, "the canary exited before placing its order"
            return self.open_orders()

        try:
            wait_until(placed, what="the canary places its order", interval_s=0.05)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)

    def requests_log(self) -> list[dict[str, Any]]:
        return list(requests.get(f"{self.sim.rest_url}/sim/requests", timeout=5).json())

    def writes(self, method: str) -> list[dict[str, Any]]:
        """Every order write of this kind the simulator received (POST submits, DELETE cancels)."""
        return [r for r in self.requests_log() if r["path"].startswith("/api/v1/order") and r["method"] == method]

    def open_orders(self, symbol: str = "BTCTRY") -> list[VenueOrder]:
        ex = BtcturkExchange.from_settings(self.settings())
        try:
            return ex.open_orders(symbol)
        finally:
            ex.close()

    def place(self, cid: str, symbol: str = "BTCTRY", price: str = "1000000", qty: str = "0.0002") -> None:
        """Rest an order at the venue directly (an armed gate of the test's own, not btcbot's runtime)."""
        settings = self.settings(live_trading=True, live_trading_ack="I_UNDERSTAND", dry_run=False,
                                 kill_switch=False, safe_mode=False)  # fmt: skip
        ex = BtcturkExchange.from_settings(settings)
        try:
            intent = OrderIntent(symbol, OrderSide.BUY, Decimal(price), Decimal(qty), cid)
            ex.submit_order(intent, ArmingGate.from_settings(settings).submit_token())
        finally:
            ex.close()

    def own_cid(self, key: str, scope: str | None = None) -> str:
        return client_order_id(scope or self.settings().resolved_account_scope, key)


@pytest.fixture
def venue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Venue]:
    """Parametrize indirectly with a dict to pass the simulator extra arguments (e.g. ``cancel_delay_ms``)."""
    extra = getattr(request, "param", {})
    # A still market: a resting order never fills by chance, so what a test cancels is what it placed.
    with Simulator(seed=7, market_tick_ms=0, **extra) as sim:
        yield Venue(sim, tmp_path)
