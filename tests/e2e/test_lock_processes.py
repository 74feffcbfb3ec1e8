"""InstanceLock across real processes: a second holder is refused by name and PID; SIGKILL leaves no stale lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from btcbot.errors import InstanceLockHeld
from btcbot.lock import InstanceLock, lock_path_for, lock_status

pytestmark = pytest.mark.e2e

_HOLDER = """
import sys, time
from btcbot.lock import InstanceLock
lock = InstanceLock(sys.argv[1], sys.argv[2])
lock.acquire()
print("locked", flush=True)
sys.stdin.read()  # hold until the test closes stdin (or kills us)
"""


def _start_holder(db: Path, scope: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(db), scope],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_instance_is_refused_and_sigkill_releases(tmp_path: Path) -> None:
    db = tmp_path / "var" / "state.db"
    holder = _start_holder(db, "acct1")
    try:
        assert lock_status(db, "acct1") == (True, holder.pid)
        with pytest.raises(InstanceLockHeld) as info:
            InstanceLock(db, "acct1", grace_s=0.05).acquire()
        assert info.value.holder_pid == holder.pid
        assert info.value.lock_path == str(lock_path_for(db, "acct1"))
        assert str(lock_path_for(db, "acct1")) in str(info.value) and f"PID {holder.pid}" in str(info.value)
        # Another scope on the same DB is independent.
        with InstanceLock(db, "acct2"):
            assert lock_status(db, "acct2") == (True, os.getpid())
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    # The kernel released the lock with the dead process: no stale lock, the file may remain.
    assert lock_path_for(db, "acct1").exists()
    assert lock_status(db, "acct1") == (False, None)
    with InstanceLock(db, "acct1") as lock:
        assert lock.held
    assert lock_status(db, "acct1") == (False, None)


def test_second_process_exits_with_clear_message(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with InstanceLock(db, "public"):
        proc = subprocess.run(
            [sys.executable, "-c", _HOLDER, str(db), "public"],
            capture_output=True,
            text=True,
            timeout=30,
            input="",
        )
    assert proc.returncode != 0
    assert "InstanceLockHeld" in proc.stderr and f"PID {os.getpid()}" in proc.stderr
    assert lock_status(db, "public") == (False, None)


def test_probe_on_missing_lock_file_and_scope_sanitising(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    assert lock_status(db, "x") == (False, None)
    assert lock_path_for(db, "a/b c").name == "state.db.a_b_c.lock"


def test_btcbot_run_refuses_a_held_scope_before_touching_anything(tmp_path: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("btcbot.commands.run") is None:
        pytest.skip("btcbot run has not landed yet")
    db = tmp_path / "state.db"
    env = {**os.environ, "STATE_DB_PATH": str(db), "BTCTURK_BASE_URL": "http://127.0.0.1:9"}
    with InstanceLock(db, "public"):
        proc = subprocess.run(
            [sys.executable, "-m", "btcbot", "run", "--once", "--dry-run"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=tmp_path,
        )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert str(lock_path_for(db, "public")) in proc.stderr and f"PID {os.getpid()}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not db.exists()  # the DB was not touched
