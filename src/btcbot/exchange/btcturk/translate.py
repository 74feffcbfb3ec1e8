"""Turn a raw HTTP outcome into data or a typed btcbot error, by what the caller should do about it.

Keyed on the HTTP status first and BTCTurk's ``message`` second: numeric codes have changed over the years,
message names have not. Messages never include request headers, bodies we sent, or credentials; the venue's own
text passes through the caller's redactor first, because a venue (or a proxy) may echo our headers back in it.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from btcbot.errors import (
    AuthenticationError,
    ExchangeError,
    InsufficientFunds,
    OrderNotCancellable,
    OrderNotFound,
    OutcomeUnknown,
    ProtocolError,
    RateLimited,
    RejectedByVenue,
    SymbolNotTradable,
    TransientError,
)

INSUFFICIENT_FUNDS_MESSAGES = frozenset({"BALANCE_NOT_ENOUGH", "FAILED_ORDER_WITH_OPEN_ORDERS"})
ORDER_NOT_FOUND_MESSAGES = frozenset({"NO_ORDER_MATCHES_YOUR_REQUEST", "ORDER NOT FOUND"})
ORDER_NOT_FOUND_CODES = frozenset({1051, 1052, 1152})
# Closed orders (filled) answer a cancel with this; the code number is from 2020 captures, the name from the docs.
ORDER_NOT_CANCELLABLE_MESSAGES = frozenset({"ORDER_COULD_NOT_BE_CANCELED"})
ORDER_NOT_CANCELLABLE_CODES = frozenset({1050})
# A price-band rejection means our cached exchangeinfo band is out of date: refresh it.
PRICE_BAND_MESSAGES = frozenset(
    {
        "ORDER_MIN_PRICE_EXCEEDED",
        "ORDER_MAX_PRICE_EXCEEDED",
        "PRICE_MUST_BE_LESS_THAN_MAXPRICE",
        "PRICE_MUST_BE_LESS_THAN_MINPRICE",
    }
)
PRICE_BAND_CODES = frozenset({1226, 1227})
_PAIR_MISSING = re.compile(r"pair .* does not exist", re.IGNORECASE)
_RETRY_IN = re.compile(r"try again in (\d+) second", re.IGNORECASE)
MAX_VENUE_MESSAGE_CHARS = 200
# A Retry-After longer than this is the venue's mistake or a hostile answer; honoured in full it could hold
# every call to an endpoint back for the life of the process.
MAX_RETRY_AFTER_S = 60.0

Redact = Callable[[str], str]


def parse_json(body: bytes | str) -> Any:
    """JSON with every number kept exact (floats become Decimal; ints stay int).

    Raises ValueError for anything that is not JSON, including nesting too deep to decode (which the decoder
    reports as RecursionError): a hostile body is a protocol error, never a crashed reader.
    """
    try:
        return json.loads(body, parse_float=Decimal)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _venue_fields(payload: Any, redact: Redact) -> tuple[int | None, str | None]:
    if not isinstance(payload, dict):
        return None, None
    code = payload.get("code")
    message = payload.get("message")
    code_int: int | None
    if isinstance(code, bool):
        code_int = None
    elif isinstance(code, int):
        code_int = code
    elif isinstance(code, str) and code.strip().lstrip("-").isdigit():
        code_int = int(code)
    else:
        code_int = None
    # Redact before cutting: a cut could leave half a secret that no longer matches.
    msg = redact(str(message))[:MAX_VENUE_MESSAGE_CHARS] if message is not None else None
    return code_int, msg


def retry_after_seconds(header: str | None, payload: Any, *, default_s: float = 1.0) -> float:
    """The venue's back-off in seconds, within 0..MAX_RETRY_AFTER_S."""
    return min(MAX_RETRY_AFTER_S, _retry_after_uncapped(header, payload, default_s))


def _retry_after_uncapped(header: str | None, payload: Any, default_s: float) -> float:
    if header:
        text = header.strip()
        try:
            value = float(text)
        except ValueError:
            try:
                parsed = email.utils.parsedate_to_datetime(text) if text else None
            except (TypeError, ValueError):
                parsed = None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - time.time())
        else:
            return max(0.0, value) if math.isfinite(value) else MAX_RETRY_AFTER_S
    if isinstance(payload, dict):
        match = _RETRY_IN.search(str(payload.get("details", "")))
        if match:
            return float(match.group(1))
    return default_s


def is_price_band_rejection(err: ExchangeError) -> bool:
    return isinstance(err, RejectedByVenue) and (
        (err.venue_message or "").upper() in PRICE_BAND_MESSAGES or err.venue_code in PRICE_BAND_CODES
    )


def error_for_status(
    status: int,
    body: bytes,
    *,
    what: str,
    route: str,
    retry_after_header: str | None,
    write: bool,
    redact: Redact,
) -> ExchangeError:
    """The typed error for a non-2xx answer. ``what`` names the call for the operator ("submit order")."""
    try:
        payload: Any = parse_json(body) if body else None
    except ValueError:
        payload = None
    code, message = _venue_fields(payload, redact)
    kw: dict[str, Any] = {"http_status": status, "venue_code": code, "venue_message": message}
    shown = f"{message} (code {code})" if message or code is not None else "no venue message"

    if status in (401, 403):
        return AuthenticationError(
            f"{what}: BTCTurk refused authentication (HTTP {status}: {shown}); check BTCTURK_API_KEY/"
            "BTCTURK_API_SECRET, the key's permissions and IP allow-list, and the local clock (doctor)",
            **kw,
        )
    if status == 429:
        retry_after = retry_after_seconds(retry_after_header, payload)
        return RateLimited(
            f"{what}: BTCTurk rate limit hit (HTTP 429: {shown}); back off {retry_after:.0f}s",
            retry_after_s=retry_after,
            **kw,
        )
    if status >= 500:
        if write:
            return OutcomeUnknown(
                f"{what}: BTCTurk answered HTTP {status}; the request may or may not have taken effect — "
                "reconcile by client order id before doing anything else",
                **kw,
            )
        return TransientError(f"{what}: BTCTurk answered HTTP {status} ({shown}); temporary, retry later", **kw)
    if status == 404 and route == "/api/v1/order/{orderId}":
        return OrderNotFound(f"{what}: BTCTurk does not know this order (HTTP 404)", **kw)
    if status in (400, 422):
        upper = (message or "").upper()
        if upper in INSUFFICIENT_FUNDS_MESSAGES:
            return InsufficientFunds(f"{what}: rejected for insufficient funds: {shown}", **kw)
        if upper in ORDER_NOT_FOUND_MESSAGES or code in ORDER_NOT_FOUND_CODES:
            return OrderNotFound(f"{what}: BTCTurk does not know this order: {shown}", **kw)
        if upper in ORDER_NOT_CANCELLABLE_MESSAGES or code in ORDER_NOT_CANCELLABLE_CODES:
            return OrderNotCancellable(
                f"{what}: BTCTurk has closed this order (filled), nothing to cancel: {shown}", **kw
            )
        if message and _PAIR_MISSING.search(message):
            return SymbolNotTradable(f"{what}: {message}; check UNIVERSE_SYMBOLS against exchangeinfo", **kw)
        return RejectedByVenue(f"{what}: rejected by BTCTurk: {shown}", **kw)
    return ProtocolError(
        f"{what}: unexpected HTTP {status} from BTCTurk for {route} ({shown}); check BTCTURK_BASE_URL", **kw
    )


def unwrap_envelope(payload: Any, *, what: str, status: int, redact: Redact) -> Any:
    """``data`` of a success envelope; a ``success: false`` inside a 2xx is a venue rejection."""
    if not isinstance(payload, dict):
        raise ProtocolError(f"{what}: expected a JSON object envelope from BTCTurk", http_status=status)
    code, message = _venue_fields(payload, redact)
    success = payload.get("success")
    code_raw = payload.get("code", 0)
    code_ok = code_raw in (0, "0", "SUCCESS", None)
    if success is False or not code_ok:
        shown = f"{message} (code {code})"
        raise RejectedByVenue(
            f"{what}: BTCTurk answered HTTP {status} but reported failure: {shown}",
            http_status=status,
            venue_code=code,
            venue_message=message,
        )
    return payload.get("data")
