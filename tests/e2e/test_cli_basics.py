"""The CLI as an operator meets it: real subprocesses, exit codes, one-line errors, no tracebacks, speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

# A closed loopback port: the network checks fail at once instead of waiting on DNS or a remote host.
_UNREACHABLE = "http://127.0.0.1:9"


def btcbot(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "btcbot", *args],
        cwd=tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_live_trading_maybe_fails_doctor_naming_the_variable(tmp_path: Path) -> None:
    proc = btcbot(tmp_path, "doctor", env={"LIVE_TRADING": "maybe", "BTCTURK_BASE_URL": _UNREACHABLE})
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    config_line = next(line for line in proc.stdout.splitlines() if line.startswith("FAIL  config"))
    assert "LIVE_TRADING" in config_line and "accepted: true, false" in config_line
    assert proc.stdout.splitlines()[-1] == "doctor_status=FAIL"


def test_doctor_with_defaults_prints_status_and_exits_0_or_1(tmp_path: Path) -> None:
    # Truly default settings: the real exchange URL (reachable or not, doctor must not FAIL an observe-only host).
    proc = btcbot(tmp_path, "doctor")
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] in ("doctor_status=PASS", "doctor_status=WARN")
    assert not (tmp_path / "var" / "btcbot_state.db").exists()  # doctor never creates the DB


def test_doctor_json_offline_schema(tmp_path: Path) -> None:
    # Cold-start speed is kept by what doctor --offline imports (next test), never by a wall-clock bound.
    proc = btcbot(tmp_path, "doctor", "--offline", "--json", "--window", "2h")
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema_version"] == 1 and doc["window"] == "2h" and doc["window_seconds"] == 7200
    assert doc["offline"] is True and doc["doctor_status"] in ("PASS", "WARN")
    by = {c["name"]: c["status"] for c in doc["checks"]}
    assert by["exchange_connectivity"] == "SKIP" and by["clock_offset"] == "SKIP"


def test_offline_doctor_does_not_import_network_or_db_libraries(tmp_path: Path) -> None:
    code = (
        "import sys; from btcbot.cli import main; rc = main(['doctor', '--offline']); "
        "print('LOADED', sorted(m for m in ('requests', 'duckdb', 'websocket', 'pykka') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert "LOADED []" in proc.stdout, proc.stdout + proc.stderr


def test_bad_value_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = btcbot(tmp_path, "config", "show", env={"MAX_ORDERS_PER_CYCLE": "abc"})
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "MAX_ORDERS_PER_CYCLE" in lines[0]


def test_config_show_sources_and_env_file_unknown_key(tmp_path: Path) -> None:
    env_file = tmp_path / ".env.pilot"
    env_file.write_text("TTL_SECONDS=45\nMAX_MARKET_DATA_AGE_MS=2000\n")
    proc = btcbot(tmp_path, "config", "show", "--env-file", str(env_file), "--json", env={"TTL_SECONDS": "60"})
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["settings"]
    assert doc["TTL_SECONDS"] == {"value": "60", "source": "environment"}
    assert doc["MAX_MARKET_DATA_AGE_MS"] == {"value": "2000", "source": "env file"}
    assert doc["DRY_RUN"] == {"value": "true", "source": "default"}
    assert doc["BTCTURK_API_KEY"]["value"] == "unset"

    env_file.write_text("LIVE_TRADNG=true\n")
    bad = btcbot(tmp_path, "doctor", "--offline", "--env-file", str(env_file))
    assert bad.returncode == 2 and "LIVE_TRADNG" in bad.stdout and "Traceback" not in bad.stderr


def test_usage_errors_and_help(tmp_path: Path) -> None:
    proc = btcbot(tmp_path, "doctor", "--offline", "--window", "0")
    assert proc.returncode == 2 and "positive duration" in proc.stderr and "Traceback" not in proc.stderr
    helped = btcbot(tmp_path, "--help")
    assert helped.returncode == 0 and helped.stderr == ""
    assert "doctor" in helped.stdout and "exit codes:" in helped.stdout and "130" in helped.stdout
    run_help = btcbot(tmp_path, "run", "--help")
    assert (
        run_help.returncode == 0 and "--max-cycles N" in run_help.stdout and "e.g. --max-cycles 60" in run_help.stdout
    )
    typo = btcbot(tmp_path, "config", "show", "--bogus")
    assert typo.returncode == 2 and typo.stdout == "" and "Traceback" not in typo.stderr
    assert typo.stderr.splitlines()[0] == "error: config show: unknown flag --bogus"
