"""Checks that need no network: config, arming, credentials, state DB and the instance lock."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from btcbot.doctor.model import CheckResult, Status
from btcbot.errors import BtcbotError, InvariantViolation

if TYPE_CHECKING:
    from btcbot.settings import Settings

_GATES_ACTION = (
    "to go live set LIVE_TRADING=true, LIVE_TRADING_ACK=I_UNDERSTAND, DRY_RUN=false, KILL_SWITCH=false, "
    "SAFE_MODE=false and both BTCTURK_API_KEY/BTCTURK_API_SECRET (runbook stage 2)"
)


def check_config_ok() -> CheckResult:
    return CheckResult("config", Status.PASS, "settings parsed; cross-field rules hold", "none")


def check_config_error(message: str) -> CheckResult:
    return CheckResult(
        "config",
        Status.FAIL,
        message,
        "fix the named variable(s) in the environment or --env-file, then rerun `btcbot doctor`",
    )


def check_arming(settings: Settings) -> CheckResult:
    """Observe-only is the safe baseline (runbook stages 0 and 1), so it passes; a half-armed
    configuration (LIVE_TRADING=true yet something still blocks) warns, because intent and effect differ."""
    from btcbot.arming import ArmingInputs, decide_arming

    decision = decide_arming(ArmingInputs.from_settings(settings))
    details = {"mode": decision.mode.value, "blocking_reasons": list(decision.reasons)}
    if decision.live:
        return CheckResult(
            "arming",
            Status.PASS,
            "ARMED LIVE: every gate is open; run/canary will place real orders",
            "keep the stage caps; set KILL_SWITCH=true to stop",
            details,
        )
    reasons = ", ".join(decision.reasons)
    if settings.live_trading:
        return CheckResult(
            "arming",
            Status.WARN,
            f"LIVE_TRADING=true but still observe-only: {reasons}",
            f"clear the listed gates if live is intended, else set LIVE_TRADING=false; {_GATES_ACTION}",
            details,
        )
    return CheckResult("arming", Status.PASS, f"observe-only (no orders): {reasons}", "none for stages 0/1", details)


def check_strategy(settings: Settings, spec: str | None = None, config_path: Path | None = None) -> CheckResult:
    """The strategy a run with these settings would use, loaded and validated exactly as the run loads it."""
    from btcbot.strategy_loader import load_strategy

    try:
        loaded = load_strategy(settings, spec=spec, config_path=config_path)
    except BtcbotError as exc:
        return CheckResult(
            "strategy",
            Status.FAIL,
            str(exc),
            "fix STRATEGY / STRATEGY_PARAMS (or --strategy / --strategy-config); see docs/strategies.md",
            {"strategy": spec or settings.strategy},
        )
    details = {"strategy": loaded.strategy.name, "target": loaded.target, "params": loaded.params}
    return CheckResult("strategy", Status.PASS, loaded.describe(), "none", details)


def check_credentials(settings: Settings) -> CheckResult:
    from btcbot.arming import ArmingInputs, decide_arming
    from btcbot.reason_codes import ARM_CREDENTIALS_MISSING

    details = {
        "BTCTURK_API_KEY": "set" if settings.btcturk_api_key is not None else "unset",
        "BTCTURK_API_SECRET": "set" if settings.btcturk_api_secret is not None else "unset",
    }
    if settings.credentials_present:
        return CheckResult("credentials", Status.PASS, "API key and secret are set", "none", details)
    decision = decide_arming(ArmingInputs.from_settings(settings))
    if decision.reasons == (ARM_CREDENTIALS_MISSING,):
        return CheckResult(
            "credentials",
            Status.FAIL,
            "every gate is armed but BTCTURK_API_KEY/BTCTURK_API_SECRET are missing",
            "provide both credentials at runtime (never commit them), or disarm",
            details,
        )
    return CheckResult("credentials", Status.SKIP, "not needed while observe-only (credentials unset)", "none", details)


_PATH_ACTION = "set STATE_DB_PATH to a file path in a writable directory on local storage"


def check_db_path(db_path: Path) -> CheckResult:
    """The DB file (or the directory that will hold it) must be a writable place for a file; nothing is created.

    Every odd path (a file where a directory should be, a kernel interface such as /proc or /sys, a symlink
    loop, a name too long, a directory nobody may enter) is a FAIL with the reason, never an exception.
    """
    details = {"path": str(db_path)}
    try:
        return _db_path_verdict(db_path, details)
    except RuntimeError as exc:  # Path.resolve on a symlink loop
        return CheckResult("db_path", Status.FAIL, f"{db_path} cannot be resolved: {exc}", _PATH_ACTION, details)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        where = exc.filename or db_path
        return CheckResult("db_path", Status.FAIL, f"{where} cannot be inspected: {why}", _PATH_ACTION, details)


def _db_path_verdict(raw: Path, details: dict[str, str]) -> CheckResult:
    from btcbot.doctor.mounts import pseudo_filesystem

    db_path = raw.expanduser().resolve()
    details["path"] = str(db_path)
    if db_path.exists() and not db_path.is_file():
        return CheckResult(
            "db_path", Status.FAIL, f"{db_path} exists but is not a file", "point STATE_DB_PATH at a file", details
        )
    probe = db_path.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return CheckResult(
            "db_path", Status.FAIL, f"{probe} is not a directory, so {db_path} cannot be created", _PATH_ACTION, details
        )
    fstype = pseudo_filesystem(probe)
    if fstype is not None:
        return CheckResult(
            "db_path",
            Status.FAIL,
            f"{probe} is on a {fstype} filesystem (a kernel interface, not storage); a DB cannot live there",
            _PATH_ACTION,
            details,
        )
    if os.statvfs(probe).f_flag & os.ST_RDONLY:
        return CheckResult("db_path", Status.FAIL, f"{probe} is on a read-only filesystem", _PATH_ACTION, details)
    # The directory too: the instance lock and the intent journals are created beside the DB.
    for target, mode in ((probe, os.W_OK | os.X_OK), (db_path, os.W_OK)):
        if target.exists() and not os.access(target, mode):
            return CheckResult(
                "db_path",
                Status.FAIL,
                f"{target} is not writable by this user",
                "fix permissions or set STATE_DB_PATH to a writable location",
                details,
            )
    if db_path.exists():
        return CheckResult("db_path", Status.PASS, f"{db_path} exists and is writable", "none", details)
    return CheckResult(
        "db_path",
        Status.PASS,
        f"{db_path} does not exist yet; its directory is writable (run creates it)",
        "none",
        details,
    )


def check_db_schema(db_path: Path, timeout_s: float = 3.0) -> CheckResult:
    from btcbot.storage import StateStoreBusy, current_version, latest_version, open_reader

    latest = latest_version()
    details: dict[str, object] = {"path": str(db_path), "expected_version": latest}
    if not db_path.is_file():
        return CheckResult("db_schema", Status.SKIP, "no state DB yet (run creates and migrates it)", "none", details)
    try:
        with open_reader(db_path, timeout_s=timeout_s) as con:
            version = current_version(con)
    except StateStoreBusy as exc:
        return CheckResult("db_schema", Status.WARN, str(exc), "rerun `btcbot doctor` in a moment", details)
    except BtcbotError as exc:
        return CheckResult("db_schema", Status.FAIL, str(exc), "check STATE_DB_PATH points at a btcbot DB", details)
    details["version"] = version
    if version == latest:
        return CheckResult("db_schema", Status.PASS, f"schema version {version} is current", "none", details)
    if version < latest:
        return CheckResult(
            "db_schema",
            Status.WARN,
            f"schema version {version} is older than {latest}",
            "the next run/canary migrates it automatically",
            details,
        )
    err = InvariantViolation(f"schema version {version} is newer than this btcbot knows ({latest})")
    return CheckResult("db_schema", Status.FAIL, str(err), "upgrade btcbot or use another STATE_DB_PATH", details)


def check_instance_lock(settings: Settings) -> CheckResult:
    from btcbot.domain.account_scope import DEFAULT_ACCOUNT_SCOPE
    from btcbot.errors import StateStoreUnavailable
    from btcbot.lock import lock_path_for, lock_status

    scope = settings.resolved_account_scope
    try:
        held, pid = lock_status(settings.lock_dir, scope)
    except StateStoreUnavailable as exc:  # a link or a file where the lock belongs: run and canary would refuse
        return CheckResult("instance_lock", Status.FAIL, str(exc), "fix LOCK_DIR as the message says")
    details: dict[str, object] = {
        "lock_file": str(lock_path_for(settings.lock_dir, scope)),
        "scope": scope,
        "holder_pid": pid,
        "state_db_path": str(settings.state_db_file),
    }
    if held:
        holder = f"PID {pid}" if pid is not None else "an unknown PID"
        return CheckResult(
            "instance_lock",
            Status.WARN,
            f"held by {holder}: a run/canary is active on account scope {scope}",
            "do not start a second instance for this account (any directory or DB); stop that process first if it "
            "should not be running",
            details,
        )
    message = f"free for account scope {scope}"
    if (
        scope == DEFAULT_ACCOUNT_SCOPE
        and "account_scope" not in settings.model_fields_set
        and settings.credentials_present
    ):
        # Not a warning: two accounts on one scope are refused by the lock, never mixed up.
        message += " (ACCOUNT_SCOPE unset: a host that runs several accounts needs one ACCOUNT_SCOPE per account)"
    return CheckResult("instance_lock", Status.PASS, message, "none", details)


def check_intent_journal(db_path: Path) -> CheckResult:
    """Order intents written ahead of a submit but not yet in the DB (see btcbot.storage.intent_journal)."""
    from btcbot.storage.intent_journal import find_journals, owner_alive, read_journal

    live: set[str] = set()
    stranded: set[str] = set()
    files: list[str] = []
    for path in find_journals(db_path):
        ids = {str(r["client_order_id"]) for r in read_journal(path)}
        if not ids:
            continue
        files.append(str(path))
        (live if owner_alive(path) else stranded).update(ids)
    details: dict[str, object] = {"journal_files": files, "client_order_ids": sorted(live | stranded)[:20]}
    if stranded:
        crashed = sorted(stranded)
        return CheckResult(
            "intent_journal",
            Status.FAIL,
            f"{len(crashed)} order intent(s) from a run that stopped mid-submit are not reconciled: "
            f"{', '.join(crashed[:3])}",
            "run `btcbot run --once` (safe with KILL_SWITCH=true): start-up reconciles them by client id; "
            "then check the exchange's open orders",
            details,
        )
    if live:
        return CheckResult(
            "intent_journal",
            Status.PASS,
            f"{len(live)} intent(s) of a running instance await its next DB flush",
            "none",
            details,
        )
    return CheckResult("intent_journal", Status.PASS, "no order intent waiting outside the DB", "none", details)
