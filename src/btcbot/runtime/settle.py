"""The quiet window after a cycle: the work that follows a decision, done before the next one starts.

A cycle's decision path (book to order request) shares one interpreter with everything else in the process.
Work that used to overlap it — the previous cycle's DuckDB flush on the state writer's thread, the span
exporter's worker waking on its own timer — now runs here, after ``CycleCompleted`` and before the next
``RunCycle``, and the session waits for it. docs/runtime.md ("Performance") has the measurements.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from btcbot.errors import StateStoreUnavailable
from btcbot.runtime.ports import RuntimeStore
from btcbot.telemetry import quiet_window
from btcbot.telemetry.tracing import start_span

log = logging.getLogger(__name__)

# Local exports take milliseconds; only a stalled network exporter can reach this, and then each cycle gives
# it at most this long before it goes on (the export carries on in its worker, mostly waiting on the socket).
EXPORT_WAIT_S = 1.0


def settle(store: RuntimeStore, trace: Mapping[str, str]) -> None:
    """Flush the cycle's rows, then export the finished spans (``trace``: the cycle's carrier)."""
    try:
        with start_span("db_flush", carrier=trace, attributes={"btcbot.actor": "session"}):
            store.flush()
    except StateStoreUnavailable as exc:
        # The rows stay buffered (the store re-queues a failed batch) and go with the next window's flush; the
        # run's final flush raises if the file is still unusable then.
        log.warning("state store flush deferred to the next cycle: %s", exc)
    export_spans()


def export_spans() -> None:
    """Every span ended so far goes to its exporters (telemetry set-up installs how); bounded wait."""
    if not quiet_window.run(EXPORT_WAIT_S):
        log.warning("span export took longer than %.1fs; it goes on beside the next cycle", EXPORT_WAIT_S)
