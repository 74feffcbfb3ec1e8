"""``btcbot sim serve``: the local BTCTurk simulator until SIGINT/SIGTERM; one JSON line on stdout when ready."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from btcbot.errors import UsageError


class SimServeArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    ws_port: int = Field(default=0, ge=0, le=65535)
    seed: int = 1
    symbols: tuple[str, ...] = ("BTCTRY", "ETHTRY", "ETHBTC")
    api_key: str | None = None
    api_secret: str | None = None
    market_tick_ms: int = Field(default=250, ge=0)

    @field_validator("symbols", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        # Fire turns "A,B" into a tuple and "A" into a str.
        if isinstance(value, str):
            return tuple(p for p in (s.strip() for s in value.split(",")) if p)
        if isinstance(value, (list, tuple)):
            return tuple(str(v).strip() for v in value if str(v).strip())
        return value

    @field_validator("api_key", "api_secret", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return str(value)


def serve(**kwargs: Any) -> int:
    try:
        args = SimServeArgs(**kwargs)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"sim serve: --{where.replace('_', '-')}: {first['msg']}") from None
    if (args.api_key is None) != (args.api_secret is None):
        raise UsageError("sim serve: pass both --api-key and --api-secret, or neither (the demo pair is used)")

    from btcbot.sim import DEMO_API_KEY, DEMO_API_SECRET, Simulator
    from btcbot.sim.auth import decode_secret
    from btcbot.sim.symbols import resolve_symbols

    try:
        resolve_symbols(list(args.symbols))
        if args.api_secret is not None:
            decode_secret(args.api_secret)
    except ValueError as exc:
        raise UsageError(f"sim serve: {exc}") from None
    api_key = args.api_key or DEMO_API_KEY
    api_secret = args.api_secret or DEMO_API_SECRET
    demo = api_key == DEMO_API_KEY and api_secret == DEMO_API_SECRET

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        sim = Simulator(
            seed=args.seed,
            symbols=args.symbols,
            api_key=api_key,
            api_secret=api_secret,
            market_tick_ms=args.market_tick_ms,
            host=args.host,
            port=args.port,
            ws_port=args.ws_port,
        )
        try:
            sim.start()
        except OSError as exc:
            raise UsageError(f"sim serve: cannot listen on {args.host}: {exc.strerror or exc}") from None
        try:
            ready = {
                "rest_url": sim.rest_url,
                "ws_url": sim.ws_url,
                "api_key": api_key,
                "credentials": (
                    "demo pair: the secret is btcbot.sim.DEMO_API_SECRET (a published test vector)"
                    if demo
                    else "operator-supplied; secret not shown"
                ),
                "user_id": sim.user_id,
                "seed": args.seed,
                "symbols": [s.name for s in sim.specs],
                "control_url": f"{sim.rest_url}/sim/",
                "pid": os.getpid(),
            }
            sys.stdout.write(json.dumps(ready) + "\n")
            sys.stdout.flush()
            while not stop.wait(0.5):
                pass
        finally:
            sim.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
