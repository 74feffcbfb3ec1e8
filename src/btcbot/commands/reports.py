"""``stage7-report``, ``stage7-export`` and ``stage7-alerts``: read-only views of the state DB.

They open the DB read-only and briefly (copy the rows, close), so they are safe to run while ``run`` or
``canary loop`` is writing to the same file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator

from btcbot.commands.args import AsJson, CommandArgs, EnvFile, validate_kwargs

if TYPE_CHECKING:
    from btcbot.reports.alerts import Alert
    from btcbot.reports.records import Window
    from btcbot.settings import Settings

Last = Annotated[
    int, Field(gt=0, le=1_000_000, description="how many of the latest cycles' decision records", examples=[20])
]


class _Common(CommandArgs):
    last: Last = 20
    db: str | None = Field(
        default=None,
        description="the state DB to read (opened read-only)",
        examples=["var/btcbot_state.db"],
        json_schema_extra={"metavar": "PATH", "kind": "path", "default_text": "the STATE_DB_PATH setting"},
    )
    env_file: EnvFile = None


class ReportArgs(_Common):
    """Per-cycle table and summary of the last N decision records (read-only, safe while the runtime runs)."""

    as_json: AsJson = False


class AlertsArgs(_Common):
    """De-duplicated alerts from the last N decision records; exits non-zero while one is open."""

    last: Last = 50
    as_json: AsJson = False


class ExportArgs(_Common):
    """Export decision records with their orders and fills to a file (jsonl, csv or parquet)."""

    last: Last = 50
    format: Literal["jsonl", "csv", "parquet"] = Field(
        default="jsonl", description="the file format", examples=["jsonl"]
    )
    out: str = Field(
        description="the file to write (refused if it exists, unless --force); missing directories are created",
        examples=["./artifacts/stage7.jsonl"],
        json_schema_extra={"metavar": "PATH", "kind": "path"},
    )
    force: bool = Field(default=False, description="overwrite an existing --out file")

    @field_validator("format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


def _db_path(args: _Common) -> Path:
    if args.db:
        return Path(args.db)
    from btcbot.settings import load_settings

    return load_settings(env_file=args.env_file).state_db_path


def report(**kw: Any) -> int:
    args = validate_kwargs(ReportArgs, "stage7-report", kw)
    from btcbot.reports.db import reader
    from btcbot.reports.records import load_window
    from btcbot.reports.render import report_json, report_text
    from btcbot.reports.summary import build_report

    path = _db_path(args)
    with reader(path) as con:
        window = load_window(con, args.last)
    result = build_report(window)
    print(report_json(result, str(path)) if args.as_json else report_text(result, str(path)))
    return 0


def current_alerts(settings: Settings, path: Path, window: Window) -> list[Alert]:
    """The alerts of a window of decision records, plus refused second instances (``stage7-alerts``, ``status``)."""
    from btcbot.lock import read_contention
    from btcbot.reports.alerts import Thresholds, contention_signals, derive_alerts

    thresholds = Thresholds(
        stale_streak_warn=settings.doctor_stale_block_warn_count,
        max_reject_rate=settings.doctor_max_reject_rate,
        max_latency_p95_ms=settings.doctor_max_latency_p95_ms,
        max_drawdown_ratio=settings.doctor_max_drawdown_ratio,
    )
    contention = read_contention(settings.lock_dir, settings.resolved_account_scope)
    return derive_alerts(window, thresholds, contention_signals(contention, window.start))


def alerts(**kw: Any) -> int:
    args = validate_kwargs(AlertsArgs, "stage7-alerts", kw)
    from btcbot.reports.alerts import alerts_exit_code
    from btcbot.reports.db import reader
    from btcbot.reports.records import load_window
    from btcbot.reports.render import alerts_json, alerts_text
    from btcbot.settings import load_settings

    settings = load_settings(env_file=args.env_file)
    path = Path(args.db) if args.db else settings.state_db_path
    with reader(path) as con:
        window = load_window(con, args.last)
    found = current_alerts(settings, path, window)
    code = alerts_exit_code(found)
    render = alerts_json if args.as_json else alerts_text
    print(render(found, len(window.decisions), str(path), code))
    return code


def export(**kw: Any) -> int:
    args = validate_kwargs(ExportArgs, "stage7-export", kw)
    from btcbot.reports.db import reader
    from btcbot.reports.export import ExportFormat, export_records, prepare_out_path

    fmt = ExportFormat(args.format)
    out = Path(args.out)
    path = _db_path(args)
    prepare_out_path(out, args.force)  # refuse before touching the DB
    with reader(path) as con:
        rows = export_records(con, args.last, fmt, out, args.force)
    print(f"stage7-export: wrote {rows} row(s) ({fmt.value}) to {out} from {path}")
    return 0
