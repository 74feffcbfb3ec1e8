"""One bot per account, as operators met the failure: real ``python -m btcbot`` processes, simulator on loopback.

The incident: two ``canary loop`` runs started from two directories (relative STATE_DB_PATH, so two DBs) both
traded one account. Now the second is refused by the account's lock on this host, and by the venue check when
it runs elsewhere (another lock directory stands in for another host).
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
import requests

from btcbot import reason_codes as rc
from btcbot.sim import Simulator
from btcbot.storage import open_reader
from btcbot.testing.waiting import recorded_reason_codes, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

_CANARY = ("canary", "loop", "--symbol", "BTCTRY", "--notional-try", "150", "--ttl-seconds", "60",
           "--cycle-seconds", "0.2", "--max-cycles", "600")  # fmt: skip


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(seed=11, symbols=("BTCTRY",), market_tick_ms=100) as s:
        yield s


def _env(sim: Simulator, **extra: str) -> dict[str, str]:
    # No STATE_DB_PATH: the relative default, so each working directory has its own DB, as in the incident.
    return {
        **os.environ,
        "BTCTURK_BASE_URL": sim.rest_url,
        "BTCTURK_WS_URL": sim.ws_url,
        "BTCTURK_API_KEY": sim.api_key,
        "BTCTURK_API_SECRET": sim.api_secret,
        "LIVE_TRADING": "true",
        "LIVE_TRADING_ACK": "I_UNDERSTAND",
        "DRY_RUN": "false",
        "KILL_SWITCH": "false",
        "SAFE_MODE": "false",
        "TTL_SECONDS": "60",
        "CANARY_OFFSET_BPS": "150",  # 1.5 % under the bid (inside the price collar): it rests, so it is placed once
        "RECONCILE_MIN_INTERVAL_MS": "0",
        "TRACE_SINK_ENABLED": "false",
        "OTEL_SDK_DISABLED": "true",
        "PYTHONDONTWRITEBYTECODE": "1",
        **extra,
    }


def _start(cwd: Path, env: dict[str, str], *argv: str) -> subprocess.Popen[str]:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "btcbot", *argv], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _writes(sim: Simulator, method: str) -> list[dict[str, Any]]:
    log = requests.get(f"{sim.rest_url}/sim/requests", timeout=5).json()
    return [r for r in log if r["path"].startswith("/api/v1/order") and r["method"] == method]


def _wait_for_post(sim: Simulator, trader: subprocess.Popen[str]) -> None:
    def posted() -> list[dict[str, Any]]:
        assert trader.poll() is None, trader.communicate()
        return _writes(sim, "POST")

    wait_until(posted, what="the trading instance places its order", interval_s=0.05)


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # graceful: finish the step, cancel own orders, flush, exit 130
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err


def test_two_processes_from_two_directories_on_one_account(sim: Simulator, tmp_path: Path) -> None:
    env = _env(sim)
    a_dir, b_dir = tmp_path / "ops-a", tmp_path / "ops-b"
    # Started together, as in the incident (two POSTs 67 ms apart).
    procs = {"a": _start(a_dir, env, *_CANARY), "b": _start(b_dir, env, *_CANARY)}
    try:
        wait_until(lambda: any(p.poll() is not None for p in procs.values()), what="one instance is refused")
        ((loser, refused),) = [(k, p) for k, p in procs.items() if p.poll() is not None]
        winner = "b" if loser == "a" else "a"
        _wait_for_post(sim, procs[winner])
        out, err = refused.communicate(timeout=60)
        # A few more cycles of the winner with its order resting (a second order would show).
        winner_db = (tmp_path / f"ops-{winner}" / "var" / "btcbot_state.db").resolve()
        wait_until(
            lambda: recorded_reason_codes(winner_db).count(rc.STRATEGY_ORDER_ACTIVE) >= 2,
            what="two more cycles of the winner",
        )
        code, w_out, w_err = _stop(procs[winner])
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    assert refused.returncode == 2, out + err
    assert "another btcbot instance holds the lock" in err and f"PID {procs[winner].pid}" in err
    assert str(winner_db) in err  # which instance to stop, and where its state is
    assert "Traceback" not in err
    # Refused before touching a DB or the exchange (its log file, beside where its DB would be, may exist).
    loser_var = tmp_path / f"ops-{loser}" / "var"
    assert not any(p.name.startswith("btcbot_state.db") for p in loser_var.glob("*"))
    assert code == 130 and "cleanup=cancelled:1 left_open=0" in w_out, w_out + w_err  # stopped by us, cleanly
    assert f"state_db_path={winner_db}" in w_out.splitlines()[0]  # the banner shows the DB, resolved
    assert len(_writes(sim, "POST")) == 1  # exactly one instance traded, exactly once
    assert len(_writes(sim, "DELETE")) == 1  # and cancelled only its own order on stop


def test_another_host_on_the_same_account_is_refused_by_the_venue_check(sim: Simulator, tmp_path: Path) -> None:
    # Two lock directories: two hosts, which no local lock can join.
    a = _start(tmp_path / "host-a", _env(sim, LOCK_DIR=str(tmp_path / "host-a-locks")), *_CANARY)
    try:
        _wait_for_post(sim, a)
        b = _start(tmp_path / "host-b", _env(sim, LOCK_DIR=str(tmp_path / "host-b-locks")), *_CANARY[:-1], "3")
        b_out, b_err = b.communicate(timeout=120)
        still_trading = a.poll() is None
    finally:
        code, a_out, a_err = _stop(a)
    assert still_trading and code == 130 and "left_open=0" in a_out, a_out + a_err
    assert b.returncode == 2, b_out + b_err
    with open_reader(tmp_path / "host-a" / "var" / "btcbot_state.db") as con:
        ((cid, xid),) = con.execute("SELECT client_order_id, exchange_order_id FROM orders").fetchall()
    assert f"{cid} (exchange id {xid}, BTCTRY)" in b_err
    assert "another btcbot instance" in b_err and "--adopt-foreign-orders" in b_err
    assert "Traceback" not in b_err
    with open_reader(tmp_path / "host-b" / "var" / "btcbot_state.db") as con:
        decisions = con.execute("SELECT action, reason_code FROM decisions").fetchall()
        runs = con.execute("SELECT exit_code FROM runs").fetchall()
    assert decisions == [("refuse", rc.LOCK_FOREIGN_ORDERS)] and runs == [(2,)]
    assert len(_writes(sim, "POST")) == 1  # host B placed nothing


def test_a_hard_linked_db_is_the_same_account(sim: Simulator, tmp_path: Path) -> None:
    env = _env(sim, DRY_RUN="true", STATE_DB_PATH=str(tmp_path / "a" / "state.db"))
    holder = _start(tmp_path / "a", env, "run", "--loop", "--cycle-seconds", "0.2", "--max-cycles", "600")
    try:

        def db_created() -> bool:
            assert holder.poll() is None, holder.communicate()
            return (tmp_path / "a" / "state.db").exists()

        wait_until(db_created, what="the holder creates its DB", interval_s=0.05)
        (tmp_path / "b").mkdir()
        os.link(tmp_path / "a" / "state.db", tmp_path / "b" / "link.db")
        second = subprocess.run(
            [sys.executable, "-m", "btcbot", "run", "--once", "--dry-run"],
            cwd=tmp_path / "b",
            env={**env, "STATE_DB_PATH": str(tmp_path / "b" / "link.db")},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        code, out, err = _stop(holder)
    assert second.returncode == 2, second.stdout + second.stderr
    assert f"PID {holder.pid}" in second.stderr and "Traceback" not in second.stderr
    assert code == 130 and "anomaly: interrupted signal=SIGTERM" in out, out + err


def test_colliding_scope_spellings_are_refused_and_paths_are_shown_resolved(tmp_path: Path) -> None:
    def btcbot(*argv: str, **extra: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "BTCTURK_BASE_URL": "http://127.0.0.1:9", **extra}
        return subprocess.run(
            [sys.executable, "-m", "btcbot", *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )

    refused = btcbot("run", "--once", "--dry-run", ACCOUNT_SCOPE="pilot-1")
    assert refused.returncode == 2 and "ACCOUNT_SCOPE" in refused.stderr and "use 'pilot1'" in refused.stderr
    assert not (tmp_path / "var").exists()
    shown = btcbot("config", "show", "--json", ACCOUNT_SCOPE="pilot1")
    values = {k: v["value"] for k, v in json.loads(shown.stdout)["settings"].items()}
    assert values["STATE_DB_PATH"] == str(tmp_path.resolve() / "var" / "btcbot_state.db")
    assert values["ACCOUNT_SCOPE"] == "pilot1" and values["LOCK_DIR"] == os.environ["LOCK_DIR"]
