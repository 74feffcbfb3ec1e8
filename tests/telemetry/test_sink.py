"""The local trace sink: OTLP/JSON lines, bounded by rotation, newest spans kept."""

from __future__ import annotations

import json
from pathlib import Path

from btcbot.settings import Settings
from btcbot.telemetry import tracing
from btcbot.telemetry.setup import configure_telemetry
from btcbot.telemetry.sink import sink_files, sink_path


def _cycles(n: int, start: int = 0) -> None:
    for cycle_id in range(start, start + n):
        attrs = {"btcbot.cycle_id": cycle_id, "pad": "x" * 200}
        with tracing.start_span("cycle", root=True, attributes=attrs), tracing.start_span("feed"):
            pass


def test_sink_stays_bounded_and_keeps_the_newest(tmp_path: Path) -> None:
    limit = 16 * 1024
    settings = Settings(state_db_path=tmp_path / "state.db", trace_sink_max_bytes=limit)
    handle = configure_telemetry(settings)
    try:
        for batch in range(12):
            _cycles(25, start=batch * 25)
            handle.force_flush()
            # Checked after every flush: the pair never outgrows twice the bound.
            assert sum(p.stat().st_size for p in sink_files(sink_path(tmp_path))) <= 2 * limit
    finally:
        handle.shutdown()

    path = sink_path(tmp_path)
    files = sink_files(path)
    assert [p.name for p in files] == ["spans.jsonl.1", "spans.jsonl"]
    cycle_ids = []
    for file in files:
        for line in file.read_text().splitlines():
            request = json.loads(line)
            for rs in request["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    for span in ss["spans"]:
                        assert len(span["traceId"]) == 32 and len(span["spanId"]) == 16
                        if span["name"] == "cycle":
                            attrs = {a["key"]: a["value"] for a in span["attributes"]}
                            cycle_ids.append(int(attrs["btcbot.cycle_id"]["intValue"]))
    assert max(cycle_ids) == 299  # the newest cycle survived
    assert min(cycle_ids) > 0  # the oldest were rotated out
    assert cycle_ids == sorted(cycle_ids)


def test_sink_disabled_writes_nothing(tmp_path: Path) -> None:
    handle = configure_telemetry(Settings(state_db_path=tmp_path / "state.db", trace_sink_enabled=False))
    try:
        _cycles(3)
        handle.force_flush()
    finally:
        handle.shutdown()
    assert not sink_path(tmp_path).exists()


def test_unwritable_sink_does_not_break_tracing(tmp_path: Path) -> None:
    (tmp_path / "traces").write_text("a file where the directory should be")
    handle = configure_telemetry(Settings(state_db_path=tmp_path / "state.db"))
    try:
        with tracing.start_span("cycle", root=True) as span:
            assert tracing.trace_id_hex(span) is not None
        handle.force_flush()
    finally:
        handle.shutdown()
