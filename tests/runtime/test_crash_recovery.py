"""g) SIGKILL in the middle of a submit, then restart: no duplicate order, the orphan is resolved.

Real subprocesses (``python -m btcbot``) against an in-process simulator over loopback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from decimal import Decimal

import pytest
import requests

from btcbot import reason_codes as rc
from btcbot.arming import ArmingGate
from btcbot.domain.orders import OrderIntent, OrderSide, client_order_id
from btcbot.exchange.btcturk import BtcturkExchange
from btcbot.storage import StateStore, open_reader
from btcbot.storage.intent_journal import find_journals, read_journal
from btcbot.testing.waiting import recorded_reason_codes, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _env(harness) -> dict[str, str]:
    s = harness.settings()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "BTCTURK_"))}
    env.update(
        {
            "BTCTURK_BASE_URL": harness.sim.rest_url,
            "BTCTURK_WS_URL": harness.sim.ws_url,
            "BTCTURK_API_KEY": harness.sim.api_key,
            "BTCTURK_API_SECRET": harness.sim.api_secret,
            "STATE_DB_PATH": str(s.state_db_path),
            "LIVE_TRADING": "true",
            "LIVE_TRADING_ACK": "I_UNDERSTAND",
            "DRY_RUN": "false",
            "KILL_SWITCH": "false",
            "SAFE_MODE": "false",
            "TTL_SECONDS": "60",
            "CANCEL_OPEN_ORDERS_ON_STOP": "false",
            "TRACE_SINK_ENABLED": "false",
            "OTEL_SDK_DISABLED": "true",
            "RECONCILE_MIN_INTERVAL_MS": "0",
        }
    )
    return env


def _canary(env: dict[str, str], max_cycles: int, *flags: str) -> subprocess.Popen[str]:
    argv = [
        sys.executable,
        "-m",
        "btcbot",
        "canary",
        "loop",
        "--symbol",
        "BTCTRY",
        "--notional-try",
        "150",
        "--ttl-seconds",
        "60",
        "--cycle-seconds",
        "0.2",
        "--max-cycles",
        str(max_cycles),
        *flags,
    ]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _posts(harness) -> list[dict]:
    return [w for w in harness.writes() if w["method"] == "POST"]


def _wait_for_post(harness, proc: subprocess.Popen[str]) -> None:
    def posted() -> bool:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        return bool(_posts(harness))

    wait_until(posted, what="the run submits its order", interval_s=0.05)


def test_g_sigkill_mid_submit_then_restart_never_duplicates(harness):
    env = _env(harness)
    settings = harness.armed(ttl_seconds=60)
    harness.faults(drop_order_response=True)  # the submit is booked, and its answer never comes
    proc = _canary(env, max_cycles=50)
    try:
        _wait_for_post(harness, proc)
        proc.send_signal(signal.SIGKILL)  # mid-submit: the order is booked, the client still waits
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    harness.faults(drop_order_response=False)
    # Written ahead of the send (the intent journal), never acknowledged: not yet in the DB file itself...
    journaled = [row for path in find_journals(settings.state_db_path) for row in read_journal(path)]
    assert [r["status"] for r in journaled] == ["INTENT"]
    crashed_cid = journaled[0]["client_order_id"]
    # ...and the next store to open the DB folds it in, before anything else can read or decide.
    recovered = StateStore(settings.state_db_path)
    try:
        rows = recovered.query("SELECT client_order_id, status FROM orders")
    finally:
        recovered.close()
    assert rows == [(crashed_cid, "INTENT")]

    # An order of this bot the DB never heard of (as if its row was lost): an orphan for the restart to find.
    scope = settings.resolved_account_scope
    orphan_cid = client_order_id(scope, "lost-decision")
    ex = BtcturkExchange.from_settings(settings)
    try:
        ex.submit_order(
            OrderIntent("BTCTRY", OrderSide.BUY, Decimal(1_000_000), Decimal("0.0002"), orphan_cid),
            ArmingGate.from_settings(settings).submit_token(),
        )
    finally:
        ex.close()

    restart = _canary(env, max_cycles=3)
    out, _ = restart.communicate(timeout=60)
    # A prefixed order the DB never heard of may as well be another instance's: the restart refuses to arm...
    assert restart.returncode == 2, out
    assert orphan_cid in out and "--adopt-foreign-orders" in out and "Traceback" not in out
    assert len(_posts(harness)) == 2  # the crashed run's one order and the planted orphan; nothing new
    with open_reader(settings.state_db_path) as con:
        orders = dict(con.execute("SELECT client_order_id, status FROM orders").fetchall())
        refused = con.execute(
            "SELECT reason_code, action FROM decisions WHERE run_id IN (SELECT run_id FROM runs)"
        ).fetchall()
    # ...after resolving its own crashed submit by client id, and without adopting what it cannot vouch for.
    assert orders == {crashed_cid: "OPEN"}
    assert refused == [(rc.LOCK_FOREIGN_ORDERS, "refuse")]

    # The operator vouches for it: adopted, managed, and still nothing new placed.
    adopting = _canary(env, 3, "--adopt-foreign-orders")
    out, _ = adopting.communicate(timeout=60)
    assert adopting.returncode == 1, out  # the orphan is an anomaly the operator must see
    assert "orphans=1" in out

    posts = _posts(harness)
    assert len(posts) == 2
    with open_reader(settings.state_db_path) as con:
        ((run_id,),) = con.execute("SELECT run_id FROM runs WHERE exit_code = 1").fetchall()
        orders = dict(con.execute("SELECT client_order_id, status FROM orders").fetchall())
        events = con.execute("SELECT client_order_id, event FROM order_events ORDER BY ts").fetchall()
        alerts = [r[0] for r in con.execute("SELECT reason_code FROM alerts WHERE run_id = ?", [run_id]).fetchall()]
        codes = [r[0] for r in con.execute("SELECT reason_code FROM decisions WHERE run_id = ?", [run_id]).fetchall()]
    assert orders[crashed_cid] == "OPEN" and (crashed_cid, "resolved") in events
    assert orders[orphan_cid] == "OPEN" and (orphan_cid, "orphan") in events
    assert rc.RECONCILE_ORPHAN_FOUND in alerts
    assert codes == [rc.STRATEGY_ORDER_ACTIVE] * 3  # recovered before the first decision: nothing new placed
    venue = [o for o in harness.venue_orders(settings) if o.client_order_id == crashed_cid]
    assert len(venue) == 1  # exactly one order on the venue carries the crashed decision's client id
    assert requests.get(f"{harness.sim.rest_url}/sim/state", timeout=5).ok


def test_sigterm_finishes_the_step_cancels_open_orders_and_exits_130(harness):
    env = {**_env(harness), "CANCEL_OPEN_ORDERS_ON_STOP": "true"}
    settings = harness.armed(ttl_seconds=60)
    proc = _canary(env, max_cycles=500)
    try:
        _wait_for_post(harness, proc)
        wait_until(
            lambda: recorded_reason_codes(settings.state_db_path).count(rc.STRATEGY_ORDER_ACTIVE) >= 2,
            what="two more cycles with the order resting",
        )
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # Interrupted, however clean the clean-up: the summary names the signal and what the clean-up did.
    assert proc.returncode == 130, out
    assert "anomaly: interrupted signal=SIGTERM cleanup=cancelled:1 left_open=0" in out.splitlines(), out
    assert "anomalies=interrupted" in out.splitlines() and "exit_code=130" in out.splitlines()
    assert [w["method"] for w in harness.writes()] == ["POST", "DELETE"]
    with open_reader(settings.state_db_path) as con:
        assert con.execute("SELECT status FROM orders").fetchall() == [("CANCELLED",)]
        assert con.execute("SELECT exit_code FROM runs").fetchall() == [(130,)]
    from btcbot.lock import lock_status

    held, _ = lock_status(settings.lock_dir, settings.resolved_account_scope)
    assert not held
