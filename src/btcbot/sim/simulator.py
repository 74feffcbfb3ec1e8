"""``Simulator``: the BTCTurk REST and WebSocket servers on loopback, on one asyncio loop in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Future
from decimal import Decimal
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from btcbot.domain.clock import Clock
from btcbot.sim.auth import DEMO_API_KEY, DEMO_API_SECRET, decode_secret
from btcbot.sim.core import DEMO_USER_ID, SimCore
from btcbot.sim.engine import DEFAULT_VAT_PERCENT
from btcbot.sim.keepalive import PING_INTERVAL_S, PING_TIMEOUT_S, check_timings
from btcbot.sim.rest import RestApi
from btcbot.sim.symbols import DEFAULT_SYMBOLS, resolve_symbols
from btcbot.sim.ws import WsHub

T = TypeVar("T")


class Simulator:
    """A faithful local BTCTurk on loopback. Use as a context manager; ports are OS-chosen by default.

    ``market_tick_ms=0`` stops the automatic market clock: advance it with ``POST /sim/tick {"n": k}`` (or
    ``tick(k)``). ``rate_limits=False`` turns off the venue's published rate limits (benchmarks).
    ``ws_ping_interval_s``/``ws_ping_timeout_s``: a protocol ping every interval; a socket that has answered none
    for the timeout is closed with code 1000 (the venue's 15 s / 45 s; tests scale them down).
    ``vat_percent``: the VAT included in the fee; trade rows show ``vat / (100 + vat)`` of it as ``tax``
    (20 since July 2023; 18 before).
    """

    def __init__(
        self,
        seed: int = 1,
        symbols: Iterable[str] = DEFAULT_SYMBOLS,
        api_key: str = DEMO_API_KEY,
        api_secret: str = DEMO_API_SECRET,
        market_tick_ms: int = 250,
        host: str = "127.0.0.1",
        port: int = 0,
        ws_port: int = 0,
        *,
        rate_limits: bool = True,
        ws_ping_interval_s: float = PING_INTERVAL_S,
        ws_ping_timeout_s: float = PING_TIMEOUT_S,
        cancel_delay_ms: int = 20,
        vat_percent: Decimal = DEFAULT_VAT_PERCENT,
        clock: Clock | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("api_key must not be empty")
        decode_secret(api_secret)  # a non-base64 secret could never verify a signature
        if market_tick_ms < 0:
            raise ValueError("market_tick_ms must be >= 0")
        check_timings(ws_ping_interval_s, ws_ping_timeout_s)
        self.specs = resolve_symbols(list(symbols))
        self.seed = seed
        self.api_key = api_key
        self.api_secret = api_secret
        self.market_tick_ms = market_tick_ms
        self.host = host
        self._port = port
        self._ws_port = ws_port
        self.core = SimCore(
            seed=seed,
            specs=self.specs,
            api_key=api_key,
            api_secret=api_secret,
            clock=clock,
            rate_limits=rate_limits,
            cancel_delay_ms=cancel_delay_ms,
            vat_percent=vat_percent,
        )
        self.ws_ping_interval_s = ws_ping_interval_s
        self.ws_ping_timeout_s = ws_ping_timeout_s
        self.cancel_delay_ms = cancel_delay_ms
        self.user_id = DEMO_USER_ID
        self.rest_url = ""
        self.ws_url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []
        self._ticker: asyncio.Task[None] | None = None
        self._publish_scheduled = False
        self._background: set[asyncio.Task[Any]] = set()
        self.rest: RestApi | None = None
        self.hub: WsHub | None = None

    def __repr__(self) -> str:
        return f"Simulator(rest_url={self.rest_url!r}, ws_url={self.ws_url!r}, api_key={self.api_key!r})"

    # ----- lifecycle -----
    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> Simulator:
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        loop = asyncio.new_event_loop()
        self._loop = loop
        ready: Future[None] = Future()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._astart())
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread, which re-raises
                loop.run_until_complete(self._astop())  # release whatever did bind
                loop.close()
                ready.set_exception(exc)
                return
            ready.set_result(None)
            loop.run_forever()
            loop.run_until_complete(self._astop())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="btcbot-sim", daemon=True)
        self._thread.start()
        try:
            ready.result(timeout=30)
        except BaseException:
            self._thread.join(timeout=5)
            self._thread = None
            raise
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self.rest is not None:
            loop.call_soon_threadsafe(self.rest.closing.set)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        self._thread = None
        self._loop = None

    async def _astart(self) -> None:
        self.rest = RestApi(self.core, self._schedule_publish, self._schedule_cancel_completion)
        self.rest.tick_hook = self._tick_and_publish
        self.rest.reset_hook = self._after_reset
        self.rest.faults_hook = self._after_faults
        self.hub = WsHub(self.core, self.ws_ping_interval_s, self.ws_ping_timeout_s)
        rest_runner = web.AppRunner(self.rest.app(), access_log=None, handle_signals=False)
        await rest_runner.setup()
        rest_site = web.TCPSite(rest_runner, self.host, self._port)
        await rest_site.start()
        self._runners.append(rest_runner)
        ws_app = web.Application()
        ws_app.router.add_route("GET", "/{tail:.*}", self.hub.handle)
        ws_runner = web.AppRunner(ws_app, access_log=None, handle_signals=False)
        await ws_runner.setup()
        ws_site = web.TCPSite(ws_runner, self.host, self._ws_port)
        await ws_site.start()
        self._runners.append(ws_runner)
        self.port = _bound_port(rest_runner)
        self.ws_port = _bound_port(ws_runner)
        url_host = f"[{self.host}]" if ":" in self.host else self.host
        self.rest_url = f"http://{url_host}:{self.port}"
        self.ws_url = f"ws://{url_host}:{self.ws_port}"
        if self.market_tick_ms > 0:
            self._ticker = asyncio.create_task(self._market_clock())

    async def _astop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self.hub is not None:
            await self.hub.close_all(code=1001)
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def _market_clock(self) -> None:
        interval = self.market_tick_ms / 1000
        while True:
            await asyncio.sleep(interval)
            await self._tick_and_publish(1)

    # ----- hooks run on the loop -----
    async def _tick_and_publish(self, n: int) -> None:
        if n:
            self.core.tick(n)
        if self.hub is not None:
            await self.hub.publish(tickers=True)

    async def _after_reset(self) -> None:
        if self.hub is not None:
            self.hub.clear_pending()
            self.hub.attach(self.core)
            await self.hub.close_all(code=1012)

    async def _after_faults(self) -> None:
        if self.hub is not None and self.core.faults.ws_disconnect:
            await self.hub.close_all(code=1001)
        self._schedule_publish()

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _schedule_publish(self) -> None:
        if self._publish_scheduled or self.hub is None or self._loop is None:
            return
        self._publish_scheduled = True

        def fire() -> None:
            self._publish_scheduled = False
            if self.hub is not None:
                self._spawn(self.hub.publish())

        self._loop.call_soon(fire)

    def _schedule_cancel_completion(self) -> None:
        if self._loop is None:
            return

        def complete() -> None:
            if self.core.engine.complete_due_cancels(None):
                self._schedule_publish()

        self._loop.call_later(self.cancel_delay_ms / 1000, complete)

    # ----- in-process helpers (any thread) -----
    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the simulator's loop thread and return its result."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("simulator is not running")

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=30)

    def _run(self, coro_fn: Callable[[], Awaitable[T]]) -> T:
        loop = self._loop
        if loop is None:
            raise RuntimeError("simulator is not running")

        async def run() -> T:
            return await coro_fn()

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=30)

    def tick(self, n: int = 1) -> None:
        """Advance the market ``n`` ticks and publish to WebSocket subscribers (like POST /sim/tick)."""
        self._run(lambda: self._tick_and_publish(n))

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        async def apply() -> dict[str, Any]:
            result = self.core.apply_faults(faults)
            await self._after_faults()
            return result.model_dump()

        return self._run(apply)

    def set_mid(self, symbol: str, mid: Decimal | str) -> None:
        async def apply() -> None:
            self.core.set_mid(symbol, Decimal(mid))
            await self._tick_and_publish(0)

        self._run(apply)

    def reset(self) -> None:
        async def apply() -> None:
            self.core.reset()
            await self._after_reset()

        self._run(apply)

    def state(self) -> dict[str, Any]:
        return self.call(self.core.state)


def _bound_port(runner: web.AppRunner) -> int:
    for site in runner.sites:
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        for sock in sockets:
            return int(sock.getsockname()[1])
    raise RuntimeError("simulator server did not bind a port")
