"""Two real processes share the DuckDB file: a writer flushing continuously and a reader reading repeatedly.

No row may be lost and the reader may never exhaust its retry budget.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from btcbot.storage import StateStore, open_reader

pytestmark = pytest.mark.e2e

_WRITER = """
import json, sys, time
from datetime import UTC, datetime
from btcbot.storage import StateStore
store = StateStore(sys.argv[1], lock_timeout_s=5.0)
store.migrate()
print("ready", flush=True)
import os
stop_file = sys.argv[2]
cap = time.monotonic() + 60.0  # a bound for a wedged test, never reached normally
n = 0
# Count-based, not time-boxed: keep writing until the reader is done, and at least 10 flushes.
while (not os.path.exists(stop_file) or store.stats.flushes < 10) and time.monotonic() < cap:
    now = datetime.now(UTC)
    store.insert("decisions", [
        {"decision_id": f"d{n + i}", "run_id": "r", "cycle_id": n + i, "ts": now, "symbol": "BTCTRY",
         "mode": "observe", "action": "none", "reason_code": "cycle:ok", "details": "{}"}
        for i in range(50)
    ])
    n += 50
    store.flush()
store.close()
s = store.stats
print(json.dumps({"written": n, "flushes": s.flushes, "failed": s.failed_flushes,
                  "mean_ms": s.total_flush_ms / max(1, s.flushes), "max_ms": s.max_flush_ms}), flush=True)
"""

_READER = """
import json, sys, time
from btcbot.storage import open_reader
wanted = int(sys.argv[2])
cap = time.monotonic() + 60.0  # a bound for a wedged test, never reached normally
reads, last = 0, 0
while reads < wanted and time.monotonic() < cap:
    # Each read must get the file within its retry budget: open_reader raises (and this process fails) otherwise.
    with open_reader(sys.argv[1], timeout_s=5.0) as con:
        count = con.execute("SELECT count(*) FROM decisions").fetchone()[0]
    assert count >= last, (count, last)  # committed rows never disappear
    last = count
    reads += 1
print(json.dumps({"reads": reads, "last": last}), flush=True)
"""


def test_writer_and_reader_processes_share_the_file(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db), str(tmp_path / "stop")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "ready"
    reader = subprocess.run([sys.executable, "-c", _READER, str(db), "20"], capture_output=True, text=True, timeout=90)
    (tmp_path / "stop").touch()
    w_out, w_err = writer.communicate(timeout=90)
    assert reader.returncode == 0, reader.stderr
    assert writer.returncode == 0, w_err
    w = json.loads(w_out.strip().splitlines()[-1])
    r = json.loads(reader.stdout.strip().splitlines()[-1])
    assert r["reads"] == 20 and r["last"] > 0
    assert w["flushes"] >= 10
    with open_reader(db) as con:
        count, distinct, lo, hi = con.execute(
            "SELECT count(*), count(DISTINCT cycle_id), min(cycle_id), max(cycle_id) FROM decisions"
        ).fetchone()
    # Every row the writer buffered is in the file exactly once.
    assert (count, distinct, lo, hi) == (w["written"], w["written"], 0, w["written"] - 1)
    # A later writer picks up where the file is.
    assert StateStore(db).query("SELECT count(*) FROM decisions") == [(w["written"],)]
