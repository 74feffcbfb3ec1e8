"""The one HTTP client for BTCTurk: one pooled ``requests.Session``, explicit timeouts, signing, rate limiting,
typed responses and typed errors.

Reads are retried with jittered backoff on transient failures. Writes (``POST``/``DELETE /api/v1/order``) go
through ``_write`` only, are sent exactly once, re-check their ``WriteToken`` immediately before the bytes leave
the process, and report an unknown outcome as ``OutcomeUnknown`` — never a retry.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import urlsplit

import requests
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, SecretStr, ValidationError
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError

from btcbot.domain.decimal_text import plain_decimal
from btcbot.domain.orders import MAX_CLIENT_ORDER_ID_LEN, OrderIntent, OrderMethod
from btcbot.errors import (
    AuthRefusedLocally,
    ExchangeError,
    InvariantViolation,
    OutcomeUnknown,
    ProtocolError,
    RateLimited,
    RequestNotSent,
    TransientError,
)
from btcbot.exchange.btcturk import translate
from btcbot.exchange.btcturk.limiter import RateLimiter
from btcbot.exchange.btcturk.models import (
    BalanceRow,
    ExchangeInfo,
    OpenOrdersData,
    OrderBookData,
    OrderRow,
    ServerTime,
    SubmitReply,
    TickerRow,
    UserTradeRow,
)
from btcbot.exchange.btcturk.signing import Signer
from btcbot.exchange.retry import RetryPolicy
from btcbot.telemetry.redact import Redactor
from btcbot.telemetry.tracing import set_error, start_span

if TYPE_CHECKING:
    from btcbot.arming import WriteToken
    from btcbot.settings import Settings

M = TypeVar("M", bound=BaseModel)

DEFAULT_CONNECT_TIMEOUT_S = 3.05
DEFAULT_READ_TIMEOUT_S = 10.0
# BTCTurk has blocked IPs after bursts of unauthorized requests (50 in the 2019 docs); stay far below.
MAX_CONSECUTIVE_AUTH_FAILURES = 10

# Route templates (span attribute ``url.template`` and limiter keys); values never appear in them.
R_TIME = "/api/v2/server/time"
R_EXCHANGE_INFO = "/api/v2/server/exchangeinfo"
R_TICKER = "/api/v2/ticker"
R_ORDER_BOOK = "/api/v2/orderbook"
R_BALANCES = "/api/v1/users/balances"
R_ORDER = "/api/v1/order"
R_ORDER_ID = "/api/v1/order/{orderId}"
R_OPEN_ORDERS = "/api/v1/openOrders"
R_ALL_ORDERS = "/api/v1/allOrders"
R_USER_TRADES = "/api/v1/users/transactions/trade"




def _connect_failure(exc: BaseException) -> Literal["refused", "timeout"] | None:
    """How the connection itself failed, if it did; None when it was made (the request may have left).

    Only "refused" proves the request never left. A refusal (ECONNREFUSED, and likewise no route or no
    address: urllib3's ``NewConnectionError``) is an *answer*: the peer's TCP stack, a router or the resolver
    said there is no connection, so there was no stream to write the request into. A connect *timeout* is the
    absence of an answer: we only know that we stopped waiting. Our socket had not written the request yet,
    but the handshake may still complete on the far side, and "nothing follows" would rest on the HTTP
    library abandoning that socket in every version and path, not on anything the network said. For a read
    both simply mean "retry"; for a write only a refusal may mark an order NOT_SENT, and a timed-out connect
    leaves it UNKNOWN until the venue's own views settle it.
    """
    reasons: list[object] = [exc]
    for arg in getattr(exc, "args", ()):
        reasons.append(arg.reason if isinstance(arg, MaxRetryError) else arg)
    # NewConnectionError subclasses ConnectTimeoutError (an urllib3 legacy): test it first.
    if any(isinstance(r, NewConnectionError) for r in reasons):
        return "refused"
    if isinstance(exc, requests.exceptions.ConnectTimeout) or any(isinstance(r, ConnectTimeoutError) for r in reasons):
        return "timeout"
    return None


class BtcturkHttp:
    """Typed BTCTurk REST calls. Thread-safe; share one per process."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: SecretStr | str | None = None,
        api_secret: SecretStr | str | None = None,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        pool_maxsize: int = 8,
        now_ms: Callable[[], int] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._host = urlsplit(self.base_url).hostname or ""
        self._auth_failures = 0  # consecutive 401/403 answers to signed requests
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        secret = api_secret.get_secret_value() if isinstance(api_secret, SecretStr) else api_secret
        self._signer: Signer | None = Signer(key, secret, now_ms=now_ms) if key and secret else None
        # Venue text (an error body's message) becomes our error messages, then orders.last_error, the DB and
        # exports: a venue or proxy that echoes our headers back must not carry the key along.
        self._redact = Redactor([s for s in (key, secret) if s])
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.retry = retry or RetryPolicy()
        self.limiter = limiter or RateLimiter()
        session = requests.Session()
        # Proxies from the environment would be a silent second configuration channel, and cost ~0.25 ms a call.
        session.trust_env = False
        # urllib3 must never resend anything on its own: every retry decision is ours.
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_maxsize, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update({"Accept": "application/json", "User-Agent": "btcbot/0.1"})
        self._session = session

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> BtcturkHttp:
        return cls(
            settings.btcturk_base_url,
            api_key=settings.btcturk_api_key,
            api_secret=settings.btcturk_api_secret,
            **kwargs,
        )

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> BtcturkHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BtcturkHttp(base_url={self.base_url!r}, authenticated={self._signer is not None})"

    @property
    def authenticated(self) -> bool:
        return self._signer is not None

    # ------------------------------------------------------------------ public market data
    def server_time_ms(self) -> int:
        payload = self._read(R_TIME, R_TIME, what="server time", envelope=False)
        return _model(ServerTime, payload, "server time").server_time

    def exchange_info(self) -> ExchangeInfo:
        return _model(ExchangeInfo, self._read(R_EXCHANGE_INFO, R_EXCHANGE_INFO, what="exchange info"), "exchangeinfo")

    def ticker(self, symbol: str) -> TickerRow | None:
        """The pair's ticker row, or None when the venue does not list the pair (it answers an empty list)."""
        data = self._read(R_TICKER, R_TICKER, params={"pairSymbol": symbol}, what=f"ticker {symbol}")
        rows = _rows(TickerRow, data, "ticker")
        wanted = symbol.upper().replace("_", "")
        for row in rows:
            if row.pair.upper() == wanted:
                return row
        return None

    def order_book(self, symbol: str, limit: int = 100) -> OrderBookData:
        """Raises TransientError on 503 (the venue withholds a delayed book); callers treat that as no data."""
        data = self._read(
            R_ORDER_BOOK, R_ORDER_BOOK, params={"pairSymbol": symbol, "limit": limit}, what=f"order book {symbol}"
        )
        return _model(OrderBookData, data, "order book")

    # ------------------------------------------------------------------ private reads
    def balances(self) -> tuple[BalanceRow, ...]:
        return _rows(BalanceRow, self._read(R_BALANCES, R_BALANCES, signed=True, what="balances"), "balances")

    def open_orders(self, symbol: str | None = None) -> OpenOrdersData:
        params = {"pairSymbol": symbol} if symbol else None
        data = self._read(R_OPEN_ORDERS, R_OPEN_ORDERS, params=params, signed=True, what="open orders")
        return _model(OpenOrdersData, data, "open orders")

    def all_orders(self, symbol: str, start_ms: int | None = None, limit: int = 1000) -> tuple[OrderRow, ...]:
        params: dict[str, Any] = {"pairSymbol": symbol, "limit": limit}
        if start_ms is not None:
            params["startTime"] = start_ms
        data = self._read(R_ALL_ORDERS, R_ALL_ORDERS, params=params, signed=True, what="all orders")
        return _rows(OrderRow, data, "all orders")

    def get_order(self, order_id: int) -> OrderRow:
        """Raises OrderNotFound when the venue does not know the id."""
        data = self._read(R_ORDER_ID, f"{R_ORDER}/{int(order_id)}", signed=True, what=f"get order {order_id}")
        return _model(OrderRow, data, "order")

    def user_trades(self, symbol: str | None = None, start_ms: int | None = None) -> tuple[UserTradeRow, ...]:
        params: dict[str, Any] = {}
        if symbol:
            params["pairSymbol"] = symbol
        if start_ms is not None:
            params["startDate"] = start_ms
        data = self._read(R_USER_TRADES, R_USER_TRADES, params=params or None, signed=True, what="user trades")
        return _rows(UserTradeRow, data, "user trades")

    # ------------------------------------------------------------------ writes (never retried)
    def submit_order(self, intent: OrderIntent, token: WriteToken) -> SubmitReply:
        if not intent.client_order_id or len(intent.client_order_id) > MAX_CLIENT_ORDER_ID_LEN:
            raise InvariantViolation(
                f"client order id must be 1..{MAX_CLIENT_ORDER_ID_LEN} chars (use btcbot.domain.orders.client_order_id)"
            )
        if intent.quantity <= 0 or (intent.method is OrderMethod.LIMIT and intent.price <= 0):
            raise InvariantViolation("order quantity and limit price must be positive")
        body: dict[str, str] = {
            "quantity": plain_decimal(intent.quantity),  # never 1E-8: the venue wants plain digits
            "newOrderClientId": intent.client_order_id,
            "orderMethod": intent.method.value,
            "orderType": intent.side.value,
            "pairSymbol": intent.symbol,
        }
        if intent.method is OrderMethod.LIMIT:
            body["price"] = plain_decimal(intent.price)
        what = f"submit order {intent.client_order_id}"
        data = self._write("POST", R_ORDER, params=None, body=body, token=token, kind="submit", what=what)
        try:
            return _model(SubmitReply, data, "submit reply")
        except ProtocolError as exc:
            # The venue said 2xx but we cannot read which order it made: it may exist.
            raise OutcomeUnknown(
                f"{what}: accepted (HTTP 2xx) but the reply could not be read ({exc}); reconcile by client id",
                http_status=exc.http_status,
            ) from exc

    def cancel_order(self, order_id: int, token: WriteToken) -> None:
        """Returns when BTCTurk *accepted* the cancel; the final state comes from a 452 event or a query."""
        self._write(
            "DELETE",
            R_ORDER,
            params={"id": int(order_id)},
            body=None,
            token=token,
            kind="cancel",
            what=f"cancel order {order_id}",
        )

    # ------------------------------------------------------------------ plumbing
    def _read(
        self,
        route: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        signed: bool = False,
        what: str,
        envelope: bool = True,
    ) -> Any:
        attempt = 0
        while True:
            attempt += 1
            # Client-side limit: waits (bounded) or raises RateLimited without sending; never retried here.
            self.limiter.acquire("GET", route)
            try:
                return self._once("GET", route, path, params, None, signed, what, envelope, write=False)
            except RateLimited as exc:
                self.limiter.block("GET", route, exc.retry_after_s)
                if attempt >= self.retry.max_attempts or exc.retry_after_s > self.retry.max_retry_after_s:
                    raise
                self.retry.sleep(self.retry.delay_for(attempt - 1, exc.retry_after_s))
            except AuthRefusedLocally:
                raise  # not a passing condition: asking again sends nothing and changes nothing
            except TransientError:
                if attempt >= self.retry.max_attempts:
                    raise
                self.retry.sleep(self.retry.delay_for(attempt - 1, None))

    def _write(
        self,
        method: Literal["POST", "DELETE"],
        route: str,
        *,
        params: Mapping[str, Any] | None,
        body: Mapping[str, str] | None,
        token: WriteToken,
        kind: Literal["submit", "cancel"],
        what: str,
    ) -> Any:
        """The only code path that sends POST/DELETE /api/v1/order. Exactly one attempt."""
        # A venue's back-off (429) never holds up a kill-switch cancel: it is tried every cycle regardless.
        self.limiter.acquire(method, route, honour_block=token.kind != "protective_cancel")
        try:
            return self._once(method, route, route, params, body, True, what, True, write=True, token=token, kind=kind)
        except RateLimited as exc:
            self.limiter.block(method, route, exc.retry_after_s)
            raise
        except ProtocolError as exc:
            if exc.http_status is not None and 200 <= exc.http_status < 300:
                # The venue answered 2xx, so it probably acted, but we cannot read what it did.
                raise OutcomeUnknown(
                    f"{what}: BTCTurk answered HTTP {exc.http_status} but the reply could not be read; "
                    "it may have taken effect — reconcile before doing anything else",
                    http_status=exc.http_status,
                ) from exc
            raise

    def _once(
        self,
        method: str,
        route: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Mapping[str, str] | None,
        signed: bool,
        what: str,
        envelope: bool,
        *,
        write: bool,
        token: WriteToken | None = None,
        kind: Literal["submit", "cancel"] | None = None,
    ) -> Any:
        headers: dict[str, str] = {}
        if signed:
            if self._signer is None:
                raise AuthRefusedLocally(
                    f"{what}: needs BTCTURK_API_KEY and BTCTURK_API_SECRET, which are not set; nothing was sent"
                )
            if self._auth_failures >= MAX_CONSECUTIVE_AUTH_FAILURES:
                # The venue blocks an IP after a burst of unauthorized requests; stop before that happens.
                raise AuthRefusedLocally(
                    f"{what}: not sent — {self._auth_failures} signed requests in a row were refused (401); fix "
                    "BTCTURK_API_KEY/BTCTURK_API_SECRET, key permissions, the IP allow-list or the clock, then restart"
                )
            headers.update(self._signer.headers())
        data: bytes | None = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        elif signed:
            headers["Content-Type"] = "application/json"
        attrs = {"http.request.method": method, "url.template": route, "server.address": self._host}
        with start_span(f"{method} {route}", kind=SpanKind.CLIENT, attributes=attrs) as span:
            if write:
                assert token is not None and kind is not None  # noqa: S101 - _write always passes both
                # The last gate: a safe-mode latch set after the token was minted still stops this write.
                token.check_at_send(kind)
            try:
                resp = self._session.request(
                    method,
                    self.base_url + path,
                    params=params,
                    data=data,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
                content = resp.content
            except requests.exceptions.RequestException as exc:
                err = self._transport_error(exc, what=what, write=write)
                span.set_attribute("error.type", type(exc).__name__)
                set_error(span, type(err).__name__)
                # Not chained: requests' messages can quote a header value (the key) verbatim.
                raise err from None
            status = resp.status_code
            span.set_attribute("http.response.status_code", status)
            if signed:
                self._auth_failures = self._auth_failures + 1 if status in (401, 403) else 0
            try:
                if status >= 300:
                    err2 = translate.error_for_status(
                        status,
                        content,
                        what=what,
                        route=route,
                        retry_after_header=resp.headers.get("Retry-After"),
                        write=write,
                        redact=self._redact,
                    )
                    raise err2
                try:
                    payload = translate.parse_json(content)
                except ValueError:
                    raise ProtocolError(
                        f"{what}: BTCTurk sent invalid JSON (HTTP {status})", http_status=status
                    ) from None
                if not envelope:
                    span.set_attribute("btcturk.code", 0)
                    return payload
                result = translate.unwrap_envelope(payload, what=what, status=status, redact=self._redact)
                span.set_attribute("btcturk.code", 0)
                return result
            except ExchangeError as exc:
                if exc.venue_code is not None:
                    span.set_attribute("btcturk.code", exc.venue_code)
                set_error(span, type(exc).__name__)
                raise

    @staticmethod
    def _transport_error(exc: requests.exceptions.RequestException, *, what: str, write: bool) -> ExchangeError:
        name = type(exc).__name__
        failure = _connect_failure(exc)
        if failure == "refused":
            return RequestNotSent(
                f"{what}: no connection to BTCTurk ({name}: refused or unreachable); nothing was sent"
            )
        if failure == "timeout" and not write:
            return TransientError(f"{what}: connecting to BTCTurk timed out ({name}); temporary, retry later")
        if failure == "timeout":
            return OutcomeUnknown(
                f"{what}: connecting to BTCTurk timed out ({name}); a timeout does not prove the request never "
                "left — reconcile by client order id, never resend blindly"
            )
        if write:
            return OutcomeUnknown(
                f"{what}: the request was sent but no answer came back ({name}); it may have taken effect — "
                "reconcile by client order id, never resend blindly"
            )
        return TransientError(f"{what}: no answer from BTCTurk ({name}); temporary, retry later")


def _model(model: type[M], data: Any, label: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(f"BTCTurk {label} has an unexpected shape: {_where(exc)}") from None


def _rows(model: type[M], data: Any, label: str) -> tuple[M, ...]:
    if not isinstance(data, list):
        raise ProtocolError(f"BTCTurk {label} should be a list, got {type(data).__name__}")
    try:
        return tuple(model.model_validate(item) for item in data)
    except ValidationError as exc:
        raise ProtocolError(f"BTCTurk {label} has an unexpected shape: {_where(exc)}") from None


def _where(exc: ValidationError) -> str:
    # Field locations and error kinds only: never the input values.
    parts = [".".join(str(p) for p in e["loc"]) + f" ({e['type']})" for e in exc.errors(include_url=False)[:3]]
    return "; ".join(parts) or "invalid"
