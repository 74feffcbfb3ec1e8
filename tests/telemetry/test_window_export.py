"""Spans leave only in the quiet window (or at the backstop), and none is ever dropped on the way."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from btcbot.telemetry import quiet_window
from btcbot.telemetry.window_export import WindowSpanProcessor


@pytest.fixture
def pipeline() -> Iterator[tuple[TracerProvider, WindowSpanProcessor, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    processor = WindowSpanProcessor(exporter, name="test", backstop=50, batch_size=7)
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    yield provider, processor, exporter
    provider.shutdown()


def _spans(provider: TracerProvider, count: int, prefix: str = "s") -> None:
    tracer = provider.get_tracer("test")
    for i in range(count):
        with tracer.start_as_current_span(f"{prefix}{i}"):
            pass


def test_nothing_leaves_before_the_window(
    pipeline: tuple[TracerProvider, WindowSpanProcessor, InMemorySpanExporter],
) -> None:
    provider, processor, exporter = pipeline
    _spans(provider, 10)
    # The worker is only woken by a window (or the backstop): these ten wait, untouched.
    assert exporter.get_finished_spans() == ()
    assert processor.pending == 10
    assert processor.export_window(10.0)
    assert [s.name for s in exporter.get_finished_spans()] == [f"s{i}" for i in range(10)]
    assert processor.pending == 0


def test_every_span_arrives_across_windows_in_batches(
    pipeline: tuple[TracerProvider, WindowSpanProcessor, InMemorySpanExporter],
) -> None:
    provider, processor, exporter = pipeline
    for window in range(5):
        _spans(provider, 13, prefix=f"w{window}-")
        assert processor.export_window(10.0)
    names = [s.name for s in exporter.get_finished_spans()]
    assert names == [f"w{w}-{i}" for w in range(5) for i in range(13)]  # all 65, in order, no duplicate


def test_backstop_exports_without_a_window(
    pipeline: tuple[TracerProvider, WindowSpanProcessor, InMemorySpanExporter],
) -> None:
    provider, processor, exporter = pipeline
    _spans(provider, 50)  # the backstop: a process without cycles must not hoard spans
    assert processor.export_window(10.0)  # waits for the round the backstop started, if still running
    assert len(exporter.get_finished_spans()) == 50


def test_shutdown_exports_what_is_pending() -> None:
    exporter = InMemorySpanExporter()
    received: list[str] = []
    original = exporter.export

    def export(spans):  # type: ignore[no-untyped-def]
        received.extend(s.name for s in spans)
        return original(spans)

    exporter.export = export  # type: ignore[method-assign]
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(WindowSpanProcessor(exporter, name="test"))
    _spans(provider, 3)
    provider.shutdown()
    assert received == ["s0", "s1", "s2"]


def test_a_failing_exporter_does_not_stop_later_windows(
    pipeline: tuple[TracerProvider, WindowSpanProcessor, InMemorySpanExporter],
) -> None:
    provider, processor, exporter = pipeline
    original = exporter.export
    calls = {"n": 0}

    def flaky(spans):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("exporter bug")
        return original(spans)

    exporter.export = flaky  # type: ignore[method-assign]
    _spans(provider, 3, prefix="a")
    assert processor.export_window(10.0)
    _spans(provider, 3, prefix="b")
    assert processor.export_window(10.0)
    assert [s.name for s in exporter.get_finished_spans()] == ["b0", "b1", "b2"]


def test_the_quiet_window_runs_what_telemetry_installed() -> None:
    calls: list[float] = []

    def task(timeout_s: float) -> bool:
        calls.append(timeout_s)
        return True

    quiet_window.install(task)
    try:
        assert quiet_window.run(0.5) is True
    finally:
        quiet_window.uninstall(task)
    assert calls == [0.5]
    assert quiet_window.run(0.5) is True  # nothing installed: nothing to wait for
    assert calls == [0.5]
