"""Settings: baseline defaults, one clear line per bad value, gate booleans, env file vs environment."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic_settings import PydanticBaseSettingsSource
from pydantic_settings.exceptions import SettingsError

from btcbot import reason_codes as rc
from btcbot.arming import ArmingInputs, decide_arming
from btcbot.errors import ConfigError
from btcbot.settings import (
    MarketDataMode,
    Settings,
    credential_problem,
    gates_overriding_env_file,
    load_settings,
    parse_position_caps,
    redacted_view,
    setting_sources,
    venue_url_problem,
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
    with pytest.raises(ConfigError, match=r"line 1 LIVE_TRADNG is not a setting \(did you mean LIVE_TRADING\?\)"):
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


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_state_db_path_is_refused_not_taken_as_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    err = _refusal(monkeypatch, STATE_DB_PATH=value)
    assert "STATE_DB_PATH: invalid value" in str(err) and "must not be empty" in str(err)


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("DOCTOR_WINDOW", "garbage", "expected a positive duration such as 90s, 30m, 24h or 7d"),
        ("DOCTOR_WINDOW", "0h", "expected a positive duration"),
        ("DOCTOR_WINDOW", "\u0662h", "expected a positive duration"),  # Arabic-Indic two
        ("METRICS_HOST", " ", "must not be empty"),
    ],
)
def test_a_window_or_metrics_host_that_would_fail_later_is_refused_at_load(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, message: str
) -> None:
    err = _refusal(monkeypatch, **{var: value})
    assert f"{var}: invalid value" in str(err) and message in str(err)


def test_a_doctor_window_is_kept_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCTOR_WINDOW", " 7d ")
    assert load_settings().doctor_window == "7d"


def test_a_secret_that_is_not_base64_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    err = _refusal(monkeypatch, BTCTURK_API_KEY=KEY, BTCTURK_API_SECRET="SECRET-zq82-not-base64")
    assert "BTCTURK_API_SECRET: is not valid base64" in str(err) and "zq82" not in str(err)


def test_a_non_ascii_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    err = _refusal(monkeypatch, BTCTURK_API_KEY=KEY + "\u00e9", BTCTURK_API_SECRET=SECRET)
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


def test_a_key_or_a_secret_alone_is_no_credentials() -> None:
    assert not load_settings(btcturk_api_key=KEY).credentials_present
    assert not load_settings(btcturk_api_secret=SECRET).credentials_present
    assert not load_settings(btcturk_api_key=KEY, btcturk_api_secret="  ").credentials_present
    assert not load_settings().credentials_present


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


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        # YAML habit: python-dotenv skips the line with a warning, and the cap would stay at its default (150).
        (
            "MAX_NOTIONAL_PER_ORDER_TRY: 50\n",
            "line 1 (MAX_NOTIONAL_PER_ORDER_TRY) is not KEY=VALUE; fix it or remove it"
            " (a skipped line would leave that setting at its default)",
        ),
        ("DRY_RUN=true\n'LIVE_TRADING=true\n", "line 2 is not KEY=VALUE; fix it or remove it"),
        # Appended later, the second line would win silently.
        (
            "DRY_RUN=true\nTTL_SECONDS=30\nDRY_RUN=false\n",
            "DRY_RUN is set on lines 1 and 3 to different values; keep one",
        ),
        # A name without '=': python-dotenv keeps it with no value, and the cap would stay at its default.
        ("DRY_RUN=true\nNOTIONAL_CAP_TRY_PER_CYCLE\n", "line 2 (NOTIONAL_CAP_TRY_PER_CYCLE) has no '='"),
        # python-dotenv would expand it from the environment: the API key would become the service name.
        ("OTEL_SERVICE_NAME=bot-${BTCTURK_API_KEY}\n", "line 1 (OTEL_SERVICE_NAME) refers to a variable with ${...}"),
        ('STATE_DB_PATH="${HOME}/state.db"\n', "line 1 (STATE_DB_PATH) refers to a variable with ${...}"),
        ("DRY_RUN=true\nNOT_A_SETTING=1\n", "line 2 NOT_A_SETTING is not a setting;"),
    ],
)
def test_an_env_file_line_that_would_be_skipped_or_overridden_is_refused(
    tmp_path: Path, text: str, problem: str
) -> None:
    env = tmp_path / ".env.pilot"
    env.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(env_file=env)
    assert str(info.value).startswith(f"invalid configuration: --env-file {env}: {problem}")


def test_every_problem_of_an_env_file_is_listed_at_once(tmp_path: Path) -> None:
    env = tmp_path / ".env.pilot"
    env.write_text("SAFE_MODE: false\nDRY_RUN=true\nDRY_RUN=false\n")
    with pytest.raises(ConfigError) as info:
        load_settings(env_file=env)
    assert str(info.value) == (
        f"invalid configuration: --env-file {env}: line 1 (SAFE_MODE) is not KEY=VALUE; fix it or remove it"
        " (a skipped line would leave that setting at its default);"
        f" --env-file {env}: DRY_RUN is set on lines 2 and 3 to different values; keep one"
    )


def test_an_env_file_that_is_not_utf8_is_refused_by_name(tmp_path: Path) -> None:
    env = tmp_path / ".env.pilot"
    env.write_bytes(b"DRY_RUN=true\nACCOUNT_SCOPE=pil\xf6t\n")
    with pytest.raises(ConfigError, match=r"--env-file .*\.env\.pilot: cannot read it \(UnicodeDecodeError\)"):
        load_settings(env_file=env)


def test_env_file_problems_after_comments_and_blank_lines_are_still_found(tmp_path: Path) -> None:
    env = tmp_path / ".env.pilot"
    env.write_text("# pilot settings\n\nDRY_RUN=true\n# the caps\ndry_run\nAbC9xYz=1\n")
    with pytest.raises(ConfigError) as info:
        load_settings(env_file=env)
    text = str(info.value)
    assert f"--env-file {env}: line 5" in text and "has no '='; write DRY_RUN=VALUE" in text
    assert (
        f"--env-file {env}: line 6 names no setting (the name is not shown: it may be a secret); see `btcbot config "
        "show` for every accepted name"
    ) in text
    assert "AbC9xYz" not in text


@pytest.mark.parametrize("url", ["https://api.example.com/?", "https://api.example.com/#", "https://a.example.com/?x=1"])
def test_a_venue_url_with_a_query_or_fragment_mark_is_refused(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    err = _refusal(monkeypatch, BTCTURK_BASE_URL=url)
    assert "BTCTURK_BASE_URL" in str(err) and "must not have a ?query or #fragment" in str(err)


@pytest.mark.parametrize("universe", ["BTCTRY,ETHBTC", "BTCUSDT"])
def test_a_universe_pair_not_quoted_in_try_is_refused(monkeypatch: pytest.MonkeyPatch, universe: str) -> None:
    err = _refusal(monkeypatch, UNIVERSE_SYMBOLS=universe)
    assert "not quoted in TRY; every notional cap" in str(err) and universe.split(",")[-1] in str(err)


def test_an_unknown_setting_given_in_code_is_named_as_a_typo() -> None:
    # Env files are checked before this (by name, line by line); a caller's keyword reaches pydantic's own check.
    with pytest.raises(ConfigError) as info:
        load_settings(max_notional_per_ordr_try=5)
    assert str(info.value) == (
        "invalid configuration: MAX_NOTIONAL_PER_ORDR_TRY: unknown setting (typo?); see `btcbot config show` for "
        "every accepted name"
    )


def test_a_refused_env_file_line_never_echoes_its_value(tmp_path: Path) -> None:
    env = tmp_path / ".env.pilot"
    env.write_text(f"BTCTURK_API_KEY: {KEY}\nBTCTURK_API_SECRET=c2VjcmV0\nBTCTURK_API_SECRET=b3RoZXI=\n")
    with pytest.raises(ConfigError) as info:
        load_settings(env_file=env)
    assert KEY not in str(info.value) and "c2VjcmV0" not in str(info.value) and "b3RoZXI" not in str(info.value)
    assert "line 1 (BTCTURK_API_KEY)" in str(info.value) and "lines 2 and 3" in str(info.value)


def test_a_key_repeated_with_the_same_value_is_harmless(tmp_path: Path) -> None:
    env = tmp_path / ".env.pilot"
    env.write_text("# pilot\nDRY_RUN=true\n\nexport DRY_RUN='true'\nTTL_SECONDS=45\n")
    settings = load_settings(env_file=env)
    assert settings.dry_run is True and settings.ttl_seconds == 45


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


@pytest.mark.parametrize("ack", ["i_understand", "I_understand", "I UNDERSTAND"])
def test_an_ack_is_kept_exactly_as_written_and_only_the_exact_one_arms(
    monkeypatch: pytest.MonkeyPatch, ack: str
) -> None:
    monkeypatch.setenv("LIVE_TRADING_ACK", ack)
    s = load_settings(live_trading="true", dry_run="false", kill_switch="false", safe_mode="false")
    assert s.live_trading_ack == ack  # never upper-cased, so a wrong-case ACK cannot arm
    decision = decide_arming(ArmingInputs.from_settings(s))
    assert rc.ARM_ACK_MISSING in decision.reasons and not decision.live


def test_an_ack_loses_only_surrounding_whitespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVE_TRADING_ACK", " I_UNDERSTAND\n")
    assert load_settings().live_trading_ack == "I_UNDERSTAND"


def _message(**overrides: object) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(**overrides)
    return str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("btc_try, eth_try ,", ("BTCTRY", "ETHTRY")),
        (" BtcTry ", ("BTCTRY",)),
        (["btc_try", " ethtry "], ("BTCTRY", "ETHTRY")),
        (("xrp_try",), ("XRPTRY",)),
    ],
)
def test_universe_symbols_are_normalised(value: object, expected: tuple[str, ...]) -> None:
    assert load_settings(universe_symbols=value).universe_symbols == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "BTC-TRY",
            "UNIVERSE_SYMBOLS: invalid value 'BTC-TRY': 'BTC-TRY' is not a symbol such as BTCTRY",
        ),
        (" , ", "UNIVERSE_SYMBOLS: invalid value ' , ': must name at least one symbol, for example BTCTRY"),
        (
            None,
            "UNIVERSE_SYMBOLS: invalid value: must be a comma-separated list of symbols such as BTCTRY,ETHTRY",
        ),
    ],
)
def test_bad_universe_symbols_say_what_is_expected(value: object, message: str) -> None:
    assert _message(universe_symbols=value) == f"invalid configuration: {message}"


def test_a_bad_gate_boolean_is_one_exact_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRY_RUN", "yes")
    assert (
        _message()
        == "invalid configuration: DRY_RUN: invalid value 'yes': must be true or false (accepted: true, false)"
    )


def test_an_enum_value_lists_what_is_accepted() -> None:
    message = _message(market_data_mode="grpc")
    assert message.startswith("invalid configuration: MARKET_DATA_MODE: invalid value 'grpc': ")
    assert message.endswith(" (accepted: rest, ws)")


def test_every_problem_is_reported_on_one_line_in_field_order() -> None:
    assert _message(ttl_seconds=0, max_orders_per_cycle=0) == (
        "invalid configuration: MAX_ORDERS_PER_CYCLE: invalid value 0: Input should be greater than 0; "
        "TTL_SECONDS: invalid value 0: Input should be greater than 0"
    )


def test_cross_field_problems_are_listed_together_without_pydantics_prefix() -> None:
    assert _message(max_notional_per_order_try="200", min_order_notional_try="300", doctor_clock_warn_ms=5000) == (
        "invalid configuration: MAX_NOTIONAL_PER_ORDER_TRY (200) must be <= NOTIONAL_CAP_TRY_PER_CYCLE (150); "
        "MIN_ORDER_NOTIONAL_TRY (300) must be <= MAX_NOTIONAL_PER_ORDER_TRY (200); "
        "DOCTOR_CLOCK_WARN_MS must be <= DOCTOR_CLOCK_FAIL_MS"
    )


def test_caps_may_equal_each_other() -> None:
    s = load_settings(min_order_notional_try="150", max_notional_per_order_try="150", notional_cap_try_per_cycle="150")
    assert s.min_order_notional_try == s.max_notional_per_order_try == s.notional_cap_try_per_cycle == Decimal(150)
    assert load_settings(doctor_clock_warn_ms=4000).doctor_clock_warn_ms == 4000


def test_a_secret_error_never_shows_the_input() -> None:
    assert _message(btcturk_api_key="k", btcturk_api_secret="c2Vj*cmV0") == (
        "invalid configuration: BTCTURK_API_SECRET: is not valid base64; copy the private key exactly as BTCTurk "
        "shows it"
    )


def test_base64_is_checked_strictly_not_by_dropping_stray_characters() -> None:
    assert credential_problem("c2VjcmV0", base64_secret=True) is None
    assert credential_problem("c2Vj*cmV0", base64_secret=True) is not None  # lenient decoding would accept it
    assert credential_problem("c2Vj*cmV0", base64_secret=False) is None  # a key need not be base64


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://", "must be a https:// URL with a host"),
        ("https:///path", "must be a https:// URL with a host"),
        (
            "http://api.btcturk.com",
            "must use https:// (plain http:// is accepted only for a loopback host such as 127.0.0.1)",
        ),
        ("ftp://api.btcturk.com", "must be a https:// URL"),
        ("wss://api.btcturk.com", "must be a https:// URL"),
        ("https://api.btcturk.com", None),
        ("http://LOCALHOST:1", None),
        ("https://proxy.example/btcturk/", None),  # a path prefix is fine: request paths are appended to it
        ("http://[::1", "must be a https:// URL with a host"),
        ("https://api.btcturk.com?k=v", "must not have a ?query or #fragment: every request path is appended to it"),
        ("https://api.btcturk.com#x", "must not have a ?query or #fragment: every request path is appended to it"),
        (
            "https://user:pw@api.btcturk.com",
            "must not contain user:password@ (it would be printed wherever the URL is shown); "
            "BTCTurk credentials go in BTCTURK_API_KEY and BTCTURK_API_SECRET",
        ),
    ],
)
def test_venue_url_problems(url: str, problem: str | None) -> None:
    assert venue_url_problem(url, secure="https", plain="http") == problem


def test_conflicts_in_the_environment_and_the_env_file_are_all_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = tmp_path / ".env.pilot"
    env.write_text("KILL_SWITCH=true\nkill_switch=false\n")
    monkeypatch.setenv("DRY_RUN", "true")
    monkeypatch.setenv("dry_run", "false")
    assert _message(env_file=env) == (
        "invalid configuration: DRY_RUN and dry_run are both set in the environment, to different values; keep one "
        f"(DRY_RUN); KILL_SWITCH and kill_switch are both set in --env-file {env}, to different values; keep one "
        "(KILL_SWITCH)"
    )


def test_an_unreadable_env_file_is_named(tmp_path: Path) -> None:
    env = tmp_path / ".env.pilot"
    env.write_bytes(b"DRY_RUN=\xff\xfe\n")
    assert _message(env_file=env) == f"--env-file {env}: cannot read it (UnicodeDecodeError)"


class _Undecodable(PydanticBaseSettingsSource):
    message = ""

    def get_field_value(self, field: object, field_name: str) -> tuple[None, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, object]:
        raise SettingsError(self.message)


@pytest.mark.parametrize(
    ("message", "named"),
    [
        ('error parsing value for field "dry_run" from source "EnvSettingsSource"', "DRY_RUN"),
        ('error parsing value for field "kill_switch"', "KILL_SWITCH"),
        ("error parsing a value", "A SETTING"),
        ('error parsing "one quote', "A SETTING"),
    ],
)
def test_a_value_no_source_can_decode_is_named_without_the_value(
    monkeypatch: pytest.MonkeyPatch, message: str, named: str
) -> None:
    monkeypatch.setattr(_Undecodable, "message", message)
    monkeypatch.setattr(
        Settings,
        "settings_customise_sources",
        classmethod(lambda cls, settings_cls, **_: (_Undecodable(settings_cls),)),
    )
    assert _message() == f"invalid configuration: {named}: value could not be parsed"


def test_sources_name_init_overrides_and_work_without_an_env_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TTL_SECONDS", "60")
    sources = setting_sources(load_settings(dry_run="false"))
    assert (sources["dry_run"], sources["ttl_seconds"], sources["kill_switch"]) == (
        "override",
        "environment",
        "default",
    )


def test_the_same_ack_in_both_places_is_not_an_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = tmp_path / ".env.pilot"
    env.write_text("LIVE_TRADING_ACK=I_UNDERSTAND\nDRY_RUN=False\nSAFE_MODE=\n")
    monkeypatch.setenv("LIVE_TRADING_ACK", "I_UNDERSTAND")
    monkeypatch.setenv("DRY_RUN", "false")
    monkeypatch.setenv("SAFE_MODE", " ")  # empty in both, spelt two ways
    assert gates_overriding_env_file(env) == ()


def test_the_redacted_view_shows_every_value_as_text() -> None:
    s = load_settings(
        btcturk_api_key="k",
        btcturk_api_secret="",
        universe_symbols="BTCTRY,ETHTRY",
        dry_run="false",
        otel_exporter_otlp_headers="a=b",
        ttl_seconds=45,
    )
    view = redacted_view(s)
    assert list(view) == [name.upper() for name in Settings.model_fields]
    assert {k: view[k] for k in ("BTCTURK_API_KEY", "BTCTURK_API_SECRET", "OTEL_EXPORTER_OTLP_HEADERS")} == {
        "BTCTURK_API_KEY": "set",
        "BTCTURK_API_SECRET": "unset",
        "OTEL_EXPORTER_OTLP_HEADERS": "set",
    }
    assert {k: view[k] for k in ("UNIVERSE_SYMBOLS", "DRY_RUN", "SAFE_MODE", "TTL_SECONDS", "LOG_LEVEL")} == {
        "UNIVERSE_SYMBOLS": "BTCTRY,ETHTRY",
        "DRY_RUN": "false",
        "SAFE_MODE": "true",
        "TTL_SECONDS": "45",
        "LOG_LEVEL": "INFO",
    }
    assert redacted_view(load_settings(otel_exporter_otlp_headers=""))["OTEL_EXPORTER_OTLP_HEADERS"] == "unset"
    assert "None" not in view.values() and view["METRICS_PORT"] == ""  # unset, not the word None


@pytest.mark.parametrize(
    ("text", "caps"),
    [
        ("", {}),
        ("  ", {}),
        ("0.01", {"*": Decimal("0.01")}),
        (" 0 ", {"*": Decimal(0)}),  # a cap of zero: never hold a position
        ("btc_try:0.01, ETHTRY : 0.5", {"BTCTRY": Decimal("0.01"), "ETHTRY": Decimal("0.5")}),
    ],
)
def test_position_caps_parse(text: str, caps: dict[str, Decimal]) -> None:
    assert parse_position_caps(text) == caps


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("BTC-TRY:0.01", "expected SYMBOL:QUANTITY such as BTCTRY:0.01"),
        (":1", "expected SYMBOL:QUANTITY such as BTCTRY:0.01"),
        ("A:B:1", "expected SYMBOL:QUANTITY such as BTCTRY:0.01"),
        ("BTCTRY:0.01,BTC-TRY:1", "'BTC-TRY:1': expected SYMBOL:QUANTITY such as BTCTRY:0.01"),
        ("abc", "not a quantity (expected e.g. 0.01 or BTCTRY:0.01)"),
        ("BTCTRY:x,ETHTRY:1", "'BTCTRY:x': not a quantity (expected e.g. 0.01 or BTCTRY:0.01)"),
        ("-0.01", "the cap must be a finite quantity >= 0"),
        ("inf", "not a quantity (expected e.g. 0.01 or BTCTRY:0.01)"),
        ("nan", "not a quantity (expected e.g. 0.01 or BTCTRY:0.01)"),
        ("ETHTRY:1,BTCTRY:-1", "'BTCTRY:-1': the cap must be a finite quantity >= 0"),
        ("BTCTRY:1,BTCTRY:2", "give one number for every symbol, or each symbol once (BTCTRY:0.01,ETHTRY:0.5)"),
        ("1,BTCTRY:2", "give one number for every symbol, or each symbol once (BTCTRY:0.01,ETHTRY:0.5)"),
        ("BTCTRY:2,1", "give one number for every symbol, or each symbol once (BTCTRY:0.01,ETHTRY:0.5)"),
    ],
)
def test_a_position_cap_that_does_not_parse_says_what_is_expected(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_position_caps(text)
    assert str(info.value) == problem


def test_position_caps_are_kept_as_normalised_text_and_looked_up_per_symbol() -> None:
    assert load_settings().max_position_base == "" and load_settings().position_caps == {}
    assert load_settings(max_position_base=None).max_position_base == ""
    every = load_settings(max_position_base=" 0.010 ")
    assert every.max_position_base == "0.010"
    assert (every.position_cap("BTCTRY"), every.position_cap("XRPTRY")) == (Decimal("0.010"), Decimal("0.010"))
    pairs = load_settings(max_position_base="btc_try:0.01, ethtry:0.5")
    assert pairs.max_position_base == "BTCTRY:0.01,ETHTRY:0.5"
    assert (pairs.position_cap("ETHTRY"), pairs.position_cap("XRPTRY")) == (Decimal("0.5"), None)
    assert _message(max_position_base=5) == (
        "invalid configuration: MAX_POSITION_BASE: invalid value 5: must be a quantity such as 0.01, or "
        "SYMBOL:QUANTITY pairs such as BTCTRY:0.01,ETHTRY:0.5"
    )


@pytest.mark.parametrize(
    ("value", "kept"), [(None, ""), ("", ""), ("   ", ""), (' {"spread_bps": 20} ', '{"spread_bps": 20}')]
)
def test_strategy_params_are_a_json_object_kept_as_written(value: str | None, kept: str) -> None:
    assert load_settings(strategy_params=value).strategy_params == kept


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ('{"a": ', "not valid JSON (Expecting value at character 6)"),
        ("[1, 2]", 'must be a JSON object such as {"spread_bps": 20}'),
        (7, 'must be a JSON object such as {"spread_bps": 20}'),
    ],
)
def test_bad_strategy_params_are_named_without_echoing_them(value: object, problem: str) -> None:
    assert _message(strategy_params=value) == f"invalid configuration: STRATEGY_PARAMS: {problem}"


@pytest.mark.parametrize(
    "line",
    [
        "Zm9vYmFyLXBhc3RlZC1zZWNyZXQ",  # a secret pasted on a line of its own: python-dotenv reads a name
        "Zm9vYmFyLXBhc3RlZC1zZWNyZXQ=",  # ... and with base64 padding, a name with an empty value
        "Zm9vYmFyLXBhc3RlZC1zZWNyZXQ=x",
        'Zm9vYmFyLXBhc3RlZC1zZWNyZXQ"x',
    ],
)
def test_an_env_file_line_that_names_no_setting_is_refused_without_echoing_it(tmp_path: Path, line: str) -> None:
    env = tmp_path / ".env.pilot"
    env.write_text(f"DRY_RUN=true\n{line}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(env_file=env)
    message = str(info.value)
    assert "line 2" in message
    assert "Zm9vYmFy".lower() not in message.lower()


def test_an_env_file_reference_never_copies_the_environment_in(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BTCTURK_API_KEY", KEY)
    env = tmp_path / ".env.pilot"
    env.write_text("OTEL_SERVICE_NAME=bot-${BTCTURK_API_KEY}\n")
    with pytest.raises(ConfigError) as info:
        load_settings(env_file=env)
    assert KEY not in str(info.value)


@pytest.mark.parametrize(
    "var",
    [
        "BTCTURK_BASE_URL",
        "BTCTURK_WS_URL",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    ],
)
@pytest.mark.parametrize("userinfo", ["opuser:pw9zq@", "pw9zq@", "opuser:pw9zq@127.0.0.1@"])
def test_a_url_with_a_password_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, var: str, userinfo: str
) -> None:
    # config show, doctor, health and orders list print these URLs: a password in one would be printed too.
    scheme = {"BTCTURK_BASE_URL": "https", "BTCTURK_WS_URL": "wss"}.get(var, "https")
    monkeypatch.setenv(var, f"{scheme}://{userinfo}example.com")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert f"{var}: invalid value: must not contain user:password@" in str(info.value)
    assert "pw9zq" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("http://127.0.0.1:4318", True),
        (" https://collector.example/otlp ", True),
        ("", True),
        ("collector:4318", False),
        ("grpc://collector:4317", False),
        ("http://", False),
        ("http://[::1", False),
    ],
)
def test_otlp_endpoints_are_http_urls(monkeypatch: pytest.MonkeyPatch, url: str, ok: bool) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
    if ok:
        assert load_settings().otel_exporter_otlp_endpoint == url.strip()
    else:
        with pytest.raises(ConfigError, match=r"OTEL_EXPORTER_OTLP_ENDPOINT: invalid value .*: must be an http"):
            load_settings()


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("NOTIONAL_CAP_TRY_PER_CYCLE", "\u0661\u0665\u0660"),  # Arabic-Indic digits: Decimal() reads 150
        ("NOTIONAL_CAP_TRY_PER_CYCLE", "\uff11\uff15\uff10"),  # full-width digits
        ("NOTIONAL_CAP_TRY_PER_CYCLE", "1_000"),
        ("NOTIONAL_CAP_TRY_PER_CYCLE", "1e400"),
        ("MAX_NOTIONAL_PER_ORDER_TRY", "1E+2"),
        ("CYCLE_SECONDS", "1e-30"),
        ("MAX_ORDERS_PER_CYCLE", "1_0"),
        ("MAX_ORDERS_PER_CYCLE", "2.0"),
        ("METRICS_PORT", "\u0668\u0660"),
        ("MAX_POSITION_BASE", "\uff11"),
        ("MAX_POSITION_BASE", "BTCTRY:1_0"),
    ],
)
def test_numbers_are_plain_ascii_digits(monkeypatch: pytest.MonkeyPatch, var: str, value: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=re.escape(f"{var}: invalid value '{value}'")):
        load_settings()


@pytest.mark.parametrize(("value", "read"), [(" 150 ", "150"), ("+150", "150"), ("150.", "150"), ("150.50", "150.5")])
def test_plain_numbers_in_their_usual_forms_are_read(monkeypatch: pytest.MonkeyPatch, value: str, read: str) -> None:
    monkeypatch.setenv("NOTIONAL_CAP_TRY_PER_CYCLE", value)
    assert load_settings().notional_cap_try_per_cycle == Decimal(read)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("BTCTRY,btc_try", "names BTCTRY more than once (after normalising); name each pair once"),
        ("\uff22\uff34\uff23\uff34\uff32\uff39", "is not a symbol such as BTCTRY"),
        ("BTCTRY\u0661", "is not a symbol such as BTCTRY"),
        ("stra\u00dfe", "is not a symbol such as BTCTRY"),  # upper() would make it STRASSE
    ],
)
def test_universe_symbols_are_ascii_and_each_named_once(
    monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    monkeypatch.setenv("UNIVERSE_SYMBOLS", value)
    with pytest.raises(ConfigError, match=re.escape(problem)):
        load_settings()
