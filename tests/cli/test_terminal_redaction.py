"""The terminal is an edge like logs and spans: no configured secret reaches stdout or stderr, whatever the path.

The case that found it: a venue answering with the API key where an order side belongs (a broken gateway echoing
request headers into a body) made ``btcbot orders list`` print ``unknown order side '<the key>'``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from btcbot import cli
from btcbot.console.redacting_stream import RedactingStream, redacted_output
from btcbot.telemetry.redact import REDACTED, Redactor
from btcbot.testing.json_venue import json_venue

API_KEY = "LEAKCANARYKEY-1c9e4b"
API_SECRET = "TGVha0NhbmFyeVNlY3JldC0xYzll"  # base64, like a real BTCTurk secret


def _echoing_orders_venue(path: str, headers: Mapping[str, str]) -> tuple[int, Any]:
    """Answers openOrders with one order whose side is the caller's X-PCK header, and everything else empty."""
    if "openOrders" not in path:
        return 200, {"success": True, "message": None, "code": 0, "data": []}
    row = {
        "id": 1,
        "price": "100",
        "amount": "0.1",
        "quantity": "0.1",
        "stopPrice": "0",
        "pairSymbol": "BTCTRY",
        "pairSymbolNormalized": "BTC_TRY",
        "type": headers.get("X-PCK", ""),
        "method": "limit",
        "orderClientId": "someone-else",
        "time": 0,
        "updateTime": 0,
        "status": "Untouched",
        "leftAmount": "0.1",
    }
    return 200, {"success": True, "message": None, "code": 0, "data": {"asks": [], "bids": [row]}}


@pytest.fixture
def echoing_venue() -> Iterator[str]:
    with json_venue(_echoing_orders_venue) as url:
        yield url


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, echoing_venue: str) -> None:
    for name, value in {
        "BTCTURK_BASE_URL": echoing_venue,
        "BTCTURK_WS_URL": echoing_venue.replace("http", "ws"),
        "BTCTURK_API_KEY": API_KEY,
        "BTCTURK_API_SECRET": API_SECRET,
        "STATE_DB_PATH": str(tmp_path / "state.db"),
        "TRACE_SINK_ENABLED": "false",
        "OTEL_SDK_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)


def _assert_clean(text: str) -> None:
    for secret in (API_KEY, API_SECRET):
        assert secret not in text
        assert secret.lower() not in text.lower()


def test_a_venue_value_quoting_the_key_is_scrubbed_from_the_error(
    configured: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["orders", "list"])
    out, err = capsys.readouterr()
    _assert_clean(out + err)
    # The operator still learns what went wrong, and the run is not reported clean.
    assert "unknown order side" in err
    assert REDACTED in err
    assert code != 0


def test_a_crash_prints_its_traceback_scrubbed_and_exits_1(
    configured: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def crash(*args: object, **kwargs: object) -> int:
        raise RuntimeError(f"request failed with X-PCK: {API_KEY} and secret {API_SECRET!r}")

    commands = tuple(replace(c, run=crash) if c.path == ("config", "show") else c for c in cli.COMMANDS)
    monkeypatch.setattr(cli, "COMMANDS", commands)

    code = cli.main(["config", "show"])
    out, err = capsys.readouterr()
    _assert_clean(out + err)
    assert "Traceback" in err and "RuntimeError" in err and REDACTED in err
    assert code == 1


def test_the_stream_scrubs_each_write_and_keeps_the_terminal_facts() -> None:
    inner = io.StringIO()
    stream = RedactingStream(inner, Redactor([API_KEY]))
    assert stream.write(f"key={API_KEY}\n") == len(f"key={API_KEY}\n")
    stream.writelines([f"{API_KEY!r}\n", "X-Signature: abc123\n"])
    assert inner.getvalue() == f"key={REDACTED}\n'{REDACTED}'\nX-Signature: {REDACTED}\n"
    # isatty and friends are the wrapped stream's: rich and the live line decide the same way as without it.
    assert stream.isatty() is False
    assert stream.inner is inner


def test_the_streams_come_back_after_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    before = sys.stdout, sys.stderr
    with redacted_output(Redactor([API_KEY])):
        assert isinstance(sys.stdout, RedactingStream)
        print(API_KEY)
    assert (sys.stdout, sys.stderr) == before
    assert capsys.readouterr().out == f"{REDACTED}\n"


def test_sim_serve_keeps_its_own_credentials_in_the_ready_line() -> None:
    command = next(c for c in cli.COMMANDS if c.path == ("sim", "serve"))
    assert cli._terminal_redactor(command, object())(API_KEY) == API_KEY
