"""``btcbot run --once`` / ``btcbot run --loop --cycle-seconds N --max-cycles N [--dry-run]``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from btcbot.errors import UsageError


class RunArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    once: bool = False
    loop: bool = False
    cycle_seconds: Decimal | None = Field(default=None, gt=0)
    max_cycles: int | None = Field(default=None, gt=0)
    dry_run: bool = False
    env_file: str | None = None


def _usage(exc: ValidationError) -> UsageError:
    parts = [f"--{'-'.join(str(p) for p in e['loc']).replace('_', '-')}: {e['msg']}" for e in exc.errors()]
    return UsageError("; ".join(parts))


def run(**kwargs: Any) -> int:
    try:
        args = RunArgs.model_validate(kwargs)
    except ValidationError as exc:
        raise _usage(exc) from None
    if args.once == args.loop:
        raise UsageError(
            "pass exactly one of --once or --loop (e.g. btcbot run --loop --cycle-seconds 10 --max-cycles 60)"
        )
    from btcbot.runtime.session import RuntimeOptions
    from btcbot.runtime.strategy import CanaryStrategy
    from btcbot.runtime.wiring import execute
    from btcbot.settings import load_settings

    settings = load_settings(args.env_file)
    cycle_seconds = float(args.cycle_seconds if args.cycle_seconds is not None else settings.cycle_seconds)
    options = RuntimeOptions(
        command="run",
        max_cycles=1 if args.once else args.max_cycles,
        cycle_seconds=cycle_seconds,
        cycle_timeout_s=max(60.0, 3 * cycle_seconds),
    )
    strategy = CanaryStrategy(settings.max_notional_per_order_try, settings.canary_offset_bps)
    return execute(settings, options, strategy, cli_dry_run=args.dry_run).exit_code
