"""``health`` probes and the doctor's real exchange probe, over the real adapter against a loopback venue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from btcbot.doctor.health import FAIL, OK, SKIP, overall, probe_rest, probe_ws
from btcbot.doctor.model import Status
from btcbot.doctor.network import network_checks, probe_exchange
from btcbot.settings import Settings


def test_health_all_ok(fake_venue: Any, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        btcturk_base_url=fake_venue.rest_url, btcturk_ws_url=fake_venue.ws_url, btcturk_ws_enabled="true"
    )
    probes = [*probe_rest(settings), probe_ws(settings)]
    assert [(p.name, p.status) for p in probes] == [("rest_server_time", OK), ("rest_ticker", OK), ("websocket", OK)]
    assert all(p.latency_ms is not None and p.latency_ms >= 0 for p in probes)
    assert "991" in probes[2].detail
    assert overall(probes) == 0


def test_health_ws_disabled_is_skip_and_does_not_fail(fake_venue: Any, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(btcturk_base_url=fake_venue.rest_url)
    probes = [*probe_rest(settings), probe_ws(settings)]
    assert probes[2].status == SKIP
    assert overall(probes) == 0


def test_health_unreachable_fails(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        btcturk_base_url="http://127.0.0.1:9", btcturk_ws_url="ws://127.0.0.1:9", btcturk_ws_enabled="true"
    )
    probes = [*probe_rest(settings), probe_ws(settings)]
    assert {p.status for p in probes} == {FAIL}
    assert all(p.latency_ms is None for p in probes)
    assert overall(probes) == 2


def test_real_probe_pass_then_clock_skew(fake_venue: Any, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(btcturk_base_url=fake_venue.rest_url, min_order_notional_try="100")
    by = {c.name: c for c in network_checks(probe_exchange(settings), settings, live_intended=True)}
    assert {c.status for c in by.values()} == {Status.PASS}, by
    offset = by["clock_offset"].details
    assert abs(offset["offset_ms"]) <= offset["rtt_ms"] / 2 + 1  # half the round trip, however slow

    fake_venue.skew_ms = 4500
    fake_venue.status = "HALTED"
    by = {c.name: c for c in network_checks(probe_exchange(settings), settings, live_intended=True)}
    assert by["clock_offset"].status is Status.FAIL and "behind" in by["clock_offset"].reason
    assert by["symbols_tradable"].status is Status.FAIL

    fake_venue.skew_ms = -1500
    by = {c.name: c for c in network_checks(probe_exchange(settings), settings, live_intended=True)}
    assert by["clock_offset"].status is Status.WARN and "ahead" in by["clock_offset"].reason


def test_real_probe_unreachable(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(btcturk_base_url="http://127.0.0.1:9")
    facts = probe_exchange(settings)
    assert not facts.reachable and facts.error
    by = {c.name: c for c in network_checks(facts, settings, live_intended=False)}
    assert by["exchange_connectivity"].status is Status.WARN
    assert {by[n].status for n in ("clock_offset", "symbols_tradable", "min_order_notional")} == {Status.SKIP}


def test_health_and_doctor_commands_in_process(fake_venue: Any, monkeypatch: Any, capsys: Any, tmp_path: Any) -> None:
    import json

    from btcbot.commands.doctor import doctor
    from btcbot.commands.health import health

    monkeypatch.setenv("BTCTURK_BASE_URL", fake_venue.rest_url)
    monkeypatch.setenv("BTCTURK_WS_URL", fake_venue.ws_url)
    monkeypatch.setenv("BTCTURK_WS_ENABLED", "true")
    monkeypatch.setenv("STATE_DB_PATH", str(tmp_path / "state.db"))
    monkeypatch.setenv("MIN_ORDER_NOTIONAL_TRY", "100")
    assert health(json=True) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["health_status"] == "OK" and [p["status"] for p in doc["probes"]] == ["OK", "OK", "OK"]
    assert health() == 0
    assert capsys.readouterr().out.splitlines()[-1] == "health_status=OK"

    # No DB yet: SLOs skip; the exchange checks pass against the venue; nothing warns or fails.
    assert doctor(json=True, window=3600) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["doctor_status"] == "PASS" and report["window_seconds"] == 3600
    assert {c["name"]: c["status"] for c in report["checks"]}["clock_offset"] == "PASS"

    fake_venue.skew_ms = 6000
    assert doctor() == 2
    assert capsys.readouterr().out.splitlines()[-1] == "doctor_status=FAIL"
