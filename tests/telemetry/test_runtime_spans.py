"""One real cycle of the runtime against the simulator: the span tree, the decision's trace id, the metrics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.trace import SpanKind

pytest.importorskip("btcbot.runtime.session", reason="the runtime has not landed")
pytest.importorskip("btcbot.sim", reason="the simulator has not landed")

from btcbot.settings import Settings
from btcbot.telemetry.setup import TelemetryHandle, configure_for_tests

_HTTP_ATTRS = {"http.request.method", "url.template", "server.address", "http.response.status_code", "btcturk.code"}


@pytest.fixture
def armed_run(tmp_path: Path) -> Iterator[tuple[TelemetryHandle, Any, list[tuple[Any, ...]]]]:
    from btcbot.arming import ArmingGate
    from btcbot.domain.clock import SystemClock
    from btcbot.exchange.btcturk import BtcturkExchange, build_market_data
    from btcbot.runtime.session import RuntimeDeps, RuntimeOptions, run_session
    from btcbot.sim import DEMO_API_KEY, DEMO_API_SECRET, Simulator
    from btcbot.storage import StateStore
    from btcbot.strategies.canary import CanaryStrategy

    with Simulator(seed=1, symbols=("BTCTRY",), market_tick_ms=0) as sim:
        settings = Settings(
            state_db_path=tmp_path / "state.db",
            btcturk_base_url=sim.rest_url,
            btcturk_ws_url=sim.ws_url,
            btcturk_api_key=DEMO_API_KEY,
            btcturk_api_secret=DEMO_API_SECRET,
            universe_symbols="BTCTRY",
            live_trading=True,
            live_trading_ack="I_UNDERSTAND",
            dry_run=False,
            kill_switch=False,
            safe_mode=False,
        )
        handle = configure_for_tests(settings)
        exchange = BtcturkExchange.from_settings(settings)
        store = StateStore(settings.state_db_path)
        store.migrate()
        try:
            deps = RuntimeDeps(
                settings=settings,
                gate=ArmingGate.from_settings(settings),
                clock=SystemClock(),
                market_data=build_market_data(settings, exchange.http),
                reader=exchange,
                gateway=exchange,
                store=store,
                strategy=CanaryStrategy.from_params(
                    notional_try=settings.max_notional_per_order_try, offset_bps=settings.canary_offset_bps
                ),
            )
            result = run_session(RuntimeOptions(max_cycles=1, cycle_seconds=0.01), deps)
            decisions = store.query("SELECT cycle_id, trace_id FROM decisions WHERE cycle_id = 1")
            yield handle, result, decisions
        finally:
            store.close()
            exchange.close()
            handle.shutdown()


def test_real_cycle_span_tree(armed_run: tuple[TelemetryHandle, Any, list[tuple[Any, ...]]], points: Any) -> None:
    handle, result, decisions = armed_run
    assert result.exit_code == 0
    spans = handle.span_exporter.get_finished_spans()  # type: ignore[union-attr]
    roots = [s for s in spans if s.name == "cycle"]
    assert len(roots) == 1
    root = roots[0]
    assert root.parent is None
    attrs = dict(root.attributes or {})
    assert attrs["btcbot.cycle_id"] == 1 and attrs["btcbot.mode"] == "live" and attrs["btcbot.symbols"] == "BTCTRY"
    assert attrs["btcbot.run_id"] and attrs["btcbot.reason_code"]

    trace = [s for s in spans if s.context.trace_id == root.context.trace_id]
    by_id = {s.context.span_id: s for s in trace}
    names = {s.name for s in trace}
    assert {"feed", "freshness_guard", "strategy", "risk_gate", "order_submit", "reconcile", "db_flush"} <= names
    assert {"GET /api/v2/orderbook", "POST /api/v1/order"} <= names
    # Every span of the cycle hangs off its root, across the actor threads.
    for span in trace:
        node = span
        while node.parent is not None:
            node = by_id[node.parent.span_id]
        assert node is root, span.name
    (feed,) = [s for s in trace if s.name == "feed"]
    assert feed.parent is not None and feed.parent.span_id == root.context.span_id
    (post,) = [s for s in trace if s.name == "POST /api/v1/order"]
    assert post.kind is SpanKind.CLIENT
    assert post.parent is not None and by_id[post.parent.span_id].name == "order_submit"
    post_attrs = dict(post.attributes or {})
    assert post_attrs["url.template"] == "/api/v1/order" and post_attrs["http.response.status_code"] == 200
    assert post_attrs["btcturk.code"] == 0
    for span in trace:
        if span.kind is SpanKind.CLIENT:
            assert set(span.attributes or {}) <= _HTTP_ATTRS | {"error.type"}, span.name

    # The decision record carries the cycle's trace id: the operator's way from a row to this tree.
    assert decisions and {row[1] for row in decisions} == {format(root.context.trace_id, "032x")}

    metrics = points(handle)
    assert sum(p.value for p in metrics["orders_submitted"]) == 1
    assert sum(p.count for p in metrics["order_submit_latency_ms"]) == 1
    assert sum(p.count for p in metrics["cycle_duration_ms"]) >= 1
