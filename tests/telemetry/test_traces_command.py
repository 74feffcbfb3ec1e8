"""`btcbot traces` renders a waterfall from the sink, and says so clearly when there is nothing to show."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.trace import SpanKind

from btcbot.commands.traces import traces
from btcbot.errors import UsageError
from btcbot.settings import Settings
from btcbot.telemetry import tracing
from btcbot.telemetry.setup import configure_telemetry


def _write_cycles(state_dir: Path, n: int) -> list[str]:
    handle = configure_telemetry(Settings(state_db_path=state_dir / "state.db"), run_id="run-w")
    ids = []
    try:
        for cycle_id in range(1, n + 1):
            with tracing.start_span(
                "cycle",
                root=True,
                attributes={"btcbot.run_id": "run-w", "btcbot.cycle_id": cycle_id, "btcbot.mode": "dry_run"},
            ) as root:
                with tracing.start_span("feed"):
                    pass
                with (
                    tracing.start_span("order_submit"),
                    tracing.start_span(
                        "POST /api/v1/order",
                        kind=SpanKind.CLIENT,
                        attributes={
                            "http.request.method": "POST",
                            "url.template": "/api/v1/order",
                            "http.response.status_code": 200,
                            "btcturk.code": 0,
                        },
                    ),
                ):
                    pass
                root.set_attribute("btcbot.reason_code", "ok" if cycle_id % 2 else "market_data:stale")
                ids.append(tracing.trace_id_hex(root) or "")
    finally:
        handle.shutdown()
    return ids


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STATE_DB_PATH", str(tmp_path / "state.db"))
    return tmp_path


def test_waterfall_of_the_last_cycles(state_dir: Path, capsys: Any) -> None:
    ids = _write_cycles(state_dir, 4)
    assert traces(last=2) == 0
    out = capsys.readouterr().out
    assert ids[2] in out and ids[3] in out and ids[0] not in out
    assert "cycle=4" in out and "reason=ok" in out and "reason=market_data:stale" in out
    lines = out.splitlines()
    cycle_line = next(line for line in lines if line.lstrip().startswith("cycle "))
    http_line = next(line for line in lines if "POST /api/v1/order" in line)
    # Indentation shows depth: cycle > order_submit > HTTP span.
    assert len(http_line) - len(http_line.lstrip()) == len(cycle_line) - len(cycle_line.lstrip()) + 4
    assert "status=200" in http_line and "btcturk.code=0" in http_line
    assert re.search(r"\d+\.\d{3} ms\s+\|#+", cycle_line)


def test_one_trace_by_id(state_dir: Path, capsys: Any) -> None:
    ids = _write_cycles(state_dir, 3)
    assert traces(trace_id=ids[0].upper()) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"trace {ids[0]}") and ids[1] not in out


def test_unknown_trace_id(state_dir: Path, capsys: Any) -> None:
    _write_cycles(state_dir, 1)
    assert traces(trace_id="0" * 31 + "1") == 1
    assert "is not in the local sink" in capsys.readouterr().out


def test_empty_sink(state_dir: Path, capsys: Any) -> None:
    assert traces() == 0
    assert "no traces yet" in capsys.readouterr().out


def test_bad_arguments_are_usage_errors(state_dir: Path) -> None:
    with pytest.raises(UsageError, match="--trace-id"):
        traces(trace_id="not-hex")
    with pytest.raises(UsageError, match="--last"):
        traces(last=0)
