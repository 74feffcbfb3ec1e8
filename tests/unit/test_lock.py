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
from btcbot.settings import Settings

PID = os.getpid()


@pytest.fixture
def locks(tmp_path: Path) -> Path:
    return tmp_path / "locks"


def test_one_lock_file_per_scope_key(locks: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert lock_path_for(locks, "pilot1") == locks / "pilot1.lock"
    assert lock_path_for(locks, "Pilot-1") == locks / "pilot1.lock"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert lock_path_for("~/l", "a") == tmp_path / "l" / "a.lock"


def test_the_holder_writes_its_pid_and_db_and_a_second_holder_is_refused_by_both(locks: Path) -> None:
    first = InstanceLock.for_scope(locks, "Pilot-1", state_db_path="/srv/a.db", grace_s=0)
    assert (first.path, first.scope) == (locks / "pilot1.lock", "pilot1")
    first.acquire()
    assert first.held and first.path.read_text() == f"{PID}\n/srv/a.db\n"
    assert repr(first) == f"InstanceLock({str(first.path)!r}, held=True)"
    second = InstanceLock.for_scope(locks, "pilot1", state_db_path="/srv/b.db", grace_s=0)
    with pytest.raises(InstanceLockHeld) as info:
        second.acquire()
    err = info.value
    assert (err.lock_path, err.holder_pid, err.holder_db) == (str(first.path), PID, "/srv/a.db")
    assert str(err) == (
        f"another btcbot instance holds the lock {first.path} (PID {PID}, STATE_DB_PATH /srv/a.db); one instance per "
        "account scope ('pilot1'), whatever its directory or DB: stop that one first; if it trades a different "
        "account, give each account its own ACCOUNT_SCOPE"
    )
    assert not second.held
    assert lock_status(locks, "pilot1") == (True, PID)
    first.release()
    assert not first.held and first.path.read_text() == ""  # no dead holder's PID next to a free lock
    assert repr(first) == f"InstanceLock({str(first.path)!r}, held=False)"
    assert lock_status(locks, "pilot1") == (False, None)
    with second:
        assert second.held
    assert not second.held


def test_a_refused_start_leaves_one_contention_record(locks: Path) -> None:
    with (
        InstanceLock.for_scope(locks, "s", state_db_path="/srv/a.db", grace_s=0),
        pytest.raises(InstanceLockHeld),
    ):
        InstanceLock.for_scope(locks, "s", state_db_path="/srv/b.db", grace_s=0).acquire()
    (event,) = read_contention(locks, "s")
    assert {k: v for k, v in event.items() if k != "ts_ms"} == {
        "scope": "s",
        "pid": PID,
        "holder_pid": PID,
        "state_db_path": "/srv/b.db",
        "holder_state_db_path": "/srv/a.db",
    }
    assert isinstance(event["ts_ms"], int) and event["ts_ms"] > 1_600_000_000_000


def test_the_settings_lock_is_the_scopes_in_lock_dir(locks: Path, tmp_path: Path) -> None:
    settings = Settings(lock_dir=locks, account_scope="pilot1", state_db_path=tmp_path / "x" / "s.db")
    with InstanceLock.for_settings(settings, grace_s=0) as lock:
        assert (lock.path, lock.scope) == (locks / "pilot1.lock", "pilot1")
        assert lock.path.read_text() == f"{PID}\n{tmp_path / 'x' / 's.db'}\n"


def test_an_output_db_lock_sits_beside_it_and_records_no_contention(tmp_path: Path) -> None:
    db = tmp_path / "replay.db"
    with InstanceLock.for_output_db(db, grace_s=0) as lock:
        assert (lock.path, lock.scope) == (tmp_path / "replay.db.lock", None)
        assert lock.path.read_text() == f"{PID}\n{db}\n"
        with pytest.raises(InstanceLockHeld) as info:
            InstanceLock.for_output_db(db, grace_s=0).acquire()
    assert str(info.value).endswith(f"(PID {PID}, STATE_DB_PATH {db}); stop it first, or pass another --db")
    assert not contention_path_for(lock.path).exists()


def test_scopes_do_not_conflict(locks: Path) -> None:
    with InstanceLock.for_scope(locks, "a", grace_s=0) as a, InstanceLock.for_scope(locks, "b", grace_s=0) as b:
        assert a.held and b.held and a.path != b.path


def test_acquire_and_release_are_idempotent(locks: Path) -> None:
    lock = InstanceLock.for_scope(locks, "s", grace_s=0)
    lock.release()
    lock.acquire()
    lock.acquire()
    assert lock.held
    lock.release()
    lock.release()
    assert not lock.held and lock_status(locks, "s") == (False, None)


def test_no_lock_file_means_not_held(locks: Path) -> None:
    assert lock_status(locks, "s") == (False, None)


@pytest.mark.parametrize(
    ("content", "pid", "db", "shown"),
    [
        ("garbage\n", None, None, "(an unknown process)"),
        ("", None, None, "(an unknown process)"),
        ("42\n", 42, None, "(PID 42)"),
        (" 42 \n  \n", 42, None, "(PID 42)"),
        ("x\n/srv/a.db\n", None, "/srv/a.db", "(an unknown process, STATE_DB_PATH /srv/a.db)"),
    ],
)
def test_what_a_refused_start_reads_of_the_holder(
    locks: Path, content: str, pid: int | None, db: str | None, shown: str
) -> None:
    with InstanceLock.for_scope(locks, "s", grace_s=0) as holder:
        os.truncate(holder.path, 0)
        holder.path.write_text(content)
        assert lock_status(locks, "s") == (True, pid)
        with pytest.raises(InstanceLockHeld) as info:
            InstanceLock.for_scope(locks, "s", grace_s=0).acquire()
    assert (info.value.holder_pid, info.value.holder_db) == (pid, db)
    assert shown + ";" in str(info.value)


@pytest.mark.parametrize(
    ("make", "where"),
    [
        (lambda base: InstanceLock.for_scope(base / "locks", "s"), "LOCK_DIR must be one"),
        (lambda base: InstanceLock.for_output_db(base / "out.db"), "the DB's directory must be one"),
    ],
)
def test_a_lock_that_cannot_be_created_says_where_and_what_to_do(tmp_path: Path, make: object, where: str) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    lock = make(blocker)  # type: ignore[operator]
    with pytest.raises(StateStoreUnavailable) as info:
        lock.acquire()
    message = str(info.value)
    assert message.startswith(f"cannot create the instance lock file {lock.path}: ")
    assert message.endswith(f"; {where}")


def test_the_lock_directory_is_created(tmp_path: Path) -> None:
    with InstanceLock.for_scope(tmp_path / "new" / "dir", "s", grace_s=0) as lock:
        assert lock.path.parent.is_dir()


def test_contention_records_are_bounded_not_unbounded(locks: Path) -> None:
    lock = lock_path_for(locks, "s")
    path = contention_path_for(lock)
    assert path == locks / "s.lock.contention.jsonl"
    locks.mkdir()
    at_limit = 256 * 1024
    path.write_text("x" * at_limit)
    record_contention(lock, "s", 7)
    assert path.stat().st_size > at_limit  # exactly at the bound: still appended to
    record_contention(lock, "s", 8)
    lines = path.read_text().splitlines()
    assert len(lines) == 1
    assert {k: v for k, v in json.loads(lines[0]).items() if k != "ts_ms"} == {
        "scope": "s",
        "pid": PID,
        "holder_pid": 8,
        "state_db_path": None,
        "holder_state_db_path": None,
    }


def test_recording_contention_never_fails(tmp_path: Path) -> None:
    record_contention(tmp_path / "missing" / "x.lock", "s", None)
    assert not (tmp_path / "missing").exists()


def test_read_contention_oldest_first_skipping_what_it_cannot_read(locks: Path) -> None:
    locks.mkdir()
    lines = [
        json.dumps({"ts_ms": 30, "scope": "a"}),
        "{torn",
        json.dumps([1]),
        json.dumps({"ts_ms": "10"}),
        json.dumps({"ts_ms": 20, "scope": "a"}),
        json.dumps({"scope": "a"}),
        json.dumps({"ts_ms": 40}),
    ]
    contention_path_for(lock_path_for(locks, "a")).write_text("\n".join(lines) + "\n")
    contention_path_for(lock_path_for(locks, "b")).write_text(json.dumps({"ts_ms": 1}) + "\n")
    assert [e["ts_ms"] for e in read_contention(locks, "a")] == [20, 30, 40]
    assert read_contention(locks, "none") == []
    contention_path_for(lock_path_for(locks, "c")).mkdir()  # cannot be read as text
    assert read_contention(locks, "c") == []


def test_the_lock_never_writes_through_a_symbolic_link(locks: Path, tmp_path: Path) -> None:
    # The holder truncates its lock file and writes its PID: through a link (a shared LOCK_DIR such as /tmp) it
    # would overwrite whatever file the link names.
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    locks.mkdir()
    lock_path_for(locks, "s").symlink_to(victim)
    for probe in (InstanceLock.for_scope(locks, "s", grace_s=0).acquire, lambda: lock_status(locks, "s")):
        with pytest.raises(StateStoreUnavailable, match=r"s\.lock is a symbolic link; remove it"):
            probe()
    contention_path_for(lock_path_for(locks, "s")).symlink_to(victim)
    record_contention(lock_path_for(locks, "s"), "s", 7)
    assert victim.read_text() == "precious"


def test_a_lock_dir_that_is_a_file_is_a_clear_error_for_the_probe_too(tmp_path: Path) -> None:
    # status and doctor probe the lock: a LOCK_DIR that is a file must be an error they can show, not a traceback.
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StateStoreUnavailable, match="is not a directory; LOCK_DIR must be one"):
        lock_status(blocker, "s")


def test_a_lock_file_that_cannot_be_opened_says_why_and_what_to_do(tmp_path: Path) -> None:
    # Root ignores permissions, so the reasons are built directly rather than provoked.
    from btcbot.lock import _lock_file_problem

    path = tmp_path / "locks" / "btcbot-s.lock"
    denied = _lock_file_problem(path, PermissionError(13, "Permission denied"), "LOCK_DIR", "create")
    assert denied == f"cannot create the instance lock file {path}: Permission denied; LOCK_DIR must be writable"
    bare = _lock_file_problem(path, OSError(), "LOCK_DIR", "open")
    assert bare == f"cannot open the instance lock file {path}: OSError; LOCK_DIR must be writable"
