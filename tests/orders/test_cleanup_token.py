"""The operator clean-up token: minted with every gate closed, needs credentials and --confirm, and only cancels."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from btcbot import reason_codes as rc
from btcbot.arming import ArmingGate, ArmingInputs, decide_arming
from btcbot.domain.orders import OrderIntent, OrderSide
from btcbot.errors import NotArmedError
from btcbot.exchange.btcturk import BtcturkHttp

BASELINE = ArmingInputs(
    live_trading=False,
    live_trading_ack="",
    dry_run=True,
    kill_switch=True,
    safe_mode=True,
    cli_dry_run=False,
    credentials_present=True,
)


def test_minted_with_every_gate_closed_and_cancels_only() -> None:
    gate = ArmingGate(decide_arming(BASELINE))
    token = gate.operator_cleanup_token(confirmed=True)
    token.check_at_send("cancel")
    with pytest.raises(NotArmedError, match="cannot submit"):
        token.check_at_send("submit")
    # Nothing else opened up: the runtime's own tokens are still refused at the baseline.
    for mint in (gate.submit_token, gate.cancel_token, gate.protective_cancel_token):
        with pytest.raises(NotArmedError):
            mint()


def test_needs_confirmation_and_credentials() -> None:
    gate = ArmingGate(decide_arming(BASELINE))
    with pytest.raises(NotArmedError) as unconfirmed:
        gate.operator_cleanup_token(confirmed=False)
    assert unconfirmed.value.reasons == (rc.OPERATOR_NOT_CONFIRMED,)
    no_keys = ArmingGate(decide_arming(replace(BASELINE, credentials_present=False)))
    with pytest.raises(NotArmedError) as missing:
        no_keys.operator_cleanup_token(confirmed=True)
    assert missing.value.reasons == (rc.ARM_CREDENTIALS_MISSING,)


def test_a_safe_mode_latch_does_not_stop_a_clean_up() -> None:
    gate = ArmingGate(decide_arming(BASELINE))
    token = gate.operator_cleanup_token(confirmed=True)
    gate.latch_safe_mode("test")
    token.check_at_send("cancel")  # cancelling our own orders is what safe mode wants done


def test_the_http_client_refuses_a_submit_with_it_and_sends_nothing(venue: Any) -> None:
    settings = venue.settings()
    token = ArmingGate.from_settings(settings).operator_cleanup_token(confirmed=True)
    intent = OrderIntent("BTCTRY", OrderSide.BUY, Decimal(1_000_000), Decimal("0.0002"), venue.own_cid("never"))
    with BtcturkHttp.from_settings(settings) as http, pytest.raises(NotArmedError):
        http.submit_order(intent, token)
    assert venue.writes("POST") == []


def test_the_http_client_sends_a_cancel_with_it(venue: Any) -> None:
    cid = venue.own_cid("rest")
    venue.place(cid)
    [order] = venue.open_orders()
    settings = venue.settings()  # every gate at its safe default
    token = ArmingGate.from_settings(settings).operator_cleanup_token(confirmed=True)
    with BtcturkHttp.from_settings(settings) as http:
        http.cancel_order(order.exchange_order_id, token)
    assert len(venue.writes("DELETE")) == 1
