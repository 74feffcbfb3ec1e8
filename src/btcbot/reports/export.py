"""``stage7-export``: decision records with their orders and fills, written by DuckDB's own COPY.

Shape: one row per (decision, order, fill), flattened so every format carries the same columns.
 - A decision's order is the order whose ``client_order_id`` the decision names (submit, cancel, reconcile
   records), or whose ``decision_id`` points back at the decision.
 - An order's fills are the fills with the same ``client_order_id``, or, when the venue's fill did not carry
   one, the same ``exchange_order_id``.
 - Decisions without an order appear once with empty ``order_*``/``fill_*`` columns.
Money and quantities stay exact: DECIMAL in parquet, decimal text in csv and jsonl (a JSON number would be
read back as a float). Times are UTC ISO-8601 text in csv/jsonl and TIMESTAMPTZ in parquet.
Nothing from ``runs.settings_json`` is exported, so no secret can reach the file.
"""

# ruff: noqa: S608 - SQL is assembled only from this module's constants and an int limit
from __future__ import annotations

import os
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Any

from btcbot.errors import UsageError
from btcbot.reports.records import Connection, last_decisions_sql


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"
    PARQUET = "parquet"


_DECIMALS = ("o.price", "o.quantity", "o.filled_quantity", "f.price", "f.quantity", "f.fee", "f.tax")
_TIMES = ("d.ts", "o.created_at", "o.updated_at", "o.submitted_at", "o.acked_at", "f.ts")

# (expression, output column)
_COLUMNS: tuple[tuple[str, str], ...] = (
    ("d.decision_id", "decision_id"),
    ("d.run_id", "run_id"),
    ("d.cycle_id", "cycle_id"),
    ("d.ts", "ts"),
    ("d.symbol", "symbol"),
    ("d.mode", "mode"),
    ("d.action", "action"),
    ("d.reason_code", "reason_code"),
    ("d.details", "details"),
    ("d.trace_id", "trace_id"),
    ("d.market_data_age_ms", "market_data_age_ms"),
    ("c.duration_ms", "cycle_duration_ms"),
    ("o.client_order_id", "order_client_order_id"),
    ("o.exchange_order_id", "order_exchange_order_id"),
    ("o.side", "order_side"),
    ("o.method", "order_method"),
    ("o.price", "order_price"),
    ("o.quantity", "order_quantity"),
    ("o.filled_quantity", "order_filled_quantity"),
    ("o.status", "order_status"),
    ("o.created_at", "order_created_at"),
    ("o.updated_at", "order_updated_at"),
    ("o.submitted_at", "order_submitted_at"),
    ("o.acked_at", "order_acked_at"),
    ("o.submit_latency_ms", "order_submit_latency_ms"),
    ("o.ttl_seconds", "order_ttl_seconds"),
    ("o.last_error", "order_last_error"),
    ("f.trade_id", "fill_trade_id"),
    ("f.price", "fill_price"),
    ("f.quantity", "fill_quantity"),
    ("f.fee", "fill_fee"),
    ("f.tax", "fill_tax"),
    ("f.ts", "fill_ts"),
)

EXPORT_COLUMNS = tuple(name for _, name in _COLUMNS)


def export_select(last: int, fmt: ExportFormat) -> str:
    text_typed = fmt is not ExportFormat.PARQUET
    exprs: list[str] = []
    for expr, name in _COLUMNS:
        if text_typed and expr in _DECIMALS:
            expr = f"CAST({expr} AS VARCHAR)"
        elif text_typed and expr in _TIMES:
            expr = f"strftime(timezone('UTC', {expr}), '%Y-%m-%dT%H:%M:%S.%fZ')"
        exprs.append(f"{expr} AS {name}")
    # Every join is an equality so DuckDB can hash-join: the two "or" rules of the module docstring are
    # resolved into link tables first instead of OR-ed join conditions (which force nested loops).
    return (
        f"WITH d AS ({last_decisions_sql(last, '*')}), "
        "link AS ("
        "  SELECT decision_id, client_order_id AS coid FROM d WHERE client_order_id IS NOT NULL"
        "  UNION"
        "  SELECT d.decision_id, o.client_order_id FROM d JOIN orders o ON o.decision_id = d.decision_id"
        "  WHERE d.client_order_id IS NULL"
        "), "
        "f AS ("
        "  SELECT *, client_order_id AS coid FROM fills WHERE client_order_id IS NOT NULL"
        "  UNION ALL"
        "  SELECT fills.*, o.client_order_id AS coid FROM fills JOIN orders o"
        "  ON o.exchange_order_id = fills.exchange_order_id WHERE fills.client_order_id IS NULL"
        ") "
        f"SELECT {', '.join(exprs)} "
        "FROM d "
        "LEFT JOIN cycles c ON c.run_id = d.run_id AND c.cycle_id = d.cycle_id "
        "LEFT JOIN link ON link.decision_id = d.decision_id "
        "LEFT JOIN orders o ON o.client_order_id = link.coid "
        "LEFT JOIN f ON f.coid = o.client_order_id "
        "ORDER BY d.ts, d.cycle_id, d.decision_id, o.created_at, f.ts, f.trade_id"
    )


_COPY_OPTIONS = {
    ExportFormat.JSONL: "FORMAT json",
    ExportFormat.CSV: "FORMAT csv, HEADER true",
    ExportFormat.PARQUET: "FORMAT parquet",
}


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def prepare_out_path(out: Path, force: bool) -> Path:
    """Refuse to overwrite without --force; create the parent directories."""
    target = out.expanduser()
    if target.is_dir():
        raise UsageError(f"--out {target} is a directory; give a file path such as ./artifacts/stage7.jsonl")
    if target.exists() and not force:
        raise UsageError(f"--out {target} already exists; pass --force to overwrite it or choose another path")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the directory {target.parent}: {exc.strerror or exc}") from None
    return target


def export_records(con: Connection, last: int, fmt: ExportFormat, out: Path, force: bool) -> int:
    """Write the export and return its row count. The file appears complete or not at all."""
    target = prepare_out_path(out, force)
    # Write next to the target then rename: a reader never sees half a file, and a failure leaves no debris.
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    select = export_select(last, fmt)
    try:
        # COPY answers with the number of rows it wrote.
        row: Any = con.execute(f"COPY ({select}) TO {_sql_string(str(tmp))} ({_COPY_OPTIONS[fmt]})").fetchone()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return int(row[0]) if row else 0
