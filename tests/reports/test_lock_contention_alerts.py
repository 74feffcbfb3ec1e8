"""A refused second instance leaves evidence beside the lock (never in the holder's DB); alerts report it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from btcbot import reason_codes as rc
from btcbot.cli import main
from btcbot.errors import InstanceLockHeld
from btcbot.lock import InstanceLock, contention_path_for, lock_path_for, read_contention
from btcbot.settings import load_settings
from btcbot.storage import StateStore


def test_refusal_is_recorded_beside_the_lock_and_alerted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "state.db"
    StateStore(db).close()  # an empty, migrated DB: no decisions, so every recorded refusal is in the window
    settings = load_settings(state_db_path=db)
    with InstanceLock.for_settings(settings):
        with pytest.raises(InstanceLockHeld):
            # The second instance uses another DB (another directory): still this account's lock.
            InstanceLock.for_settings(
                settings.model_copy(update={"state_db_path": tmp_path / "b.db"}), grace_s=0
            ).acquire()
        assert not list(tmp_path.glob("state.db.*.wal"))  # the refused instance did not open the DB
    assert contention_path_for(lock_path_for(settings.lock_dir, "default")).is_file()
    events = read_contention(settings.lock_dir, "default")
    assert len(events) == 1 and events[0]["scope"] == "default"
    assert events[0]["holder_state_db_path"] == str(db.resolve())
    assert events[0]["state_db_path"] == str((tmp_path / "b.db").resolve())
    assert read_contention(settings.lock_dir, "other") == []  # per account scope

    code = main(["stage7-alerts", "--db", str(db), "--last", "50", "--json"])
    doc = json.loads(capsys.readouterr().out)
    contention = [a for a in doc["alerts"] if a["kind"] == "lock_contention"]
    assert len(contention) == 1 and contention[0]["reason_code"] == rc.LOCK_INSTANCE_HELD
    assert contention[0]["severity"] == "warning"
    assert code == 1


def test_no_refusal_no_contention_alert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "state.db"
    StateStore(db).close()
    settings = load_settings(state_db_path=db)
    with InstanceLock.for_settings(settings):
        pass
    assert read_contention(settings.lock_dir, "default") == []
    assert main(["stage7-alerts", "--db", str(db), "--last", "50", "--json"]) == 0
    assert not [a for a in json.loads(capsys.readouterr().out)["alerts"] if a["kind"] == "lock_contention"]
