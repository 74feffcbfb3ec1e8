"""A cycle's span tree crosses actor threads through the carrier in the message."""

from __future__ import annotations

import threading
from typing import Any

import pykka

from btcbot.telemetry import tracing
from btcbot.telemetry.metrics import get_metrics
from btcbot.telemetry.setup import TelemetryHandle


class _Step(pykka.ThreadingActor):
    """Stands in for an actor step: opens its span from the carrier it was sent, on its own thread."""

    def on_receive(self, message: Any) -> Any:
        attrs = {"btcbot.symbol": "BTCTRY"}
        with (
            tracing.start_span(message["step"], carrier=message["trace"], attributes=attrs),
            tracing.start_span("order_submit", attributes=attrs),
        ):
            return threading.get_ident()


def test_cycle_span_tree_across_actor_threads(telemetry: TelemetryHandle, points: Any) -> None:
    actor = _Step.start()
    try:
        with tracing.start_span(
            "cycle",
            root=True,
            attributes={"btcbot.run_id": "run-1", "btcbot.cycle_id": 7, "btcbot.mode": "dry_run"},
        ) as root:
            carrier = tracing.inject()
            actor_thread = actor.ask({"step": "risk_gate", "trace": carrier}, timeout=5)
            root.set_attribute("btcbot.reason_code", "ok")
            cycle_trace = tracing.trace_id_hex(root)
        get_metrics().cycle_duration_ms.record(1.5)
    finally:
        actor.stop()

    assert actor_thread != threading.get_ident()
    spans = {s.name: s for s in telemetry.span_exporter.get_finished_spans()}  # type: ignore[union-attr]
    assert set(spans) == {"cycle", "risk_gate", "order_submit"}
    cycle, gate, submit = spans["cycle"], spans["risk_gate"], spans["order_submit"]
    assert cycle.parent is None
    assert gate.parent is not None and gate.parent.span_id == cycle.context.span_id
    assert submit.parent is not None and submit.parent.span_id == gate.context.span_id
    assert {format(s.context.trace_id, "032x") for s in spans.values()} == {cycle_trace}
    assert cycle.attributes["btcbot.cycle_id"] == 7
    assert cycle.attributes["btcbot.reason_code"] == "ok"
    assert cycle.attributes["btcbot.run_id"] == "run-1"
    assert submit.attributes["btcbot.symbol"] == "BTCTRY"
    # The child spans ran while the root was open, on the actor's thread.
    assert cycle.start_time <= gate.start_time <= submit.start_time <= submit.end_time <= cycle.end_time
    assert [p.count for p in points(telemetry)["cycle_duration_ms"]] == [1]


def test_no_carrier_in_message_means_a_separate_trace(telemetry: TelemetryHandle) -> None:
    """Without the carrier the context does not cross the thread: the reason messages must carry it."""
    actor = _Step.start()
    try:
        with tracing.start_span("cycle", root=True):
            actor.ask({"step": "feed", "trace": None}, timeout=5)
    finally:
        actor.stop()
    spans = {s.name: s for s in telemetry.span_exporter.get_finished_spans()}  # type: ignore[union-attr]
    assert spans["feed"].parent is None
    assert spans["feed"].context.trace_id != spans["cycle"].context.trace_id


def test_fast_carrier_extraction_matches_the_propagator(telemetry: TelemetryHandle) -> None:
    from opentelemetry import propagate, trace

    with tracing.start_span("cycle", root=True):
        carrier = tracing.inject()
    fast = trace.get_current_span(tracing._extract(carrier)).get_span_context()
    slow = trace.get_current_span(propagate.extract(dict(carrier))).get_span_context()
    assert fast == slow and fast.is_valid and fast.is_remote
    # Malformed or foreign carriers take the generic path and never raise.
    for bad in ({"traceparent": "00-" + "0" * 32 + "-" + "1" * 16 + "-01"}, {"traceparent": "zz"}, {"x": "y"}):
        ctx = tracing._extract(bad)
        assert not trace.get_current_span(ctx).get_span_context().is_valid
