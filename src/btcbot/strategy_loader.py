"""Find, check and configure the strategy of a run: ``STRATEGY``, and ``STRATEGY_PARAMS`` or ``--strategy-config``.

``STRATEGY`` names a strategy three ways: ``canary`` or another name registered under the ``btcbot.strategies``
entry-point group (btcbot's own: canary, quoter, mean_reversion); ``package.module:ClassName`` (importable from
``sys.path``, e.g. with ``PYTHONPATH``); or ``path/to/file.py:ClassName``. The parameters come from
``STRATEGY_PARAMS`` (a JSON object) or from the ``[strategy]`` table of the TOML file ``--strategy-config PATH``
(not both), and are validated by the strategy's own ``Config`` model.

Every problem (unknown name, import error, a class that is not a ``btcbot.strategy.Strategy``, bad parameters, a
constructor that raises) is a ``ConfigError``: one line, exit 2, raised before anything touches the exchange.
The built-in canary takes its defaults from the settings (MAX_NOTIONAL_PER_ORDER_TRY, CANARY_OFFSET_BPS) and,
in ``canary once|loop``, from the command's flags, which win.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ValidationError

from btcbot.errors import ConfigError
from btcbot.settings import Settings
from btcbot.strategy import Strategy

ENTRY_POINT_GROUP = "btcbot.strategies"
CANARY = "canary"
# What the user's code may raise while it is imported or built. SystemExit among them: a module that calls
# sys.exit() or parses its own command line at import would otherwise end btcbot, with its own exit code and no word.
_USER_ERRORS = (Exception, SystemExit)


@dataclass(frozen=True, slots=True)
class LoadedStrategy:
    spec: str  # as configured
    target: str  # the module:Class it resolved to
    strategy: Strategy[Any]
    params: dict[str, Any]  # validated, as JSON values (secret parameters masked)

    @property
    def params_json(self) -> str:
        return json.dumps(self.params, sort_keys=True, separators=(",", ":"))

    def describe(self) -> str:
        return f"strategy={self.strategy.name} ({self.target}) params={self.params_json}"

    def into(self, settings: Settings) -> Settings:
        """The settings with the effective strategy and parameters, so the run's records show what ran."""
        return settings.model_copy(update={"strategy": self.spec, "strategy_params": self.params_json})


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def registered() -> dict[str, str]:
    """Entry-point name -> ``module:attr`` for every strategy installed under ``btcbot.strategies``."""
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _import_file(path_text: str, spec: str) -> ModuleType:
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise ConfigError(f"STRATEGY={spec}: file {path} not found")
    name = "btcbot_user_strategy_" + re.sub(r"\W", "_", path.stem)
    loader_spec = importlib.util.spec_from_file_location(name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise ConfigError(f"STRATEGY={spec}: {path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module  # dataclasses and pydantic look a class's module up while it is being built
    try:
        loader_spec.loader.exec_module(module)
    except _USER_ERRORS as exc:  # any error in the user's module is reported, never a traceback
        sys.modules.pop(name, None)
        raise ConfigError(f"STRATEGY={spec}: importing {path} failed: {_one_line(exc)}") from None
    return module


def _import_module(module_name: str, spec: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ConfigError(
                f"STRATEGY={spec}: no module named {exc.name!r}; put it on PYTHONPATH, or name a file "
                "instead (STRATEGY=path/to/my_strategy.py:MyStrategy)"
            ) from None
        raise ConfigError(f"STRATEGY={spec}: importing {module_name} failed: {_one_line(exc)}") from None
    except _USER_ERRORS as exc:  # any error in the user's module is reported, never a traceback
        raise ConfigError(f"STRATEGY={spec}: importing {module_name} failed: {_one_line(exc)}") from None


def resolve(spec: str) -> tuple[type[Strategy[Any]], str]:
    """The strategy class ``spec`` names and its ``module:Class``; ConfigError if there is none or it is unfit."""
    if ":" in spec:
        where, _, attr = spec.rpartition(":")
        if not where or not attr.isidentifier():
            raise ConfigError(f"STRATEGY={spec}: expected package.module:ClassName or path/to/file.py:ClassName")
        is_file = where.endswith(".py") or "/" in where or "\\" in where
        module = _import_file(where, spec) if is_file else _import_module(where, spec)
        if not hasattr(module, attr):
            raise ConfigError(f"STRATEGY={spec}: {where} has no {attr}")
        obj: object = getattr(module, attr)
        target = spec
    else:
        known = registered()
        if not known:  # btcbot's own are registered too: the install predates them (an old editable install)
            raise ConfigError(
                f"STRATEGY={spec}: no strategy is registered under {ENTRY_POINT_GROUP}; reinstall btcbot "
                "(scripts/_venv.sh, or pip install -e .) so its entry points are installed"
            )
        if spec not in known:
            raise ConfigError(
                f"STRATEGY={spec}: unknown strategy (registered: {', '.join(sorted(known))}); or give "
                "package.module:ClassName or path/to/file.py:ClassName"
            )
        target = known[spec]
        from importlib.metadata import entry_points

        (ep,) = (e for e in entry_points(group=ENTRY_POINT_GROUP) if e.name == spec)
        try:
            obj = ep.load()
        except _USER_ERRORS as exc:  # a broken installed package is reported, never a traceback
            raise ConfigError(f"STRATEGY={spec}: loading {target} failed: {_one_line(exc)}") from None
    return _check_class(obj, spec), target


def _check_class(obj: object, spec: str) -> type[Strategy[Any]]:
    hint = "subclass btcbot.strategy.Strategy, e.g. class Mine(Strategy[MyConfig]) with decide(view) -> Wanted"
    if not isinstance(obj, type) or not issubclass(obj, Strategy):
        raise ConfigError(f"STRATEGY={spec}: {getattr(obj, '__name__', obj)!s} is not a strategy class ({hint})")
    if obj.decide is Strategy.decide:
        raise ConfigError(f"STRATEGY={spec}: {obj.__name__} does not implement decide(view) -> Wanted")
    if not (isinstance(obj.Config, type) and issubclass(obj.Config, BaseModel)):
        raise ConfigError(f"STRATEGY={spec}: {obj.__name__}.Config must be a pydantic model (StrategyConfig)")
    return obj


def read_params(settings: Settings, config_path: Path | None) -> tuple[dict[str, Any], str]:
    """The raw parameters and where they came from (for error messages)."""
    if config_path is not None and settings.strategy_params:
        raise ConfigError(
            "strategy parameters given twice: STRATEGY_PARAMS and --strategy-config; give them in one place"
        )
    if config_path is None:
        text = settings.strategy_params
        return (json.loads(text, parse_float=Decimal) if text else {}), "STRATEGY_PARAMS"
    where = f"--strategy-config {config_path}"
    try:
        doc = tomllib.loads(config_path.read_text(encoding="utf-8"), parse_float=Decimal)
    except FileNotFoundError:
        raise ConfigError(f"{where}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read it ({type(exc).__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML ({' '.join(str(exc).split())})") from None
    extra = sorted(set(doc) - {"strategy"})
    if extra:
        raise ConfigError(f"{where}: only a [strategy] table is read; found {', '.join(extra)}")
    table = doc.get("strategy")
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: no [strategy] table (its keys are the strategy's parameters)")
    return table, f"{where} [strategy]"


def describe_params_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "parameters"
        msg = "unknown parameter" if err["type"] == "extra_forbidden" else str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def load_strategy(
    settings: Settings,
    *,
    spec: str | None = None,
    config_path: Path | None = None,
    canary_params: Mapping[str, Any] | None = None,
) -> LoadedStrategy:
    """The configured strategy, built and checked. ``spec`` (``--strategy``) overrides STRATEGY;
    ``canary_params`` (``canary once|loop``'s flags) configure the built-in canary over everything else."""
    spec = (spec or settings.strategy).strip()
    cls, target = resolve(spec)
    params, where = read_params(settings, config_path)
    from btcbot.strategies.canary import CanaryStrategy

    if cls is CanaryStrategy:
        base = {"notional_try": settings.max_notional_per_order_try, "offset_bps": settings.canary_offset_bps}
        params = {**base, **params, **(canary_params or {})}
    try:
        config = cls.Config.model_validate(params)
    except ValidationError as exc:
        raise ConfigError(f"{where}: invalid parameters for {cls.name}: {describe_params_error(exc)}") from None
    except _USER_ERRORS as exc:  # a validator of the user's that raised something pydantic passes on
        # Its type only: its message may quote a parameter's value, and a parameter may be a secret.
        raise ConfigError(
            f"{where}: validating the parameters of {cls.name} raised {type(exc).__name__} (its message is not "
            "shown: it may quote a value); a validator should raise ValueError"
        ) from None
    try:
        strategy = cls(config)
    except _USER_ERRORS as exc:  # the user's constructor; reported in one line
        raise ConfigError(f"STRATEGY={spec}: constructing {cls.__name__} failed: {_one_line(exc)}") from None
    _check_decide(strategy, spec)
    try:
        params = config.model_dump(mode="json")
    except _USER_ERRORS as exc:  # a parameter type pydantic cannot show as JSON
        raise ConfigError(
            f"STRATEGY={spec}: the parameters of {cls.name} cannot be shown as JSON ({type(exc).__name__}); give "
            "each parameter a JSON-friendly type (str, int, Decimal, bool, a list or model of them)"
        ) from None
    return LoadedStrategy(spec, target, strategy, params)


def _check_decide(strategy: Strategy[Any], spec: str) -> None:
    """Refused here, before anything runs, what would otherwise fail on the first fresh book and latch safe mode."""
    decide = strategy.decide
    what = f"STRATEGY={spec}: {type(strategy).__name__}.decide"
    if not callable(decide):
        raise ConfigError(f"{what} is not a method; define decide(self, view) -> Wanted")
    if inspect.iscoroutinefunction(decide) or inspect.isgeneratorfunction(decide) or inspect.isasyncgenfunction(decide):
        raise ConfigError(f"{what} is async or a generator; it must return a Wanted (def decide(self, view))")
    try:
        inspect.signature(decide).bind(None)
    except TypeError:
        raise ConfigError(
            f"{what}{inspect.signature(decide)} cannot be called with the view alone; define decide(self, view)"
        ) from None
    except ValueError:  # no signature to read (a builtin): the first call tells
        pass
