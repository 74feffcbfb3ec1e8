"""Loading a strategy: by name, module or file; parameters from STRATEGY_PARAMS or a TOML file; every mistake is
one ConfigError line (exit 2) before anything touches the exchange."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from btcbot.cli import main
from btcbot.errors import ConfigError
from btcbot.settings import Settings
from btcbot.strategies.canary import CanaryStrategy
from btcbot.strategies.mean_reversion import MeanReversion
from btcbot.strategies.quoter import PassiveQuoter
from btcbot.strategy_loader import load_strategy, registered

GOOD = """
from decimal import Decimal
from btcbot.strategy import Strategy, StrategyConfig, Wanted

class Config(StrategyConfig):
    size: Decimal = Decimal("0.001")

class Good(Strategy[Config]):
    name = "good"

    def decide(self, view):
        return Wanted.none("idle")
"""

BAD_MODULES = {
    "syntax.py": ("class Oops(:\n", "importing"),
    "raises.py": ("raise RuntimeError('boom at import')\n", "RuntimeError: boom at import"),
    "missing_dep.py": ("import nonexistent_pkg_xyz\n", "No module named 'nonexistent_pkg_xyz'"),
    "plain.py": ("class Plain:\n    def decide(self, view):\n        return None\n", "is not a strategy class"),
    "nodecide.py": (
        "from btcbot.strategy import Strategy, StrategyConfig\nclass Plain(Strategy[StrategyConfig]):\n    pass\n",
        "does not implement decide",
    ),
    "badconfig.py": (
        "from btcbot.strategy import Strategy, Wanted\nclass Plain(Strategy):\n    Config = dict\n"
        "    def decide(self, view):\n        return Wanted()\n",
        "Config must be a pydantic model",
    ),
    "ctor.py": (
        "from btcbot.strategy import Strategy, Wanted\nclass Plain(Strategy):\n"
        "    def __init__(self, config):\n        raise ValueError('no\\nway')\n"
        "    def decide(self, view):\n        return Wanted()\n",
        "constructing Plain failed: ValueError: no way",
    ),
}


def settings(**kw: object) -> Settings:
    return Settings(state_db_path=Path("unused.db"), **kw)  # type: ignore[arg-type]


def test_builtin_names_are_registered_entry_points():
    assert registered() == {
        "canary": "btcbot.strategies.canary:CanaryStrategy",
        "mean_reversion": "btcbot.strategies.mean_reversion:MeanReversion",
        "quoter": "btcbot.strategies.quoter:PassiveQuoter",
    }
    assert isinstance(load_strategy(settings(strategy="quoter")).strategy, PassiveQuoter)
    assert isinstance(load_strategy(settings(), spec="mean_reversion").strategy, MeanReversion)


def test_default_is_the_canary_configured_by_settings_and_the_command_wins():
    loaded = load_strategy(settings(max_notional_per_order_try=120, notional_cap_try_per_cycle=150))
    assert isinstance(loaded.strategy, CanaryStrategy)
    assert loaded.params == {"first_cycle_only": False, "notional_try": "120", "offset_bps": "20"}
    over = load_strategy(
        settings(strategy_params='{"offset_bps": 5, "notional_try": 130}'),
        canary_params={"notional_try": Decimal(100), "first_cycle_only": True},
    )
    assert over.params == {"first_cycle_only": True, "notional_try": "100", "offset_bps": "5"}
    assert over.describe() == (
        'strategy=canary (btcbot.strategies.canary:CanaryStrategy) '
        'params={"first_cycle_only":true,"notional_try":"100","offset_bps":"5"}'
    )


def test_module_and_file_specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "good_strategy.py").write_text(GOOD)
    by_file = load_strategy(settings(), spec=f"{tmp_path / 'good_strategy.py'}:Good")
    assert by_file.strategy.name == "good" and by_file.params == {"size": "0.001"}
    monkeypatch.syspath_prepend(str(tmp_path))
    by_module = load_strategy(settings(strategy="good_strategy:Good", strategy_params='{"size": "0.5"}'))
    assert by_module.params == {"size": "0.5"} and by_module.target == "good_strategy:Good"


def test_params_from_a_toml_file(tmp_path: Path):
    cfg = tmp_path / "q.toml"
    cfg.write_text("[strategy]\nspread_bps = 12.5\nmax_position = 0.002\n")
    loaded = load_strategy(settings(strategy="quoter"), config_path=cfg)
    assert loaded.strategy.config.spread_bps == Decimal("12.5")  # TOML floats arrive as exact decimals
    assert loaded.params["max_position"] == "0.002"
    assert loaded.into(settings()).strategy_params == loaded.params_json


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("nope", "STRATEGY=nope: unknown strategy (registered: canary, mean_reversion, quoter)"),
        ("no_such_module_xyz:Thing", "no module named 'no_such_module_xyz'"),
        ("btcbot.strategies.quoter:Nope", "btcbot.strategies.quoter has no Nope"),
        ("btcbot.strategies.quoter:QuoterConfig", "QuoterConfig is not a strategy class"),
        (":Thing", "expected package.module:ClassName"),
        ("missing.py:Thing", "file missing.py not found"),
    ],
)
def test_unknown_or_unfit_specs(spec: str, fragment: str):
    with pytest.raises(ConfigError) as err:
        load_strategy(settings(), spec=spec)
    assert fragment in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("name", sorted(BAD_MODULES))
def test_bad_user_modules(tmp_path: Path, name: str):
    source, fragment = BAD_MODULES[name]
    (tmp_path / name).write_text(source)
    with pytest.raises(ConfigError) as err:
        load_strategy(settings(), spec=f"{tmp_path / name}:Plain")
    assert fragment in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ('{"sprad_bps": 20}', "sprad_bps: unknown parameter"),
        ('{"spread_bps": -1}', "spread_bps: Input should be greater than 0"),
        ('{"spread_bps": "wide"}', "spread_bps: Input should be a valid decimal"),
    ],
)
def test_bad_params_name_the_parameter(params: str, fragment: str):
    with pytest.raises(ConfigError) as err:
        load_strategy(settings(strategy="quoter", strategy_params=params))
    assert str(err.value).startswith("STRATEGY_PARAMS: invalid parameters for quoter: ") and fragment in str(err.value)


def test_bad_config_files(tmp_path: Path):
    cases = {
        "missing.toml": (None, "file not found"),
        "bad.toml": ("[strategy\n", "not valid TOML"),
        "notable.toml": ("spread_bps = 1\n", "only a [strategy] table is read; found spread_bps"),
        "empty.toml": ("", "no [strategy] table"),
        "typo.toml": ("[strategy]\nsprad_bps = 1\n", "--strategy-config"),
    }
    for name, (text, fragment) in cases.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        with pytest.raises(ConfigError) as err:
            load_strategy(settings(strategy="quoter"), config_path=path)
        assert fragment in str(err.value), name
    (tmp_path / "ok.toml").write_text("[strategy]\n")
    with pytest.raises(ConfigError, match="given twice"):
        load_strategy(settings(strategy="quoter", strategy_params="{}"), config_path=tmp_path / "ok.toml")


def test_strategy_params_must_be_a_json_object_and_are_never_echoed():
    from btcbot.settings import load_settings

    with pytest.raises(ConfigError) as err:
        load_settings(strategy_params='{"api_key": "s3cr3t-value"')
    assert "STRATEGY_PARAMS" in str(err.value) and "s3cr3t" not in str(err.value)


def test_secret_params_are_masked(tmp_path: Path):
    (tmp_path / "secretive.py").write_text(
        "from pydantic import SecretStr\nfrom btcbot.strategy import Strategy, StrategyConfig, Wanted\n"
        "class C(StrategyConfig):\n    token: SecretStr\n"
        "class Plain(Strategy[C]):\n    def decide(self, view):\n        return Wanted()\n"
    )
    loaded = load_strategy(
        settings(strategy_params=json.dumps({"token": "s3cr3t-value"})), spec=f"{tmp_path / 'secretive.py'}:Plain"
    )
    assert "s3cr3t" not in loaded.describe() and "s3cr3t" not in loaded.into(settings()).strategy_params


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--once", "--strategy", "nope"],
        ["canary", "once", "--strategy", "btcbot.strategies.quoter:Nope"],
        ["replay", "--strategy", "nope"],
        ["backtest", "--strategy", "quoter", "--strategy-config", "absent.toml"],
        ["doctor", "--offline", "--strategy", "nope"],
        ["config", "show", "--strategy", "nope"],
    ],
)
def test_commands_refuse_with_one_line_and_exit_2(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STATE_DB_PATH", str(tmp_path / "state.db"))
    monkeypatch.setenv("BTCTURK_BASE_URL", "http://127.0.0.1:9")  # nothing listens: any request would fail loudly
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2
    if argv[0] == "doctor":
        line = next(x for x in out.splitlines() if x.startswith("FAIL  strategy"))
        assert "STRATEGY=nope: unknown strategy" in line
    else:
        assert out == "" and len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert not (tmp_path / "state.db").exists()


def test_an_install_without_the_entry_points_says_how_to_fix_it(monkeypatch: pytest.MonkeyPatch):
    import btcbot.strategy_loader as loader

    monkeypatch.setattr(loader, "registered", dict)
    with pytest.raises(ConfigError, match=r"no strategy is registered under btcbot\.strategies; reinstall btcbot"):
        load_strategy(settings())
