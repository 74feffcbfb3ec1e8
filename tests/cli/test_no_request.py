"""Real ``python -m btcbot`` processes, fully armed against the simulator: a mistaken command line sends nothing.

A representative subset of the in-process table (each kind of mistake, on run and canary once/loop, plus the
canary rules), because each process costs ~0.5 s. The simulator logs every API request it receives; the
positive control shows the same environment does reach it when the command line is right.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from btcbot.sim import Simulator

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

_ORDER = ["--symbol", "BTCTRY", "--notional-try", "150", "--ttl-seconds", "30"]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(seed=3, market_tick_ms=100) as s:
        yield s


def _armed_env(sim: Simulator, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "BTCTURK_"))}
    env.update(
        {
            "BTCTURK_BASE_URL": sim.rest_url,
            "BTCTURK_WS_URL": sim.ws_url,
            "BTCTURK_API_KEY": sim.api_key,
            "BTCTURK_API_SECRET": sim.api_secret,
            "STATE_DB_PATH": str(tmp_path / "state.db"),
            "LIVE_TRADING": "true",
            "LIVE_TRADING_ACK": "I_UNDERSTAND",
            "DRY_RUN": "false",
            "KILL_SWITCH": "false",
            "SAFE_MODE": "false",
            "UNIVERSE_SYMBOLS": "BTCTRY",
            "TRACE_SINK_ENABLED": "false",
            "OTEL_SDK_DISABLED": "true",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def _btcbot(env: dict[str, str], cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "btcbot", *argv], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def _requests_seen(sim: Simulator) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = requests.get(f"{sim.rest_url}/sim/requests", timeout=5).json()
    return log


_CASES = [
    (["run", "--once", "--dryrun"], "unknown flag --dryrun (did you mean --dry-run?)"),
    (["canary", "once", *_ORDER, "--dry-rn"], "unknown flag --dry-rn (did you mean --dry-run?)"),
    (["run", "--once", "--", "--dry-run"], "'--' is not accepted"),
    (["canary", "loop", *_ORDER, "--max-cycles"], "--max-cycles needs a value"),
    (["canary", "loop", *_ORDER, "--max-cycles", "5", "--max-cycles", "5"], "--max-cycles given twice"),
    (["run", "--loop", "--max-cycles", "five"], "--max-cycles five: expected a whole number in plain digits"),
    (["canary", "once", *_ORDER, "now"], "unexpected argument 'now'"),
    (["canary", "once"], "--symbol, --notional-try, --ttl-seconds must be given explicitly"),
    (["canary", "loop", *_ORDER[2:], "--symbol", "ETHTRY"], "--symbol ETHTRY is not in UNIVERSE_SYMBOLS=BTCTRY"),
]


@pytest.mark.parametrize(("argv", "fragment"), [pytest.param(a, f, id=" ".join(a)) for a, f in _CASES])
def test_armed_mistake_exits_2_and_sends_nothing(
    sim: Simulator, tmp_path: Path, argv: list[str], fragment: str
) -> None:
    proc = _btcbot(_armed_env(sim, tmp_path), tmp_path, *argv)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert fragment in proc.stderr.splitlines()[0], proc.stderr
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert _requests_seen(sim) == []
    assert not (tmp_path / "state.db").exists()


def test_positive_control_the_same_environment_reaches_the_simulator(sim: Simulator, tmp_path: Path) -> None:
    proc = _btcbot(_armed_env(sim, tmp_path), tmp_path, "run", "--once", "--dry-run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "mode=observe" in proc.stdout and "cli_dry_run" in proc.stdout
    seen = _requests_seen(sim)
    assert seen and not [r for r in seen if r["method"] in ("POST", "DELETE")]
