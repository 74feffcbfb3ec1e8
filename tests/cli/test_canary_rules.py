"""canary once|loop: no live order on a default, and never on a symbol outside UNIVERSE_SYMBOLS.

In-process; the runtime (``execute``) is replaced by a recorder, so a refusal is seen to happen before it.
"""

from __future__ import annotations

from typing import Any

import pytest

from btcbot import cli
from btcbot.runtime import wiring

_ARMED = {
    "LIVE_TRADING": "true",
    "LIVE_TRADING_ACK": "I_UNDERSTAND",
    "DRY_RUN": "false",
    "KILL_SWITCH": "false",
    "SAFE_MODE": "false",
    "BTCTURK_API_KEY": "key",
    "BTCTURK_API_SECRET": "c2VjcmV0",
    "BTCTURK_BASE_URL": "http://127.0.0.1:9",
    "UNIVERSE_SYMBOLS": "BTCTRY",
}
_EXPLICIT = ["--symbol", "BTCTRY", "--notional-try", "150", "--ttl-seconds", "30"]


@pytest.fixture
def executed(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> list[Any]:
    calls: list[Any] = []

    class _Result:
        exit_code = 0

    def fake_execute(
        settings: Any, options: Any, strategy: Any, *, cli_dry_run: bool, env_file: str | None = None
    ) -> _Result:
        calls.append((settings, options, cli_dry_run))
        return _Result()

    monkeypatch.setattr(wiring, "execute", fake_execute)
    monkeypatch.setenv("STATE_DB_PATH", str(tmp_path / "state.db"))
    return calls


def _arm(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in _ARMED.items():
        monkeypatch.setenv(key, value)


@pytest.mark.parametrize("sub", ["once", "loop"])
@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ([], "--symbol, --notional-try, --ttl-seconds"),
        (["--symbol", "BTCTRY"], "--notional-try, --ttl-seconds"),
        (["--symbol", "BTCTRY", "--notional-try", "150"], "--ttl-seconds"),
        (["--notional-try", "150", "--ttl-seconds", "30"], "--symbol"),
    ],
)
def test_armed_canary_needs_explicit_order_flags(
    sub: str,
    given: list[str],
    missing: str,
    executed: list[Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _arm(monkeypatch)
    assert cli.main(["canary", sub, *given]) == 2
    err = capsys.readouterr().err
    assert f"error: canary {sub}: armed for live trading, so {missing} must be given explicitly" in err
    assert "Traceback" not in err and executed == []


@pytest.mark.parametrize("sub", ["once", "loop"])
def test_explicit_flags_pass_and_reach_the_runtime(
    sub: str, executed: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _arm(monkeypatch)
    assert cli.main(["canary", sub, *_EXPLICIT, "--adopt-foreign-orders"]) == 0
    ((settings, options, cli_dry_run),) = executed
    assert settings.universe_symbols == ("BTCTRY",) and options.symbols == ("BTCTRY",)
    assert options.ttl_seconds == 30 and options.adopt_foreign_orders is True and cli_dry_run is False


def test_defaults_are_fine_when_not_armed(executed: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli.main(["canary", "once"]) == 0  # baseline settings: observe-only
    _arm(monkeypatch)
    assert cli.main(["canary", "once", "--dry-run"]) == 0  # --dry-run disarms, so no live order rests on them
    assert [dry for _, _, dry in executed] == [False, True]
    assert executed[0][1].adopt_foreign_orders is False


@pytest.mark.parametrize("armed", [True, False])
def test_symbol_outside_the_universe_is_refused_armed_or_not(
    armed: bool, executed: list[Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if armed:
        _arm(monkeypatch)
    monkeypatch.setenv("UNIVERSE_SYMBOLS", "BTCTRY")
    argv = ["canary", "once", "--symbol", "ETHTRY", "--notional-try", "150", "--ttl-seconds", "30"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "--symbol ETHTRY is not in UNIVERSE_SYMBOLS=BTCTRY" in err and executed == []
    monkeypatch.setenv("UNIVERSE_SYMBOLS", "BTCTRY,ETHTRY")
    assert cli.main(argv) == 0
    assert executed[0][1].symbols == ("ETHTRY",)


def test_run_passes_adopt_foreign_orders(executed: list[Any]) -> None:
    assert cli.main(["run", "--once", "--dry-run"]) == 0
    assert cli.main(["run", "--loop", "--max-cycles", "2", "--adopt-foreign-orders"]) == 0
    assert [(o.max_cycles, o.adopt_foreign_orders) for _, o, _ in executed] == [(1, False), (2, True)]
