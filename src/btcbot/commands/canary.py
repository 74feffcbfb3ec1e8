"""``btcbot canary once|loop``: the bounded live canary (runbook stages 2 and 3)."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from pydantic import Field, field_validator

from btcbot.commands.args import (
    AdoptForeignOrders,
    CommandArgs,
    DryRun,
    EnvFile,
    StrategyConfigPath,
    StrategySpec,
    validate_kwargs,
)
from btcbot.domain.symbols import normalize_symbol
from btcbot.errors import UsageError
from btcbot.settings import Settings

# A live order is never placed on a default: when armed, these must be typed out.
EXPLICIT_WHEN_ARMED = ("symbol", "notional_try", "ttl_seconds")


class CanaryArgs(CommandArgs):
    """Place exactly one canary order and follow it until it fills or is cancelled at its TTL.

    When the environment is armed for live trading, --symbol, --notional-try and --ttl-seconds must be given
    explicitly. --symbol must be one of UNIVERSE_SYMBOLS.

    With a strategy of your own (STRATEGY or --strategy), the run trades only --symbol, --notional-try caps each
    of its orders, --ttl-seconds is their TTL, and canary once places one order of the strategy's choosing (when
    it wants one, within the cycle bound) and stops once that order is done.
    """

    symbol: str = Field(default="BTCTRY", description="the pair to trade; one of UNIVERSE_SYMBOLS", examples=["BTCTRY"])
    notional_try: Decimal = Field(
        default=Decimal(150),
        gt=0,
        description="the order's value in TRY, within MAX_NOTIONAL_PER_ORDER_TRY and NOTIONAL_CAP_TRY_PER_CYCLE",
        examples=["150"],
        json_schema_extra={"metavar": "TRY"},
    )
    ttl_seconds: int = Field(
        default=30,
        gt=0,
        description="cancel the order when it has not filled after this many seconds",
        examples=[30],
        json_schema_extra={"metavar": "SECONDS"},
    )
    cycle_seconds: Decimal = Field(
        default=Decimal(10),
        gt=0,
        description="seconds from one cycle's start to the next",
        examples=["10"],
        json_schema_extra={"metavar": "SECONDS"},
    )
    dry_run: DryRun = False
    adopt_foreign_orders: AdoptForeignOrders = False
    strategy: StrategySpec = None
    strategy_config: StrategyConfigPath = None
    env_file: EnvFile = None

    _norm_symbol = field_validator("symbol", mode="before")(
        lambda cls, v: normalize_symbol(v) if isinstance(v, str) else v
    )

    @field_validator("notional_try", mode="before")
    @classmethod
    def _exact_notional(cls, value: object) -> object:
        return str(value) if isinstance(value, (int, float)) else value


class CanaryLoopArgs(CanaryArgs):
    """Keep at most one canary order open at a time, for at most --max-cycles cycles.

    When the environment is armed for live trading, --symbol, --notional-try and --ttl-seconds must be given
    explicitly. --symbol must be one of UNIVERSE_SYMBOLS. With a strategy of your own, it runs that strategy on
    --symbol for --max-cycles cycles, each order capped at --notional-try.
    """

    max_cycles: int = Field(default=60, gt=0, description="stop after this many cycles", examples=[60])


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


def check_order_flags(settings: Settings, args: CanaryArgs, command: str) -> None:
    """Refuse a canary whose live order would rest on a default, or on a symbol outside the universe."""
    from btcbot.arming import ArmingInputs, decide_arming

    if decide_arming(ArmingInputs.from_settings(settings, cli_dry_run=args.dry_run)).live:
        missing = ["--" + name.replace("_", "-") for name in EXPLICIT_WHEN_ARMED if name not in args.model_fields_set]
        if missing:
            raise UsageError(
                f"{command}: armed for live trading, so {', '.join(missing)} must be given explicitly "
                f"(e.g. btcbot {command} --symbol BTCTRY --notional-try 150 --ttl-seconds 30)"
            )
    if args.symbol not in settings.universe_symbols:
        raise UsageError(
            f"{command}: --symbol {args.symbol} is not in UNIVERSE_SYMBOLS={','.join(settings.universe_symbols)}; "
            "pick one of those, or add it to UNIVERSE_SYMBOLS first"
        )


def _start(args: CanaryArgs, command: str, max_cycles: int | None) -> int:
    from btcbot.runtime.session import RuntimeOptions
    from btcbot.runtime.wiring import execute
    from btcbot.settings import load_settings
    from btcbot.strategies.canary import CanaryStrategy
    from btcbot.strategy_loader import load_strategy

    settings = load_settings(args.env_file)
    check_order_flags(settings, args, command)
    check_caps(settings, args.notional_try)
    once = max_cycles is None
    strategy = load_strategy(
        settings,
        spec=args.strategy,
        config_path=args.strategy_config,
        canary_params={"notional_try": args.notional_try, "first_cycle_only": once},
    )
    # The canary stage bounds any strategy the same way: one symbol, and --notional-try as the per-order cap.
    settings = strategy.into(settings).model_copy(
        update={"universe_symbols": (args.symbol,), "max_notional_per_order_try": args.notional_try}
    )
    builtin = isinstance(strategy.strategy, CanaryStrategy)
    cycle_s = float(args.cycle_seconds)
    options = RuntimeOptions(
        command="canary_once" if once else "canary_loop",
        # canary once: the order's TTL plus room for the cancel to be confirmed and an UNKNOWN to be resolved.
        max_cycles=math.ceil(args.ttl_seconds / cycle_s) + 30 if max_cycles is None else max_cycles,
        cycle_seconds=cycle_s,
        symbols=(args.symbol,),
        ttl_seconds=args.ttl_seconds,
        until_idle=once,
        # The built-in canary wants its one order in cycle 1 by itself; another strategy may wait for its moment.
        max_orders=1 if once and not builtin else None,
        cycle_timeout_s=max(60.0, 3 * cycle_s),
        adopt_foreign_orders=args.adopt_foreign_orders,
    )
    return execute(settings, options, strategy, cli_dry_run=args.dry_run, env_file=args.env_file).exit_code


def once(**kwargs: Any) -> int:
    """Exactly one canary order, followed until filled or cancelled at its TTL."""
    return _start(validate_kwargs(CanaryArgs, "canary once", kwargs), "canary once", None)


def loop(**kwargs: Any) -> int:
    """At most one canary order open at a time, for at most --max-cycles cycles."""
    args = validate_kwargs(CanaryLoopArgs, "canary loop", kwargs)
    return _start(args, "canary loop", args.max_cycles)
