"""Parse the doctor's ``--window`` (``90s``, ``30m``, ``24h``, ``7d``; a bare number is seconds)."""

from __future__ import annotations

import re

from btcbot.errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^\s*([0-9]+)\s*([smhd]?)\s*$", re.IGNORECASE)  # ASCII digits only, as everywhere


def parse_window(text: str | int, *, name: str = "--window") -> int:
    """Seconds in the window; a malformed or zero window is a UsageError naming the accepted forms."""
    match = _PATTERN.match(str(text))
    if not match or int(match.group(1)) <= 0:
        raise UsageError(f"{name} {text!r}: expected a positive duration such as 90s, 30m, 24h or 7d")
    return int(match.group(1)) * _UNITS[(match.group(2) or "s").lower()]
