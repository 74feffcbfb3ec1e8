"""BTCTurk's private WebSocket after a 114 login: order events (451 insert, 452 delete, 453 update) and fills (423).

452 is the venue's authoritative end of a cancel (or of any removal). ``BtcturkExchange.confirm_cancel`` can
wait on it instead of polling; it still reads the order once afterwards, because a 452 does not say whether
the order ended cancelled or filled. The real venue wants a separate WebSocket-type key pair for this login.

A 423 UserTrade carries the row ``GET /users/transactions/trade`` lists, and is parsed by the same model into
the same ``Fill``. 441 UserOrderMatch is not read: on the live venue it has the fill's amount and price but
no trade id, fee or running totals (the 2019 manual's numLeft/denomLeft were never sent), and 423 has it all.
Frames of other types (201 BalanceUpdated, 441, ...) are ignored.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import websocket
from pydantic import SecretStr

from btcbot.domain.orders import Fill
from btcbot.errors import ProtocolError
from btcbot.exchange.btcturk import convert
from btcbot.exchange.btcturk.models import OrderFrame, UserTradeRow
from btcbot.exchange.btcturk.signing import Signer, sign
from btcbot.exchange.btcturk.translate import parse_json
from btcbot.exchange.retry import RetryPolicy

log = logging.getLogger(__name__)

T_LOGIN = 114
T_USER_TRADE = 423
T_ORDER_INSERT = 451
T_ORDER_DELETE = 452
T_ORDER_UPDATE = 453
LOGIN_NONCE = 3000  # the documented form signs publicKey + nonce
MAX_TRACKED_ORDERS = 10_000


@dataclass(frozen=True, slots=True)
class OrderEvent:
    kind: int  # 451, 452 or 453
    order_id: int
    symbol: str
    client_order_id: str | None
    num_left: Decimal


@dataclass(slots=True)
class _Tracked:
    events: list[OrderEvent] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)


class PrivateOrderFeed:
    def __init__(
        self,
        url: str,
        api_key: SecretStr | str,
        api_secret: SecretStr | str,
        *,
        recv_timeout_s: float = 0.25,
        reconnect: RetryPolicy | None = None,
    ) -> None:
        self.url = url
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        secret = api_secret.get_secret_value() if isinstance(api_secret, SecretStr) else api_secret
        Signer(key, secret)  # validates the pair (ConfigError on a bad secret) without keeping a second copy
        self._key = key
        self._signature = sign(key, secret, LOGIN_NONCE)
        self.recv_timeout_s = recv_timeout_s
        self.reconnect = reconnect or RetryPolicy(max_attempts=1_000_000, base_delay_s=0.2, max_delay_s=5.0)
        self._orders: OrderedDict[int, _Tracked] = OrderedDict()  # by order id, least recently touched first
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ws: websocket.WebSocket | None = None
        self.logged_in = threading.Event()
        self.login_failures = 0
        self.last_error: str | None = None

    def __repr__(self) -> str:
        return f"PrivateOrderFeed(url={self.url!r}, logged_in={self.logged_in.is_set()})"

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="btcturk-private-ws", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        ws = self._ws
        if ws is not None:
            ws.abort()  # type: ignore[no-untyped-call]
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def events(self, order_id: int) -> tuple[OrderEvent, ...]:
        with self._cond:
            tracked = self._orders.get(order_id)
            return tuple(tracked.events) if tracked else ()

    def fills(self, order_id: int) -> tuple[Fill, ...]:
        """The order's fills pushed as 423, in arrival order (the same ``Fill`` the REST trade list gives)."""
        with self._cond:
            tracked = self._orders.get(order_id)
            return tuple(tracked.fills) if tracked else ()

    def wait_for_delete(self, order_id: int, timeout_s: float) -> OrderEvent | None:
        """The order's 452 if it arrives within ``timeout_s`` (or already has), else None."""

        def deleted() -> OrderEvent | None:
            tracked = self._orders.get(order_id)
            for ev in tracked.events if tracked else ():
                if ev.kind == T_ORDER_DELETE:
                    return ev
            return None

        with self._cond:
            self._cond.wait_for(lambda: deleted() is not None, timeout=timeout_s)
            return deleted()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                ws = websocket.create_connection(
                    self.url, timeout=5, skip_utf8_validation=True, enable_multithread=True
                )
            except (OSError, websocket.WebSocketException) as exc:
                self.last_error = f"connect: {type(exc).__name__}"
                self._stop.wait(self.reconnect.backoff_s(min(failures, 10)))
                failures += 1
                continue
            self._ws = ws
            try:
                ws.settimeout(self.recv_timeout_s)
                login = {
                    "type": T_LOGIN,
                    "publicKey": self._key,
                    "timestamp": 0,
                    "nonce": LOGIN_NONCE,
                    "signature": self._signature,
                }
                ws.send(json.dumps([T_LOGIN, login]))
                self._pump(ws)
                failures = 0
            except (OSError, websocket.WebSocketException) as exc:
                self.last_error = f"socket: {type(exc).__name__}"
            finally:
                self.logged_in.clear()
                self._ws = None
                try:
                    ws.close(timeout=0.2)
                except (OSError, websocket.WebSocketException):
                    log.debug("private ws close failed", exc_info=True)
            if not self._stop.is_set():
                self._stop.wait(self.reconnect.backoff_s(min(failures, 10)))
                failures += 1

    def _pump(self, ws: websocket.WebSocket) -> None:
        while not self._stop.is_set():
            try:
                opcode, data = ws.recv_data()
            except websocket.WebSocketTimeoutException:
                continue
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return
            if opcode in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY):
                self._handle(data)

    def _handle(self, data: Any) -> None:
        try:
            msg = parse_json(data)
            if not isinstance(msg, list) or len(msg) != 2 or not isinstance(msg[1], dict):
                return
            typ, obj = msg
            if typ == T_LOGIN:
                if obj.get("ok") is True:
                    self.logged_in.set()
                else:
                    self.login_failures += 1
                    self.last_error = "login refused: check the WebSocket key pair"
            elif typ in (T_ORDER_INSERT, T_ORDER_DELETE, T_ORDER_UPDATE):
                frame = OrderFrame.model_validate(obj)
                if frame.id == 0:
                    return  # the all-zero 451 some sockets get on connect
                ev = OrderEvent(
                    kind=typ,
                    order_id=frame.id,
                    symbol=frame.symbol,
                    client_order_id=frame.new_order_client_id or None,
                    num_left=frame.num_left,
                )
                self._record(frame.id, lambda tracked: tracked.events.append(ev))
            elif typ == T_USER_TRADE:
                fill = convert.fill(UserTradeRow.model_validate(obj))
                self._record(fill.exchange_order_id, lambda tracked: tracked.fills.append(fill))
        except (ValueError, TypeError, ArithmeticError, ProtocolError) as exc:  # ValidationError is a ValueError
            self.last_error = f"bad frame: {type(exc).__name__}"

    def _record(self, order_id: int, add: Callable[[_Tracked], None]) -> None:
        with self._cond:
            tracked = self._orders.get(order_id)
            if tracked is None:
                tracked = self._orders[order_id] = _Tracked()
            add(tracked)
            self._orders.move_to_end(order_id)
            while len(self._orders) > MAX_TRACKED_ORDERS:
                self._orders.popitem(last=False)
            self._cond.notify_all()
