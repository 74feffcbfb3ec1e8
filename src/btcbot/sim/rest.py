"""BTCTurk's REST API (public v2, private v1, graph v1) and the /sim/ control API, on one aiohttp app.

Routing is case-insensitive (the venue is ASP.NET); unknown routes answer 404 with an empty body and a known
route with the wrong method answers 405, as on the wire.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, cast

from aiohttp import web
from pydantic import ValidationError

from btcbot.sim import wire
from btcbot.sim.auth import verify_rest
from btcbot.sim.core import BOOK_DEPTH_CAP, SimCore, asset_name, asset_precision, iso_ms
from btcbot.sim.engine import SimRejection
from btcbot.sim.symbols import ASSETS, SymbolSpec, normalize_pair

Handler = Callable[["Call"], Awaitable[web.StreamResponse]]
JSON_TYPE = "application/json"
MAX_CLIENT_ID_LEN = 50


@dataclass
class Call:
    request: web.Request
    user_id: int | None
    body: dict[str, Any]
    path_id: str | None = None

    def param(self, name: str) -> str | None:
        """Query string wins over the body; parameter names are case-insensitive."""
        lname = name.lower()
        for key, value in self.request.query.items():
            if key.lower() == lname:
                return value
        for key, value in self.body.items():
            if key.lower() == lname and value is not None:
                return value if isinstance(value, str) else json.dumps(value) if isinstance(value, bool) else str(value)
        return None

    def params(self, name: str) -> list[str]:
        lname = name.lower()
        return [v for k, v in self.request.query.items() if k.lower() == lname]


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=wire.dumps(payload), status=status, content_type=JSON_TYPE, charset="utf-8", headers=headers
    )


def rejection(exc: SimRejection, *, with_http_status: bool = False) -> web.Response:
    body: dict[str, Any] = {}
    if with_http_status:
        body["httpStatusCode"] = exc.http_status
    body.update(wire.error_body(exc.message, exc.code))
    return json_response(body, exc.http_status)


@dataclass(frozen=True)
class Route:
    handler: Handler
    private: bool
    limit_key: str | None


class RestApi:
    def __init__(self, core: SimCore, on_change: Callable[[], None], schedule_cancel: Callable[[], None]) -> None:
        self.core = core
        self.on_change = on_change
        self.schedule_cancel = schedule_cancel
        self.closing = asyncio.Event()
        self._book_cache: dict[tuple[int, str, int, int, bool, bool], tuple[str, str]] = {}
        get: dict[str, dict[str, Route]] = {}
        self.routes = get

        def add(path: str, method: str, handler: Handler, private: bool, limit_key: str | None) -> None:
            self.routes.setdefault(path.lower(), {})[method] = Route(handler, private, limit_key)

        add("/api/v2/server/exchangeinfo", "GET", self.exchange_info, False, None)
        add("/api/v2/server/time", "GET", self.server_time, False, None)
        add("/api/v2/server/ping", "GET", self.ping, False, None)
        add("/api/v2/ticker", "GET", self.ticker, False, "ticker")
        add("/api/v2/ticker/currency", "GET", self.ticker_currency, False, "ticker")
        add("/api/v2/orderbook", "GET", self.order_book, False, "orderbook")
        add("/api/v2/trades", "GET", self.trades, False, None)
        add("/v1/klines/history", "GET", self.klines, False, "klines")
        add("/v1/ohlcs", "GET", self.ohlcs, False, "ohlcs")
        add("/api/v1/users/balances", "GET", self.balances, True, "balances")
        add("/api/v1/openorders", "GET", self.open_orders, True, "openorders")
        add("/api/v1/allorders", "GET", self.all_orders, True, "allorders")
        add("/api/v1/order", "POST", self.submit, True, "order")
        add("/api/v1/order", "DELETE", self.cancel, True, "order")
        add("/api/v1/users/transactions/trade", "GET", self.user_trades, True, "usertrades")
        self.order_id_routes = {"GET": Route(self.get_order, True, "order_id")}
        self.control: dict[str, dict[str, Callable[[web.Request], Awaitable[web.Response]]]] = {
            "/sim/state": {"GET": self.sim_state},
            "/sim/requests": {"GET": self.sim_requests},
            "/sim/faults": {"GET": self.sim_faults_get, "POST": self.sim_faults_post},
            "/sim/market": {"POST": self.sim_market},
            "/sim/reset": {"POST": self.sim_reset},
            "/sim/tick": {"POST": self.sim_tick},
        }
        self.tick_hook: Callable[[int], Awaitable[None]] | None = None
        self.reset_hook: Callable[[], Awaitable[None]] | None = None
        self.faults_hook: Callable[[], Awaitable[None]] | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    # ----- dispatch -----
    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/").lower() or "/"
        if path.startswith("/sim/") or path == "/sim":
            table = self.control.get(path)
            if table is None:
                return web.Response(status=404)
            control = table.get(request.method)
            if control is None:
                return web.Response(status=405)
            return await control(request)
        path_id: str | None = None
        methods = self.routes.get(path)
        if methods is None:
            match = re.fullmatch(r"/api/v1/order/([^/]+)", path)
            if match:
                methods, path_id = self.order_id_routes, match.group(1)
        if methods is None:
            self.core.record(request.method, request.path, 404, False)
            return web.Response(status=404)
        route = methods.get(request.method)
        if route is None:
            self.core.record(request.method, request.path, 405, False)
            return web.Response(status=405, headers={"Allow": ", ".join(methods)})
        response, authenticated = await self._serve(request, route, path_id)
        if response is not None:
            self.core.record(request.method, request.path, response.status, authenticated)
            return response
        # drop_order_response: the order is booked but the client never hears back.
        self.core.record(request.method, request.path, 0, authenticated)
        await self._hold(request)
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=204)

    async def _serve(self, request: web.Request, route: Route, path_id: str | None) -> tuple[web.Response | None, bool]:
        core = self.core
        faults = core.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        user_id: int | None = None
        if route.private:
            verdict = verify_rest(request.headers, core.credentials, core.clock.wall_ms())
            if isinstance(verdict, str):
                body = {"success": core.faults.auth_success_true, "message": verdict, "code": 1037}
                return json_response(body, 401), False
            user_id = verdict
        if faults.rate_limit:
            return json_response({"success": False, "message": "Too many requests", "code": 429}, 429,
                                 {"Retry-After": "1"}), user_id is not None  # fmt: skip
        if core.rate_limits_enabled and route.limit_key:
            ip = request.remote or "?"
            account = str(user_id) if user_id is not None else None
            limited = core.limiter.check(request.method, route.limit_key, account, ip, loop_time())
            if limited is not None:
                return json_response(limited.body(), 429, {"Retry-After": str(limited.retry_after_s)}), (
                    user_id is not None
                )
        if faults.error_rate and core.fault_rng.random() < faults.error_rate:
            body = {"success": False, "message": "INTERNAL_SERVER_ERROR", "code": 500}
            return json_response(body, 500), user_id is not None
        try:
            body = await self._body(request)
        except SimRejection as exc:
            return rejection(exc), user_id is not None
        call = Call(request, user_id, body, path_id)
        try:
            response = await route.handler(call)
        except SimRejection as exc:
            return rejection(exc, with_http_status=route.handler == self.submit), user_id is not None
        if isinstance(response, _Dropped):
            return None, True
        return cast(web.Response, response), user_id is not None

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if request.method not in ("POST", "PUT", "DELETE") or not request.can_read_body:
            return {}
        raw = await request.read()
        if not raw.strip():
            return {}
        if request.content_type == "application/x-www-form-urlencoded":
            form = await request.post()
            return {k: v for k, v in form.items() if isinstance(v, str)}
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise SimRejection("INVALID_REQUEST_ERROR", 1037) from None
        if not isinstance(parsed, dict):
            raise SimRejection("INVALID_REQUEST_ERROR", 1037)
        return parsed

    async def _hold(self, request: web.Request) -> None:
        """Keep the connection open, unanswered, until the client gives up or the simulator stops."""
        while not self.closing.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                return
            try:
                await asyncio.wait_for(self.closing.wait(), 0.05)
            except TimeoutError:
                continue

    def _spec(self, raw: str | None, *, required: bool = True) -> SymbolSpec | None:
        if raw is None or not raw.strip():
            if required:
                raise SimRejection("INVALID_REQUEST_ERROR", 1037)
            return None
        name = normalize_pair(raw)
        spec = self.core.specs.get(name)
        if spec is None:
            raise SimRejection(f"Pair {raw.strip().upper()} does not exists.", 1037)
        return spec

    # ----- public -----
    async def exchange_info(self, call: Call) -> web.Response:
        core = self.core
        symbols = []
        for spec in core.specs.values():
            band = core.engine.price_band(spec.name)
            symbols.append(
                {
                    "id": spec.pair_id,
                    "name": spec.name,
                    "nameNormalized": spec.normalized,
                    "status": "TRADING",
                    "numerator": spec.numerator,
                    "denominator": spec.denominator,
                    "numeratorScale": spec.numerator_scale,
                    "denominatorScale": spec.denominator_scale,
                    "hasFraction": spec.has_fraction,
                    "filters": [
                        {
                            "filterType": "PRICE_FILTER",
                            "minPrice": "0.0000000000001",
                            "maxPrice": "10000000",
                            "tickSize": wire.dec(spec.level_step),
                            "minExchangeValue": wire.dec(spec.min_exchange_value),
                            "minAmount": None,
                            "maxAmount": None,
                        }
                    ],
                    "orderMethods": list(spec.order_methods),
                    "displayFormat": spec.display_format,
                    "commissionFromNumerator": False,
                    "order": spec.order,
                    "priceRounding": False,
                    "isNew": False,
                    "marketPriceWarningThresholdPercentage": 0.25,
                    "maximumOrderAmount": None,
                    "maximumLimitOrderPrice": wire.num(band[1]) if band else None,
                    "minimumLimitOrderPrice": wire.num(band[0]) if band else None,
                }
            )
        assets = sorted({s.numerator for s in core.specs.values()} | {s.denominator for s in core.specs.values()})
        currencies = [
            {
                "id": ASSETS[a].currency_id if a in ASSETS else 0,
                "symbol": a,
                "minWithdrawal": 0,
                "minDeposit": 0,
                "precision": asset_precision(a),
                "address": {"minLen": None, "maxLen": None},
                "currencyType": "FIAT" if a == "TRY" else "CRYPTO",
                "tag": {"enable": False, "name": None, "minLen": None, "maxLen": None},
                "color": "#000000",
                "name": asset_name(a),
                "isAddressRenewable": False,
                "getAutoAddressDisabled": False,
                "isPartialWithdrawalEnabled": False,
                "isNew": False,
            }
            for a in assets
        ]
        blocks = [{"currencySymbol": a, "withdrawalDisabled": False, "depositDisabled": False} for a in assets]
        data = {
            "timeZone": "UTC",
            "serverTime": core.clock.wall_ms(),
            "symbols": symbols,
            "currencies": currencies,
            "currencyOperationBlocks": blocks,
        }
        return json_response(wire.envelope(data), headers={"Cache-Control": "public, max-age=30"})

    async def server_time(self, call: Call) -> web.Response:
        now = self.core.clock.wall_ms()
        return json_response({"serverTime": now, "serverTime2": iso_ms(now)})

    async def ping(self, call: Call) -> web.Response:
        return json_response({"pong": True})

    def _ticker_row(self, spec: SymbolSpec) -> dict[str, Any]:
        t = self.core.ticker_fields(spec)

        def n(key: str) -> int | float | None:
            value = t[key]
            return wire.num(value) if value is not None else None

        return {
            "pair": spec.name,
            "pairNormalized": spec.normalized,
            "timestamp": self.core.market_ts_ms(),
            "last": n("last"),
            "high": n("high"),
            "low": n("low"),
            "bid": n("bid"),
            "ask": n("ask"),
            "open": n("open"),
            "volume": n("volume"),
            "average": n("average"),
            "daily": n("daily"),
            "dailyPercent": n("daily_percent"),
            "denominatorSymbol": spec.denominator,
            "numeratorSymbol": spec.numerator,
            "order": spec.order,
        }

    async def ticker(self, call: Call) -> web.Response:
        raw = call.param("pairSymbol")
        if raw:
            spec = self.core.specs.get(normalize_pair(raw))
            rows = [self._ticker_row(spec)] if spec else []
        else:
            rows = [self._ticker_row(s) for s in self.core.specs.values()]
        return json_response(wire.envelope(rows))

    async def ticker_currency(self, call: Call) -> web.Response:
        symbol = (call.param("symbol") or "").strip().upper()
        rows = [self._ticker_row(s) for s in self.core.specs.values() if s.denominator == symbol]
        return json_response(wire.envelope(rows))

    async def order_book(self, call: Call) -> web.Response:
        spec = cast(SymbolSpec, self._spec(call.param("pairSymbol")))
        depth = _int_param(call.param("limit"), BOOK_DEPTH_CAP)
        depth = max(1, min(depth, BOOK_DEPTH_CAP))
        faults = self.core.faults
        version = self.core.engine.book_version[spec.name]
        key = (self.core.generation, spec.name, depth, version, faults.crossed_book, faults.zero_bid)
        cached = self._book_cache.get(key)
        if cached is None:
            # Formatting a deep book dominates this endpoint; the book only changes with its version.
            bids, asks = self.core.book_view(spec.name, depth)
            cached = (
                wire.dumps([[wire.price_str(spec, p), wire.amount_str(spec, a)] for p, a in bids]),
                wire.dumps([[wire.price_str(spec, p), wire.amount_str(spec, a)] for p, a in asks]),
            )
            if len(self._book_cache) > 256:
                self._book_cache.clear()
            self._book_cache[key] = cached
        text = (
            f'{{"data":{{"timestamp":{self.core.market_ts_ms()},"bids":{cached[0]},"asks":{cached[1]}}},'
            '"success":true,"message":null,"code":0}'
        )
        return web.Response(text=text, content_type=JSON_TYPE, charset="utf-8")

    async def trades(self, call: Call) -> web.Response:
        spec = cast(SymbolSpec, self._spec(call.param("pairSymbol")))
        last = max(1, min(_int_param(call.param("last"), 50), 50))
        rows = [wire.public_trade_row(spec, t) for t in self.core.engine.recent_trades(spec.name, last)]
        return json_response(wire.envelope(rows))

    async def klines(self, call: Call) -> web.Response:
        spec = self.core.specs.get(normalize_pair(call.param("symbol") or ""))
        resolution = _resolution_s(call.param("resolution") or "60")
        now_s = self.core.clock.wall_ms() // 1000
        to_s = _int_param(call.param("to"), now_s)
        from_s = _int_param(call.param("from"), to_s - 500 * (resolution or 60))
        if spec is None or resolution is None:
            return json_response({"s": "no_data"})
        rows = self.core.candles(spec.name, resolution, from_s, to_s)
        if not rows:
            return json_response({"s": "no_data"})
        return json_response(
            {
                "s": "ok",
                "t": [r[0] for r in rows],
                "o": [r[1] for r in rows],
                "h": [r[2] for r in rows],
                "l": [r[3] for r in rows],
                "c": [r[4] for r in rows],
                "v": [r[5] for r in rows],
            }
        )

    async def ohlcs(self, call: Call) -> web.Response:
        spec = self.core.specs.get(normalize_pair(call.param("pair") or ""))
        if spec is None:
            return json_response([])
        now_s = self.core.clock.wall_ms() // 1000
        to_s = _int_param(call.param("to"), now_s)
        from_s = _int_param(call.param("from"), to_s - 30 * 86400)
        out = []
        for t, o, h, low, c, v in self.core.candles(spec.name, 86400, from_s, to_s):
            out.append(
                {
                    "pair": spec.name,
                    "time": t,
                    "open": o,
                    "high": h,
                    "low": low,
                    "close": c,
                    "volume": v,
                    "total": round(v * (o + c) / 2, 2),
                    "average": round((o + c) / 2, 2),
                    "dailyChangeAmount": round(c - o, 2),
                    "dailyChangePercentage": round((c - o) / o * 100, 2) if o else 0,
                }
            )
        return json_response(out)

    # ----- private -----
    async def balances(self, call: Call) -> web.Response:
        assert call.user_id is not None  # noqa: S101 - private routes are authenticated first
        balances = self.core.engine.balances(call.user_id)
        now = self.core.clock.wall_ms()
        assets = sorted(set(balances) | set(ASSETS), key=lambda a: (a != "TRY", a))
        rows = []
        for asset in assets:
            free, locked = balances.get(asset, (Decimal(0), Decimal(0)))
            rows.append(
                {
                    "asset": asset,
                    "assetname": asset_name(asset),
                    "balance": wire.dec(free + locked),
                    "locked": wire.dec(locked),
                    "free": wire.dec(free),
                    "orderFund": wire.dec(locked),
                    "requestFund": "0",
                    "precision": asset_precision(asset),
                    "timestamp": now,
                }
            )
        return json_response(wire.envelope(rows))

    async def open_orders(self, call: Call) -> web.Response:
        assert call.user_id is not None  # noqa: S101
        spec = self._spec(call.param("pairSymbol"), required=False)
        orders = self.core.views.orders(call.user_id, spec.name if spec else None, open_only=True)
        asks: list[dict[str, Any]] = []
        bids: list[dict[str, Any]] = []
        for order in orders:
            row = wire.order_row(self.core.specs[order.symbol], order, open_listing=True)
            (bids if order.side == "buy" else asks).append(row)
        return json_response(wire.envelope({"asks": asks, "bids": bids}))

    async def all_orders(self, call: Call) -> web.Response:
        assert call.user_id is not None  # noqa: S101
        spec = cast(SymbolSpec, self._spec(call.param("pairSymbol")))
        orders = self.core.views.orders(call.user_id, spec.name)
        min_id = _int_param(call.param("orderId"), 0)
        start = _int_param(call.param("startTime"), 0)
        end = _int_param(call.param("endTime"), 0)
        # startTime/endTime: ms per the docs; ccxt sends seconds, so small values are read as seconds.
        if 0 < start < 10**11:
            start *= 1000
        if 0 < end < 10**11:
            end *= 1000
        limit = _int_param(call.param("limit"), 0) or _int_param(call.param("last"), 0) or 100
        limit = max(1, min(limit, 1000))
        page = max(1, _int_param(call.param("page"), 1))
        rows = [
            o
            for o in orders
            if o.id >= min_id and (not start or o.created_ms >= start) and (not end or o.created_ms <= end)
        ]
        rows.sort(key=lambda o: o.id, reverse=True)
        rows = rows[(page - 1) * limit : page * limit]
        return json_response(wire.envelope([wire.order_row(spec, o) for o in rows]))

    async def get_order(self, call: Call) -> web.Response:
        assert call.user_id is not None  # noqa: S101
        try:
            order_id = int(call.path_id or "")
        except ValueError:
            raise SimRejection("Order not found", 1152) from None
        order = self.core.views.get_order(call.user_id, order_id)
        if order is None:
            raise SimRejection("Order not found", 1152)
        return json_response(wire.envelope(wire.order_row(self.core.specs[order.symbol], order)))

    async def user_trades(self, call: Call) -> web.Response:
        assert call.user_id is not None  # noqa: S101
        trades = self.core.views.user_trades(call.user_id)
        order_id = call.param("orderId")
        types = {t.lower() for t in call.params("type")}
        assets = {s.upper() for s in call.params("symbol")}
        pair = call.param("pairSymbol")
        now = self.core.clock.wall_ms()
        start = _int_param(call.param("startDate"), now - 30 * 86_400_000)
        end = _int_param(call.param("endDate"), now + 1)
        rows = []
        for trade in reversed(trades):
            spec = self.core.specs[trade.symbol]
            if order_id is not None:
                if str(trade.order_id) != order_id.strip():
                    continue
            else:
                if types and trade.side not in types:
                    continue
                if assets and not ({spec.numerator, spec.denominator} & assets):
                    continue
                if pair and normalize_pair(pair) != spec.name:
                    continue
                if not start <= trade.ts_ms <= end:
                    continue
            rows.append(wire.user_trade_row(spec, trade))
        return json_response(wire.envelope(rows, "SUCCESS"))

    async def submit(self, call: Call) -> web.StreamResponse:
        assert call.user_id is not None  # noqa: S101
        core = self.core
        spec = cast(SymbolSpec, self._spec(call.param("pairSymbol")))
        method_raw = (call.param("orderMethod") or "").strip().lower()
        side_raw = (call.param("orderType") or "").strip().lower()
        if method_raw in ("stoplimit", "stopmarket", "stop_limit", "stop_market"):
            raise SimRejection("ORDER_METHOD_NOT_SUPPORTED", 1134)
        if method_raw not in ("limit", "market") or method_raw.upper() not in spec.order_methods:
            raise SimRejection("ORDER_METHOD_NOT_SUPPORTED", 1134)
        if side_raw not in ("buy", "sell"):
            raise SimRejection("ORDER_TYPE_NOT_SUPPORTED", 1193)
        quantity = _decimal(call.param("quantity"))
        price = _decimal(call.param("price")) if method_raw == "limit" else None
        if quantity is None or (method_raw == "limit" and price is None):
            raise SimRejection("INVALID_REQUEST_ERROR", 1037)
        client_id = call.param("newOrderClientId")
        if client_id is not None and len(client_id) > MAX_CLIENT_ID_LEN:
            raise SimRejection("INVALID_REQUEST_ERROR", 1037)
        if not client_id:
            client_id = core.new_client_id()
        if core.faults.reject_orders:
            if method_raw == "market":
                raise SimRejection("FAILED_MARKET_ORDER", 1118)
            raise SimRejection("FAILED_LIMIT_ORDER", 1120)
        side = cast(Literal["buy", "sell"], side_raw)
        method = cast(Literal["limit", "market"], method_raw)
        order = core.engine.submit(call.user_id, spec.name, side, method, quantity, price, client_id)
        self.on_change()
        if core.faults.drop_order_response:
            return _DROPPED
        data = {
            "id": order.id,
            "quantity": wire.dec(quantity),
            "price": wire.dec(price) if price is not None else "0",
            "stopPrice": None,
            "newOrderClientId": client_id,
            "type": side,
            "method": method,
            "pairSymbol": spec.name,
            "pairSymbolNormalized": spec.normalized,
            "datetime": order.created_ms,
        }
        return json_response({"httpStatusCode": 200, **wire.envelope(data, "OK")})

    async def cancel(self, call: Call) -> web.Response:
        assert call.user_id is not None  # noqa: S101
        # The venue reads the id from the query string only (a body id is not honoured).
        raw = next((v for k, v in call.request.query.items() if k.lower() == "id"), None)
        try:
            order_id = int(raw or "")
        except ValueError:
            raise SimRejection("NO_ORDER_MATCHES_YOUR_REQUEST", 1051) from None
        pending = self.core.engine.request_cancel(call.user_id, order_id)
        if pending:
            self.schedule_cancel()
        return json_response({"success": True, "message": "SUCCESS", "code": 0})

    # ----- control -----
    async def sim_state(self, request: web.Request) -> web.Response:
        return json_response(self.core.state())

    async def sim_requests(self, request: web.Request) -> web.Response:
        return json_response(self.core.request_log())

    async def sim_faults_get(self, request: web.Request) -> web.Response:
        return json_response(self.core.faults.model_dump())

    async def sim_faults_post(self, request: web.Request) -> web.Response:
        body = await _control_body(request)
        if isinstance(body, web.Response):
            return body
        try:
            faults = self.core.apply_faults(body)
        except ValidationError as exc:
            return json_response({"error": _validation_text(exc)}, 400)
        if self.faults_hook is not None:
            await self.faults_hook()
        return json_response(faults.model_dump())

    async def sim_market(self, request: web.Request) -> web.Response:
        body = await _control_body(request)
        if isinstance(body, web.Response):
            return body
        symbol = normalize_pair(str(body.get("symbol", "")))
        mid = _decimal(body.get("mid"))
        if symbol not in self.core.specs or mid is None or mid <= 0:
            return json_response({"error": 'need {"symbol": one of the simulated pairs, "mid": > 0}'}, 400)
        self.core.set_mid(symbol, mid)
        self.on_change()
        if self.tick_hook is not None:
            await self.tick_hook(0)
        return json_response({"ok": True, "symbol": symbol, "mid": str(mid)})

    async def sim_reset(self, request: web.Request) -> web.Response:
        self.core.reset()
        if self.reset_hook is not None:
            await self.reset_hook()
        return json_response({"ok": True})

    async def sim_tick(self, request: web.Request) -> web.Response:
        body = await _control_body(request)
        if isinstance(body, web.Response):
            return body
        n = body.get("n", 1)
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= 100_000:
            return json_response({"error": "n must be an integer between 0 and 100000"}, 400)
        if self.tick_hook is not None:
            await self.tick_hook(n)
        return json_response({"ok": True, "ticks": self.core.market.ticks})


class _Dropped(web.Response):
    pass


_DROPPED = _Dropped(status=204)


def loop_time() -> float:
    return asyncio.get_running_loop().time()


async def _control_body(request: web.Request) -> dict[str, Any] | web.Response:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        return json_response({"error": "body must be a JSON object"}, 400)
    if not isinstance(body, dict):
        return json_response({"error": "body must be a JSON object"}, 400)
    return body


def _validation_text(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False))


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def _int_param(value: str | None, default: int) -> int:
    if value is None or not value.strip():
        return default
    try:
        return int(Decimal(value.strip()))
    except (InvalidOperation, ValueError):
        return default


_RESOLUTIONS = {"d": 86400, "w": 7 * 86400, "m": 30 * 86400, "y": 365 * 86400}


def _resolution_s(raw: str) -> int | None:
    text = raw.strip().lower().replace(" ", "")
    if text.isdigit():
        return int(text) * 60 if int(text) > 0 else None
    match = re.fullmatch(r"(\d*)([dwmy])", text)
    if not match:
        return None
    return int(match.group(1) or "1") * _RESOLUTIONS[match.group(2)]
