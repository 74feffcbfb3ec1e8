"""The one place btcbot reads configuration from: the environment and an optional dotenv file.

Names are the runbook's, flat and unprefixed. Defaults are the runbook's *minimum safe baseline*, so a
bare ``btcbot`` with nothing configured can never trade. The environment wins over the env file.
Nothing else in the code base reads ``os.environ``.
"""

from __future__ import annotations

import base64
import binascii
import io
import ipaddress
import os
import re
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from btcbot.domain.account_scope import DEFAULT_ACCOUNT_SCOPE, legacy_key_scope, scope_key
from btcbot.domain.number_text import number_kind, plain_number_text
from btcbot.domain.symbols import normalize_symbol, symbol_list
from btcbot.errors import ConfigError, UsageError

REAL_BTCTURK_BASE_URL = "https://api.btcturk.com"
REAL_BTCTURK_WS_URL = "wss://ws-feed-pro.btcturk.com"
REQUIRED_ACK = "I_UNDERSTAND"
LOG_FILE_OFF = "off"
DEFAULT_LOG_FILE_NAME = "btcbot.log"


def _strict_bool(value: object) -> bool:
    """Accept only ``true``/``false`` (any case): a gate that does not parse is refused, never guessed."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError("must be true or false")


StrictBool = Annotated[bool, BeforeValidator(_strict_bool)]


# NoDecode: the value is a comma-separated list, not JSON (pydantic-settings would try JSON for a tuple).
SymbolList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(symbol_list)]

ALL_SYMBOLS = "*"


def parse_position_caps(text: str) -> dict[str, Decimal]:
    """``MAX_POSITION_BASE``: empty (no cap), one quantity for every symbol, or ``SYMBOL:QTY`` pairs."""
    text = text.strip()
    if not text:
        return {}
    caps: dict[str, Decimal] = {}
    parts = [p.strip() for p in text.split(",")]
    for part in parts:
        where = f"{part!r}: " if len(parts) > 1 else ""
        symbol, sep, qty = part.rpartition(":")
        key = ALL_SYMBOLS
        if sep:
            try:
                key = normalize_symbol(symbol)  # the same normal form as UNIVERSE_SYMBOLS, or the caps would miss
            except ValueError:
                raise ValueError(f"{where}expected SYMBOL:QUANTITY such as BTCTRY:0.01") from None
        try:
            value = Decimal(str(plain_number_text(qty, Decimal)))
        except (ArithmeticError, ValueError):  # PydanticCustomError is a ValueError
            raise ValueError(f"{where}not a quantity (expected e.g. 0.01 or BTCTRY:0.01)") from None
        if value < 0:  # plain digits are always finite
            raise ValueError(f"{where}the cap must be a finite quantity >= 0")
        if key in caps or (ALL_SYMBOLS in caps) or (key == ALL_SYMBOLS and caps):
            raise ValueError("give one number for every symbol, or each symbol once (BTCTRY:0.01,ETHTRY:0.5)")
        caps[key] = value
    return caps


def _position_caps_text(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError("must be a quantity such as 0.01, or SYMBOL:QUANTITY pairs such as BTCTRY:0.01,ETHTRY:0.5")
    caps = parse_position_caps(value)
    if list(caps) == [ALL_SYMBOLS]:
        return str(caps[ALL_SYMBOLS])
    return ",".join(f"{k}:{v}" for k, v in caps.items())


# Kept as normalised text (so `config show` prints it as typed); ``Settings.position_caps`` is the parsed form.
PositionCapsText = Annotated[str, BeforeValidator(_position_caps_text)]


def _strategy_params_text(value: object) -> str:
    import json

    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError('must be a JSON object such as {"spread_bps": 20}')
    if not value.strip():
        return ""
    try:
        doc = json.loads(value, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(doc, dict):
        raise ValueError('must be a JSON object such as {"spread_bps": 20}')
    return value.strip()


StrategyParamsText = Annotated[str, BeforeValidator(_strategy_params_text)]


def credential_problem(value: str, *, base64_secret: bool) -> str | None:
    """What is wrong with the shape of an API key or secret, in words that never quote it; None when sound.

    A trailing newline (a secret created from a file) would otherwise reach an HTTP header, where the client
    library refuses it with the value in its error message.
    """
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        return "contains whitespace or a control character (often a trailing newline from a file); remove it"
    if not value.isascii():
        return "contains a non-ASCII character; BTCTurk keys are plain ASCII, copy it again"
    if base64_secret:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return "is not valid base64; copy the private key exactly as BTCTurk shows it"
    return None


def _is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _userinfo_problem(url: str, where_credentials_go: str) -> str | None:
    # A URL is printed by config show, doctor, health and orders list: a password in it would be printed too.
    if "@" in urlsplit(url).netloc:
        shown = "it would be printed wherever the URL is shown"
        return f"must not contain user:password@ ({shown}); {where_credentials_go}"
    return None


def venue_url_problem(url: str, *, secure: str, plain: str) -> str | None:
    """``secure`` (https/wss) is required; ``plain`` (http/ws) only for a loopback host (the simulator)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:  # an unbalanced IPv6 bracket
        return f"must be a {secure}:// URL with a host"
    if not host:
        return f"must be a {secure}:// URL with a host"
    problem = _userinfo_problem(url, "BTCTurk credentials go in BTCTURK_API_KEY and BTCTURK_API_SECRET")
    if problem:
        return problem
    if parts.query or parts.fragment or url.endswith(("?", "#")):  # the caller strips the URL
        return "must not have a ?query or #fragment: every request path is appended to it"
    if parts.scheme == secure or (parts.scheme == plain and _is_loopback_host(host)):
        return None
    if parts.scheme == plain:
        return f"must use {secure}:// (plain {plain}:// is accepted only for a loopback host such as 127.0.0.1)"
    return f"must be a {secure}:// URL"


class MarketDataMode(StrEnum):
    REST = "rest"
    WS = "ws"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


def default_lock_dir() -> Path:
    """Per user, never relative: ``~/.local/state/btcbot/locks`` (the XDG state directory's convention)."""
    return Path.home() / ".local" / "state" / "btcbot" / "locks"


# Every field below is an operator-facing variable; its env name is the field name upper-cased.
class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        case_sensitive=False,
        extra="forbid",
        frozen=True,
        env_file_encoding="utf-8",
        validate_default=True,
        hide_input_in_errors=True,
    )

    # ----- execution gates (minimum safe baseline) -----
    safe_mode: StrictBool = True
    dry_run: StrictBool = True
    kill_switch: StrictBool = True
    live_trading: StrictBool = False
    live_trading_ack: str = ""

    # ----- credentials -----
    btcturk_api_key: SecretStr | None = None
    btcturk_api_secret: SecretStr | None = None
    btcturk_base_url: str = REAL_BTCTURK_BASE_URL
    btcturk_ws_url: str = REAL_BTCTURK_WS_URL
    # Names the instance lock and the order client-id prefix; one per account (see btcbot.domain.account_scope).
    account_scope: str = DEFAULT_ACCOUNT_SCOPE

    # ----- market data -----
    market_data_mode: MarketDataMode = MarketDataMode.REST
    max_market_data_age_ms: int = Field(default=3000, gt=0)
    btcturk_ws_enabled: StrictBool = False
    ws_market_data_rest_fallback: StrictBool = False

    # ----- universe + risk -----
    universe_symbols: SymbolList = ("BTCTRY",)
    max_orders_per_cycle: int = Field(default=1, gt=0)
    max_open_orders_per_symbol: int = Field(default=1, gt=0)
    min_order_notional_try: Decimal = Field(default=Decimal("10"), gt=0)
    notional_cap_try_per_cycle: Decimal = Field(default=Decimal("150"), gt=0)
    max_notional_per_order_try: Decimal = Field(default=Decimal("150"), gt=0)
    ttl_seconds: int = Field(default=30, gt=0)
    # Reject (never clamp) an intent whose price is further than this from the fresh reference price.
    price_collar_pct: Decimal = Field(default=Decimal("2"), gt=0, le=50)
    # The canary's passive buy sits this many basis points below the best bid.
    canary_offset_bps: Decimal = Field(default=Decimal("20"), ge=0, le=1000)
    # The bot's net position per symbol (its buys minus its sells, in the base asset) stays within this; empty: no
    # cap. One quantity for every symbol (0.01) or SYMBOL:QUANTITY pairs (BTCTRY:0.01,ETHTRY:0.5).
    max_position_base: PositionCapsText = ""

    # ----- strategy (docs/strategies.md) -----
    # canary (default), package.module:ClassName, path/to/file.py:ClassName, or a `btcbot.strategies` entry point.
    strategy: str = Field(default="canary", min_length=1)
    # The strategy's parameters as a JSON object, validated by its own Config model (or --strategy-config PATH).
    strategy_params: StrategyParamsText = ""

    # ----- runtime / supervisor -----
    cycle_seconds: Decimal = Field(default=Decimal("10"), gt=0)
    safe_mode_stale_cycles: int = Field(default=3, gt=0)
    unknown_order_max_age_seconds: int = Field(default=60, gt=0)
    cancel_open_orders_on_stop: StrictBool = True
    actor_restart_budget: int = Field(default=3, ge=0)
    actor_restart_window_seconds: int = Field(default=60, gt=0)
    reconcile_min_interval_ms: int = Field(default=1000, ge=0)

    # ----- state -----
    state_db_path: Path = Path("./var/btcbot_state.db")
    # The instance locks, one file per account scope; absolute, so no working directory or DB path changes it.
    lock_dir: Path = Field(default_factory=default_lock_dir)
    log_level: LogLevel = LogLevel.INFO
    # Runtime logs (run, canary) are also written here, rotated: empty = btcbot.log beside the DB, "off" = stderr only.
    log_file: str = ""
    log_file_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    log_file_backups: int = Field(default=5, gt=0)

    # ----- doctor SLO thresholds -----
    doctor_window: str = "24h"
    doctor_max_reject_rate: Decimal = Field(default=Decimal("0.2"), ge=0, le=1)
    doctor_min_fill_rate: Decimal = Field(default=Decimal("0.0"), ge=0, le=1)
    doctor_max_latency_p95_ms: Decimal = Field(default=Decimal("1500"), gt=0)
    doctor_max_drawdown_ratio: Decimal = Field(default=Decimal("0.05"), ge=0, le=1)
    doctor_clock_warn_ms: int = Field(default=1000, gt=0)
    doctor_clock_fail_ms: int = Field(default=4000, gt=0)
    doctor_stale_block_warn_count: int = Field(default=3, gt=0)

    # ----- telemetry: the standard OpenTelemetry variables, read here so nothing else touches the env -----
    otel_sdk_disabled: StrictBool = False
    otel_service_name: str = "btcbot"
    otel_exporter_otlp_endpoint: str = ""
    otel_exporter_otlp_traces_endpoint: str = ""
    otel_exporter_otlp_metrics_endpoint: str = ""
    otel_exporter_otlp_headers: SecretStr | None = None
    otel_traces_exporter: str = ""
    otel_metrics_exporter: str = ""
    otel_metric_export_interval: int = Field(default=10000, gt=0)
    trace_sink_enabled: StrictBool = True
    trace_sink_max_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    # Prometheus /metrics (the same metrics as OTLP); unset: no HTTP server. 0 lets the OS choose (tests).
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"  # loopback unless the operator opens it up

    @field_validator("*", mode="before")
    @classmethod
    def _plain_numbers(cls, value: object, info: ValidationInfo) -> object:
        kind = number_kind(cls.model_fields[info.field_name].annotation) if info.field_name else None
        return plain_number_text(value, kind) if kind else value

    @field_validator("strategy", mode="before")
    @classmethod
    def _strip_strategy(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("live_trading_ack", mode="before")
    @classmethod
    def _strip_ack(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("doctor_window")
    @classmethod
    def _doctor_window_parses(cls, value: str) -> str:
        # Checked at load, not first when doctor runs: status and the alerts use the same window.
        from btcbot.doctor.window import parse_window

        try:
            parse_window(value, name="")
        except UsageError:
            raise ValueError("expected a positive duration such as 90s, 30m, 24h or 7d") from None
        return value.strip()

    @field_validator("metrics_host")
    @classmethod
    def _metrics_host_given(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty: 127.0.0.1 (the default) serves /metrics on loopback only")
        return value.strip()

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _empty_port_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("btcturk_api_key", "btcturk_api_secret", mode="before")
    @classmethod
    def _empty_secret_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("btcturk_api_key", "btcturk_api_secret")
    @classmethod
    def _credential_shape(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None:
            is_secret = info.field_name == "btcturk_api_secret"
            problem = credential_problem(value.get_secret_value(), base64_secret=is_secret)
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("btcturk_base_url", "btcturk_ws_url")
    @classmethod
    def _venue_url_scheme(cls, value: str, info: ValidationInfo) -> str:
        secure, plain = ("https", "http") if info.field_name == "btcturk_base_url" else ("wss", "ws")
        value = value.strip()
        problem = venue_url_problem(value, secure=secure, plain=plain)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator(
        "otel_exporter_otlp_endpoint", "otel_exporter_otlp_traces_endpoint", "otel_exporter_otlp_metrics_endpoint"
    )
    @classmethod
    def _otlp_endpoint_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        try:
            parts = urlsplit(value)
            is_url = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:  # an unbalanced IPv6 bracket
            is_url = False
        if not is_url:
            raise ValueError("must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:4318")
        problem = _userinfo_problem(value, "give the collector's credentials in OTEL_EXPORTER_OTLP_HEADERS")
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("account_scope", mode="before")
    @classmethod
    def _scope_in_normal_form(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        if not value.strip():
            return DEFAULT_ACCOUNT_SCOPE
        key = scope_key(value)
        if key != value:
            # Accepting both spellings would give one account two names; the lock and prefix use the key only.
            raise ValueError(f"use {key!r}: lower-case letters and digits only (it names the lock and order ids)")
        return value

    @field_validator("state_db_path", mode="before")
    @classmethod
    def _state_db_path_given(cls, value: object) -> object:
        # Path("") is ".", the working directory: refuse it rather than point the store at a directory.
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty: give the state DB's file path, e.g. /var/lib/btcbot/state.db")
        return value

    @field_validator("lock_dir", mode="after")
    @classmethod
    def _lock_dir_absolute(cls, value: Path) -> Path:
        path = value.expanduser()
        if not path.is_absolute():
            raise ValueError("must be an absolute path: a relative one would change with the working directory")
        return path

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Settings:
        problems: list[str] = []
        if self.max_notional_per_order_try > self.notional_cap_try_per_cycle:
            problems.append(
                f"MAX_NOTIONAL_PER_ORDER_TRY ({self.max_notional_per_order_try}) must be <= "
                f"NOTIONAL_CAP_TRY_PER_CYCLE ({self.notional_cap_try_per_cycle})"
            )
        if self.min_order_notional_try > self.max_notional_per_order_try:
            problems.append(
                f"MIN_ORDER_NOTIONAL_TRY ({self.min_order_notional_try}) must be <= "
                f"MAX_NOTIONAL_PER_ORDER_TRY ({self.max_notional_per_order_try})"
            )
        if self.market_data_mode is MarketDataMode.WS and not self.btcturk_ws_enabled:
            problems.append("MARKET_DATA_MODE=ws requires BTCTURK_WS_ENABLED=true")
        if self.doctor_clock_warn_ms > self.doctor_clock_fail_ms:
            problems.append("DOCTOR_CLOCK_WARN_MS must be <= DOCTOR_CLOCK_FAIL_MS")
        caps = self.position_caps
        uncapped = [s for s in self.universe_symbols if caps and ALL_SYMBOLS not in caps and s not in caps]
        not_try = [s for s in self.universe_symbols if not s.endswith("TRY")]
        if not_try:
            problems.append(
                f"UNIVERSE_SYMBOLS: {','.join(not_try)} not quoted in TRY; every notional cap "
                "(MAX_NOTIONAL_PER_ORDER_TRY, NOTIONAL_CAP_TRY_PER_CYCLE, MIN_ORDER_NOTIONAL_TRY) is in TRY"
            )
        if uncapped:
            problems.append(
                f"MAX_POSITION_BASE names some symbols but not {','.join(uncapped)} of UNIVERSE_SYMBOLS; "
                "give each one a cap, or one number for all"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment over env file; no secrets-directory source (it would be a silent second channel).
        return (init_settings, env_settings, dotenv_settings)

    # ----- derived views -----
    @property
    def credentials_present(self) -> bool:
        return bool(
            self.btcturk_api_key
            and self.btcturk_api_key.get_secret_value()
            and self.btcturk_api_secret
            and self.btcturk_api_secret.get_secret_value()
        )

    @property
    def resolved_account_scope(self) -> str:
        """The scope key of the instance lock and the order prefix (ACCOUNT_SCOPE is validated in normal form)."""
        return self.account_scope

    @property
    def legacy_account_scope(self) -> str | None:
        """The key-derived scope of releases before ``default``, still recognised while ACCOUNT_SCOPE is default.

        An explicit ACCOUNT_SCOPE was never key-derived, so it has none.
        """
        if self.account_scope != DEFAULT_ACCOUNT_SCOPE or self.btcturk_api_key is None:
            return None
        return legacy_key_scope(self.btcturk_api_key.get_secret_value())

    @property
    def state_db_file(self) -> Path:
        """STATE_DB_PATH resolved (absolute): what the banner, ``config show`` and doctor print. Never raises: an
        unresolvable path (a symlink loop, ``~user`` without a home) is shown absolute for doctor to explain."""
        try:
            return self.state_db_path.expanduser().resolve()
        except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python 3.11), or ~user with no home
            return Path(os.path.abspath(self.state_db_path))

    @property
    def position_caps(self) -> dict[str, Decimal]:
        """MAX_POSITION_BASE parsed: symbol (or ``"*"`` for every symbol) -> the cap in the base asset."""
        return parse_position_caps(self.max_position_base)

    def position_cap(self, symbol: str) -> Decimal | None:
        caps = self.position_caps
        return caps.get(symbol, caps.get(ALL_SYMBOLS))

    @property
    def state_dir(self) -> Path:
        return self.state_db_file.parent

    @property
    def log_file_path(self) -> Path | None:
        """Where runtime logs are kept: LOG_FILE, or ``btcbot.log`` beside the DB; None when LOG_FILE=off."""
        value = self.log_file.strip()
        if value.lower() == LOG_FILE_OFF:
            return None
        return Path(value).expanduser().resolve() if value else self.state_dir / DEFAULT_LOG_FILE_NAME


SECRET_FIELDS = frozenset({"btcturk_api_key", "btcturk_api_secret", "otel_exporter_otlp_headers"})
# Never echoed in an error either: a strategy's parameters may hold its own secret (docs/strategies.md).
_NO_ECHO = SECRET_FIELDS | {"strategy_params"}

_URL_FIELDS = frozenset(
    {
        "btcturk_base_url",
        "btcturk_ws_url",
        "otel_exporter_otlp_endpoint",
        "otel_exporter_otlp_traces_endpoint",
        "otel_exporter_otlp_metrics_endpoint",
    }
)

_ACCEPTED: dict[str, str] = {
    "market_data_mode": "rest, ws",
    "log_level": "DEBUG, INFO, WARNING, ERROR, CRITICAL",
}


def _describe_error(err: Mapping[str, Any]) -> str:
    loc = [str(p) for p in err.get("loc", ())]
    field = loc[0] if loc else ""
    etype = str(err.get("type", ""))
    msg = str(err.get("msg", "invalid value"))
    if etype == "extra_forbidden":
        return f"{field.upper()}: unknown setting (typo?); see `btcbot config show` for every accepted name"
    if not field:
        # Model-level (cross-field) rule.
        return msg.removeprefix("Value error, ")
    msg = msg.removeprefix("Value error, ")
    name = field.upper()
    accepted = _ACCEPTED.get(field)
    if field in _NO_ECHO:
        return f"{name}: {msg}"
    raw = err.get("input")
    shown = f" {raw!r}" if isinstance(raw, (str, int, float)) else ""
    if field in _URL_FIELDS and "@" in str(raw):
        shown = ""  # it may carry user:password@
    line = f"{name}: invalid value{shown}: {msg}"
    if accepted and "accepted" not in msg:
        line += f" (accepted: {accepted})"
    elif "true or false" in msg:
        line += " (accepted: true, false)"
    return line


_KEY_LIKE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)")


_ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


def _setting_named(key: str | None) -> str:
    """`` (NAME)`` for a setting's name; nothing for any other text, which may be a secret pasted on its own line."""
    return f" ({key.upper()})" if key and key.lower() in Settings.model_fields else ""


def _env_file_problems(text: str, path: Path) -> list[str]:
    """Lines python-dotenv would skip with a warning or keep without a value, ``${VAR}`` references, names that are
    not settings, and keys set twice to different values (the last would win silently). Each would leave a setting
    other than the operator wrote, e.g. a cap at its default. Values, and names that are not settings, are never
    echoed: the line may hold a secret."""
    import difflib

    from dotenv.parser import parse_stream
    from dotenv.variables import Variable, parse_variables

    problems: list[str] = []
    seen: dict[str, tuple[int, str | None]] = {}
    for binding in parse_stream(io.StringIO(text)):
        where = f"--env-file {path}: line {binding.original.line}"
        if binding.error:
            key = _KEY_LIKE.match(binding.original.string)
            problems.append(
                f"{where}{_setting_named(key.group(1) if key else None)} is not KEY=VALUE; fix it or remove it"
                " (a skipped line would leave that setting at its default)"
            )
        elif binding.key is None:
            continue  # a blank line or a comment
        elif binding.key.lower() not in Settings.model_fields:
            close = difflib.get_close_matches(binding.key.upper(), [n.upper() for n in Settings.model_fields])
            if close:
                hint = f"{binding.key} is not a setting (did you mean {close[0]}?)"
            elif _ENV_NAME.fullmatch(binding.key):
                hint = f"{binding.key} is not a setting"
            else:  # mixed case or symbols: more like a pasted secret than a variable name
                hint = "names no setting (the name is not shown: it may be a secret)"
            problems.append(f"{where} {hint}; see `btcbot config show` for every accepted name")
        elif binding.value is None:
            problems.append(f"{where}{_setting_named(binding.key)} has no '='; write {binding.key.upper()}=VALUE")
        elif any(isinstance(atom, Variable) for atom in parse_variables(binding.value)):
            # python-dotenv would expand it from the environment: a secret could land in a setting that is printed.
            problems.append(f"{where}{_setting_named(binding.key)} refers to a variable with ${{...}}; write the value")
        else:
            first = seen.setdefault(binding.key, (binding.original.line, binding.value))
            if first[1] != binding.value:  # the first occurrence always equals itself
                problems.append(
                    f"--env-file {path}: {binding.key} is set on lines {first[0]} and {binding.original.line} to "
                    "different values; keep one"
                )
    return problems


def read_env_file(path: Path) -> dict[str, str | None]:
    """Parse a dotenv file; a missing, unreadable or ambiguous file is a ConfigError that names it."""
    from dotenv import dotenv_values

    if not path.is_file():
        raise ConfigError(f"--env-file {path}: file not found; pass the path of a dotenv file such as .env.pilot")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--env-file {path}: cannot read it ({exc.__class__.__name__})") from None
    problems = _env_file_problems(text, path)
    if problems:
        raise ConfigError("invalid configuration: " + "; ".join(problems))
    # Parse the text already read and checked rather than reading the file a second time.
    return dict(dotenv_values(stream=io.StringIO(text)))


def current_environ() -> Mapping[str, str]:
    """The process environment. The only reader of ``os.environ`` in btcbot."""
    return os.environ


def _spelling_conflicts(source: Mapping[str, str | None], where: str) -> list[str]:
    """Two case-spellings of one setting with different values: the winner would be whichever came last."""
    spellings: dict[str, dict[str, str | None]] = {}
    for key, value in source.items():
        if key.lower() in Settings.model_fields:
            spellings.setdefault(key.lower(), {})[key] = value
    return [
        f"{' and '.join(sorted(found))} are both set in {where}, to different values; keep one ({name.upper()})"
        for name, found in spellings.items()
        if len(set(found.values())) > 1
    ]


def load_settings(env_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build the settings once, or raise ConfigError with one line per problem (never a traceback)."""
    path = Path(env_file) if env_file else None
    conflicts = _spelling_conflicts(current_environ(), "the environment")
    if path is not None:
        # Also checks existence and readability, with a clear error.
        conflicts += _spelling_conflicts(read_env_file(path), f"--env-file {path}")
    if conflicts:
        raise ConfigError("invalid configuration: " + "; ".join(conflicts))
    try:
        # Raise a clear error for the values in the environment and file; secrets are never echoed.
        return Settings(_env_file=path, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        lines = [_describe_error(e) for e in exc.errors(include_url=False)]
        raise ConfigError("invalid configuration: " + "; ".join(lines)) from None
    except SettingsError as exc:
        # A source could not even decode a value; name the field without echoing the value.
        field = str(exc).split('"')[1] if str(exc).count('"') >= 2 else "a setting"
        raise ConfigError(f"invalid configuration: {field.upper()}: value could not be parsed") from None


SettingSource = Literal["default", "env file", "environment", "override", "command line"]


def setting_sources(settings: Settings, env_file: str | Path | None = None) -> dict[str, SettingSource]:
    """Where each effective value came from, for ``btcbot config show``."""
    environ_keys = {k.upper() for k in current_environ()}
    file_keys = {k.upper() for k in read_env_file(Path(env_file))} if env_file else set()
    sources: dict[str, SettingSource] = {}
    for name in type(settings).model_fields:
        key = name.upper()
        if key in environ_keys:
            sources[name] = "environment"
        elif key in file_keys:
            sources[name] = "env file"
        elif name in settings.model_fields_set:
            sources[name] = "override"
        else:
            sources[name] = "default"
    return sources


GATE_FIELDS = ("safe_mode", "dry_run", "kill_switch", "live_trading", "live_trading_ack")


def gates_overriding_env_file(env_file: str | Path | None) -> tuple[str, ...]:
    """Gates that the environment sets to another value than ``--env-file`` does: the environment wins, silently
    unless someone says so, and an operator who edited the file would believe the file.
    """
    if not env_file:
        return ()
    environ = {k.lower(): v for k, v in current_environ().items()}
    in_file = {k.lower(): v for k, v in read_env_file(Path(env_file)).items()}

    def norm(name: str, value: str | None) -> str:
        text = (value or "").strip()
        return text if name == "live_trading_ack" else text.lower()

    return tuple(
        name.upper()
        for name in GATE_FIELDS
        if name in environ and name in in_file and norm(name, environ[name]) != norm(name, in_file[name])
    )


def redacted_view(settings: Settings) -> dict[str, str]:
    """Every effective value as text, secrets shown only as set/unset."""
    out: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if name in SECRET_FIELDS:
            out[name.upper()] = "set" if value is not None and value.get_secret_value() else "unset"
        elif isinstance(value, tuple):
            out[name.upper()] = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            out[name.upper()] = "true" if value else "false"
        elif name == "state_db_path":
            out[name.upper()] = str(settings.state_db_file)
        elif value is None:  # unset reads as empty, as in an env file; str(None) would look like a value
            out[name.upper()] = ""
        else:
            out[name.upper()] = str(value)
    return out
