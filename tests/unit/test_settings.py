"""Settings: baseline defaults, one clear line per bad value, gate booleans, env file vs environment."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from btcbot.errors import ConfigError
from btcbot.settings import (
    MarketDataMode,
    gates_overriding_env_file,
    load_settings,
    redacted_view,
    setting_sources,
)


def test_defaults_are_the_minimum_safe_baseline() -> None:
    s = load_settings()
    assert (s.safe_mode, s.dry_run, s.kill_switch, s.live_trading, s.live_trading_ack) == (True, True, True, False, "")
    assert s.market_data_mode is MarketDataMode.REST and s.max_market_data_age_ms == 3000
    assert (s.btcturk_ws_enabled, s.ws_market_data_rest_fallback) == (False, False)
    assert s.universe_symbols == ("BTCTRY",)
    assert (s.max_orders_per_cycle, s.max_open_orders_per_symbol, s.ttl_seconds) == (1, 1, 30)
    assert s.min_order_notional_try == Decimal("10") and isinstance(s.min_order_notional_try, Decimal)
    assert s.notional_cap_try_per_cycle == Decimal("150") == s.max_notional_per_order_try
    assert s.state_db_path == Path("./var/btcbot_state.db") and s.log_level.value == "INFO"
    assert s.btcturk_base_url == "https://api.btcturk.com"
    assert s.btcturk_api_key is None and s.btcturk_api_secret is None


@pytest.mark.parametrize("var", ["LIVE_TRADING", "DRY_RUN", "KILL_SWITCH", "SAFE_MODE", "BTCTURK_WS_ENABLED"])
@pytest.mark.parametrize("value", ["yes", "0", "1", "on", "maybe", "t"])
def test_gate_booleans_accept_only_true_false(monkeypatch: pytest.MonkeyPatch, var: str, value: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert var in message and "accepted: true, false" in message
    assert "\n" not in message


@pytest.mark.parametrize("value", ["true", "TRUE", "True", "false", "FALSE", " fAlSe "])
def test_gate_booleans_any_case(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DRY_RUN", value)
    assert load_settings().dry_run is (value.strip().lower() == "true")


@pytest.mark.parametrize(
    ("var", "value", "needle"),
    [
        ("MAX_ORDERS_PER_CYCLE", "abc", "MAX_ORDERS_PER_CYCLE"),
        ("MAX_ORDERS_PER_CYCLE", "0", "greater than 0"),
        ("MIN_ORDER_NOTIONAL_TRY", "ten", "MIN_ORDER_NOTIONAL_TRY"),
        ("MARKET_DATA_MODE", "grpc", "accepted: rest, ws"),
        ("LOG_LEVEL", "LOUD", "DEBUG, INFO"),
        ("UNIVERSE_SYMBOLS", "BTC-TRY", "UNIVERSE_SYMBOLS"),
    ],
)
def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, var: str, value: str, needle: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=needle) as info:
        load_settings()
    assert var in str(info.value)
    assert info.value.exit_code == 2


def test_cross_field_rules() -> None:
    with pytest.raises(ConfigError, match=r"MAX_NOTIONAL_PER_ORDER_TRY .* NOTIONAL_CAP_TRY_PER_CYCLE"):
        load_settings(max_notional_per_order_try="200", notional_cap_try_per_cycle="150")
    with pytest.raises(ConfigError, match=r"MIN_ORDER_NOTIONAL_TRY .* MAX_NOTIONAL_PER_ORDER_TRY"):
        load_settings(min_order_notional_try="151")
    with pytest.raises(ConfigError, match="MARKET_DATA_MODE=ws requires BTCTURK_WS_ENABLED=true"):
        load_settings(market_data_mode="ws")
    assert load_settings(market_data_mode="ws", btcturk_ws_enabled="true").market_data_mode is MarketDataMode.WS


def test_env_file_unknown_key_is_reported_by_name(tmp_path: Path) -> None:
    env = tmp_path / ".env.pilot"
    env.write_text("LIVE_TRADNG=true\nDRY_RUN=true\n")
    with pytest.raises(ConfigError, match="LIVE_TRADNG: unknown setting"):
        load_settings(env_file=env)


def test_missing_env_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--env-file .*nope\.env: file not found"):
        load_settings(env_file=tmp_path / "nope.env")


def test_environment_wins_over_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = tmp_path / ".env.pilot"
    env.write_text("TTL_SECONDS=45\nMAX_MARKET_DATA_AGE_MS=2000\n")
    monkeypatch.setenv("TTL_SECONDS", "60")
    s = load_settings(env_file=env)
    assert (s.ttl_seconds, s.max_market_data_age_ms) == (60, 2000)
    sources = setting_sources(s, env)
    assert sources["ttl_seconds"] == "environment"
    assert sources["max_market_data_age_ms"] == "env file"
    assert sources["dry_run"] == "default"


def test_secrets_are_redacted_and_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BTCTURK_API_KEY", "KEY-zq81-distinctive")
    monkeypatch.setenv("BTCTURK_API_SECRET", "SECRETzq81distinctive000")  # base64
    s = load_settings()
    view = redacted_view(s)
    assert view["BTCTURK_API_KEY"] == "set" and view["BTCTURK_API_SECRET"] == "set"
    assert "zq81" not in repr(s) and "zq81" not in str(view)
    monkeypatch.setenv("TTL_SECONDS", "x")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "zq81" not in str(info.value)


KEY = "KEYzq82distinctive"
SECRET = "U0VDUkVUenE4MmRpc3RpbmN0aXZl"  # base64, as BTCTurk secrets are


def _refusal(monkeypatch: pytest.MonkeyPatch, **env: str) -> ConfigError:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert info.value.exit_code == 2
    return info.value


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("BTCTURK_API_KEY", KEY + "\n"),
        ("BTCTURK_API_KEY", KEY + "\r\n"),
        ("BTCTURK_API_KEY", " " + KEY),
        ("BTCTURK_API_KEY", KEY[:5] + "\t" + KEY[5:]),
        ("BTCTURK_API_KEY", KEY + "\x7f"),
        ("BTCTURK_API_SECRET", SECRET + "\n"),
        ("BTCTURK_API_SECRET", SECRET[:8] + " " + SECRET[8:]),
    ],
)
def test_credentials_with_whitespace_or_control_characters_are_refused(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str
) -> None:
    monkeypatch.setenv("BTCTURK_API_KEY", KEY)
    monkeypatch.setenv("BTCTURK_API_SECRET", SECRET)
    err = _refusal(monkeypatch, **{var: value})
    assert f"{var}: contains whitespace or a control character (often a trailing newline from a file)" in str(err)
    assert "zq82" not in str(err) and SECRET[:6] not in str(err) and "U0VD" not in str(err)


def test_a_secret_that_is_not_base64_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    err = _refusal(monkeypatch, BTCTURK_API_KEY=KEY, BTCTURK_API_SECRET="SECRET-zq82-not-base64")
    assert "BTCTURK_API_SECRET: is not valid base64" in str(err) and "zq82" not in str(err)


def test_a_non_ascii_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    err = _refusal(monkeypatch, BTCTURK_API_KEY=KEY + "é", BTCTURK_API_SECRET=SECRET)
    assert "BTCTURK_API_KEY: contains a non-ASCII character" in str(err) and "zq82" not in str(err)


def test_a_key_with_a_trailing_newline_in_the_env_file_is_refused(tmp_path: Path) -> None:
    env = tmp_path / ".env.pilot"
    env.write_text(f'BTCTURK_API_KEY="{KEY}\\n"\nBTCTURK_API_SECRET={SECRET}\n')  # dotenv expands \n in "..."
    with pytest.raises(ConfigError, match="BTCTURK_API_KEY: contains whitespace") as info:
        load_settings(env_file=env)
    assert "zq82" not in str(info.value)


def test_sound_credentials_load() -> None:
    s = load_settings(btcturk_api_key=KEY, btcturk_api_secret=SECRET)
    assert s.credentials_present


@pytest.mark.parametrize(
    ("var", "url", "ok"),
    [
        ("BTCTURK_BASE_URL", "https://api.btcturk.com", True),
        ("BTCTURK_BASE_URL", "http://api.btcturk.com", False),
        ("BTCTURK_BASE_URL", "http://127.0.0.1:18080", True),
        ("BTCTURK_BASE_URL", "http://127.3.2.1:18080", True),
        ("BTCTURK_BASE_URL", "http://localhost:18080", True),
        ("BTCTURK_BASE_URL", "http://[::1]:18080", True),
        ("BTCTURK_BASE_URL", "http://10.0.0.5:18080", False),
        ("BTCTURK_BASE_URL", "http://127.0.0.1.example.com", False),
        ("BTCTURK_BASE_URL", "ftp://127.0.0.1", False),
        ("BTCTURK_BASE_URL", "wss://api.btcturk.com", False),
        ("BTCTURK_BASE_URL", "api.btcturk.com", False),
        ("BTCTURK_WS_URL", "wss://ws-feed-pro.btcturk.com", True),
        ("BTCTURK_WS_URL", "ws://ws-feed-pro.btcturk.com", False),
        ("BTCTURK_WS_URL", "ws://127.0.0.1:18081", True),
        ("BTCTURK_WS_URL", "https://ws-feed-pro.btcturk.com", False),
    ],
)
def test_venue_urls_must_be_tls_unless_loopback(monkeypatch: pytest.MonkeyPatch, var: str, url: str, ok: bool) -> None:
    monkeypatch.setenv(var, url)
    if ok:
        assert getattr(load_settings(), var.lower()) == url
    else:
        with pytest.raises(ConfigError, match=var) as info:
            load_settings()
        assert info.value.exit_code == 2


def test_conflicting_spellings_in_the_environment_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    err = _refusal(monkeypatch, SAFE_MODE="true", safe_mode="false")
    assert "SAFE_MODE and safe_mode are both set in the environment, to different values" in str(err)


def test_the_same_value_under_two_spellings_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRY_RUN", "false")
    monkeypatch.setenv("Dry_Run", "false")
    assert load_settings().dry_run is False


def test_conflicting_spellings_of_a_secret_are_refused_without_echoing_either(monkeypatch: pytest.MonkeyPatch) -> None:
    err = _refusal(monkeypatch, BTCTURK_API_KEY=KEY, btcturk_api_key=KEY + "x")
    assert "BTCTURK_API_KEY and btcturk_api_key" in str(err) and "zq82" not in str(err)


def test_conflicting_spellings_in_the_env_file_are_refused(tmp_path: Path) -> None:
    env = tmp_path / ".env.pilot"
    env.write_text("KILL_SWITCH=true\nkill_switch=false\n")
    with pytest.raises(ConfigError, match=r"KILL_SWITCH and kill_switch are both set in --env-file .*\.env\.pilot"):
        load_settings(env_file=env)


def test_gates_the_environment_overrides_in_the_env_file_are_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = tmp_path / ".env.pilot"
    env.write_text("SAFE_MODE=true\nDRY_RUN=true\nKILL_SWITCH=TRUE\nLIVE_TRADING_ACK=I_UNDERSTAND\nTTL_SECONDS=45\n")
    monkeypatch.setenv("safe_mode", "false")  # any spelling overrides
    monkeypatch.setenv("KILL_SWITCH", " true ")  # the same value, written differently: not an override
    monkeypatch.setenv("LIVE_TRADING_ACK", "i_understand")  # a different ACK is a different value
    monkeypatch.setenv("TTL_SECONDS", "60")  # not a gate
    assert gates_overriding_env_file(env) == ("SAFE_MODE", "LIVE_TRADING_ACK")
    assert gates_overriding_env_file(None) == ()


def test_config_show_names_gates_the_environment_overrides(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from btcbot.commands.config_show import show

    env = tmp_path / ".env.pilot"
    env.write_text("DRY_RUN=true\nSAFE_MODE=true\n")
    monkeypatch.setenv("DRY_RUN", "false")
    assert show(env_file=str(env)) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "overrides a different value in the env file" in lines["DRY_RUN"]
    assert "(env file)" in lines["SAFE_MODE"]
    assert show(env_file=str(env), json=True) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["gates_overriding_env_file"] == ["DRY_RUN"]
    assert doc["settings"]["DRY_RUN"]["source"].startswith("environment, overrides")
