"""``btcbot health [--json] [--env-file PATH]``: public REST (and WebSocket when enabled). Exit 0 only when OK."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from btcbot.errors import UsageError


class HealthArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_json: bool = Field(default=False, alias="json")
    env_file: str | None = None


def health(**kwargs: Any) -> int:
    import json

    from btcbot.doctor.health import overall, probe_rest, probe_ws
    from btcbot.settings import load_settings

    try:
        args = HealthArgs(**kwargs)
    except ValidationError as exc:
        raise UsageError(f"health: {exc.errors()[0]['msg']}") from None
    settings = load_settings(env_file=args.env_file)
    probes = [*probe_rest(settings), probe_ws(settings)]
    code = overall(probes)
    status = "OK" if code == 0 else "FAIL"
    if args.as_json:
        print(
            json.dumps(
                {
                    "schema_version": 1,
                    "health_status": status,
                    "exit_code": code,
                    "probes": [p.to_json() for p in probes],
                },
                indent=2,
            )
        )
        return code
    for p in probes:
        latency = f"{p.latency_ms:.1f} ms" if p.latency_ms is not None else "-"
        print(f"{p.status:<4}  {p.name:<16}  {latency:>9}  {p.detail}")
    print(f"health_status={status}")
    return code
