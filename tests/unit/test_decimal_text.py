"""One plain form for a Decimal, to the venue and to the operator."""

from __future__ import annotations

from decimal import Decimal

import pytest

from btcbot.cleanup.view import OrderLine, render_lines
from btcbot.domain.decimal_text import plain_decimal


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("3762959.000000000000000000", "3762959"),  # a DECIMAL(38,18) column read back
        ("3.76E+6", "3760000"),
        ("1E-8", "0.00000001"),
        ("0.000050000000000000", "0.00005"),
        ("-0", "0"),
        ("0E-18", "0"),
        ("-1.50", "-1.5"),
        ("100", "100"),
    ],
)
def test_plain_decimal(value: str, text: str) -> None:
    assert plain_decimal(Decimal(value)) == text


def test_orders_list_shows_db_values_as_the_venue_does() -> None:
    line = OrderLine(
        exchange_order_id=None,
        client_order_id="btcbot-x-1",
        symbol="BTCTRY",
        side="buy",
        price=Decimal("3762959.000000000000000000"),
        amount=Decimal("0.000040000000000000"),
        left=None,
        venue="not open",
        db="OPEN",
    )
    table = "\n".join(render_lines([line]))
    assert " 3762959 " in table and " 0.00004 " in table and "000000" not in table
    assert line.as_dict()["price"] == "3762959" and line.as_dict()["amount"] == "0.00004"
