"""``btcbot sim serve``: the local BTCTurk simulator until SIGINT/SIGTERM; one JSON line on stdout when ready."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from typing import Any

from pydantic import Field, field_validator

from btcbot.commands.args import CommandArgs, validate_kwargs
from btcbot.errors import UsageError

_PORT_HELP = "0 lets the OS pick a free port (printed in the ready line)"


class SimServeArgs(CommandArgs):
    """Serve BTCTurk's REST and WebSocket APIs on loopback until Ctrl-C; prints one JSON line when ready."""

    host: str = Field(default="127.0.0.1", description="the address to listen on", examples=["127.0.0.1"])
    port: int = Field(default=0, ge=0, le=65535, description="the REST port; " + _PORT_HELP, examples=[18080])
    ws_port: int = Field(default=0, ge=0, le=65535, description="the WebSocket port; " + _PORT_HELP, examples=[18081])
    seed: int = Field(default=1, description="seed of the simulated market (same seed, same market)", examples=[1])
    symbols: tuple[str, ...] = Field(
        default=("BTCTRY", "ETHTRY", "ETHBTC"), description="the pairs to simulate", examples=["BTCTRY,ETHTRY"]
    )
    api_key: str | None = Field(
        default=None,
        description="the API key the simulator accepts (with --api-secret)",
        examples=["runbook-demo-key"],
        json_schema_extra={"metavar": "KEY", "default_text": "the demo pair"},
    )
    api_secret: str | None = Field(
        default=None,
        description="the base64 API secret the simulator accepts (with --api-key)",
        examples=["c2ltdWxhdG9yLW9ubHktc2VjcmV0"],
        json_schema_extra={"metavar": "SECRET", "default_text": "the demo pair"},
    )
    market_tick_ms: int = Field(
        default=250, ge=0, description="milliseconds between market moves (0: frozen)", examples=[250]
    )

    @field_validator("symbols", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
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


def credentials_fields(api_key: str, api_secret: str) -> dict[str, str]:
    """The ready line's credential fields: the secret only when the pair is exactly the published demo pair.

    That pair is a documented test vector, so printing it lets a client be pointed at the simulator from the
    ready line alone; the constant is printed (not the argument), so no operator-supplied secret can get out.
    """
    from btcbot.sim import DEMO_API_KEY, DEMO_API_SECRET

    if api_key == DEMO_API_KEY and api_secret == DEMO_API_SECRET:
        return {"api_key": api_key, "api_secret": DEMO_API_SECRET, "credentials": "demo pair (a published test vector)"}
    return {"api_key": api_key, "credentials": "operator-supplied; secret not shown"}


def serve(**kwargs: Any) -> int:
    args = validate_kwargs(SimServeArgs, "sim serve", kwargs)
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
                **credentials_fields(api_key, api_secret),
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
