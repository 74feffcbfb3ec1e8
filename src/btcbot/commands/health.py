"""``btcbot health [--json] [--env-file PATH]``: public REST (and WebSocket when enabled). Exit 0 only when OK."""

from __future__ import annotations

from typing import Any

from btcbot.commands.args import AsJson, CommandArgs, EnvFile, validate_kwargs


class HealthArgs(CommandArgs):
    """Probe the public REST API (and the WebSocket when enabled): OK, FAIL or SKIP with latency."""

    as_json: AsJson = False
    env_file: EnvFile = None


def health(**kwargs: Any) -> int:
    import json

    from btcbot.doctor.health import overall, probe_rest, probe_ws
    from btcbot.settings import load_settings

    args = validate_kwargs(HealthArgs, "health", kwargs)
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
