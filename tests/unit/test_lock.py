"""The single-instance lock in one process: flock conflicts between open file descriptions, so a second
``InstanceLock`` on the same file here behaves as a second process would (tests/e2e/test_lock_processes.py runs
real processes)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from btcbot.errors import InstanceLockHeld, StateStoreUnavailable
from btcbot.lock import (
    InstanceLock,
    contention_path_for,
    lock_path_for,
    lock_status,
    read_contention,
    record_contention,
)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


def test_the_lock_file_sits_beside_the_db_named_for_the_scope(db: Path) -> None:
    assert lock_path_for(db, "acct1") == db.with_name("state.db.acct1.lock")
    assert lock_path_for(db, "a b/../c:d") == db.with_name("state.db.a_b_.._c_d.lock")
    assert lock_path_for(db, "ok-1_2.x") == db.with_name("state.db.ok-1_2.x.lock")
    assert lock_path_for(db, "") == db.with_name("state.db.default.lock")


def test_a_relative_db_path_is_resolved(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(db.parent)
    assert lock_path_for("state.db", "s") == db.with_name("state.db.s.lock")


def test_the_holder_writes_its_pid_and_a_second_holder_is_refused_by_name(db: Path) -> None:
    first = InstanceLock(db, "s", grace_s=0)
    first.acquire()
    assert first.held and first.path.read_text() == f"{os.getpid()}\n"
    assert repr(first) == f"InstanceLock({str(first.path)!r}, held=True)"
    second = InstanceLock(db, "s", grace_s=0)
    with pytest.raises(InstanceLockHeld) as info:
        second.acquire()
    assert (info.value.lock_path, info.value.holder_pid) == (str(first.path), os.getpid())
    assert not second.held
    assert lock_status(db, "s") == (True, os.getpid())
    first.release()
    assert not first.held and first.path.read_text() == ""  # no dead holder's PID next to a free lock
    assert repr(first) == f"InstanceLock({str(first.path)!r}, held=False)"
    assert lock_status(db, "s") == (False, None)
    with second:
        assert second.held
    assert not second.held


def test_a_refused_start_leaves_one_contention_record(db: Path) -> None:
    with InstanceLock(db, "s", grace_s=0), pytest.raises(InstanceLockHeld):
        InstanceLock(db, "s", grace_s=0).acquire()
    (event,) = read_contention(db)
    assert {k: v for k, v in event.items() if k != "ts_ms"} == {
        "scope": "s",
        "pid": os.getpid(),
        "holder_pid": os.getpid(),
    }
    assert isinstance(event["ts_ms"], int) and event["ts_ms"] > 1_600_000_000_000


def test_scopes_do_not_conflict(db: Path) -> None:
    with InstanceLock(db, "a", grace_s=0) as a, InstanceLock(db, "b", grace_s=0) as b:
        assert a.held and b.held and a.path != b.path


def test_acquire_and_release_are_idempotent(db: Path) -> None:
    lock = InstanceLock(db, "s", grace_s=0)
    lock.release()
    lock.acquire()
    lock.acquire()
    assert lock.held
    lock.release()
    lock.release()
    assert not lock.held and lock_status(db, "s") == (False, None)


def test_no_lock_file_means_not_held(db: Path) -> None:
    assert lock_status(db, "s") == (False, None)


def test_a_holder_pid_that_is_not_a_number_is_unknown(db: Path) -> None:
    path = lock_path_for(db, "s")
    with InstanceLock(db, "s", grace_s=0):
        os.truncate(path, 0)
        path.write_text("garbage")
        assert lock_status(db, "s") == (True, None)
        with pytest.raises(InstanceLockHeld) as info:
            InstanceLock(db, "s", grace_s=0).acquire()
        assert info.value.holder_pid is None
        assert "(an unknown process)" in str(info.value)


def test_a_lock_that_cannot_be_created_says_where_and_what_to_do(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StateStoreUnavailable) as info:
        InstanceLock(blocker / "state.db", "s").acquire()
    message = str(info.value)
    assert message.startswith(f"cannot create the instance lock file {blocker / 'state.db.s.lock'}: ")
    assert message.endswith("; STATE_DB_PATH must be in a writable directory")


def test_the_lock_directory_is_created(tmp_path: Path) -> None:
    with InstanceLock(tmp_path / "new" / "dir" / "state.db", "s", grace_s=0) as lock:
        assert lock.path.parent.is_dir()


def test_contention_records_are_bounded_not_unbounded(db: Path) -> None:
    lock = lock_path_for(db, "s")
    path = contention_path_for(lock)
    assert path == db.with_name("state.db.s.lock.contention.jsonl")
    at_limit = 256 * 1024
    path.write_text("x" * at_limit)
    record_contention(lock, "s", 7)
    assert path.stat().st_size > at_limit  # exactly at the bound: still appended to
    record_contention(lock, "s", 8)
    lines = path.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["holder_pid"] == 8


def test_recording_contention_never_fails(tmp_path: Path) -> None:
    record_contention(tmp_path / "missing" / "x.lock", "s", None)
    assert not (tmp_path / "missing").exists()


def test_read_contention_merges_scopes_oldest_first_and_skips_what_it_cannot_read(db: Path) -> None:
    def write(scope: str, *lines: str) -> None:
        contention_path_for(lock_path_for(db, scope)).write_text("".join(line + "\n" for line in lines))

    write("a", json.dumps({"ts_ms": 30, "scope": "a"}), "{torn", json.dumps([1]), json.dumps({"ts_ms": "10"}))
    write("b", json.dumps({"ts_ms": 20, "scope": "b"}), json.dumps({"scope": "b"}), json.dumps({"ts_ms": 40}))
    other_db = db.with_name("other.db")
    contention_path_for(lock_path_for(other_db, "a")).write_text(json.dumps({"ts_ms": 1}) + "\n")
    assert [e["ts_ms"] for e in read_contention(db)] == [20, 30, 40]
    assert read_contention(db.with_name("none.db")) == []


def test_an_unreadable_contention_file_is_skipped(db: Path) -> None:
    contention_path_for(lock_path_for(db, "a")).mkdir()  # matches the pattern, cannot be read as text
    contention_path_for(lock_path_for(db, "b")).write_text(json.dumps({"ts_ms": 5}) + "\n")
    assert read_contention(db) == [{"ts_ms": 5}]
