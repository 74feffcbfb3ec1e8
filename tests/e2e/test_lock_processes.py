"""InstanceLock across real processes: a second holder is refused by name, PID and DB; SIGKILL leaves no stale lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from btcbot.domain.orders import owned_prefix
from btcbot.errors import InstanceLockHeld
from btcbot.lock import InstanceLock, lock_path_for, lock_status
from btcbot.settings import Settings

pytestmark = pytest.mark.e2e

_HOLDER = """
import sys, time
from btcbot.lock import InstanceLock
lock = InstanceLock.for_scope(sys.argv[1], sys.argv[2], state_db_path=sys.argv[3])
lock.acquire()
print("locked", flush=True)
sys.stdin.read()  # hold until the test closes stdin (or kills us)
"""


def _start_holder(locks: Path, scope: str, db: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(locks), scope, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_instance_is_refused_and_sigkill_releases(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    holder_db = tmp_path / "a" / "var" / "state.db"
    holder = _start_holder(locks, "acct1", holder_db)
    try:
        assert lock_status(locks, "acct1") == (True, holder.pid)
        # Another DB, another directory: the same account scope is still one lock.
        with pytest.raises(InstanceLockHeld) as info:
            InstanceLock.for_scope(locks, "acct1", state_db_path=tmp_path / "b" / "state.db", grace_s=0.05).acquire()
        assert info.value.holder_pid == holder.pid
        assert info.value.lock_path == str(lock_path_for(locks, "acct1"))
        message = str(info.value)
        assert str(lock_path_for(locks, "acct1")) in message and f"PID {holder.pid}" in message
        assert str(holder_db.resolve()) in message  # which instance to stop, and where it keeps its state
        # Another scope is independent.
        with InstanceLock.for_scope(locks, "acct2"):
            assert lock_status(locks, "acct2") == (True, os.getpid())
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    # The kernel released the lock with the dead process: no stale lock, the file may remain.
    assert lock_path_for(locks, "acct1").exists()
    assert lock_status(locks, "acct1") == (False, None)
    with InstanceLock.for_scope(locks, "acct1") as lock:
        assert lock.held
    assert lock_status(locks, "acct1") == (False, None)


def test_second_process_exits_with_clear_message(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    with InstanceLock.for_scope(locks, "default"):
        proc = subprocess.run(
            [sys.executable, "-c", _HOLDER, str(locks), "default", str(tmp_path / "other.db")],
            capture_output=True,
            text=True,
            timeout=30,
            input="",
        )
    assert proc.returncode != 0
    assert "InstanceLockHeld" in proc.stderr and f"PID {os.getpid()}" in proc.stderr
    assert lock_status(locks, "default") == (False, None)


def test_probe_on_missing_lock_file_and_one_normaliser_for_the_name(tmp_path: Path) -> None:
    assert lock_status(tmp_path, "x") == (False, None)
    # pilot-1 / Pilot1 / pilot1 are one account to an operator: one lock file, one order prefix.
    assert {lock_path_for(tmp_path, s).name for s in ("pilot-1", "Pilot1", "pilot1", "pilot_1")} == {"pilot1.lock"}
    assert {owned_prefix(s) for s in ("pilot-1", "Pilot1", "pilot1")} == {"btcbot-pilot1-"}
    with InstanceLock.for_scope(tmp_path, "pilot1"), pytest.raises(InstanceLockHeld):
        InstanceLock.for_scope(tmp_path, "pilot-1", grace_s=0).acquire()
    with pytest.raises(ValueError, match="letters or digits"):
        lock_path_for(tmp_path, "--")


def test_a_replay_db_lock_is_the_db_s_not_the_account_s(tmp_path: Path) -> None:
    settings = Settings(state_db_path=tmp_path / "live.db", lock_dir=tmp_path / "locks")
    # A backtest while the live instance of the same scope runs is never blocked by it, but two writers of one
    # replay DB are refused.
    with (
        InstanceLock.for_settings(settings),
        InstanceLock.for_output_db(tmp_path / "replay.db"),
        pytest.raises(InstanceLockHeld),
    ):
        InstanceLock.for_output_db(tmp_path / "replay.db", grace_s=0).acquire()


def test_btcbot_run_refuses_a_held_scope_before_touching_anything(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    env = {**os.environ, "STATE_DB_PATH": str(db), "BTCTURK_BASE_URL": "http://127.0.0.1:9"}
    settings = Settings(state_db_path=tmp_path / "elsewhere" / "other.db")
    with InstanceLock.for_settings(settings):
        proc = subprocess.run(
            [sys.executable, "-m", "btcbot", "run", "--once", "--dry-run"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=tmp_path,
        )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert str(lock_path_for(settings.lock_dir, "default")) in proc.stderr and f"PID {os.getpid()}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not db.exists()  # the DB was not touched
