"""``btcbot record``, ``btcbot replay`` and ``btcbot backtest`` (see docs/replay.md)."""

from __future__ import annotations

import json as jsonlib
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator

from btcbot.commands.args import AsJson, CommandArgs, EnvFile, StrategyConfigPath, StrategySpec, validate_kwargs
from btcbot.domain.symbols import symbol_list
from btcbot.errors import UsageError
from btcbot.replay.clock import parse_speed

EXIT_OK = 0
EXIT_INTERRUPTED = 130


Dataset = Annotated[
    str | None,
    BeforeValidator(lambda v: None if v is None else str(v)),  # a Python caller may pass a Path
    Field(
        description="a dataset file, or the name of a shipped one",
        examples=["sim-btctry"],
        json_schema_extra={
            "metavar": "PATH|NAME",
            "kind": "path or shipped name",
            "default_text": "the shipped sim-btctry dataset",
        },
    ),
]
ReplayDb = Annotated[
    Path | None,
    Field(
        description="the replay's own state DB (never a live one)",
        examples=["var/replay.db"],
        json_schema_extra={"default_text": "<command>.db in the state directory"},
    ),
]
Seed = Annotated[int, Field(ge=0, description="seed of the simulated venue's matching", examples=[1])]


class RecordArgs(CommandArgs):
    """Record the market-data stream to a dataset file for replay and backtest."""

    symbols: tuple[str, ...] = Field(default=("BTCTRY",), description="the pairs to record", examples=["BTCTRY,ETHTRY"])
    out: Path = Field(description="the dataset file to write (never overwritten)", examples=["var/btctry.jsonl.gz"])
    duration: float = Field(
        default=30,
        gt=0,
        le=7 * 24 * 3600,
        description="how long to record",
        examples=[30],
        json_schema_extra={"metavar": "SECONDS"},
    )
    env_file: EnvFile = None

    _split = field_validator("symbols", mode="before")(lambda cls, v: symbol_list(v))


class ReplayArgs(CommandArgs):
    """Replay a dataset through the real actor graph against the simulator's matching engine."""

    dataset: Dataset = None
    speed: str = Field(
        default="max",
        description="max (as fast as it goes), or a factor of real time such as 10x",
        examples=["10x"],
        json_schema_extra={"metavar": "max|Nx", "kind": "max, or a positive factor"},
    )
    db: ReplayDb = None
    seed: Seed = 1
    strategy: StrategySpec = None
    strategy_config: StrategyConfigPath = None
    env_file: EnvFile = None

    @field_validator("speed", mode="before")
    @classmethod
    def _speed(cls, v: object) -> str:
        try:
            parse_speed(v)
        except UsageError as exc:
            raise ValueError(str(exc).removeprefix("--speed ")) from None
        return str(v)


class BacktestArgs(CommandArgs):
    """Replay plus a summary: positions, PnL, fees, turnover, drawdown, fills, order counts, rate-limit headroom."""

    dataset: Dataset = None
    as_json: AsJson = False
    db: ReplayDb = None
    seed: Seed = 1
    strategy: StrategySpec = None
    strategy_config: StrategyConfigPath = None
    latency_ms: int = Field(
        default=0,
        ge=0,
        le=60_000,
        description="virtual time a submit or cancel takes to reach the venue (the market moves meanwhile)",
        examples=[50],
        json_schema_extra={"metavar": "MS"},
    )
    report: Path | None = Field(
        default=None,
        description="also write one self-contained HTML file with the plots",
        examples=["var/backtest.html"],
        json_schema_extra={"metavar": "PATH.html", "kind": "path"},
    )
    env_file: EnvFile = None


def record(**kwargs: Any) -> int:
    args = validate_kwargs(RecordArgs, "record", kwargs)
    from btcbot.replay.recorder import RecordStats
    from btcbot.replay.recorder import record as do_record
    from btcbot.settings import load_settings

    settings = load_settings(args.env_file)
    if args.out.exists():
        raise UsageError(f"record: {args.out} already exists; pass a new --out path (datasets are never overwritten)")
    source = settings.market_data_mode.value
    url = settings.btcturk_ws_url if source == "ws" else settings.btcturk_base_url
    print(f"recording {','.join(args.symbols)} from {url} ({source}) for {args.duration:g} s -> {args.out}", flush=True)
    tty = sys.stderr.isatty()

    def progress(stats: RecordStats) -> None:
        line = (
            f"recording: {stats.elapsed_s:5.1f}/{args.duration:g} s  {stats.events} events "
            f"({stats.full_books} full books, {stats.diffs} diffs, {stats.resubscribes} resubscribes)"
        )
        print(("\r" + line) if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)

    stop = threading.Event()
    try:
        stats = do_record(
            source=source,
            base_url=settings.btcturk_base_url,
            ws_url=settings.btcturk_ws_url,
            symbols=args.symbols,
            out=args.out,
            duration_s=args.duration,
            stop=stop,
            progress=progress,
        )
    except KeyboardInterrupt:
        stop.set()
        print("\ninterrupted; the dataset holds what was recorded so far", file=sys.stderr)
        return EXIT_INTERRUPTED
    if tty:
        print(file=sys.stderr)
    print(
        f"recorded {stats.events} events ({stats.full_books} full books, {stats.diffs} diffs) "
        f"in {stats.elapsed_s:.1f} s to {args.out}"
    )
    return EXIT_OK


def replay(**kwargs: Any) -> int:
    args = validate_kwargs(ReplayArgs, "replay", kwargs)
    from btcbot.replay.session import run_replay

    speed = parse_speed(args.speed)
    result = run_replay(
        dataset=args.dataset,
        speed=speed,
        db=args.db,
        seed=args.seed,
        env_file=args.env_file,
        command="replay",
        strategy=args.strategy,
        strategy_config=args.strategy_config,
    )
    print(f"replay {result.run_id}: {result.strategy}")
    print(result.line())
    return result.exit_code


def backtest(**kwargs: Any) -> int:
    args = validate_kwargs(BacktestArgs, "backtest", kwargs)
    from btcbot.replay.session import run_replay
    from btcbot.replay.summary import format_text

    if args.report is not None and args.report.is_dir():  # said before the run, not after it
        raise UsageError(f"backtest: --report {args.report} is a directory; pass a file path such as var/backtest.html")

    result = run_replay(
        dataset=args.dataset,
        speed=None,
        db=args.db,
        seed=args.seed,
        env_file=args.env_file,
        command="backtest",
        strategy=args.strategy,
        strategy_config=args.strategy_config,
        latency_ms=args.latency_ms,
    )
    acc = result.accounting()
    summary = result.summary(acc)
    if args.report is not None:
        from btcbot.replay.html_report import write_report  # matplotlib: imported only when a report is asked for

        write_report(args.report, summary, acc)
    if args.as_json:
        print(jsonlib.dumps(summary, indent=2, sort_keys=True))
    else:
        print(format_text(summary))
        if args.report is not None:
            print(f"  report: {args.report}")
    return result.exit_code
