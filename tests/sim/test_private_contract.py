"""The simulator's private WebSocket frames held to the real exchange's captured ones, model by model.

One event sequence on the simulator reproduces what the captures show: a resting sell (451), part-filled
(441, 423, 201, then 453), then cancelled (452). Each frame must have exactly the captured keys, the same
JSON type per key, the same sign for every number or decimal string, and decimal strings where the capture
has them. A bot that parses the simulator's frames then parses the venue's.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest

from btcbot.sim import ws_login_signature

PAIR = "BTCUSDT"
SELL_QTY = Decimal("0.05")
FILLED = Decimal("0.0123")
TAKER_RATE = Decimal("0.0014")  # BTCUSDT's taker fee: the rate a resting order's denomLeft is figured at
MAKER_RATE = Decimal("0.0010")  # what the resting sell pays when the buy fills it
_SIXTEEN_DIGITS = re.compile(r"^-?\d+\.\d{16}$")


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if value is None:
        return "null"
    return {int: "int", float: "float", str: "string", list: "array", dict: "object"}[type(value)]


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value):
        return Decimal(value)
    return None


def _sign(value: Decimal | None) -> int | None:
    return None if value is None else (value > 0) - (value < 0)


def contract_breaks(actual: list[Any], captured: list[Any]) -> list[str]:
    """Every way ``actual`` differs from the captured frame in keys, JSON types, signs or decimal-ness."""
    if actual[0] != captured[0]:
        return [f"model {actual[0]} is held to capture {captured[0]}: pass [captured type, object]"]
    obj, ref = actual[1], captured[1]
    breaks = []
    if set(obj) != set(ref):
        breaks.append(f"keys: missing {sorted(set(ref) - set(obj))}, extra {sorted(set(obj) - set(ref))}")
    for key in sorted(set(obj) & set(ref)):
        got, want = obj[key], ref[key]
        if _json_type(got) != _json_type(want):
            breaks.append(f"{key}: {_json_type(got)} {got!r}, the venue sends {_json_type(want)} {want!r}")
            continue
        want_dec, got_dec = _decimal(want), _decimal(got)
        if want_dec is not None and got_dec is None:
            breaks.append(f"{key}: {got!r} is not a decimal like the venue's {want!r}")
        elif _sign(got_dec) != _sign(want_dec):
            breaks.append(f"{key}: sign of {got!r} differs from the venue's {want!r}")
    return breaks


@pytest.fixture
def sequence(sim, api, ws_factory) -> dict[str, Any]:
    """Frames of a resting sell that a buy part-fills and that is then cancelled, plus the REST fill row."""
    ws = ws_factory()
    ws.recv()
    _login(sim, ws)
    book = api.book(PAIR)
    ask_price, ask_qty = Decimal(book["asks"][0][0]), Decimal(book["asks"][0][1])
    sell = api.order("sell", ask_price, SELL_QTY, pair=PAIR)  # joins the best ask behind the market's quote
    api.order("buy", ask_price, ask_qty + FILLED, pair=PAIR)  # takes the market's quote, then FILLED of ours
    frames = _collect_until(ws, lambda f: f[0] == 453 and f[1]["id"] == sell["id"])
    assert api.delete(f"/api/v1/order?id={sell['id']}").status_code == 200
    frames += _collect_until(ws, lambda f: f[0] == 452 and f[1]["id"] == sell["id"])
    [row] = api.pget(f"/api/v1/users/transactions/trade?orderId={sell['id']}").json()["data"]

    def of_sell(model: int) -> list[Any]:
        key = "orderId" if model == 423 else "id"
        [frame] = [f for f in frames if f[0] == model and f[1].get(key) == sell["id"]]
        return frame

    return {
        "price": ask_price,
        "rest_row": row,
        "balance": next(f for f in frames if f[0] == 201),
        **{str(m): of_sell(m) for m in (451, 441, 423, 453, 452)},
    }


def _login(sim, ws) -> None:
    signature = ws_login_signature(sim.api_key, sim.api_secret, 3000)
    ws.send([114, {"type": 114, "publicKey": sim.api_key, "timestamp": 0, "nonce": 3000, "signature": signature}])
    assert ws.recv_type(114)[1]["ok"] is True


def _collect_until(ws, done, max_frames: int = 50) -> list[Any]:
    frames: list[Any] = []
    while not frames or not done(frames[-1]):
        assert len(frames) < max_frames, f"no matching frame among {[f[0] for f in frames]}"
        frames.append(ws.recv())
    return frames


@pytest.mark.parametrize(
    ("model", "capture"),
    [
        ("451", "ws_451.json"),
        ("441", "ws_441.json"),
        ("423", "ws_423.json"),
        ("452", "ws_452.json"),
        ("balance", "ws_201.json"),
    ],
)
def test_each_private_frame_has_the_captured_keys_types_and_signs(sequence, fixture_json, model, capture):
    assert contract_breaks(sequence[model], fixture_json(capture)) == []


def test_453_has_the_451_fields_the_documentation_gives_it(sequence, fixture_json):
    update = sequence["453"]
    assert contract_breaks([451, update[1]], fixture_json("ws_451.json")) == []
    assert update[1]["type"] == 453


def test_the_contract_check_catches_what_the_old_frames_got_wrong(fixture_json):
    captured = fixture_json("ws_423.json")
    old_423 = [423, {**captured[1], "type": 423, "amount": "0.0123", "preciseAmount": "-0.0123"}]
    assert contract_breaks(old_423, captured) == [
        "keys: missing [], extra ['type']",
        "amount: sign of '0.0123' differs from the venue's '-0.0123'",
        "preciseAmount: string '-0.0123', the venue sends float -0.0123",
    ]
    old_441 = [441, {**fixture_json("ws_441.json")[1], "numLeft": "0", "timestamp": 1787692481234}]
    assert contract_breaks(old_441, fixture_json("ws_441.json")) == [
        "keys: missing [], extra ['numLeft']",
        "timestamp: int 1787692481234, the venue sends string '1787692481234'",
    ]


def test_a_fill_reads_the_same_on_rest_and_on_the_websocket(sequence):
    assert sequence["423"][1] == sequence["rest_row"]
    trade = sequence["423"][1]
    assert Decimal(trade["amount"]) == -FILLED and trade["orderType"] == "sell"
    fee, tax = Decimal(trade["fee"]), Decimal(trade["tax"])
    assert fee < 0 and tax < 0 and fee + tax == -(sequence["price"] * FILLED * MAKER_RATE)
    assert tax == ((fee + tax) * 20 / 120).quantize(Decimal("1e-12"), rounding=ROUND_DOWN)  # VAT 20 % since 2023-07


def test_denom_left_includes_the_commission(sequence):
    price = sequence["price"]
    insert, update, delete = sequence["451"][1], sequence["453"][1], sequence["452"][1]
    assert Decimal(insert["denomLeft"]) == price * SELL_QTY * (1 - TAKER_RATE)
    assert Decimal(update["numLeft"]) == Decimal(delete["numLeft"]) == SELL_QTY - FILLED
    rest_of_order = price * (SELL_QTY - FILLED) * (1 - TAKER_RATE)
    assert Decimal(update["denomLeft"]) == Decimal(delete["denomLeft"]) == rest_of_order


def test_452_prints_sixteen_digits_451_plain(sequence):
    delete, insert = sequence["452"][1], sequence["451"][1]
    for key in ("price", "amount", "numLeft", "denomLeft"):
        assert _SIXTEEN_DIGITS.match(delete[key]), (key, delete[key])
    assert insert["amount"] == "0.05" and insert["numLeft"] == "0.05"
    assert Decimal(insert["price"]) == Decimal(delete["price"])


def test_a_resting_buy_reserves_its_commission_in_denom_left(sim, api, ws_factory):
    ws = ws_factory()
    ws.recv()
    _login(sim, ws)
    price = Decimal(api.book(PAIR)["bids"][0][0]) - 500
    buy = api.order("buy", price, "0.01", pair=PAIR)
    insert = ws.recv_type(451)[1]
    assert insert["id"] == buy["id"] and insert["orderType"] == 0
    assert Decimal(insert["denomLeft"]) == price * Decimal("0.01") * (1 + TAKER_RATE)
