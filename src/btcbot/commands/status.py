"""``btcbot status [--watch [--interval S] [--count N]] [--json] [--window 1h] [--db PATH]``.

Read-only and safe while ``run`` or ``canary`` holds the state DB: the DB is opened read-only for a few queries
and closed again, the instance lock is only probed. Exit 0 when shown, 2 when the state DB cannot be read (the
output still shows whether an instance holds the lock).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator, model_validator

from btcbot.commands.args import AsJson, CommandArgs, EnvFile, validate_kwargs, window_text
from btcbot.commands.reports import AlertsArgs

if TYPE_CHECKING:
    from btcbot.reports.status import StatusReport
    from btcbot.settings import Settings

# Open alerts are derived exactly as `stage7-alerts` does by default, so both show the same ones.
ALERT_DECISIONS: int = AlertsArgs.model_fields["last"].default
LAST_CYCLES = 10
_PLAIN_WIDTH = 160  # columns for text that is not going to a terminal (a file, a pipe, a log)


class StatusArgs(CommandArgs):
    """The running instance (PID, run id, uptime, cycles), its last cycles, this bot's open orders, the runbook's
    metrics over --window, the SLOs against the doctor's thresholds and the open alerts.

    Read-only: safe while run or canary holds the state DB.
    """

    as_json: AsJson = False
    watch: bool = Field(default=False, description="refresh every --interval seconds until Ctrl-C (or --count)")
    interval: Decimal = Field(
        default=Decimal(2),
        gt=0,
        description="seconds between refreshes (with --watch)",
        examples=["2"],
        json_schema_extra={"metavar": "SECONDS"},
    )
    count: int | None = Field(
        default=None,
        gt=0,
        description="with --watch: stop after this many refreshes",
        examples=[30],
        json_schema_extra={"default_text": "none (until Ctrl-C)"},
    )
    window: str = Field(
        default="1h",
        description="the metrics and SLO window, a duration such as 30m, 1h or 3600 (seconds)",
        examples=["1h"],
        json_schema_extra={"metavar": "DURATION"},
    )
    db: str | None = Field(
        default=None,
        description="the state DB to read (opened read-only)",
        examples=["var/btcbot_state.db"],
        json_schema_extra={"metavar": "PATH", "kind": "path", "default_text": "the STATE_DB_PATH setting"},
    )
    env_file: EnvFile = None

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: object) -> object:
        return window_text(value)

    @model_validator(mode="after")
    def _watch_flags(self) -> StatusArgs:
        if not self.watch and {"interval", "count"} & self.model_fields_set:
            raise ValueError("--interval and --count go with --watch (e.g. btcbot status --watch --interval 2)")
        return self


def gather(settings: Settings, window: str, window_seconds: int, *, now: datetime | None = None) -> StatusReport:
    """One refresh: the lock probe, the DB's view, the doctor's SLO checks and the open alerts."""
    from btcbot.commands.reports import current_alerts
    from btcbot.doctor.runner import DoctorOptions, run_checks
    from btcbot.doctor.slo import DB_CHECK_NAMES
    from btcbot.domain.orders import owned_prefixes
    from btcbot.errors import BtcbotError
    from btcbot.lock import lock_status
    from btcbot.reports.db import reader
    from btcbot.reports.records import load_window
    from btcbot.reports.status import StatusReport, collect_db_status
    from btcbot.storage import current_version

    now = now or datetime.now(UTC)
    path = settings.state_db_path
    scope = settings.resolved_account_scope
    lock = lock_status(settings.lock_dir, scope)
    try:
        with reader(path) as con:
            db = collect_db_status(
                con,
                now=now,
                window_seconds=window_seconds,
                owned_prefixes=owned_prefixes(scope, settings.legacy_account_scope),
                lock=lock,
                schema_version=current_version(con),
                last_cycles=LAST_CYCLES,
            )
            decisions = load_window(con, ALERT_DECISIONS)
    except BtcbotError as exc:
        return StatusReport(now, str(path), window, window_seconds, lock, None, str(exc))
    alerts = tuple(a for a in current_alerts(settings, path, decisions) if a.open)
    doctor = run_checks(settings, None, DoctorOptions(window, window_seconds, offline=True), now=now)
    slos = tuple(c for c in doctor.checks if c.name in DB_CHECK_NAMES)
    return StatusReport(now, str(path), window, window_seconds, lock, db, None, slos, alerts)


def watch(
    snapshot: Callable[[], StatusReport],
    show: Callable[[StatusReport], None],
    *,
    interval_s: float,
    count: int | None,
    wait: Callable[[float], object],
) -> int:
    """Show a fresh snapshot every ``interval_s`` (``wait`` is the clock) until ``count``; the last one's exit code."""
    shown = 0
    while True:
        report = snapshot()
        show(report)
        shown += 1
        if count is not None and shown >= count:
            return report.exit_code
        wait(interval_s)


def status(**kwargs: Any) -> int:
    args = validate_kwargs(StatusArgs, "status", kwargs)
    from rich.console import Console
    from rich.live import Live

    from btcbot.doctor.window import parse_window
    from btcbot.reports.status_render import status_json, status_renderable
    from btcbot.settings import load_settings

    settings = load_settings(env_file=args.env_file)
    if args.db:
        settings = settings.model_copy(update={"state_db_path": Path(args.db)})
    window_seconds = parse_window(args.window)

    def snapshot() -> StatusReport:
        return gather(settings, args.window, window_seconds)

    tty = sys.stdout.isatty()
    console = Console(file=sys.stdout, width=None if tty else _PLAIN_WIDTH)
    if not args.watch:
        report = snapshot()
        if args.as_json:
            print(status_json(report), flush=True)
        else:
            console.print(status_renderable(report))
        return report.exit_code
    interval = float(args.interval)
    pause = threading.Event().wait  # interrupted by Ctrl-C (exit 130)
    if args.as_json:  # JSON Lines: one compact document per refresh

        def emit_json(report: StatusReport) -> None:
            print(status_json(report, indent=None), flush=True)

        return watch(snapshot, emit_json, interval_s=interval, count=args.count, wait=pause)
    if not tty:

        def emit_text(report: StatusReport) -> None:
            console.print(status_renderable(report))
            console.print()

        return watch(snapshot, emit_text, interval_s=interval, count=args.count, wait=pause)
    with Live(console=console, auto_refresh=False) as live:

        def emit_live(report: StatusReport) -> None:
            live.update(status_renderable(report), refresh=True)

        return watch(snapshot, emit_live, interval_s=interval, count=args.count, wait=pause)
