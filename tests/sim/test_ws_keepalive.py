"""WebSocket keepalive as the venue does it: a ping every 15 s, a clean close (1000) after 45 s without a pong.

The policy is checked at the venue's own timings with a fake clock; the wire tests scale the timings down and
wait on the server's counters (pings sent, pongs received, keepalive closes) instead of sleeping.
"""

from __future__ import annotations

import struct

import pytest
import websocket

from btcbot.sim import Simulator
from btcbot.sim.keepalive import PING_INTERVAL_S, PING_TIMEOUT_S, Keepalive
from btcbot.testing.waiting import wait_until

# Where the socket must survive, the close comes long after any passing run is done, even on a loaded machine.
STAYS_OPEN_S = 60.0


def socket_counters(sim: Simulator) -> list[tuple[int, int]]:
    """(pings sent, pongs received) of every open socket, read on the simulator's loop."""

    def read() -> list[tuple[int, int]]:
        assert sim.hub is not None
        return [(c.pings_sent, c.pongs_received) for c in sim.hub.clients]

    return sim.call(read)


def alive_at(sim: Simulator) -> float:
    """When the only open socket last proved it was being read (its keepalive deadline runs from there)."""

    def read() -> float:
        assert sim.hub is not None
        [client] = sim.hub.clients
        return client.keepalive.alive_at

    return sim.call(read)


def keepalive_closes(sim: Simulator) -> int:
    def read() -> int:
        assert sim.hub is not None
        return sim.hub.keepalive_closes

    return sim.call(read)


def test_the_defaults_are_the_venues_timings():
    assert (PING_INTERVAL_S, PING_TIMEOUT_S) == (15.0, 45.0)
    sim = Simulator(market_tick_ms=0)  # never started: only its configuration is read
    assert (sim.ws_ping_interval_s, sim.ws_ping_timeout_s) == (15.0, 45.0)


def test_a_reader_blocked_for_30s_survives_at_the_venues_timings():
    ka = Keepalive.start(now=0.0)
    assert [ka.due(t) for t in (14.9, 15.0, 29.9, 30.0)] == [None, "ping", None, "ping"]
    ka.on_pong(30.5)  # the reader comes back after 30 s and answers the pings waiting in its socket
    assert ka.due(44.0) is None and ka.due(45.0) == "ping"
    assert ka.due(75.4) != "close" and ka.due(75.5) == "close"  # 45 s after that last pong


def test_a_socket_silent_for_45s_is_closed_and_pings_never_stop_before_that():
    ka = Keepalive.start(now=100.0)
    assert ka.wake_at() == 115.0
    assert [ka.due(t) for t in (115.0, 130.0, 144.9)] == ["ping", "ping", None]
    assert ka.due(145.0) == "close"


@pytest.mark.parametrize(("interval", "timeout"), [(0, 45), (15, 15), (50, 45), (-1, 5)])
def test_a_socket_must_be_pinged_before_it_can_be_dropped(interval, timeout):
    with pytest.raises(ValueError, match="ping interval"):
        Simulator(ws_ping_interval_s=interval, ws_ping_timeout_s=timeout)


def test_a_blocked_reader_answers_the_waiting_pings_and_stays_connected():
    with Simulator(market_tick_ms=0, ws_ping_interval_s=0.05, ws_ping_timeout_s=STAYS_OPEN_S) as sim:
        conn = websocket.create_connection(sim.ws_url, timeout=5, skip_utf8_validation=True)
        try:
            # The client is not reading: the server's pings wait unanswered in its socket.
            wait_until(lambda: [p for p, _ in socket_counters(sim)] >= [3], what="three unanswered pings")
            assert [q for _, q in socket_counters(sim)] == [0]
            silent_since = alive_at(sim)
            conn.send('[151, {"type": 151, "channel": "ticker", "event": "BTCTRY", "join": true}]')
            frames = []
            while not frames or frames[-1].startswith("[991"):
                frames.append(conn.recv())  # recv() answers every ping it reads on the way
            assert frames[-1].startswith("[100,")
            wait_until(lambda: [q for _, q in socket_counters(sim)] >= [3], what="three pongs")
            assert alive_at(sim) > silent_since  # the pongs moved the socket's deadline
            assert keepalive_closes(sim) == 0 and conn.connected
        finally:
            conn.close()


def test_a_socket_that_answers_no_ping_is_closed_with_a_close_frame_1000():
    with Simulator(market_tick_ms=0, ws_ping_interval_s=0.05, ws_ping_timeout_s=0.3) as sim:
        conn = websocket.create_connection(sim.ws_url, timeout=5, skip_utf8_validation=True)
        try:
            wait_until(lambda: keepalive_closes(sim) == 1 and socket_counters(sim) == [], what="the keepalive close")
            # Raw frames, no automatic pongs: everything the server wrote before it closed is still readable,
            # ending in a close frame (a TCP close without one would surface as 1006 / an exception here).
            opcodes = []
            while not opcodes or opcodes[-1] != websocket.ABNF.OPCODE_CLOSE:
                frame = conn.recv_frame()
                opcodes.append(frame.opcode)
            assert opcodes[0] == websocket.ABNF.OPCODE_TEXT  # the 991 version frame
            assert websocket.ABNF.OPCODE_PING in opcodes
            assert struct.unpack("!H", frame.data[:2])[0] == 1000
        finally:
            conn.close()


def test_pings_are_still_answered_during_a_stall(api_for):
    with Simulator(market_tick_ms=0, ws_ping_interval_s=0.05, ws_ping_timeout_s=STAYS_OPEN_S) as sim:
        api = api_for(sim)
        conn = websocket.create_connection(sim.ws_url, timeout=5, skip_utf8_validation=True)
        try:
            assert conn.recv().startswith("[991")
            api.control("/sim/faults", {"ws_stall": True})
            pings = 0
            while pings < 5:  # only protocol pings arrive while stalled; each is answered as it is read
                opcode, _ = conn.recv_data(control_frame=True)
                assert opcode == websocket.ABNF.OPCODE_PING
                pings += 1
            wait_until(lambda: [q for _, q in socket_counters(sim)] >= [5], what="five pongs")
            api.control("/sim/faults", {"ws_stall": False})
            conn.send('[151, {"type": 151, "channel": "ticker", "event": "BTCTRY", "join": true}]')
            assert conn.recv().startswith("[100,")
            assert keepalive_closes(sim) == 0
        finally:
            conn.close()
