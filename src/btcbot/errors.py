"""Typed errors, sorted by what the caller should do about them.

BtcbotError
├── ConfigError                 stop: the operator must fix configuration (exit 2)
├── UsageError                  stop: a command was called with bad arguments (exit 2)
├── OperatorActionRequired      stop: a human must act (lock held, DB unwritable, ...)
│   ├── InstanceLockHeld
│   └── StateStoreUnavailable
├── NotArmedError               an exchange write was attempted without a valid arm state
├── InvariantViolation          crash: the program's own assumptions are broken
└── ExchangeError               anything that came back from (or failed on the way to) the venue
    ├── AuthenticationError     stop: keys, signature, clock or permissions are wrong
    │   └── AuthRefusedLocally  not sent: no credentials, or too many 401s in a row (also a RequestNotSent)
    ├── TransientError          retry reads with jittered backoff
    │   ├── RateLimited         back off for at least ``retry_after_s``
    │   │   └── HeldBackLocally the client-side limiter refused to send it (also a RequestNotSent)
    │   └── RequestNotSent      provably never left this process: a write that raises it did not happen
    ├── RejectedByVenue         the venue refused the request; carries BTCTurk's code and message
    │   ├── InsufficientFunds
    │   ├── OrderNotFound
    │   └── OrderNotCancellable   the order is closed (filled) at the venue: a cancel has nothing left to do
    ├── OutcomeUnknown          a write was (maybe) sent and no answer came back: reconcile, never retry
    ├── SymbolNotTradable       the symbol is absent from exchangeinfo or not in TRADING status
    └── ProtocolError           the venue answered something we cannot parse
"""

from __future__ import annotations


class BtcbotError(Exception):
    """Root of every error btcbot raises on purpose."""

    exit_code: int = 1


class ConfigError(BtcbotError):
    """Configuration is invalid; the message names the variable, the problem and the accepted values."""

    exit_code = 2


class UsageError(BtcbotError):
    """A command was called with arguments it cannot accept."""

    exit_code = 2


class OperatorActionRequired(BtcbotError):
    """The run cannot continue until a human does something; the message says what."""

    exit_code = 2


class InstanceLockHeld(OperatorActionRequired):
    def __init__(
        self, lock_path: str, holder_pid: int | None, scope: str | None = None, holder_db: str | None = None
    ) -> None:
        holder = f"PID {holder_pid}" if holder_pid is not None else "an unknown process"
        if holder_db:
            holder += f", STATE_DB_PATH {holder_db}"
        if scope is None:
            advice = "stop it first, or pass another --db"
        else:
            advice = (
                f"one instance per account scope ({scope!r}), whatever its directory or DB: stop that one first; "
                "if it trades a different account, give each account its own ACCOUNT_SCOPE"
            )
        super().__init__(f"another btcbot instance holds the lock {lock_path} ({holder}); {advice}")
        self.lock_path = lock_path
        self.holder_pid = holder_pid
        self.holder_db = holder_db


class StateStoreUnavailable(OperatorActionRequired):
    """The state DB cannot be opened or written."""


class NotArmedError(BtcbotError):
    """An exchange write was attempted while the process is not fully armed."""

    def __init__(self, reasons: tuple[str, ...]) -> None:
        super().__init__("exchange write refused: not armed (" + ", ".join(reasons) + ")")
        self.reasons = reasons


class InvariantViolation(BtcbotError):
    """The program's own assumptions are broken; crash rather than trade on them."""


class ExchangeError(BtcbotError):
    """Base for everything that came back from the venue or failed on the way to it."""

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        venue_code: int | None = None,
        venue_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.venue_code = venue_code
        self.venue_message = venue_message


class AuthenticationError(ExchangeError):
    """Stop: check BTCTURK_API_KEY/BTCTURK_API_SECRET, key permissions, IP allow-list and the clock."""


class TransientError(ExchangeError):
    """Retry reads with jittered backoff (5xx, timeouts, connection resets)."""


class RateLimited(TransientError):
    def __init__(self, message: str, *, retry_after_s: float, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after_s = retry_after_s


class RequestNotSent(TransientError):
    """Provably never left this process (the connection was refused, or the client-side limiter held it back).

    The only transport failure that proves a write did not happen; a timeout never does.
    """


class HeldBackLocally(RateLimited, RequestNotSent):
    """The client-side rate limiter would have waited longer than its bound, so nothing was sent."""


class AuthRefusedLocally(AuthenticationError, RequestNotSent):
    """A signed request not sent: no credentials, or too many 401s in a row (the venue bans an IP that keeps
    sending them). Nothing left the process, so a submit refused this way is NOT_SENT, not UNKNOWN."""


class RejectedByVenue(ExchangeError):
    """The venue refused the request (HTTP 400 with a BTCTurk message code)."""


class InsufficientFunds(RejectedByVenue):
    """BALANCE_NOT_ENOUGH / FAILED_ORDER_WITH_OPEN_ORDERS."""


class OrderNotFound(RejectedByVenue):
    """The venue does not know the order id."""


class OrderNotCancellable(RejectedByVenue):
    """ORDER_COULD_NOT_BE_CANCELED (1050): the venue has closed the order, in practice filled it.

    Not a failed cancel: there is nothing left to cancel. Callers confirm by reading the order back, because a
    fill that races the cancel must end as a fill in the ledger, not as an order still open.
    """


class OutcomeUnknown(ExchangeError):
    """A write may have reached the venue but no answer came back. Reconcile by client id; never retry."""


class SymbolNotTradable(ExchangeError):
    """The symbol is missing from exchangeinfo or its status is not TRADING."""


class ProtocolError(ExchangeError):
    """The venue answered with something that does not match its documented shape."""
