"""The account scope: the one key that names both the instance lock and the order client-id prefix.

Two spellings an operator would read as one account (``pilot-1``, ``Pilot1``, ``pilot1``) must never get two
lock files and one order prefix, so both are built from ``scope_key`` alone. Settings accept ACCOUNT_SCOPE
only in its normal form (``pilot-1`` is refused with "use pilot1"): then no two accepted scopes collide.
The key never derives from the API key, so rotating the key keeps the prefix and every earlier order visible.
"""

from __future__ import annotations

import hashlib
import string

DEFAULT_ACCOUNT_SCOPE = "default"
# client ids are ``btcbot-<scope>-<20 hex>``: 7 + 16 + 1 + 20 = 44 chars, within BTCTurk's 50 for newOrderClientId.
MAX_SCOPE_LEN = 16
_ALLOWED = frozenset(string.ascii_lowercase + string.digits)


def scope_key(raw: str) -> str:
    """Lower-case, drop everything but ASCII letters and digits; never truncated (a cut key could collide)."""
    key = "".join(ch for ch in raw.lower() if ch in _ALLOWED)
    if not key:
        raise ValueError("must contain letters or digits, for example pilot1")
    if len(key) > MAX_SCOPE_LEN:
        raise ValueError(f"must be at most {MAX_SCOPE_LEN} letters and digits (it is part of every order id)")
    return key


def legacy_key_scope(api_key: str) -> str:
    """The scope releases before ACCOUNT_SCOPE defaulted to ``default`` derived from the API key.

    Only recognised (never used for new orders), so orders such a release left open are still this scope's.
    """
    return hashlib.sha256(api_key.encode()).hexdigest()[:8]
