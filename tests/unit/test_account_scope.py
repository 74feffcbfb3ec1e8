"""One key per account: the scope normaliser, ACCOUNT_SCOPE/LOCK_DIR validation, key rotation, foreign orders."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from btcbot.domain.account_scope import MAX_SCOPE_LEN, legacy_key_scope, scope_key
from btcbot.domain.orders import (
    MAX_CLIENT_ORDER_ID_LEN,
    OrderMethod,
    OrderSide,
    OrderStatus,
    VenueOrder,
    VenueOrderStatus,
    client_order_id,
    owned_prefix,
    owned_prefixes,
)
from btcbot.errors import ConfigError
from btcbot.lock import lock_path_for
from btcbot.runtime.foreign_orders import ADOPT_FLAG, refusal_message, split_orphans
from btcbot.runtime.lifecycle import OrderRecord
from btcbot.runtime.reconcile import reconcile
from btcbot.settings import Settings, load_settings, redacted_view

KEY_1 = {"btcturk_api_key": "key-before-rotation", "btcturk_api_secret": "c2VjcmV0"}
KEY_2 = {"btcturk_api_key": "key-after-rotation", "btcturk_api_secret": "c2VjcmV0Mg=="}


@pytest.mark.parametrize(
    ("raw", "key"),
    [("pilot1", "pilot1"), ("pilot-1", "pilot1"), ("Pilot_1", "pilot1"), (" PILOT.1 ", "pilot1"), ("a" * 16, "a" * 16)],
)
def test_one_normaliser_for_lock_name_and_order_prefix(tmp_path: Path, raw: str, key: str) -> None:
    assert scope_key(raw) == key
    assert lock_path_for(tmp_path, raw) == tmp_path / f"{key}.lock"
    assert owned_prefix(raw) == f"btcbot-{key}-"
    assert client_order_id(raw, "d").startswith(f"btcbot-{key}-")


@pytest.mark.parametrize("raw", ["", "--", "ü", "a" * (MAX_SCOPE_LEN + 1)])
def test_scope_key_refuses_rather_than_truncating_or_inventing(raw: str) -> None:
    with pytest.raises(ValueError):
        scope_key(raw)


def test_longest_scope_still_fits_btcturks_client_id_limit() -> None:
    assert len(client_order_id("z" * MAX_SCOPE_LEN, "any decision")) <= MAX_CLIENT_ORDER_ID_LEN


@pytest.mark.parametrize(("raw", "hint"), [("pilot-1", "use 'pilot1'"), ("Pilot1", "use 'pilot1'")])
def test_a_scope_not_in_normal_form_is_refused_naming_the_normal_form(raw: str, hint: str) -> None:
    # pilot-1 and pilot1 would be one lock and one prefix under two names: only the normal form is accepted.
    with pytest.raises(ConfigError, match="ACCOUNT_SCOPE") as info:
        load_settings(account_scope=raw)
    assert hint in str(info.value)


def test_scope_default_and_empty_value(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().account_scope == "default"
    monkeypatch.setenv("ACCOUNT_SCOPE", "")
    assert load_settings().account_scope == "default"
    monkeypatch.setenv("ACCOUNT_SCOPE", "too-long-for-an-order-id")
    with pytest.raises(ConfigError, match="at most 16"):
        load_settings()


def test_rotating_the_api_key_keeps_the_scope_and_the_order_prefix() -> None:
    before, after = Settings(**KEY_1), Settings(**KEY_2)
    assert before.resolved_account_scope == after.resolved_account_scope == "default"
    assert owned_prefix(before.resolved_account_scope) == owned_prefix(after.resolved_account_scope)
    assert client_order_id(before.resolved_account_scope, "d1") == client_order_id(after.resolved_account_scope, "d1")


def test_the_pre_upgrade_key_derived_prefix_is_only_recognised_and_only_for_the_default_scope() -> None:
    s = Settings(**KEY_1)
    assert s.legacy_account_scope == legacy_key_scope("key-before-rotation") != s.resolved_account_scope
    assert owned_prefixes(s.resolved_account_scope, s.legacy_account_scope) == (
        "btcbot-default-",
        f"btcbot-{s.legacy_account_scope}-",
    )
    assert Settings(account_scope="pilot1", **KEY_1).legacy_account_scope is None  # never key-derived
    assert Settings().legacy_account_scope is None  # no key, no orders


def test_lock_dir_is_absolute_and_independent_of_the_working_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCK_DIR")
    default = load_settings().lock_dir
    assert default.is_absolute() and default == Path.home() / ".local" / "state" / "btcbot" / "locks"
    assert load_settings(lock_dir="~/locks").lock_dir == Path.home() / "locks"
    with pytest.raises(ConfigError, match=r"LOCK_DIR.*absolute"):
        load_settings(lock_dir="var/locks")


def test_state_db_path_is_shown_resolved(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.state_db_path == Path("./var/btcbot_state.db")  # what was configured...
    assert redacted_view(s)["STATE_DB_PATH"] == str(tmp_path.resolve() / "var" / "btcbot_state.db")  # ...and used


def _venue(cid: str | None, xid: int = 5) -> VenueOrder:
    return VenueOrder(
        xid, cid, "BTCTRY", OrderSide.BUY, OrderMethod.LIMIT, Decimal(100), Decimal(1), Decimal(1),
        VenueOrderStatus.UNTOUCHED, 1, 1,
    )  # fmt: skip


def _orphans(*open_: VenueOrder, prefixes: tuple[str, ...] = ("btcbot-pilot-",)) -> list[str]:
    out = reconcile(
        [], venue_open=list(open_), lookups={}, owned_prefixes=prefixes, known_client_ids=frozenset(), now_ms=2,
        run_id="r", cycle_id=0, default_ttl_seconds=30,
    )  # fmt: skip
    return [r.client_order_id for r in out.adopted]


def test_adoption_never_matches_another_scopes_prefix_or_the_bare_bot_prefix() -> None:
    mine = client_order_id("pilot", "d")
    others = [client_order_id("pilot1", "d"), client_order_id("pilo", "d"), "btcbot-", "btcbot-x", "btcbot--1"]
    assert _orphans(*(_venue(c, i) for i, c in enumerate([mine, *others]))) == [mine]
    legacy = client_order_id(legacy_key_scope("k"), "d")
    assert _orphans(_venue(legacy), prefixes=owned_prefixes("pilot", legacy_key_scope("k"))) == [legacy]


def _record(cid: str) -> OrderRecord:
    return OrderRecord(
        cid, "BTCTRY", OrderSide.BUY, OrderMethod.LIMIT, Decimal(100), Decimal(1), OrderStatus.OPEN, "r", 0, 1, 1, 30,
        exchange_order_id=int(cid[-1]),
    )  # fmt: skip


def test_an_orphan_the_db_knows_is_adopted_one_it_never_placed_is_foreign_unless_the_operator_adopts() -> None:
    known, stranger = _record("btcbot-s-1"), _record("btcbot-s-2")
    assert split_orphans([known, stranger], {"btcbot-s-1"}, adopt_foreign=False) == ((known,), (stranger,))
    assert split_orphans([known, stranger], set(), adopt_foreign=True) == ((known, stranger), ())


def test_the_refusal_names_every_order_both_explanations_and_the_way_out() -> None:
    text = refusal_message([_record("btcbot-s-1"), _record("btcbot-s-2")], "s", Path("/srv/a.db"))
    assert "btcbot-s-1 (exchange id 1, BTCTRY)" in text and "btcbot-s-2 (exchange id 2, BTCTRY)" in text
    assert "another btcbot instance" in text and "different state DB" in text and "/srv/a.db" in text
    assert ADOPT_FLAG in text and "btcbot orders list" in text and "nothing was sent" in text
