"""Config, arming, credentials, DB path/schema and instance-lock checks: every status each can return."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from btcbot.doctor import local
from btcbot.doctor.model import Status
from btcbot.lock import InstanceLock
from btcbot.settings import Settings
from btcbot.storage import StateStore, latest_version

ARMED = {
    "live_trading": True,
    "live_trading_ack": "I_UNDERSTAND",
    "dry_run": False,
    "kill_switch": False,
    "safe_mode": False,
}
KEYS = {"btcturk_api_key": "k-test", "btcturk_api_secret": "c2VjcmV0LXRlc3Q="}  # base64, as BTCTurk secrets are


def test_config_statuses() -> None:
    assert local.check_config_ok().status is Status.PASS
    fail = local.check_config_error("invalid configuration: LIVE_TRADING: invalid value 'maybe'")
    assert fail.status is Status.FAIL and "LIVE_TRADING" in fail.reason


def test_arming_observe_is_pass_with_every_reason(make_settings: Callable[..., Settings]) -> None:
    result = local.check_arming(make_settings())
    assert result.status is Status.PASS
    assert "observe-only" in result.reason
    assert result.details["blocking_reasons"] == [
        "arm:live_trading_false",
        "arm:ack_missing",
        "arm:dry_run",
        "arm:kill_switch",
        "arm:safe_mode",
        "arm:credentials_missing",
    ]


def test_arming_live_is_pass_and_says_so(make_settings: Callable[..., Settings]) -> None:
    result = local.check_arming(make_settings(**ARMED, **KEYS))
    assert result.status is Status.PASS and "ARMED LIVE" in result.reason and result.details["mode"] == "live"


def test_arming_half_armed_warns(make_settings: Callable[..., Settings]) -> None:
    result = local.check_arming(make_settings(**{**ARMED, "kill_switch": True}, **KEYS))
    assert result.status is Status.WARN
    assert "arm:kill_switch" in result.reason


def test_credentials_statuses(make_settings: Callable[..., Settings]) -> None:
    assert local.check_credentials(make_settings(**KEYS)).status is Status.PASS
    armed_no_keys = local.check_credentials(make_settings(**ARMED))
    assert armed_no_keys.status is Status.FAIL and "BTCTURK_API_KEY" in armed_no_keys.reason
    assert local.check_credentials(make_settings()).status is Status.SKIP
    # Secrets never appear, only set/unset.
    assert local.check_credentials(make_settings(**KEYS)).details == {
        "BTCTURK_API_KEY": "set",
        "BTCTURK_API_SECRET": "set",
    }


def test_db_path_statuses(tmp_path: Path) -> None:
    absent = local.check_db_path(tmp_path / "new" / "state.db")
    assert absent.status is Status.PASS and "run creates it" in absent.reason
    existing = tmp_path / "state.db"
    StateStore(existing).migrate()
    assert local.check_db_path(existing).status is Status.PASS
    assert local.check_db_path(tmp_path).status is Status.FAIL  # a directory
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = local.check_db_path(blocker / "sub" / "state.db")
    assert result.status is Status.FAIL and "not a directory" in result.reason


def test_db_schema_statuses(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    assert local.check_db_schema(db).status is Status.SKIP
    StateStore(db).migrate()
    current = local.check_db_schema(db)
    assert current.status is Status.PASS and current.details["version"] == latest_version()

    older = tmp_path / "older.db"
    con = duckdb.connect(str(older))
    con.execute("CREATE TABLE schema_version (version INTEGER, name VARCHAR, applied_at TIMESTAMPTZ)")
    con.close()
    assert local.check_db_schema(older).status is Status.WARN

    newer = tmp_path / "newer.db"
    con = duckdb.connect(str(newer))
    con.execute("CREATE TABLE schema_version (version INTEGER, name VARCHAR, applied_at TIMESTAMPTZ)")
    con.execute("INSERT INTO schema_version VALUES (999, 'future', now())")
    con.close()
    assert local.check_db_schema(newer).status is Status.FAIL

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a duckdb file at all" * 100)
    assert local.check_db_schema(garbage).status is Status.FAIL


def test_instance_lock_statuses(tmp_path: Path) -> None:
    import os

    settings = Settings(state_db_path=tmp_path / "state.db")
    free = local.check_instance_lock(settings)
    assert free.status is Status.PASS
    assert free.details["state_db_path"] == str((tmp_path / "state.db").resolve())  # resolved, absolute
    assert free.details["lock_file"] == str(settings.lock_dir / "default.lock")
    # Held by an instance with another DB (another directory): doctor still sees this account's instance.
    with InstanceLock.for_settings(Settings(state_db_path=tmp_path / "elsewhere.db")):
        held = local.check_instance_lock(settings)
    assert held.status is Status.WARN
    assert f"PID {os.getpid()}" in held.reason and held.details["holder_pid"] == os.getpid()


def test_a_lock_file_that_is_a_link_fails_the_check_instead_of_stopping_doctor(tmp_path: Path) -> None:
    settings = Settings(state_db_path=tmp_path / "state.db", lock_dir=tmp_path / "locks")
    (tmp_path / "locks").mkdir()
    (tmp_path / "locks" / "default.lock").symlink_to(tmp_path / "elsewhere")
    result = local.check_instance_lock(settings)
    assert result.status is Status.FAIL and "is a symbolic link; remove it" in result.reason


@pytest.mark.parametrize("scope", ["default", "acct1"])
def test_lock_check_is_per_scope(tmp_path: Path, scope: str) -> None:
    settings = Settings(state_db_path=tmp_path / "state.db", account_scope=scope)
    with InstanceLock.for_scope(settings.lock_dir, "other"):
        assert local.check_instance_lock(settings).status is Status.PASS


def test_unset_scope_with_credentials_is_explained_not_warned(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    unset = local.check_instance_lock(Settings(state_db_path=db, **KEYS))
    assert unset.status is Status.PASS and "ACCOUNT_SCOPE unset" in unset.reason
    named = local.check_instance_lock(Settings(state_db_path=db, account_scope="pilot1", **KEYS))
    assert named.status is Status.PASS and "ACCOUNT_SCOPE" not in named.reason
    assert "ACCOUNT_SCOPE" not in local.check_instance_lock(Settings(state_db_path=db)).reason  # no account yet


def test_intent_journal_statuses(tmp_path: Path) -> None:
    from datetime import UTC, datetime
    from decimal import Decimal

    from btcbot.storage.intent_journal import IntentJournal, journal_path_for

    db = tmp_path / "state.db"
    assert local.check_intent_journal(db).status is Status.PASS
    now = datetime.now(UTC)
    journal = IntentJournal(journal_path_for(db, "1234-abcd"))
    journal.append(
        {
            "client_order_id": "btcbot-public-abc", "run_id": "r", "cycle_id": 1, "symbol": "BTCTRY",
            "side": "buy", "method": "limit", "price": Decimal(1), "quantity": Decimal(1), "status": "INTENT",
            "created_at": now, "updated_at": now, "ttl_seconds": 30,
        }
    )  # fmt: skip
    running = local.check_intent_journal(db)  # its writer (this journal object) is alive
    assert running.status is Status.PASS and "next DB flush" in running.reason
    journal.close()  # the writer dies with the intent unflushed
    crashed = local.check_intent_journal(db)
    assert crashed.status is Status.FAIL
    assert "btcbot-public-abc" in crashed.reason and "btcbot run --once" in crashed.action
    StateStore(db).close()  # the next store folds the journal into the DB
    assert local.check_intent_journal(db).status is Status.PASS
