"""The account's equity curve from ``balance_snapshots``, and its worst drawdown: one query for doctor and alerts.

A cycle may write several snapshots: the reconcile after a graceful stop's or the kill switch's cancels
writes another one under the same ``(run_id, cycle_id)``. Each snapshot is the whole account, so a cycle's
equity is its *last* snapshot, never the sum of them (summing two or three copies of the account and then
falling back to one looked like a 50-67 % drawdown). Equity is TRY plus each asset valued at its latest
TRY fill price; an asset with no TRY fill yet is left out. DOUBLE: a ratio needs no cents.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class _Connection(Protocol):
    def execute(self, query: str, parameters: Any = ...) -> Any: ...


_EQUITY_SQL = """
WITH px AS (SELECT symbol, CAST(arg_max(price, ts) AS DOUBLE) AS price FROM fills GROUP BY symbol),
     last_snapshot AS (
         SELECT run_id, cycle_id, max(ts) AS ts FROM balance_snapshots WHERE ts >= ? GROUP BY run_id, cycle_id
     ),
     holdings AS (
         -- one row per asset of each cycle's last snapshot (a row written twice counts once)
         SELECT b.run_id, b.cycle_id, b.ts, b.asset, max(CAST(b.total AS DOUBLE)) AS total
         FROM balance_snapshots b JOIN last_snapshot l USING (run_id, cycle_id, ts)
         GROUP BY b.run_id, b.cycle_id, b.ts, b.asset
     )
SELECT h.ts AS t, sum(h.total * CASE WHEN h.asset = 'TRY' THEN 1.0 ELSE px.price END) AS equity
FROM holdings h LEFT JOIN px ON px.symbol = h.asset || 'TRY'
WHERE h.asset = 'TRY' OR px.price IS NOT NULL
GROUP BY h.run_id, h.cycle_id, h.ts
ORDER BY t
"""


def equity_curve(con: _Connection, since: datetime) -> list[tuple[datetime, float]]:
    """(time, equity) per cycle with a snapshot at or after ``since``, oldest first."""
    rows = con.execute(_EQUITY_SQL, [since]).fetchall()
    return [(r[0], float(r[1])) for r in rows if r[1] is not None]


def max_drawdown(equity: list[float]) -> float | None:
    """Largest peak-to-trough fall as a fraction of the peak; None for fewer than two points."""
    if len(equity) < 2:
        return None
    peak = equity[0]
    worst = 0.0
    for value in equity:
        peak = max(peak, value)
        if peak > 0:
            worst = max(worst, (peak - value) / peak)
    return worst
