"""How an operator may spell a trading pair, and the one normal form every part of btcbot compares."""

from __future__ import annotations


def normalize_symbol(text: str) -> str:
    """``btc_try`` / `` BTCTRY `` -> ``BTCTRY``; anything that is not letters and digits is refused."""
    symbol = text.strip().upper().replace("_", "")
    # ASCII only: str.isalnum and str.upper also take full-width letters, other scripts' digits and "ß" (-> SS).
    if not symbol or not (text.isascii() and symbol.isalnum()):
        raise ValueError(f"{text!r} is not a symbol such as BTCTRY")
    return symbol


def symbol_list(value: object) -> tuple[str, ...]:
    """A comma-separated text (or a sequence) of symbols, each normalised; at least one."""
    if isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, (list, tuple)):
        parts = [str(p) for p in value]
    else:
        raise ValueError("must be a comma-separated list of symbols such as BTCTRY,ETHTRY")
    symbols = tuple(normalize_symbol(p) for p in parts if p.strip())
    if not symbols:
        raise ValueError("must name at least one symbol, for example BTCTRY")
    twice = sorted({s for s in symbols if symbols.count(s) > 1})
    if twice:
        # BTCTRY,btc_try is one pair named twice: each cycle would visit it twice.
        raise ValueError(f"names {', '.join(twice)} more than once (after normalising); name each pair once")
    return symbols
