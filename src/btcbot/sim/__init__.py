"""A faithful local BTCTurk exchange simulator (REST + WebSocket on loopback) and its matching engine.

    from btcbot.sim import Simulator, DEMO_API_KEY, DEMO_API_SECRET
    with Simulator(seed=1, market_tick_ms=0) as sim:
        sim.rest_url, sim.ws_url

See docs/simulator.md for the wire behaviour, the control API under /sim/ and the in-process engine.
"""

from btcbot.sim.auth import DEMO_API_KEY, DEMO_API_SECRET, rest_signature, signed_headers, ws_login_signature
from btcbot.sim.simulator import Simulator

__all__ = [
    "DEMO_API_KEY",
    "DEMO_API_SECRET",
    "Simulator",
    "rest_signature",
    "signed_headers",
    "ws_login_signature",
]
