"""Assemble the doctor's report: every check in a fixed order, whatever the earlier ones found."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from btcbot.doctor import local
from btcbot.doctor.log_file import check_log_file
from btcbot.doctor.model import CheckResult, DoctorReport, Status
from btcbot.doctor.network import ExchangeProbe, network_checks, skipped_network_checks
from btcbot.doctor.slo import collect_db_facts, db_checks, skipped_db_checks
from btcbot.errors import BtcbotError

if TYPE_CHECKING:
    from btcbot.settings import Settings


@dataclass(frozen=True, slots=True)
class DoctorOptions:
    window: str
    window_seconds: int
    offline: bool = False
    reader_timeout_s: float = 3.0
    strategy: str | None = None  # --strategy
    strategy_config: Path | None = None  # --strategy-config


def _live_intended(settings: Settings) -> bool:
    return settings.live_trading and not settings.dry_run


def run_checks(
    settings: Settings | None,
    config_error: str | None,
    options: DoctorOptions,
    *,
    probe: ExchangeProbe | None = None,
    now: datetime | None = None,
) -> DoctorReport:
    now = now or datetime.now(UTC)
    checks: list[CheckResult] = []
    if settings is None:
        checks.append(local.check_config_error(config_error or "configuration could not be loaded"))
        skip_reason, skip_action = "configuration invalid: not evaluated", "fix the config check first"
        skipped = ("arming", "strategy", "credentials", "db_path", "db_schema", "instance_lock", "intent_journal")
        for name in (*skipped, "log_file"):
            checks.append(CheckResult(name, Status.SKIP, skip_reason, skip_action))
        checks.extend(skipped_network_checks(skip_reason, skip_action))
        checks.extend(skipped_db_checks(skip_reason, skip_action))
        return _report(checks, now, options)

    db_path = settings.state_db_file
    checks.append(local.check_config_ok())
    checks.append(local.check_arming(settings))
    checks.append(local.check_strategy(settings, options.strategy, options.strategy_config))
    checks.append(local.check_credentials(settings))
    path_check = local.check_db_path(settings.state_db_path)
    checks.append(path_check)
    # A DB file a run could not write (a read-only mount, an incident copy) still holds the evidence: read it.
    usable = path_check.status is not Status.FAIL or _is_file(db_path)

    def beside_db(name: str, check: Callable[[], CheckResult]) -> CheckResult:
        # Nothing beside an unusable path can be probed meaningfully.
        if not usable:
            return CheckResult(name, Status.SKIP, "STATE_DB_PATH unusable: not evaluated", "see db_path")
        return _guarded(name, check)

    schema = beside_db("db_schema", lambda: local.check_db_schema(db_path, timeout_s=options.reader_timeout_s))
    checks.append(schema)
    # The lock is the account's (in LOCK_DIR), not the DB path's: it is probed whatever STATE_DB_PATH is.
    checks.append(_guarded("instance_lock", lambda: local.check_instance_lock(settings)))
    checks.append(beside_db("intent_journal", lambda: local.check_intent_journal(db_path)))
    checks.append(_guarded("log_file", lambda: check_log_file(settings)))

    if options.offline:
        checks.extend(
            skipped_network_checks("--offline: network not consulted (not a pass)", "rerun without --offline")
        )
    else:
        if probe is None:
            from btcbot.doctor.network import probe_exchange

            probe = probe_exchange
        facts = probe(settings)
        checks.extend(network_checks(facts, settings, live_intended=_live_intended(settings)))

    if usable:
        checks.extend(_db_checks(settings, db_path, schema, options, now))
    else:
        checks.extend(skipped_db_checks("STATE_DB_PATH unusable: not evaluated (reduced confidence)", "see db_path"))
    return _report(checks, now, options)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _guarded(name: str, check: Callable[[], CheckResult]) -> CheckResult:
    """A filesystem surprise next to the DB (permissions, a file where a directory belongs) is a FAIL, not a crash."""
    try:
        return check()
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        return CheckResult(
            name,
            Status.FAIL,
            f"could not be checked: {where}{exc.strerror or type(exc).__name__}",
            "check STATE_DB_PATH's directory: its permissions and what else lives there",
        )


def _db_checks(
    settings: Settings, db_path: Path, schema: CheckResult, options: DoctorOptions, now: datetime
) -> list[CheckResult]:
    if not db_path.is_file():
        return skipped_db_checks(
            "no state DB yet: SLOs and order lifecycle not evaluated (reduced confidence)",
            "run a dry-run loop (stage 0) to gather evidence",
        )
    if schema.status is Status.FAIL:
        return skipped_db_checks("state DB unreadable: not evaluated (reduced confidence)", "see db_schema")
    import duckdb

    from btcbot.reports.db import damaged_db_message
    from btcbot.storage import open_reader

    # An order may sit past its TTL until the next cycle cancels it; allow two cycles and a margin.
    grace = float(settings.cycle_seconds * Decimal(2)) + 5.0
    try:
        with open_reader(db_path, timeout_s=options.reader_timeout_s) as con:
            facts = collect_db_facts(con, now=now, window_seconds=options.window_seconds, ttl_grace_seconds=grace)
    except BtcbotError as exc:
        return skipped_db_checks(f"state DB not readable now: {exc}", "rerun `btcbot doctor` in a moment")
    except duckdb.Error as exc:
        # Opened, but its pages do not read back: no evidence can be trusted, which is a failure, not a skip.
        return skipped_db_checks(damaged_db_message(db_path, exc), "do not continue the rollout", Status.FAIL)
    return db_checks(facts, settings, options.window)


def _report(checks: list[CheckResult], now: datetime, options: DoctorOptions) -> DoctorReport:
    return DoctorReport(
        checks=checks,
        generated_at=now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        window=options.window,
        window_seconds=options.window_seconds,
        offline=options.offline,
    )
