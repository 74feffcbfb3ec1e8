"""An unresolvable STATE_DB_PATH (a symlink loop) is an operator's error everywhere, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from btcbot.errors import StateStoreUnavailable
from btcbot.lock import InstanceLock
from btcbot.storage import open_reader, prepare_db_path
from btcbot.storage.paths import resolve_db_path


@pytest.fixture
def looped(tmp_path: Path) -> Path:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    return tmp_path / "a" / "state.db"


@pytest.mark.parametrize(
    "use",
    [resolve_db_path, prepare_db_path, lambda p: open_reader(p).__enter__(), InstanceLock.for_output_db],
    ids=["resolve", "store", "reader", "replay_lock"],
)
def test_a_symlink_loop_is_state_store_unavailable(looped: Path, use) -> None:
    with pytest.raises(StateStoreUnavailable, match="symlink loop"):
        use(looped)


def test_a_plain_path_resolves_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_db_path("var/x.db") == tmp_path.resolve() / "var" / "x.db"


@pytest.mark.parametrize("argv", [["run", "--once", "--dry-run"], ["status"]])
def test_commands_refuse_a_looped_db_path_with_exit_2(looped: Path, tmp_path: Path, argv: list[str]) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "STATE_DB_PATH": str(looped),
        "LOCK_DIR": str(tmp_path / "locks"),
        "LOG_FILE": "off",
        "BTCTURK_BASE_URL": "http://127.0.0.1:9",  # nothing listens; the path must be refused first anyway
    }
    proc = subprocess.run(
        [sys.executable, "-m", "btcbot", *argv], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "Traceback" not in out and "STATE_DB_PATH" in out
