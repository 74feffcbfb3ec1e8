"""`btcbot record` against the simulator (WebSocket and REST), and the replay speed controls."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from btcbot.cli import main
from btcbot.domain.clock import VirtualClock
from btcbot.errors import UsageError
from btcbot.replay.clock import PacedClock, parse_speed
from btcbot.replay.dataset import DatasetReader
from btcbot.replay.session import run_replay


@pytest.fixture(scope="module")
def sim_urls() -> object:
    from btcbot.sim import DEMO_API_KEY, DEMO_API_SECRET, Simulator

    with Simulator(
        seed=2, symbols=("BTCTRY", "ETHTRY"), api_key=DEMO_API_KEY, api_secret=DEMO_API_SECRET, market_tick_ms=50
    ) as sim:
        yield sim.rest_url, sim.ws_url


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["ws", "rest"])
def test_record_then_replay(
    mode: str,
    sim_urls: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rest_url, ws_url = sim_urls
    monkeypatch.setenv("BTCTURK_BASE_URL", rest_url)
    monkeypatch.setenv("BTCTURK_WS_URL", ws_url)
    monkeypatch.setenv("MARKET_DATA_MODE", mode)
    monkeypatch.setenv("BTCTURK_WS_ENABLED", "true" if mode == "ws" else "false")
    out = tmp_path / f"{mode}.jsonl.gz"
    assert main(["record", "--symbols", "BTCTRY,ETHTRY", "--out", str(out), "--duration", "1.5"]) == 0
    captured = capsys.readouterr()
    assert "recording:" in captured.err  # the progress line
    assert f"to {out}" in captured.out
    with DatasetReader(out) as reader:
        assert reader.header.source == mode
        assert set(reader.header.exchange_info) == {"BTCTRY", "ETHTRY"}
        events = [ev for chunk in reader.chunks() for ev in chunk]
    assert {ev[3] for ev in events} == {"BTCTRY", "ETHTRY"}
    if mode == "rest":
        assert all(ev[0] == 431 and isinstance(ev[2], int) for ev in events)
    else:
        assert {ev[0] for ev in events} == {431, 432} and all(ev[2] is None for ev in events)
    # Existing output is never overwritten.
    assert main(["record", "--symbols", "BTCTRY", "--out", str(out), "--duration", "1"]) == 2
    monkeypatch.setenv("UNIVERSE_SYMBOLS", "BTCTRY,ETHTRY")
    monkeypatch.setenv("CYCLE_SECONDS", "0.5")
    result = run_replay(dataset=str(out), speed=None, db=tmp_path / f"{mode}.db", seed=1, env_file=None)
    assert result.events == len(events) and result.cycles >= 2


def test_record_needs_out(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["record", "--symbols", "BTCTRY"]) == 2
    assert "--out PATH is required" in capsys.readouterr().err


@pytest.mark.parametrize(("text", "factor"), [("max", None), ("1x", 1.0), ("10X", 10.0), ("2.5", 2.5), (4, 4.0)])
def test_parse_speed(text: object, factor: float | None) -> None:
    assert parse_speed(text) == factor


@pytest.mark.parametrize("text", ["fast", "0x", "-1", "x"])
def test_parse_speed_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="--speed"):
        parse_speed(text)


def test_paced_clock_spends_wall_time_divided_by_speed() -> None:
    clock = PacedClock(start_ms=1_000, speed=1000.0)
    stop = threading.Event()
    assert clock.wait(stop, 10.0) is False  # 10 ms of wall time at 1000x
    assert clock.wall_ms() == 11_000
    stop.set()
    assert clock.wait(stop, 10.0) is True
    assert clock.wall_ms() == 11_000
    assert isinstance(clock, VirtualClock)


def test_replay_at_a_paced_speed_gives_the_same_decisions(tmp_path: Path) -> None:
    fast = run_replay(dataset=None, speed=None, db=tmp_path / "fast.db", seed=1, env_file=None)
    paced = run_replay(dataset=None, speed=2000.0, db=tmp_path / "paced.db", seed=1, env_file=None)
    # A lower bound (the dataset spans ~180 s of virtual time): load can only make the paced run slower.
    assert paced.wall_s >= 180 / 2000
    assert fast.summary()["reason_codes"] == paced.summary()["reason_codes"]


@pytest.mark.integration
def test_record_from_an_unreachable_feed_is_a_clear_error(
    sim_urls: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("BTCTURK_BASE_URL", sim_urls[0])
    monkeypatch.setenv("BTCTURK_WS_URL", f"ws://127.0.0.1:{port}")
    monkeypatch.setenv("MARKET_DATA_MODE", "ws")
    monkeypatch.setenv("BTCTURK_WS_ENABLED", "true")
    code = main(["record", "--out", str(tmp_path / "x.jsonl"), "--duration", "1"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"cannot connect to the WebSocket feed ws://127.0.0.1:{port}" in err and "Traceback" not in err
    assert not (tmp_path / "x.jsonl").exists()
    monkeypatch.setenv("BTCTURK_BASE_URL", f"http://127.0.0.1:{port}")
    assert main(["record", "--out", str(tmp_path / "y.jsonl"), "--duration", "1"]) == 1
    assert "exchangeinfo failed" in capsys.readouterr().err
