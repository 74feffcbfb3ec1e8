"""What the operator watches, end to end against the simulator: the live line, ``btcbot status`` and LOG_FILE.

``run``/``canary`` run as real subprocesses (stdout is a pipe, so the live line is one ``key=value`` line per
cycle). The tests wait on those lines (a line is printed once its cycle is recorded), never on the clock.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from btcbot.doctor.slo import DB_CHECK_NAMES
from btcbot.sim import Simulator

pytestmark = pytest.mark.e2e

LINE_KEYS = [
    "cycle",
    "mode",
    "safe_mode",
    "BTCTRY.reason",
    "BTCTRY.market_data_age_ms",
    "order_submit_latency_ms",
    "reconcile_lag_ms",
    "update_to_order_ms",
    "cycle_ms",
    "open_orders",
    "unknown_orders",
    "elapsed_s",
    "remaining_s",
]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    # A still market: the canary's passive order rests, so what status shows open is what was placed.
    with Simulator(seed=7, market_tick_ms=0) as s:
        yield s


def env_for(sim: Simulator, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        {
            "BTCTURK_BASE_URL": sim.rest_url,
            "BTCTURK_WS_URL": sim.ws_url,
            "BTCTURK_API_KEY": sim.api_key,
            "BTCTURK_API_SECRET": sim.api_secret,
            "STATE_DB_PATH": str(tmp_path / "var" / "state.db"),
            "MIN_ORDER_NOTIONAL_TRY": "100",
            "RECONCILE_MIN_INTERVAL_MS": "0",
            "TRACE_SINK_ENABLED": "false",
            "KILL_SWITCH": "false",
            "SAFE_MODE": "false",
            **extra,
        }
    )
    return env


def btcbot(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "btcbot", *argv], env=env, capture_output=True, text=True, timeout=90, check=False
    )


def fields(line: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in line.split(" "))


def cycle_lines(stdout: str) -> list[dict[str, str]]:
    return [fields(line) for line in stdout.splitlines() if line.startswith("cycle=")]


def summary_cycles(stdout: str) -> int:
    line = next(line for line in stdout.splitlines() if line.startswith("run_id="))
    return int(fields(line)["cycles"])


def test_a_dry_run_loop_shows_one_line_per_cycle_and_keeps_a_log_file(sim: Simulator, tmp_path: Path) -> None:
    env = env_for(sim, tmp_path, LOG_LEVEL="DEBUG")
    proc = btcbot("run", "--dry-run", "--loop", "--cycle-seconds", "0.05", "--max-cycles", "5", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    lines = cycle_lines(proc.stdout)
    assert len(lines) == summary_cycles(proc.stdout) == 5
    assert [list(line) for line in lines] == [LINE_KEYS] * 5
    assert [line["cycle"] for line in lines] == [f"{n}/5" for n in range(1, 6)]
    for line in lines:
        assert line["mode"] == "observe" and line["safe_mode"] == "off"
        assert line["BTCTRY.reason"] == "dry_run:would_submit"
        assert line["order_submit_latency_ms"] == "-" and line["open_orders"] == "0"
        # Observe mode measures book update -> would-submit; a REST book is fetched inside the cycle.
        assert 0 <= float(line["update_to_order_ms"]) <= float(line["cycle_ms"])
    assert lines[-1]["remaining_s"] == "0.0"
    # The summary stays as it was: the machine-readable lines after the cycles.
    assert proc.stdout.splitlines()[-1] == "exit_code=0"

    log = tmp_path / "var" / "btcbot.log"
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    messages = [r["message"] for r in records]
    assert any(m.startswith("run started: run_id=") for m in messages), messages
    assert any(m.startswith("run ended: run_id=") and "exit_code=0" in m for m in messages), messages
    text = log.read_text(encoding="utf-8")
    assert sim.api_key not in text and sim.api_secret not in text


def test_status_while_a_canary_loop_runs_and_after_it_stopped(sim: Simulator, tmp_path: Path) -> None:
    env = env_for(
        sim, tmp_path, LIVE_TRADING="true", LIVE_TRADING_ACK="I_UNDERSTAND", DRY_RUN="false", TTL_SECONDS="60"
    )
    canary = ["canary", "loop", "--symbol", "BTCTRY", "--notional-try", "150", "--ttl-seconds", "60"]
    loop = subprocess.Popen(
        [sys.executable, "-m", "btcbot", *canary, "--cycle-seconds", "0.1", "--max-cycles", "100000"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert loop.stdout is not None
    try:
        header = loop.stdout.readline()
        run_id = fields(header.split(": ", 1)[1])["run_id"]
        assert loop.stdout.readline().startswith("btcbot canary loop: strategy=canary ")  # the strategy's banner
        raw = [loop.stdout.readline() for _ in range(3)]  # each line: that cycle is recorded
        seen = [fields(line.strip()) for line in raw]
        assert [s["cycle"] for s in seen] == ["1/100000", "2/100000", "3/100000"]
        proc = btcbot("status", "--json", env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        doc: dict[str, Any] = json.loads(proc.stdout)
    finally:
        loop.send_signal(signal.SIGINT)
        out, err = loop.communicate(timeout=60)
    instance = doc["instance"]
    assert instance["running"] is True and instance["pid"] == loop.pid and instance["run_id"] == run_id
    assert instance["cycles"] >= 2 and instance["mode"] == "live" and instance["uptime_s"] >= 0
    # Cycle 1 placed the canary order; with a 60 s TTL in a still market it rests, the only one open.
    assert [(o["symbol"], o["side"], o["status"]) for o in doc["open_orders"]] == [("BTCTRY", "buy", "OPEN")]
    m = doc["metrics"]
    assert m["order_submit_latency_ms"]["samples"] == 1 and m["update_to_order_ms"]["samples"] == 1
    assert m["reconcile_lag_ms"]["samples"] >= 1 and m["cycle_duration_ms"]["samples"] == instance["cycles"]
    assert m["invalid_best_bid_count"] == 0 and m["stale_market_data_rate"] == 0.0
    assert 0 <= m["update_to_order_ms"]["max"] <= m["cycle_duration_ms"]["max"]
    newest = instance["cycles"]
    shown = doc["last_cycles"]
    assert [c["cycle_id"] for c in shown] == list(range(newest, max(0, newest - 10), -1))
    for c in shown:
        expected = "order:submitted" if c["cycle_id"] == 1 else "strategy:order_active"
        assert c["reasons"] == [{"symbol": "BTCTRY", "reason_code": expected}] and c["run_id"] == run_id
    assert [c["name"] for c in doc["slos"]] == list(DB_CHECK_NAMES)
    assert doc["alerts"] == []

    # Every cycle the loop ran got its line, and the summary is unchanged after them.
    lines = cycle_lines("".join(raw) + out)
    assert len(lines) == summary_cycles(out) >= 3, err[-2000:]
    assert out.splitlines()[-1] == f"exit_code={loop.returncode}"

    after = btcbot("status", "--json", env=env)
    ended = json.loads(after.stdout)["instance"]
    assert ended["running"] is False and ended["pid"] is None and ended["run_id"] == run_id
    assert ended["exit_code"] == loop.returncode and ended["ended_at"] is not None
    assert ended["cycles"] == len(lines)
    assert json.loads(after.stdout)["open_orders"] == []  # the graceful stop cancelled the canary order
