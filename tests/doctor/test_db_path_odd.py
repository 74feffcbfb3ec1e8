"""Every odd STATE_DB_PATH is a db_path FAIL with its reason, never a traceback; nothing beside it is probed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from btcbot.doctor.model import Status
from btcbot.doctor.mounts import filesystem_type, pseudo_filesystem
from btcbot.doctor.runner import DoctorOptions, run_checks
from btcbot.settings import load_settings

OFFLINE = DoctorOptions("24h", 86400, offline=True)
DEPENDENT = ("db_schema", "intent_journal", "slo_max_drawdown_ratio", "unknown_orders")
# The instance lock is the account scope's (in LOCK_DIR), so it is probed whatever STATE_DB_PATH is.


def _file(path: Path) -> Path:
    path.write_text("not a directory")
    return path


def _loop(tmp: Path) -> Path:
    (tmp / "loop").symlink_to(tmp / "loop")
    return tmp / "loop" / "state.db"


def _unwritable(tmp: Path) -> Path:
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere; covered by test_unwritable_directory_for_an_unprivileged_user")
    d = tmp / "ro"
    d.mkdir()
    d.chmod(0o500)
    return d / "state.db"


def _dev(tmp: Path) -> Path:
    if filesystem_type(Path("/dev")) != "devtmpfs":
        pytest.skip("/dev is not devtmpfs on this host")
    return Path("/dev/btcbot-state.db")


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "parent is a regular file": (lambda t: _file(t / "f") / "state.db", "is not a directory"),
    "an ancestor is a regular file": (lambda t: _file(t / "f") / "sub" / "state.db", "is not a directory"),
    "a directory at the DB path": (lambda t: t, "exists but is not a file"),
    "a device at the DB path": (lambda t: Path("/dev/null"), "exists but is not a file"),
    "directly in /proc": (lambda t: Path("/proc/state.db"), "proc filesystem"),
    "deeper in /proc": (lambda t: Path("/proc/self/btcbot/state.db"), "proc filesystem"),
    "in /sys": (lambda t: Path("/sys/state.db"), "sysfs filesystem"),
    "deeper in /sys": (lambda t: Path("/sys/kernel/btcbot/state.db"), "sysfs filesystem"),
    "in /dev": (_dev, "devtmpfs filesystem"),
    "a symlink loop": (_loop, "Symlink loop"),
    "a name too long": (lambda t: t / ("a" * 300) / "state.db", "File name too long"),
    "a home that does not exist": (lambda t: Path("~no-such-user-btcbot/state.db"), "cannot be resolved"),
    "an unwritable directory": (_unwritable, "not writable"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_odd_db_path_is_a_fail_with_a_reason(case: str, tmp_path: Path) -> None:
    make, expected = CASES[case]
    settings = load_settings(state_db_path=make(tmp_path))
    report = run_checks(settings, None, OFFLINE)
    by = {c.name: c for c in report.checks}
    assert by["db_path"].status is Status.FAIL, by["db_path"]
    assert expected in by["db_path"].reason and by["db_path"].action != "none"
    for name in DEPENDENT:
        assert by[name].status is Status.SKIP and "STATE_DB_PATH unusable" in by[name].reason
    assert by["instance_lock"].status is Status.PASS
    assert report.exit_code == 2


def test_ordinary_paths_still_pass(tmp_path: Path) -> None:
    for path in (tmp_path / "new" / "deeper" / "state.db", tmp_path / "state.db"):
        by = {c.name: c for c in run_checks(load_settings(state_db_path=path), None, OFFLINE).checks}
        assert by["db_path"].status is Status.PASS and by["instance_lock"].status is Status.PASS


def _doctor(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "btcbot", "doctor", "--offline"],
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.e2e
@pytest.mark.parametrize("case", ["parent is a regular file", "directly in /proc", "in /sys", "a symlink loop"])
def test_the_cli_exits_2_without_a_traceback(case: str, tmp_path: Path) -> None:
    make, expected = CASES[case]
    proc = _doctor({"STATE_DB_PATH": str(make(tmp_path))}, tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr == ""
    [line] = [ln for ln in proc.stdout.splitlines() if ln.startswith("FAIL  db_path")]
    assert expected in line
    assert proc.stdout.splitlines()[-1] == "doctor_status=FAIL"


def _db_path_check_as(uid: int, db: Path) -> tuple[str, str]:
    """Run the doctor's checks in a forked child that dropped to ``uid`` (the interpreter itself lives under /root,
    so a fresh process could not start as that user); returns db_path's status and reason."""
    run_checks(load_settings(state_db_path=db), None, OFFLINE)  # import everything before dropping privileges
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read_end)
            os.setgid(uid)
            os.setuid(uid)
            by = {c.name: c for c in run_checks(load_settings(state_db_path=db), None, OFFLINE).checks}
            os.write(write_end, json.dumps([by["db_path"].status.value, by["db_path"].reason]).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child raised: a traceback, not a FAIL"
    verdict, reason = json.loads(data)
    return str(verdict), str(reason)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user (non-root runs the chmod case)")
def test_unwritable_directory_for_an_unprivileged_user() -> None:
    # A root-owned 0755 directory is not writable for 'nobody'; its 0700 sibling may not even be entered.
    base = Path(tempfile.mkdtemp(prefix="btcbot-doctor-", dir="/tmp"))
    try:
        base.chmod(0o755)
        (base / "sealed").mkdir(mode=0o700)
        assert _db_path_check_as(65534, base / "state.db") == ("FAIL", f"{base} is not writable by this user")
        status, reason = _db_path_check_as(65534, base / "sealed" / "state.db")
        assert status == "FAIL" and "Permission denied" in reason
    finally:
        shutil.rmtree(base)


def test_mountinfo_parsing_picks_the_deepest_mount(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(
        "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
        "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
        "23 27 0:22 / /sys rw,relatime shared:7 - sysfs sysfs rw\n"
        "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
        "40 27 0:40 / /srv/my\\040data rw - xfs /dev/vdb rw\n"
    )
    assert pseudo_filesystem(Path("/proc/1/x"), info) == "proc"
    assert pseudo_filesystem(Path("/sys/kernel"), info) == "sysfs"
    assert filesystem_type(Path("/sys/fs/cgroup/x"), info) == "tmpfs"
    assert pseudo_filesystem(Path("/sys/fs/cgroup/x"), info) is None
    assert filesystem_type(Path("/srv/my data/state.db"), info) == "xfs"
    assert filesystem_type(Path("/var/lib/state.db"), info) == "ext4"
    assert filesystem_type(Path("/x"), tmp_path / "absent") is None
