"""The read-side commands on a state DB that is damaged, or is not a file: exit 2 with what to do, no traceback.

A damaged DB opens (its catalog is intact) and fails only when a page is read; that failure used to escape as a
DuckDB traceback with exit 1 from stage7-report/-alerts/-export and status.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from btcbot.cli import main

COMMANDS = [
    ["stage7-report"],
    ["stage7-report", "--json"],
    ["stage7-alerts"],
    ["stage7-alerts", "--json"],
    ["stage7-export", "--out", "OUT"],
]


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def damaged(incident_db: Path, damage_db: Callable[..., None]) -> Path:
    damage_db(incident_db, broken="decisions", intact="schema_version")
    return incident_db


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_a_damaged_db_is_exit_2_saying_so(
    damaged: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    argv = [str(tmp_path / "x.jsonl") if a == "OUT" else a for a in argv]
    code, out, err = _run(capsys, [*argv, "--db", str(damaged)])
    assert code == 2, err
    assert "Traceback" not in out + err
    assert err.startswith("error: ") and f"state DB {damaged} is damaged" in err
    assert "point STATE_DB_PATH (or --db) at a new path" in err
    assert not (tmp_path / "x.jsonl").exists()


def test_status_on_a_damaged_db_is_exit_2_and_still_json(damaged: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, ["status", "--json", "--db", str(damaged)])
    doc: dict[str, Any] = json.loads(out)
    assert code == 2 and "Traceback" not in err
    assert doc["db_error"].startswith(f"state DB {damaged} is damaged") and doc["instance"]["running"] is False


@pytest.mark.parametrize("argv", [*COMMANDS, ["status"]], ids=" ".join)
def test_a_directory_is_named_as_a_directory_not_as_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    folder = tmp_path / "state.db"
    folder.mkdir()
    argv = [str(tmp_path / "x.jsonl") if a == "OUT" else a for a in argv]
    code, out, err = _run(capsys, [*argv, "--db", str(folder)])
    assert code == 2
    assert f"{folder} is a directory, not a file" in out + err
    assert "not found" not in out + err
