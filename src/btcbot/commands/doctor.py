"""``btcbot doctor [--json] [--offline] [--window 24h] [--env-file PATH]``: exit 0 PASS, 1 WARN, 2 FAIL."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from btcbot.commands.args import (
    AsJson,
    CommandArgs,
    EnvFile,
    StrategyConfigPath,
    StrategySpec,
    validate_kwargs,
    window_text,
)
from btcbot.doctor.window import parse_window
from btcbot.errors import ConfigError


class DoctorArgs(CommandArgs):
    """Check config, arming, DB, lock, clock, exchange and SLOs: doctor_status=PASS, WARN or FAIL."""

    as_json: AsJson = False
    offline: bool = Field(default=False, description="skip the network checks (SKIP, never PASS)")
    window: str | None = Field(
        default=None,
        description="the SLO window, a duration such as 2h, 30m or 3600 (seconds)",
        examples=["24h"],
        json_schema_extra={"metavar": "DURATION", "default_text": "the DOCTOR_WINDOW setting"},
    )
    strategy: StrategySpec = None
    strategy_config: StrategyConfigPath = None
    env_file: EnvFile = None

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: object) -> object:
        return window_text(value)


def doctor(**kwargs: Any) -> int:
    from btcbot.doctor.render import render_json, render_text
    from btcbot.doctor.runner import DoctorOptions, run_checks
    from btcbot.settings import load_settings

    args = validate_kwargs(DoctorArgs, "doctor", kwargs)
    settings = None
    config_error: str | None = None
    try:
        settings = load_settings(env_file=args.env_file)
    except ConfigError as exc:
        config_error = str(exc)
    window = args.window or (settings.doctor_window if settings else "24h")
    window_seconds = parse_window(window, name="--window" if args.window else "DOCTOR_WINDOW")
    options = DoctorOptions(
        window,
        window_seconds,
        offline=args.offline,
        strategy=args.strategy,
        strategy_config=args.strategy_config,
    )
    report = run_checks(settings, config_error, options)
    print(render_json(report) if args.as_json else render_text(report), flush=True)
    return report.exit_code
