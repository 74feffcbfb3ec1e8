"""How an operator may write a number in a setting or a flag: plain ASCII digits, one form for every reader.

Python's parsers, and so pydantic's, also read Arabic-Indic and full-width digits (150 in another script),
``1_000`` and ``1e2``: a cap pasted from a document, or mistyped, would be read as some number, not refused.
"""

from __future__ import annotations

import re
import types
from decimal import Decimal
from typing import Union, get_args, get_origin

from pydantic_core import PydanticCustomError

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_INTEGER = re.compile(r"[+-]?[0-9]+")


def number_kind(annotation: object) -> type | None:
    """``int``, ``Decimal`` or ``float`` for a field of that type (or that type or None); None for any other."""
    if get_origin(annotation) in (Union, types.UnionType):
        kinds = {number_kind(arg) for arg in get_args(annotation) if arg is not type(None)}
        return kinds.pop() if len(kinds) == 1 else None
    return annotation if annotation in (int, Decimal, float) else None


def plain_number_text(value: object, kind: type) -> object:
    """Text of a number in plain digits (``150``, ``0.5``, ``-3``), stripped; other text is refused.

    Anything but text passes through (a Python caller's ``int`` or ``Decimal``), and so does blank text, which
    each field treats its own way (unset, or its type's error).
    """
    if not isinstance(value, str) or not value.strip():
        return value
    text = value.strip()
    if kind is int:
        if not _INTEGER.fullmatch(text):
            raise PydanticCustomError("int_parsing", "expected a whole number in plain digits, such as 60")
    elif not _DECIMAL.fullmatch(text):
        kind_name = "float" if kind is float else "decimal"  # the type pydantic itself would report
        raise PydanticCustomError(f"{kind_name}_parsing", "expected a number in plain digits, such as 150 or 0.5")
    return text
