"""LOG_FILE: the runtime's logs in a rotating file beside the DB, redacted like stderr; and doctor's log_file check."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from btcbot.doctor.log_file import check_log_file
from btcbot.doctor.model import Status
from btcbot.errors import ConfigError
from btcbot.settings import Settings
from btcbot.telemetry.logs import close_log_file, configure_log_file

API_KEY = "LOGFILE-key-5d1e0b77"
API_SECRET = "TE9HRklMRS1zZWNyZXQtNWQxZTBiNzc="  # base64, as BTCTurk's are


@pytest.fixture
def root_logging() -> Iterator[list[logging.Handler]]:
    """Handlers a test installs on the root logger are closed and removed afterwards."""
    root = logging.getLogger()
    installed: list[logging.Handler] = []
    level = root.level
    yield installed
    for handler in installed:
        close_log_file(handler)
    root.setLevel(level)


def settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(
        state_db_path=tmp_path / "var" / "state.db",
        btcturk_api_key=API_KEY,
        btcturk_api_secret=API_SECRET,
        **overrides,
    )


def test_the_default_is_btcbot_log_beside_the_db_and_off_disables_it(tmp_path: Path) -> None:
    assert settings(tmp_path).log_file_path == (tmp_path / "var" / "btcbot.log").resolve()
    assert settings(tmp_path, log_file="  ").log_file_path == (tmp_path / "var" / "btcbot.log").resolve()
    assert settings(tmp_path, log_file="OFF").log_file_path is None
    assert (
        settings(tmp_path, log_file=str(tmp_path / "logs" / "bot.log")).log_file_path == tmp_path / "logs" / "bot.log"
    )
    assert configure_log_file(settings(tmp_path, log_file="off")) is None


def test_runtime_logs_reach_the_file_as_redacted_json_lines(
    tmp_path: Path, root_logging: list[logging.Handler]
) -> None:
    s = settings(tmp_path, log_level="DEBUG")
    handler = configure_log_file(s)
    assert handler is not None
    root_logging.append(handler)
    logging.getLogger().setLevel(logging.DEBUG)
    log = logging.getLogger("btcbot.runtime.test")
    log.info("cycle %d done", 7, extra={"cycle_id": 7})
    log.warning("request with key %s and X-PCK: %s", API_KEY, API_KEY)
    try:
        raise ValueError(f"secret {API_SECRET} in an exception")
    except ValueError:
        log.exception("failed")
    handler.flush()
    path = s.log_file_path
    assert path is not None and path.parent.is_dir()
    text = path.read_text(encoding="utf-8")
    assert API_KEY not in text and API_SECRET not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["message"] == "cycle 7 done"
    assert lines[0]["cycle_id"] == 7 and lines[0]["level"] == "INFO"
    assert "[REDACTED]" in lines[1]["message"] and "[REDACTED]" in lines[2]["exc"]


def test_the_file_rotates_and_keeps_only_the_configured_backups(
    tmp_path: Path, root_logging: list[logging.Handler]
) -> None:
    s = settings(tmp_path, log_file_max_bytes=2000, log_file_backups=2)
    handler = configure_log_file(s)
    assert handler is not None
    root_logging.append(handler)
    logging.getLogger().setLevel(logging.INFO)
    log = logging.getLogger("btcbot.rotation")
    for n in range(200):
        log.info("line %03d %s", n, "x" * 40)
    handler.flush()
    path = s.log_file_path
    assert path is not None
    names = sorted(p.name for p in path.parent.iterdir() if p.name.startswith("btcbot.log"))
    assert names == ["btcbot.log", "btcbot.log.1", "btcbot.log.2"]
    assert all(p.stat().st_size <= 2000 for p in path.parent.iterdir() if p.name.startswith("btcbot.log"))
    # The newest line is in the live file, and nothing older than the two backups survives.
    assert json.loads(path.read_text(encoding="utf-8").splitlines()[-1])["message"].startswith("line 199")
    kept = "".join((path.parent / n).read_text(encoding="utf-8") for n in names)
    assert "line 000" not in kept


def test_a_log_file_that_cannot_be_opened_refuses_to_start(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    s = settings(tmp_path, log_file=str(tmp_path / "a-file" / "btcbot.log"))
    with pytest.raises(ConfigError, match=r"LOG_FILE .* cannot open it for writing.*LOG_FILE=off"):
        configure_log_file(s)


def test_doctor_names_the_log_file(tmp_path: Path) -> None:
    ok = check_log_file(settings(tmp_path))
    assert ok.status is Status.PASS and str(tmp_path / "var" / "btcbot.log") in ok.reason
    assert ok.details["path"] == str((tmp_path / "var" / "btcbot.log").resolve())
    off = check_log_file(settings(tmp_path, log_file="off"))
    assert off.status is Status.SKIP and "stderr only" in off.reason
    (tmp_path / "a-dir.log").mkdir()
    not_a_file = check_log_file(settings(tmp_path, log_file=str(tmp_path / "a-dir.log")))
    assert not_a_file.status is Status.FAIL and "not a file" in not_a_file.reason
    (tmp_path / "a-file").write_text("")
    under_a_file = check_log_file(settings(tmp_path, log_file=str(tmp_path / "a-file" / "x.log")))
    assert under_a_file.status is Status.FAIL and "not a directory" in under_a_file.reason


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_doctor_fails_an_unwritable_log_directory(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = check_log_file(settings(tmp_path, log_file=str(locked / "btcbot.log")))
    finally:
        locked.chmod(0o700)
    assert result.status is Status.FAIL and "not writable" in result.reason and "LOG_FILE=off" in result.action
