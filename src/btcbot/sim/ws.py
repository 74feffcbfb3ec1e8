"""BTCTurk's WebSocket feed: [type, object] frames, 151 subscriptions, 114 login, public and private models.

Publishing is batched: after each market tick, and soon after any order activity, every subscription gets
what changed since it was last served (431 full books, 432 diffs with CS +1, 402 tickers, 422 trades) and
every logged-in socket its own 451/452/453/441/423/201 events. Keepalive follows the venue (``keepalive``):
protocol pings, and a close frame with code 1000 for a socket that stopped answering them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiohttp import WSMsgType, web

from btcbot.sim import wire
from btcbot.sim.auth import verify_ws_login
from btcbot.sim.core import BOOK_DEPTH_CAP, SimCore
from btcbot.sim.engine import LIQUIDITY_USER_ID, EngineEvent, FillEvent, OrderEvent, PublicTrade, PublicTradeEvent
from btcbot.sim.keepalive import CLOSE_CODE, PING_INTERVAL_S, PING_TIMEOUT_S, Keepalive, check_timings
from btcbot.sim.symbols import SymbolSpec

VERSION_FRAME = [991, {"type": 991, "current": "6.0.0", "min": "2.3.0"}]
PUBLIC_CHANNELS = ("orderbook", "obdiff", "ticker", "trade")
MAX_OUTBOX = 20_000  # frames a reader may fall behind before it is disconnected as a slow consumer
# One side of a served book: price -> (price string, amount string).
SideView = dict[Decimal, tuple[str, str]]


@dataclass
class Subscription:
    channel: str
    event: str
    spec: SymbolSpec | None
    cs: int = 0
    last: tuple[SideView, SideView] | None = None  # what this subscriber has been sent


@dataclass(eq=False)
class Client:
    ws: web.WebSocketResponse
    keepalive: Keepalive
    subs: dict[tuple[str, str], Subscription] = field(default_factory=dict)
    user_id: int | None = None
    # Frames wait here for the socket's own writer task, so one slow reader never stalls the market clock.
    outbox: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    pings_sent: int = 0
    pongs_received: int = 0
    dropped_by_keepalive: bool = False


class WsHub:
    def __init__(
        self, core: SimCore, ping_interval_s: float = PING_INTERVAL_S, ping_timeout_s: float = PING_TIMEOUT_S
    ) -> None:
        check_timings(ping_interval_s, ping_timeout_s)
        self.core = core
        self.ping_interval_s = ping_interval_s
        self.ping_timeout_s = ping_timeout_s
        self.keepalive_closes = 0
        self.clients: set[Client] = set()
        self._lock = asyncio.Lock()
        self._trades: dict[str, list[PublicTrade]] = defaultdict(list)
        self._private: dict[int, list[list[Any]]] = defaultdict(list)
        self.frames_sent = 0
        self._background: set[asyncio.Future[Any]] = set()
        self.attach(core)

    def attach(self, core: SimCore) -> None:
        core.engine.subscribe(self.on_event)

    # ----- engine events (loop thread) -----
    def on_event(self, event: EngineEvent) -> None:
        if isinstance(event, PublicTradeEvent):
            self._trades[event.trade.symbol].append(event.trade)
            return
        order = event.order
        if order.user_id == LIQUIDITY_USER_ID or order.user_id not in self._logged_in_users():
            return
        spec = self.core.specs[order.symbol]
        if isinstance(event, FillEvent):
            self._private[order.user_id].append(wire.ws_order_match(spec, event.trade, order))
            self._private[order.user_id].append(wire.ws_user_trade(spec, event.trade))
            self._private[order.user_id].append(wire.ws_balance_updated(spec, order.user_id))
        elif isinstance(event, OrderEvent):
            model = {"insert": 451, "update": 453, "delete": 452}[event.kind]
            self._private[order.user_id].append(wire.ws_order_model(model, spec, order))

    def _logged_in_users(self) -> set[int]:
        return {c.user_id for c in self.clients if c.user_id is not None}

    def clear_pending(self) -> None:
        self._trades.clear()
        self._private.clear()

    # ----- connection -----
    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.core.faults.ws_disconnect:
            return web.Response(status=503)
        if self.core.rate_limits_enabled:
            now = asyncio.get_running_loop().time()
            limited = self.core.limiter.check("WS", "connect", None, request.remote or "?", now)
            if limited is not None:
                return web.Response(
                    text=wire.dumps(limited.body()),
                    status=429,
                    content_type="application/json",
                    headers={"Retry-After": str(limited.retry_after_s)},
                )
        # Pings and pongs are handled here rather than by aiohttp's heartbeat, which drops a silent socket after
        # 1.5 intervals without a close frame (the client sees 1006); the venue waits ~45 s and sends 1000.
        ws = web.WebSocketResponse(autoping=False, max_msg_size=1024 * 1024)
        await ws.prepare(request)
        loop = asyncio.get_running_loop()
        client = Client(ws, Keepalive.start(loop.time(), self.ping_interval_s, self.ping_timeout_s))
        self.clients.add(client)
        writer = asyncio.create_task(self._writer(client))
        keepalive = asyncio.create_task(self._keepalive(client))
        try:
            self._send(client, VERSION_FRAME)
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(client, msg.data)
                elif msg.type == WSMsgType.PING:
                    await ws.pong(msg.data)
                elif msg.type == WSMsgType.PONG:
                    client.pongs_received += 1
                    client.keepalive.on_pong(loop.time())
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            self.clients.discard(client)
            writer.cancel()
            if not client.dropped_by_keepalive:
                keepalive.cancel()  # a keepalive close in progress must finish: it sends the close frame
            await asyncio.gather(writer, keepalive, return_exceptions=True)
        return ws

    async def _keepalive(self, client: Client) -> None:
        loop = asyncio.get_running_loop()
        state = client.keepalive
        while not client.ws.closed:
            action = state.due(loop.time())
            if action == "close":
                client.dropped_by_keepalive = True
                self.keepalive_closes += 1
                # Bounded: the close frame is queued at once, but a reader that never resumes must not pin us.
                with contextlib.suppress(asyncio.TimeoutError, ConnectionError, RuntimeError):
                    await asyncio.wait_for(
                        client.ws.close(code=CLOSE_CODE, message=b"ping timeout"), timeout=self.ping_interval_s
                    )
                return
            if action == "ping":
                client.pings_sent += 1
                # Not awaited: writing the ping can wait on a full socket buffer, and that must not delay the close.
                self._track(asyncio.ensure_future(client.ws.ping()))
            await asyncio.sleep(max(0.0, state.wake_at() - loop.time()))

    def _track(self, task: asyncio.Future[Any]) -> None:
        self._background.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Future[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled():
            task.exception()  # a socket gone mid-write is expected; retrieving it keeps asyncio quiet

    @staticmethod
    async def _writer(client: Client) -> None:
        ws, outbox = client.ws, client.outbox
        try:
            while True:
                text = await outbox.get()
                await ws.send_str(text)
        except (ConnectionError, RuntimeError):
            return

    async def close_all(self, code: int = 1001) -> None:
        for client in list(self.clients):
            await client.ws.close(code=code, message=b"closed by simulator")
        self.clients.clear()

    def _send(self, client: Client, frame: list[Any]) -> None:
        if self.core.faults.ws_stall or client.ws.closed:
            return
        if client.outbox.qsize() >= MAX_OUTBOX:
            self.clients.discard(client)
            self._track(asyncio.ensure_future(client.ws.close(code=1008, message=b"slow consumer")))
            return
        client.outbox.put_nowait(wire.dumps(frame))
        self.frames_sent += 1

    async def _on_text(self, client: Client, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            return
        if not isinstance(frame, list) or len(frame) != 2 or not isinstance(frame[1], dict):
            return
        kind, body = frame
        if kind == 151:
            await self._on_subscribe(client, body)
        elif kind == 114:
            user_id = verify_ws_login(body, self.core.credentials)
            if user_id is not None:
                client.user_id = user_id
            ok = user_id is not None
            message = "Authentication successful" if ok else "Authentication failed: invalid publicKey or signature"
            self._send(client, [114, {"type": 114, "ok": ok, "message": message}])

    async def _on_subscribe(self, client: Client, body: dict[str, Any]) -> None:
        channel, event, join = body.get("channel"), body.get("event"), body.get("join")
        if not isinstance(channel, str) or not isinstance(event, str):
            return
        joining = join is not False
        key = (channel, event)
        message = f"{'join' if joining else 'leave'}|{channel}:{event}"
        if not joining:
            client.subs.pop(key, None)
            self._send(client, [100, {"type": 100, "id": 0, "ok": True, "message": message}])
            return
        if key in client.subs:
            self._send(client, [100, {"type": 100, "id": 0, "ok": False, "message": message}])
            return
        # The WebSocket is case-sensitive: only exact upper-case pair names (or "all" for tickers) stream.
        spec = self.core.specs.get(event)
        sub = Subscription(channel, event, spec, cs=self.core.engine.book_version.get(event, 0) + 1)
        client.subs[key] = sub
        self._send(client, [100, {"type": 100, "id": 0, "ok": True, "message": message}])
        if channel not in PUBLIC_CHANNELS or (spec is None and not (channel == "ticker" and event == "all")):
            return
        await self._serve_initial(client, sub)

    async def _serve_initial(self, client: Client, sub: Subscription) -> None:
        if self.core.faults.ws_stall:
            return
        if sub.channel in ("orderbook", "obdiff") and sub.spec is not None:
            view = self._view(sub.spec)
            self._send(client, self._full_frame(sub, view))
            sub.last = view
        elif sub.channel == "ticker":
            self._send(client, self._ticker_frame(sub))
        elif sub.channel == "trade" and sub.spec is not None:
            items = [wire.ws_trade_item(t) for t in self.core.engine.recent_trades(sub.spec.name, 50)]
            frame = {"symbol": sub.spec.name, "items": items, "channel": "trade", "event": sub.event, "type": 421}
            self._send(client, [421, frame])

    # ----- frames -----
    def _view(self, spec: SymbolSpec) -> tuple[SideView, SideView]:
        bids, asks = self.core.book_view(spec.name, BOOK_DEPTH_CAP)
        return (
            {p: (wire.price_str(spec, p), wire.amount_str(spec, a)) for p, a in bids},
            {p: (wire.price_str(spec, p), wire.amount_str(spec, a)) for p, a in asks},
        )

    @staticmethod
    def _full_frame(sub: Subscription, view: tuple[SideView, SideView]) -> list[Any]:
        bids, asks = view
        assert sub.spec is not None  # noqa: S101
        return [
            431,
            {
                "CS": sub.cs,
                "PS": sub.spec.name,
                "AO": [{"A": asks[p][1], "P": asks[p][0]} for p in sorted(asks)],
                "BO": [{"A": bids[p][1], "P": bids[p][0]} for p in sorted(bids, reverse=True)],
                "channel": sub.channel,
                "event": sub.event,
                "type": 431,
            },
        ]

    @staticmethod
    def _diff(old: SideView, new: SideView, descending: bool) -> list[dict[str, Any]]:
        out: list[tuple[Decimal, dict[str, Any]]] = []
        for price, (p, a) in new.items():
            before = old.get(price)
            if before is None:
                out.append((price, {"CP": 1, "P": p, "A": a}))
            elif before[1] != a:
                out.append((price, {"CP": 0, "P": p, "A": a}))
        for price, (p, a) in old.items():
            if price not in new:
                out.append((price, {"CP": 3, "P": p, "A": a}))
        out.sort(key=lambda item: item[0], reverse=descending)
        return [item for _, item in out]

    def _ticker_item(self, spec: SymbolSpec) -> dict[str, Any]:
        t = self.core.ticker_fields(spec)

        def s(key: str) -> str:
            value = t[key]
            return wire.dec(value) if value is not None else "0"

        return {
            "B": s("bid"),
            "A": s("ask"),
            "BA": s("bid_amount"),
            "AA": s("ask_amount"),
            "PS": spec.name,
            "H": s("high"),
            "L": s("low"),
            "LA": s("last"),
            "O": s("open"),
            "V": s("volume"),
            "AV": s("average"),
            "D": s("daily"),
            "DP": s("daily_percent"),
            "DS": spec.denominator,
            "NS": spec.numerator,
            "PId": spec.pair_id,
        }

    def _ticker_frame(self, sub: Subscription) -> list[Any]:
        if sub.spec is None:
            items = [self._ticker_item(s) for s in self.core.specs.values()]
            return [401, {"items": items, "channel": "ticker", "event": "all", "type": 401}]
        return [402, {**self._ticker_item(sub.spec), "channel": "ticker", "event": sub.event, "type": 402}]

    # ----- publishing -----
    async def publish(self, *, tickers: bool = False) -> None:
        async with self._lock:
            trades, self._trades = self._trades, defaultdict(list)
            private, self._private = self._private, defaultdict(list)
            if self.core.faults.ws_stall:
                return
            frozen = self.core.faults.freeze_market_data
            views: dict[str, tuple[SideView, SideView]] = {}
            for client in list(self.clients):
                if client.ws.closed:
                    self.clients.discard(client)
                    continue
                if not frozen:
                    for sub in list(client.subs.values()):
                        await self._publish_sub(client, sub, views, trades, tickers)
                if client.user_id is not None:
                    for frame in private.get(client.user_id, ()):
                        self._send(client, frame)

    async def _publish_sub(
        self,
        client: Client,
        sub: Subscription,
        views: dict[str, tuple[SideView, SideView]],
        trades: dict[str, list[PublicTrade]],
        tickers: bool,
    ) -> None:
        spec = sub.spec
        if sub.channel == "ticker":
            if tickers and (spec is not None or sub.event == "all"):
                self._send(client, self._ticker_frame(sub))
            return
        if spec is None:
            return
        if sub.channel == "trade":
            for trade in trades.get(spec.name, ()):
                frame = {**wire.ws_trade_item(trade), "PS": spec.name, "channel": "trade", "event": sub.event}
                self._send(client, [422, {**frame, "type": 422}])
            return
        if sub.channel not in ("orderbook", "obdiff"):
            return
        view = views.get(spec.name)
        if view is None:
            view = views[spec.name] = self._view(spec)
        if sub.last is None:
            self._send(client, self._full_frame(sub, view))
            sub.last = view
            return
        if sub.channel == "orderbook":
            if view != sub.last:
                sub.cs += 1
                self._send(client, self._full_frame(sub, view))
                sub.last = view
            return
        bids = self._diff(sub.last[0], view[0], descending=True)
        asks = self._diff(sub.last[1], view[1], descending=False)
        if not bids and not asks:
            return
        sub.cs += 1
        frame = {"CS": sub.cs, "PS": spec.name, "AO": asks, "BO": bids, "channel": "obdiff", "event": sub.event}
        self._send(client, [432, {**frame, "type": 432}])
        sub.last = view
