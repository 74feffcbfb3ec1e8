"""One way to show a Decimal to the venue and to the operator: plain digits, no exponent, no trailing zeros.

A DECIMAL(38,18) column reads back as ``3762959.000000000000000000`` and a normalised Decimal prints as
``3.76E+6``; neither is what the operator typed or what BTCTurk's ``^\\d{0,12}(\\.\\d{1,16})?$`` accepts.
"""

from __future__ import annotations

from decimal import Decimal


def plain_decimal(value: Decimal) -> str:
    """``Decimal("3762959.000")`` -> ``3762959``, ``Decimal("1E-8")`` -> ``0.00000001``, ``-0`` -> ``0``."""
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
