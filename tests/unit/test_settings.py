"""Settings: baseline defaults, one clear line per bad value, gate booleans, env file vs environment."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from btcbot.errors import ConfigError
from btcbot.settings import MarketDataMode, load_settings, redacted_view, setting_sources


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
