"""``btcbot doctor [--json] [--offline] [--window 24h] [--env-file PATH]``: exit 0 PASS, 1 WARN, 2 FAIL."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from btcbot.errors import ConfigError, UsageError


class DoctorArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)

    as_json: bool = Field(default=False, alias="json")
    offline: bool = False
    window: str | None = None
    env_file: str | None = None

    @field_validator("window", mode="before")
    @classmethod
    def _window_text(cls, value: object) -> object:
        # Fire turns "3600" into an int; a window is text either way.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def parse_args(kwargs: dict[str, Any]) -> DoctorArgs:
    try:
        return DoctorArgs(**kwargs)
    except ValidationError as exc:
        problems = "; ".join(f"--{'.'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg']}" for e in exc.errors())
        raise UsageError(f"doctor: {problems}") from None


def doctor(**kwargs: Any) -> int:
    from btcbot.doctor.render import render_json, render_text
    from btcbot.doctor.runner import DoctorOptions, run_checks
    from btcbot.doctor.window import parse_window
    from btcbot.settings import load_settings

    args = parse_args(kwargs)
    settings = None
    config_error: str | None = None
    try:
        settings = load_settings(env_file=args.env_file)
    except ConfigError as exc:
        config_error = str(exc)
    window = args.window or (settings.doctor_window if settings else "24h")
    window_seconds = parse_window(window, name="--window" if args.window else "DOCTOR_WINDOW")
    report = run_checks(settings, config_error, DoctorOptions(window, window_seconds, offline=args.offline))
    print(render_json(report) if args.as_json else render_text(report), flush=True)
    return report.exit_code
