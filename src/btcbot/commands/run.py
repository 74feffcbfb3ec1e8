"""``btcbot run --once`` / ``btcbot run --loop --cycle-seconds N --max-cycles N [--dry-run]``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field, model_validator

from btcbot.commands.args import (
    AdoptForeignOrders,
    CommandArgs,
    DryRun,
    EnvFile,
    StrategyConfigPath,
    StrategySpec,
    validate_kwargs,
)


class RunArgs(CommandArgs):
    """Run the supervised runtime: one cycle (--once), or a loop of at most --max-cycles cycles (--loop).

    Live only when fully armed (LIVE_TRADING=true, LIVE_TRADING_ACK=I_UNDERSTAND, DRY_RUN=false,
    KILL_SWITCH=false, SAFE_MODE=false, credentials present, no --dry-run); otherwise observe-only. The strategy is
    STRATEGY (default: the canary) or --strategy, with its parameters from STRATEGY_PARAMS or --strategy-config.
    """

    once: bool = Field(default=False, description="run one cycle, then stop (or --loop, not both)")
    loop: bool = Field(default=False, description="run cycles until --max-cycles or Ctrl-C (or --once, not both)")
    cycle_seconds: Decimal | None = Field(
        default=None,
        gt=0,
        description="seconds from one cycle's start to the next",
        examples=["10"],
        json_schema_extra={"metavar": "SECONDS", "default_text": "the CYCLE_SECONDS setting"},
    )
    max_cycles: int | None = Field(
        default=None,
        gt=0,
        description="stop after this many cycles (with --loop); unset: until stopped",
        examples=[60],
        json_schema_extra={"default_text": "none (until stopped)"},
    )
    dry_run: DryRun = False
    adopt_foreign_orders: AdoptForeignOrders = False
    strategy: StrategySpec = None
    strategy_config: StrategyConfigPath = None
    env_file: EnvFile = None

    @model_validator(mode="after")
    def _one_mode(self) -> RunArgs:
        if self.once == self.loop:
            raise ValueError(
                "pass exactly one of --once or --loop (e.g. btcbot run --loop --cycle-seconds 10 --max-cycles 60)"
            )
        if self.once and self.max_cycles is not None:
            raise ValueError("--max-cycles bounds --loop; --once always runs exactly one cycle")
        return self


def run(**kwargs: Any) -> int:
    args = validate_kwargs(RunArgs, "run", kwargs)
    from btcbot.runtime.session import RuntimeOptions
    from btcbot.runtime.wiring import execute
    from btcbot.settings import load_settings
    from btcbot.strategy_loader import load_strategy

    settings = load_settings(args.env_file)
    strategy = load_strategy(settings, spec=args.strategy, config_path=args.strategy_config)
    settings = strategy.into(settings)
    cycle_seconds = float(args.cycle_seconds if args.cycle_seconds is not None else settings.cycle_seconds)
    options = RuntimeOptions(
        command="run",
        max_cycles=1 if args.once else args.max_cycles,
        cycle_seconds=cycle_seconds,
        cycle_timeout_s=max(60.0, 3 * cycle_seconds),
        adopt_foreign_orders=args.adopt_foreign_orders,
    )
    return execute(settings, options, strategy, cli_dry_run=args.dry_run, env_file=args.env_file).exit_code
