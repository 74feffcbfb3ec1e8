"""``btcbot canary once|loop``: the bounded live canary (runbook stages 2 and 3)."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from btcbot.errors import UsageError
from btcbot.settings import Settings


class CanaryArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    symbol: str = "BTCTRY"
    notional_try: Decimal = Field(default=Decimal(150), gt=0)
    ttl_seconds: int = Field(default=30, gt=0)
    cycle_seconds: Decimal = Field(default=Decimal(10), gt=0)
    max_cycles: int = Field(default=60, gt=0)
    env_file: str | None = None
    dry_run: bool = False

    @field_validator("symbol", mode="before")
    @classmethod
    def _norm_symbol(cls, value: object) -> object:
        if isinstance(value, str):
            s = value.strip().upper().replace("_", "")
            if not s.isalnum():
                raise ValueError("must be a symbol such as BTCTRY")
            return s
        return value

    @field_validator("notional_try", mode="before")
    @classmethod
    def _exact_notional(cls, value: object) -> object:
        return str(value) if isinstance(value, (int, float)) else value


def _parse(kwargs: dict[str, Any]) -> CanaryArgs:
    try:
        return CanaryArgs.model_validate(kwargs)
    except ValidationError as exc:
        parts = [f"--{'-'.join(str(p) for p in e['loc']).replace('_', '-')}: {e['msg']}" for e in exc.errors()]
        raise UsageError("; ".join(parts)) from None


def check_caps(settings: Settings, notional: Decimal) -> None:
    """A canary notional outside the hard caps is refused up front, never trimmed."""
    if notional > settings.max_notional_per_order_try:
        raise UsageError(
            f"--notional-try {notional} exceeds MAX_NOTIONAL_PER_ORDER_TRY={settings.max_notional_per_order_try}"
        )
    if notional > settings.notional_cap_try_per_cycle:
        raise UsageError(
            f"--notional-try {notional} exceeds NOTIONAL_CAP_TRY_PER_CYCLE={settings.notional_cap_try_per_cycle}"
        )
    if notional < settings.min_order_notional_try:
        raise UsageError(f"--notional-try {notional} is below MIN_ORDER_NOTIONAL_TRY={settings.min_order_notional_try}")


def _start(kwargs: dict[str, Any], *, once: bool) -> int:
    args = _parse(kwargs)
    from btcbot.runtime.session import RuntimeOptions
    from btcbot.runtime.strategy import CanaryStrategy
    from btcbot.runtime.wiring import execute
    from btcbot.settings import load_settings

    settings = load_settings(args.env_file)
    check_caps(settings, args.notional_try)
    settings = settings.model_copy(update={"universe_symbols": (args.symbol,)})
    cycle_s = float(args.cycle_seconds)
    # canary once: the order's TTL plus room for the cancel to be confirmed and an UNKNOWN to be resolved.
    max_cycles = math.ceil(args.ttl_seconds / cycle_s) + 30 if once else args.max_cycles
    options = RuntimeOptions(
        command="canary_once" if once else "canary_loop",
        max_cycles=max_cycles,
        cycle_seconds=cycle_s,
        symbols=(args.symbol,),
        ttl_seconds=args.ttl_seconds,
        until_idle=once,
        cycle_timeout_s=max(60.0, 3 * cycle_s),
    )
    strategy = CanaryStrategy(args.notional_try, settings.canary_offset_bps, first_cycle_only=once)
    return execute(settings, options, strategy, cli_dry_run=args.dry_run).exit_code


def once(**kwargs: Any) -> int:
    """Exactly one canary order, followed until filled or cancelled at its TTL."""
    kwargs.pop("max_cycles", None)
    return _start(kwargs, once=True)


def loop(**kwargs: Any) -> int:
    """At most one canary order open at a time, for at most --max-cycles cycles."""
    return _start(kwargs, once=False)
