"""The ``log_file`` check: can ``run``/``canary`` keep their runtime logs where LOG_FILE says (nothing is created)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from btcbot.doctor.model import CheckResult, Status

if TYPE_CHECKING:
    from pathlib import Path

    from btcbot.settings import Settings

_ACTION = "fix the permissions, point LOG_FILE at a writable file, or set LOG_FILE=off (logs on stderr only)"


def _unwritable(path: Path) -> str | None:
    """Why a log file cannot be opened for appending at ``path`` (its directories are created), or None."""
    if path.exists():
        if not path.is_file():
            return f"{path} exists but is not a file"
        return None if os.access(path, os.W_OK) else f"{path} is not writable by this user"
    probe = path.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is not a directory, so {path} cannot be created"
    return None if os.access(probe, os.W_OK | os.X_OK) else f"{probe} is not writable by this user"


def check_log_file(settings: Settings) -> CheckResult:
    try:
        path = settings.log_file_path
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop while resolving
        return CheckResult("log_file", Status.FAIL, f"LOG_FILE cannot be resolved: {exc}", _ACTION)
    if path is None:
        return CheckResult(
            "log_file",
            Status.SKIP,
            "LOG_FILE=off: runtime logs go to stderr only",
            "set LOG_FILE (empty: btcbot.log beside the DB) so an incident has logs to archive",
        )
    details = {
        "path": str(path),
        "max_bytes": settings.log_file_max_bytes,
        "backups": settings.log_file_backups,
    }
    try:
        problem = _unwritable(path)
    except OSError as exc:
        problem = f"{exc.filename or path} cannot be inspected: {exc.strerror or type(exc).__name__}"
    if problem is not None:
        return CheckResult("log_file", Status.FAIL, problem, _ACTION, details)
    return CheckResult(
        "log_file",
        Status.PASS,
        f"run and canary log to {path} (rotated at {settings.log_file_max_bytes} bytes, "
        f"{settings.log_file_backups} kept); archive it with the incident evidence",
        "none",
        details,
    )
