"""``stage7-report``, ``stage7-export`` and ``stage7-alerts``: read-only views of the state DB.

They open the DB read-only and briefly (copy the rows, close), so they are safe to run while ``run`` or
``canary loop`` is writing to the same file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from btcbot.errors import UsageError

_MAX_LAST = 1_000_000


def _as_text(value: object) -> object:
    # Fire turns `--out 2024` into an int and `--db ./x` into a str; paths are text either way.
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


Text = Annotated[str, BeforeValidator(_as_text)]


class _Common(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    last: int = Field(default=20, gt=0, le=_MAX_LAST)
    db: Text | None = None
    env_file: Text | None = None


class ReportArgs(_Common):
    as_json: bool = Field(default=False, alias="json")


class AlertsArgs(_Common):
    last: int = Field(default=50, gt=0, le=_MAX_LAST)
    as_json: bool = Field(default=False, alias="json")


class ExportArgs(_Common):
    last: int = Field(default=50, gt=0, le=_MAX_LAST)
    format: Text = "jsonl"
    out: Text | None = None
    force: bool = False


_M = TypeVar("_M", bound=BaseModel)


def _validate(model: type[_M], command: str, kw: dict[str, Any]) -> _M:
    try:
        return model(**kw)
    except ValidationError as exc:
        problems = "; ".join(
            f"--{'.'.join(str(p) for p in e['loc']).replace('_', '-')}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise UsageError(f"{command}: {problems}") from None


def _db_path(args: _Common) -> Path:
    if args.db:
        return Path(args.db)
    from btcbot.settings import load_settings

    return load_settings(env_file=args.env_file).state_db_path


def report(**kw: Any) -> int:
    args = _validate(ReportArgs, "stage7-report", kw)
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


def alerts(**kw: Any) -> int:
    args = _validate(AlertsArgs, "stage7-alerts", kw)
    from btcbot.reports.alerts import Thresholds, alerts_exit_code, derive_alerts
    from btcbot.reports.db import reader
    from btcbot.reports.records import load_window
    from btcbot.reports.render import alerts_json, alerts_text
    from btcbot.settings import load_settings

    settings = load_settings(env_file=args.env_file)
    path = Path(args.db) if args.db else settings.state_db_path
    thresholds = Thresholds(
        stale_streak_warn=settings.doctor_stale_block_warn_count,
        max_reject_rate=settings.doctor_max_reject_rate,
        max_latency_p95_ms=settings.doctor_max_latency_p95_ms,
    )
    with reader(path) as con:
        window = load_window(con, args.last)
    from btcbot.lock import read_contention
    from btcbot.reports.alerts import contention_signals

    found = derive_alerts(window, thresholds, contention_signals(read_contention(path), window.start))
    code = alerts_exit_code(found)
    render = alerts_json if args.as_json else alerts_text
    print(render(found, len(window.decisions), str(path), code))
    return code


def export(**kw: Any) -> int:
    args = _validate(ExportArgs, "stage7-export", kw)
    from btcbot.reports.db import reader
    from btcbot.reports.export import ExportFormat, export_records, prepare_out_path

    try:
        fmt = ExportFormat(args.format.lower())
    except ValueError:
        raise UsageError(f"stage7-export: --format {args.format!r} is not one of jsonl, csv, parquet") from None
    if not args.out:
        raise UsageError("stage7-export: --out PATH is required (for example --out ./artifacts/stage7.jsonl)")
    out = Path(args.out)
    path = _db_path(args)
    prepare_out_path(out, args.force)  # refuse before touching the DB
    with reader(path) as con:
        rows = export_records(con, args.last, fmt, out, args.force)
    print(f"stage7-export: wrote {rows} row(s) ({fmt.value}) to {out} from {path}")
    return 0
