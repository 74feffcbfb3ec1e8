"""docs/strategies.md, walked as written: a strategy from a temporary directory (outside the repository) through
backtest, dry-run, canary once and canary loop, as real ``python -m btcbot`` processes against the simulator.

The strategy's source is copied out of the doc, so the page and the test cannot drift apart. Each step sets the
caps so that the strategy provokes refusals, and each refusal must be a decision record with its reason code:
stale data and the collar in the backtest, the balance in the dry run, the per-run order cap in canary once, the
position cap in canary loop. A mistake in naming the strategy is refused before the simulator hears anything.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests

from btcbot import reason_codes as rc
from btcbot.sim import Simulator

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

DOC = Path(__file__).resolve().parents[2] / "docs" / "strategies.md"
ORDER_PATH = "/api/v1/order"


def strategy_source() -> str:
    match = re.search(r"<!-- walk: grid\.py -->\n```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert match, "docs/strategies.md lost its walk: grid.py block"
    return match.group(1)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(seed=5, market_tick_ms=100) as s:
        yield s


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The user's own directory: the strategy file and its parameter files, nothing of btcbot's."""
    (tmp_path / "grid.py").write_text(strategy_source(), encoding="utf-8")
    return tmp_path


def btcbot(cwd: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "btcbot", *argv], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def base_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "BTCTURK_", "STRATEGY"))}
    env.update(
        {
            "STATE_DB_PATH": str(home / "var" / "state.db"),
            "TRACE_SINK_ENABLED": "false",
            "OTEL_SDK_DISABLED": "true",
            "PYTHONDONTWRITEBYTECODE": "1",
            **extra,
        }
    )
    return env


def sim_env(sim: Simulator, home: Path, **extra: str) -> dict[str, str]:
    """Armed against the simulator, as in runbook stage 2 (the dry run adds --dry-run)."""
    return base_env(
        home,
        BTCTURK_BASE_URL=sim.rest_url,
        BTCTURK_WS_URL=sim.ws_url,
        BTCTURK_API_KEY=sim.api_key,
        BTCTURK_API_SECRET=sim.api_secret,
        LIVE_TRADING="true",
        LIVE_TRADING_ACK="I_UNDERSTAND",
        DRY_RUN="false",
        KILL_SWITCH="false",
        SAFE_MODE="false",
        UNIVERSE_SYMBOLS="BTCTRY",
        RECONCILE_MIN_INTERVAL_MS="0",
        **extra,
    )


def writes(sim: Simulator) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = requests.get(f"{sim.rest_url}/sim/requests", timeout=5).json()
    return [r for r in log if r["path"].startswith(ORDER_PATH) and r["method"] in ("POST", "DELETE")]


def codes_of(db: Path, command: str | None = None) -> Counter[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        sql = "SELECT reason_code FROM decisions"
        params: list[Any] = []
        if command is not None:
            sql += " WHERE run_id IN (SELECT run_id FROM runs WHERE command = ?)"
            params.append(command)
        return Counter(r[0] for r in con.execute(sql, params).fetchall())
    finally:
        con.close()


def settings_of_last_run(db: Path) -> dict[str, str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("SELECT settings_json FROM runs ORDER BY started_at DESC LIMIT 1").fetchone()
    finally:
        con.close()
    assert row is not None
    doc: dict[str, str] = json.loads(row[0])
    return doc


def test_the_strategy_in_the_doc_is_about_thirty_lines() -> None:
    code = [line for line in strategy_source().splitlines() if line.strip()]
    assert len(code) <= 32


def test_walk_backtest_dry_run_canary_once_canary_loop(sim: Simulator, home: Path) -> None:
    grid = f"{home / 'grid.py'}:Grid"

    # 1. Backtest on the shipped dataset: levels 1.5% and 3% away; the collar (2%) refuses the outer ones.
    (home / "backtest.toml").write_text('[strategy]\nlevels = 2\nstep_bps = 150\nquantity = "0.00003"\n')
    bt_db = home / "var" / "backtest.db"
    env = base_env(home, MAX_ORDERS_PER_CYCLE="4", MAX_OPEN_ORDERS_PER_SYMBOL="4", NOTIONAL_CAP_TRY_PER_CYCLE="600")
    proc = btcbot(home, env, "backtest", "--strategy", grid, "--strategy-config", "backtest.toml", "--db", str(bt_db))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    codes = codes_of(bt_db)
    assert codes[rc.MARKET_DATA_STALE] >= 1  # the dataset's stale episode: the strategy was not asked
    assert codes[rc.RISK_PRICE_COLLAR] >= 2 and codes[rc.ORDER_SUBMITTED] >= 2
    assert json.loads(settings_of_last_run(bt_db)["STRATEGY_PARAMS"])["step_bps"] == "150"
    report = btcbot(home, env, "stage7-report", "--db", str(bt_db), "--last", "500")
    assert report.returncode in (0, 1) and rc.RISK_PRICE_COLLAR in report.stdout

    # 2. Dry run against the simulator, by module name on PYTHONPATH: 2 BTC a side, more than the account holds.
    env = sim_env(
        sim,
        home,
        PYTHONPATH=str(home),
        STRATEGY="grid:Grid",
        STRATEGY_PARAMS='{"quantity": "2"}',
        MAX_ORDERS_PER_CYCLE="2",
        MAX_OPEN_ORDERS_PER_SYMBOL="2",
        MAX_NOTIONAL_PER_ORDER_TRY="20000000",
        NOTIONAL_CAP_TRY_PER_CYCLE="40000000",
    )
    proc = btcbot(home, env, "run", "--loop", "--cycle-seconds", "0.2", "--max-cycles", "3", "--dry-run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "btcbot run: strategy=grid (grid:Grid) params=" in proc.stdout
    db = home / "var" / "state.db"
    codes = codes_of(db, "run")
    assert codes[rc.RISK_INSUFFICIENT_BALANCE] == 6  # both sides, three cycles
    assert writes(sim) == []

    # 3. Canary once, armed: one order of the strategy's choosing; every further one is refused for the run.
    (home / "canary.toml").write_text('[strategy]\nlevels = 2\nstep_bps = 30\nquantity = "0.00003"\n')
    env = sim_env(sim, home, MAX_ORDERS_PER_CYCLE="4", MAX_OPEN_ORDERS_PER_SYMBOL="4", NOTIONAL_CAP_TRY_PER_CYCLE="600")
    order = ["--symbol", "BTCTRY", "--notional-try", "150", "--cycle-seconds", "0.2"]
    proc = btcbot(home, env, "canary", "once", *order, "--ttl-seconds", "1", "--strategy", grid,
                  "--strategy-config", "canary.toml")  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sent = writes(sim)
    assert [w["method"] for w in sent if w["method"] == "POST"] == ["POST"]
    assert len(sent) <= 2  # and at most its cancel (TTL or no longer wanted), unless it filled first
    codes = codes_of(db, "canary_once")
    assert codes[rc.ORDER_SUBMITTED] == 1 and codes[rc.RISK_MAX_ORDERS_PER_RUN] >= 3

    # 4. Canary loop, armed: the position cap lets one order per side through, not two.
    env = sim_env(
        sim,
        home,
        PYTHONPATH=str(home),
        STRATEGY="grid:Grid",
        STRATEGY_PARAMS='{"levels": 2, "step_bps": 30, "quantity": "0.00003"}',
        MAX_POSITION_BASE="0.00004",
        MAX_ORDERS_PER_CYCLE="4",
        MAX_OPEN_ORDERS_PER_SYMBOL="4",
        NOTIONAL_CAP_TRY_PER_CYCLE="600",
    )
    before = len(writes(sim))
    proc = btcbot(home, env, "canary", "loop", *order, "--ttl-seconds", "30", "--max-cycles", "4")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    codes = codes_of(db, "canary_loop")
    assert codes[rc.ORDER_SUBMITTED] >= 2 and codes[rc.RISK_MAX_POSITION] >= 2
    loop_writes = writes(sim)[before:]
    assert sum(w["method"] == "POST" for w in loop_writes) == codes[rc.ORDER_SUBMITTED]
    report = btcbot(home, env, "stage7-report", "--last", "500")
    assert report.returncode in (0, 1) and rc.RISK_MAX_POSITION in report.stdout


def test_a_strategy_that_is_not_there_is_refused_before_the_simulator_hears_anything(
    sim: Simulator, home: Path
) -> None:
    env = sim_env(sim, home)
    elsewhere = home / "elsewhere"  # `python -m` puts the working directory on sys.path: run from another one
    elsewhere.mkdir()
    cases = [
        (["run", "--once", "--strategy", f"{home / 'grid.py'}:Nope"], "grid.py has no Nope"),
        (["run", "--once", "--strategy", "grid:Grid"], "no module named 'grid'"),  # not on PYTHONPATH
        (["canary", "once", "--symbol", "BTCTRY", "--notional-try", "150", "--ttl-seconds", "30",
          "--strategy", f"{home / 'grid.py'}:Grid", "--strategy-config", "absent.toml"], "file not found"),
    ]  # fmt: skip
    for argv, fragment in cases:
        proc = btcbot(elsewhere, env, *argv)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in proc.stderr
    bad_params = {**env, "STRATEGY": f"{home / 'grid.py'}:Grid", "STRATEGY_PARAMS": '{"levels": 0}'}
    proc = btcbot(elsewhere, bad_params, "run", "--once")
    assert proc.returncode == 2 and "levels: Input should be greater than or equal to 1" in proc.stderr
    seen = requests.get(f"{sim.rest_url}/sim/requests", timeout=5).json()
    assert seen == []
    assert not (home / "var" / "state.db").exists()
