"""`btcbot sim serve` as a real process, and the in-process Simulator's lifecycle."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading

import pytest
import requests

from btcbot.errors import UsageError
from btcbot.sim import DEMO_API_KEY, DEMO_API_SECRET, Simulator
from btcbot.testing.waiting import wait_until


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_one_ready_line_and_exits_zero_on_signal(sig):
    proc = subprocess.Popen(
        [sys.executable, "-m", "btcbot", "sim", "serve", "--seed", "4", "--symbols", "BTCTRY,ETHTRY"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        assert ready["rest_url"].startswith("http://127.0.0.1:") and ready["ws_url"].startswith("ws://127.0.0.1:")
        # The published demo pair is printed whole, so a client can be pointed here from this line alone.
        assert (ready["api_key"], ready["api_secret"]) == (DEMO_API_KEY, DEMO_API_SECRET)
        assert "demo" in ready["credentials"]
        assert ready["symbols"] == ["BTCTRY", "ETHTRY"]
        with requests.Session() as s:
            s.trust_env = False
            assert s.get(ready["rest_url"] + "/api/v2/server/ping", timeout=5).json() == {"pong": True}
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert out == ""  # exactly one line on stdout
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


OTHER_SECRET = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="


@pytest.mark.parametrize(
    ("key", "secret"),
    [("operator-key", OTHER_SECRET), (DEMO_API_KEY, OTHER_SECRET), ("operator-key", DEMO_API_SECRET)],
)
def test_the_ready_line_never_shows_a_secret_that_is_not_the_demo_pair(key, secret):
    from btcbot.commands.sim import credentials_fields

    fields = credentials_fields(key, secret)
    assert fields == {"api_key": key, "credentials": "operator-supplied; secret not shown"}
    assert secret not in json.dumps(fields)


def test_serve_rejects_bad_arguments():
    from btcbot.commands.sim import serve

    with pytest.raises(UsageError, match="unknown symbol"):
        serve(symbols="NOPETRY")
    with pytest.raises(UsageError, match="api-key"):
        serve(api_key="only-a-key")
    with pytest.raises(UsageError, match="base64"):
        serve(api_key="k", api_secret="not base64!")
    with pytest.raises(UsageError, match="port"):
        serve(port=70000)
    proc = subprocess.run(
        [sys.executable, "-m", "btcbot", "sim", "serve", "--symbols", "NOPETRY"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "unknown symbol" in proc.stderr


def test_simulator_stops_cleanly_with_no_leftover_threads():
    before = {t.ident for t in threading.enumerate()}
    with Simulator(market_tick_ms=5) as sim:
        assert sim.rest_url != sim.ws_url
        assert DEMO_API_SECRET not in repr(sim)
        with requests.Session() as s:
            s.trust_env = False
            assert s.get(sim.rest_url + "/api/v2/server/time", timeout=5).status_code == 200
        sim.tick(2)
        assert sim.state()["ticks"] >= 2
    assert {t.ident for t in threading.enumerate()} <= before


def test_automatic_market_clock_moves_prices():
    with Simulator(seed=2, market_tick_ms=5) as sim, requests.Session() as s:
        s.trust_env = False
        first = sim.state()["ticks"]
        wait_until(lambda: sim.state()["ticks"] >= first + 5, what="five ticks of the market clock")
        assert s.get(sim.rest_url + "/api/v2/orderbook?pairSymbol=BTCTRY", timeout=5).status_code == 200


def test_a_start_that_cannot_bind_raises_and_leaves_nothing_running():
    with Simulator(market_tick_ms=0) as first:
        before = {t.ident for t in threading.enumerate()}
        with pytest.raises(OSError):
            Simulator(ws_port=first.ws_port, market_tick_ms=0).start()
        assert {t.ident for t in threading.enumerate()} <= before
