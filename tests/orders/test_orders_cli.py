"""``btcbot orders list`` / ``orders cancel-all`` as real subprocesses against the simulator over loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from btcbot import reason_codes as rc
from btcbot.lock import lock_path_for, read_contention
from btcbot.storage import open_reader

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _rows(db: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with open_reader(db) as con:
        return con.execute(sql, list(params)).fetchall()


def test_cancel_all_after_a_sigkilled_canary_with_every_gate_closed(venue: Any) -> None:
    venue.killed_canary()
    [resting] = venue.open_orders()
    posts_before = len(venue.writes("POST"))
    scope = venue.settings().resolved_account_scope

    listed = venue.btcbot("orders", "list", "--json")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    doc = json.loads(listed.stdout)
    [line] = doc["orders"]
    assert line["exchange_order_id"] == resting.exchange_order_id and line["venue"] == "open"
    assert line["client_order_id"] == resting.client_order_id and line["client_order_id"].startswith("btcbot-")
    # The SIGKILL left it either flushed (OPEN) or only in the intent journal; never silently unknown.
    assert line["db"] in ("OPEN", "INTENT (journal)")

    dry = venue.btcbot("orders", "cancel-all")
    assert dry.returncode == 2, dry.stdout + dry.stderr
    assert resting.client_order_id in dry.stdout and "--confirm" in dry.stderr
    assert venue.writes("DELETE") == []  # without --confirm nothing was sent

    done = venue.btcbot("orders", "cancel-all", "--confirm")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"cancel {resting.exchange_order_id} {resting.client_order_id}" in done.stdout
    assert "venue: Canceled (confirmed)" in done.stdout
    assert "none of this scope's orders open" in done.stdout
    assert "Traceback" not in done.stderr
    assert len(venue.writes("DELETE")) == 1
    assert len(venue.writes("POST")) == posts_before  # it never submits
    assert venue.open_orders() == []

    decisions = _rows(venue.db, "SELECT reason_code, client_order_id, action FROM decisions WHERE cycle_id = 0")
    assert decisions == [(rc.OPERATOR_CANCEL_ALL, resting.client_order_id, "cancel")]
    [(status,)] = _rows(venue.db, "SELECT status FROM orders WHERE client_order_id = ?", resting.client_order_id)
    assert status == "CANCELLED"
    events = [e for (e,) in _rows(venue.db, "SELECT event FROM order_events ORDER BY ts")]
    assert events[-2:] == ["cancel_requested", "cancelled"]
    [(command, exit_code, scope_row)] = _rows(
        venue.db, "SELECT command, exit_code, account_scope FROM runs WHERE command = 'orders_cancel_all'"
    )
    assert (command, exit_code, scope_row) == ("orders_cancel_all", 0, scope)

    alerts = venue.btcbot("stage7-alerts", "--last", "50", "--json")
    found = {(a["kind"], a["severity"], a["status"]) for a in json.loads(alerts.stdout)["alerts"]}
    assert ("operator_cancel_all", "info", "resolved") in found

    after = venue.btcbot("orders", "list")
    assert after.returncode == 0 and "open_at_venue=0" in after.stdout


def test_cancel_all_touches_only_this_scopes_orders(venue: Any) -> None:
    mine = venue.own_cid("mine")
    venue.place(mine)
    other_scope = venue.own_cid("theirs", scope="otherscope")
    venue.place(other_scope)
    venue.place("manual-order-1")  # placed by a person in the exchange UI: no btcbot prefix at all
    done = venue.btcbot("orders", "cancel-all", "--confirm")
    assert done.returncode == 0, done.stdout + done.stderr
    left = {o.client_order_id for o in venue.open_orders()}
    assert left == {other_scope, "manual-order-1"}
    assert len(venue.writes("DELETE")) == 1
    # The order the DB never heard of is recorded as adopted, then cancelled.
    [(status, last_error)] = _rows(venue.db, "SELECT status, last_error FROM orders WHERE client_order_id = ?", mine)
    assert (status, last_error) == ("CANCELLED", "adopted orphan")
    assert "other_scopes_open_at_venue=2" in venue.btcbot("orders", "list").stdout


def test_symbol_filter_cancels_only_that_symbol(venue: Any) -> None:
    btc = venue.own_cid("btc")
    eth = venue.own_cid("eth")
    venue.place(btc)
    venue.place(eth, symbol="ETHTRY", price="120000", qty="0.002")
    done = venue.btcbot("orders", "cancel-all", "--symbol", "ETHTRY", "--confirm", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(done.stdout)  # --json: progress on stderr, one document on stdout
    assert [a["client_order_id"] for a in doc["attempts"]] == [eth] and doc["status"] == "OK"
    assert [o.client_order_id for o in venue.open_orders("BTCTRY")] == [btc]
    assert venue.open_orders("ETHTRY") == []


_HOLDER = """
import sys
from btcbot.lock import InstanceLock
InstanceLock.for_scope(sys.argv[1], sys.argv[2]).acquire()
print("locked", flush=True)
sys.stdin.read()
"""


def test_cancel_all_refuses_while_a_run_holds_the_lock(venue: Any) -> None:
    venue.place(venue.own_cid("held"))
    settings = venue.settings()
    scope, locks = settings.resolved_account_scope, settings.lock_dir
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(locks), scope], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        refused = venue.btcbot("orders", "cancel-all", "--confirm")
        # A read-only look is still fine while the run holds the lock.
        listed = venue.btcbot("orders", "list")
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"PID {holder.pid}" in refused.stderr and str(lock_path_for(locks, scope)) in refused.stderr
    assert "Traceback" not in refused.stderr
    assert venue.writes("DELETE") == []
    assert listed.returncode == 0 and "open_at_venue=1" in listed.stdout
    # The operator's refused clean-up is not a duplicate launch: the alerts must not say one was refused.
    assert read_contention(locks, scope) == []


def test_without_credentials_both_commands_refuse_with_exit_2(venue: Any) -> None:
    env = venue.env(BTCTURK_API_KEY="", BTCTURK_API_SECRET="")
    for args in (("orders", "list"), ("orders", "cancel-all", "--confirm")):
        proc = venue.btcbot(*args, env=env)
        assert proc.returncode == 2 and "BTCTURK_API_KEY" in proc.stderr and "Traceback" not in proc.stderr
    assert venue.writes("DELETE") == []


def test_a_db_path_that_is_a_directory_still_shows_the_venue_and_says_so(venue: Any) -> None:
    venue.place(venue.own_cid("dir"))
    venue.db.mkdir(parents=True)
    listed = venue.btcbot("orders", "list")
    assert listed.returncode == 0 and "open_at_venue=1" in listed.stdout
    assert f"STATE_DB_PATH {venue.db} is not a file; showing the venue's view only" in listed.stderr
    assert listed.stderr.count("is not a file") == 1


def test_usage_errors_exit_2(venue: Any) -> None:
    proc = venue.btcbot("orders", "cancel-all", "--symbol", "BTC/TRY", "--confirm")
    assert proc.returncode == 2 and "--symbol" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("venue", [{"cancel_delay_ms": 600_000}], indirect=True)
def test_an_order_the_venue_keeps_open_exits_1_names_it_and_alerts(
    venue: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from btcbot.cleanup import cancel_all
    from btcbot.cli import main

    stuck = venue.own_cid("stuck")
    venue.place(stuck)
    for key, value in venue.env().items():
        if key not in os.environ or os.environ[key] != value:
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(venue.tmp_path)
    # In-process so the waits can be short: the simulator holds every cancel for ten minutes.
    monkeypatch.setattr(cancel_all, "DEFAULT_BOUNDS", cancel_all.Bounds(0.3, 2, 0.05))
    code = main(["orders", "cancel-all", "--confirm"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "venue: no final state within 0.3s (last seen: Untouched)" in out
    assert "venue check 2/2: 1 of this scope's order(s) still open" in out
    assert "still open at the venue (1):" in out and stuck in out.split("still open at the venue (1):")[1]
    assert "orders_cancel_all_status=LEFT_OPEN" in out and out.rstrip().endswith("exit_code=1")
    [(code_, action)] = _rows(venue.db, "SELECT reason_code, action FROM decisions WHERE client_order_id = ?", stuck)
    assert (code_, action) == (rc.OPERATOR_CANCEL_FAILED, "none")
    [(status,)] = _rows(venue.db, "SELECT status FROM orders WHERE client_order_id = ?", stuck)
    assert status == "CANCEL_PENDING"  # accepted, never confirmed: the next run keeps following it
    alerts = venue.btcbot("stage7-alerts", "--json")
    assert alerts.returncode == 2
    [alert] = [a for a in json.loads(alerts.stdout)["alerts"] if a["kind"] == "operator_cancel_all"]
    assert (alert["severity"], alert["status"]) == ("critical", "open") and stuck in alert["message"]
