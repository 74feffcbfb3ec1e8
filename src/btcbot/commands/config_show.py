"""``btcbot config show [--env-file PATH] [--json]``: every effective setting and where it came from."""

from __future__ import annotations

from typing import Any

from btcbot.commands.args import AsJson, CommandArgs, EnvFile, StrategyConfigPath, StrategySpec, validate_kwargs


class ConfigShowArgs(CommandArgs):
    """Print every effective setting and where it came from; secrets only as set/unset.

    STRATEGY and STRATEGY_PARAMS show the strategy a run would use and its validated parameters (secret
    parameters masked), with --strategy / --strategy-config applied as a run would apply them.
    """

    env_file: EnvFile = None
    as_json: AsJson = False
    strategy: StrategySpec = None
    strategy_config: StrategyConfigPath = None


def show(**kwargs: Any) -> int:
    import json as jsonlib

    from btcbot.settings import gates_overriding_env_file, load_settings, redacted_view, setting_sources
    from btcbot.strategy_loader import load_strategy

    args = validate_kwargs(ConfigShowArgs, "config show", kwargs)
    settings = load_settings(env_file=args.env_file)
    strategy = load_strategy(settings, spec=args.strategy, config_path=args.strategy_config)
    values = redacted_view(strategy.into(settings))  # secrets only as set/unset
    sources: dict[str, str] = dict(setting_sources(settings, args.env_file))
    overridden = gates_overriding_env_file(args.env_file)
    for name in overridden:
        sources[name.lower()] = "environment, overrides a different value in the env file"
    if args.strategy:
        sources["strategy"] = "command line"
    if args.strategy_config:
        sources["strategy_params"] = "command line"
    rows = [(name, values[name], sources[name.lower()]) for name in values]
    if args.as_json:
        doc = {
            "settings": {n: {"value": v, "source": s} for n, v, s in rows},
            "env_file": args.env_file,
            "gates_overriding_env_file": list(overridden),
            "strategy": {"name": strategy.strategy.name, "target": strategy.target, "params": strategy.params},
        }
        print(jsonlib.dumps(doc, indent=2))
        return 0
    width = max(len(n) for n, _, _ in rows)
    vwidth = min(40, max(len(v) for _, v, _ in rows))
    for name, value, source in rows:
        print(f"{name:<{width}}  {value:<{vwidth}}  ({source})")
    return 0
