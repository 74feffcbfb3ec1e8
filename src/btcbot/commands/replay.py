"""``btcbot record``, ``btcbot replay`` and ``btcbot backtest`` (see docs/replay.md)."""

from __future__ import annotations

import json as jsonlib
import sys
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from btcbot.errors import UsageError

EXIT_OK = 0
EXIT_INTERRUPTED = 130


def _symbols(value: object) -> tuple[str, ...]:
    parts = [str(p) for p in value] if isinstance(value, (list, tuple)) else str(value).split(",")
    symbols = tuple(p.strip().upper().replace("_", "") for p in parts if p.strip())
    if not symbols or not all(s.isalnum() for s in symbols):
        raise ValueError("expected a comma-separated list of symbols such as BTCTRY,ETHTRY")
    return symbols


class RecordArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    symbols: tuple[str, ...]
    out: Path
    duration: float = Field(gt=0, le=7 * 24 * 3600)
    env_file: str | None = None

    _split = field_validator("symbols", mode="before")(lambda cls, v: _symbols(v))


class ReplayArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    dataset: str | None = None
    speed: str = "max"
    db: Path | None = None
    seed: int = Field(default=1, ge=0)
    env_file: str | None = None

    @field_validator("speed", mode="before")
    @classmethod
    def _speed_text(cls, v: object) -> str:
        return str(v)

    @field_validator("dataset", mode="before")
    @classmethod
    def _dataset_text(cls, v: object) -> object:
        return None if v is None else str(v)


class BacktestArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    dataset: str | None = None
    as_json: bool = Field(default=False, alias="json")
    db: Path | None = None
    seed: int = Field(default=1, ge=0)
    env_file: str | None = None

    @field_validator("dataset", mode="before")
    @classmethod
    def _dataset_text(cls, v: object) -> object:
        return None if v is None else str(v)


def _validate(model: type[BaseModel], command: str, kwargs: dict[str, Any]) -> Any:
    if command == "record" and kwargs.get("out") is None:
        raise UsageError("record: --out PATH is required (for example --out var/btctry.jsonl.gz)")
    try:
        return model(**kwargs)
    except ValidationError as exc:
        problems = "; ".join(
            f"--{'.'.join(str(p) for p in e['loc']).replace('_', '-')}: {e['msg']}" for e in exc.errors()
        )
        raise UsageError(f"{command}: {problems}") from None


def record(**kwargs: Any) -> int:
    args: RecordArgs = _validate(RecordArgs, "record", kwargs)
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
    args: ReplayArgs = _validate(ReplayArgs, "replay", kwargs)
    from btcbot.replay.clock import parse_speed
    from btcbot.replay.session import run_replay

    speed = parse_speed(args.speed)
    result = run_replay(
        dataset=args.dataset, speed=speed, db=args.db, seed=args.seed, env_file=args.env_file, command="replay"
    )
    print(result.line())
    return result.exit_code


def backtest(**kwargs: Any) -> int:
    args: BacktestArgs = _validate(BacktestArgs, "backtest", kwargs)
    from btcbot.replay.session import run_replay
    from btcbot.replay.summary import format_text

    result = run_replay(
        dataset=args.dataset, speed=None, db=args.db, seed=args.seed, env_file=args.env_file, command="backtest"
    )
    summary = result.summary()
    if args.as_json:
        print(jsonlib.dumps(summary, indent=2, sort_keys=True))
    else:
        print(format_text(summary))
    return result.exit_code
