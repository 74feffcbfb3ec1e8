"""``btcbot config show [--env-file PATH] [--json]``: every effective setting and where it came from."""

from __future__ import annotations

from typing import Any

from btcbot.commands.args import AsJson, CommandArgs, EnvFile, validate_kwargs


class ConfigShowArgs(CommandArgs):
    """Print every effective setting and where it came from; secrets only as set/unset."""

    env_file: EnvFile = None
    as_json: AsJson = False


def show(**kwargs: Any) -> int:
    import json as jsonlib

    from btcbot.settings import gates_overriding_env_file, load_settings, redacted_view, setting_sources

    args = validate_kwargs(ConfigShowArgs, "config show", kwargs)
    settings = load_settings(env_file=args.env_file)
    values = redacted_view(settings)  # secrets only as set/unset
    sources: dict[str, str] = dict(setting_sources(settings, args.env_file))
    overridden = gates_overriding_env_file(args.env_file)
    for name in overridden:
        sources[name.lower()] = "environment, overrides a different value in the env file"
    rows = [(name, values[name], sources[name.lower()]) for name in values]
    if args.as_json:
        doc = {
            "settings": {n: {"value": v, "source": s} for n, v, s in rows},
            "env_file": args.env_file,
            "gates_overriding_env_file": list(overridden),
        }
        print(jsonlib.dumps(doc, indent=2))
        return 0
    width = max(len(n) for n, _, _ in rows)
    vwidth = min(40, max(len(v) for _, v, _ in rows))
    for name, value, source in rows:
        print(f"{name:<{width}}  {value:<{vwidth}}  ({source})")
    return 0
