"""A span processor that exports only in the quiet window between cycles, never while a cycle runs.

The SDK's ``BatchSpanProcessor`` wakes its worker on a timer or when its queue fills, i.e. at any moment,
often in the middle of a cycle, where the exporter's encoding holds the interpreter lock for milliseconds
while an actor waits for it (docs/runtime.md, "Performance", has the measurement). This processor only
keeps each finished span (one list append on the ending thread) until ``export_window`` hands the lot to
its worker thread, which the session calls right after a cycle has completed and waits for.

Nothing is dropped: spans stay pending until exported. So that a process without cycles (or a cycle that
never ends) cannot hoard them, the worker also exports by itself once ``backstop`` spans are pending.
"""

from __future__ import annotations

import logging
import threading

from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, Context, attach, detach, set_value
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

_log = logging.getLogger(__name__)

DEFAULT_BACKSTOP = 2048
DEFAULT_BATCH = 512


class WindowSpanProcessor(SpanProcessor):
    def __init__(
        self,
        exporter: SpanExporter,
        *,
        name: str = "spans",
        backstop: int = DEFAULT_BACKSTOP,
        batch_size: int = DEFAULT_BATCH,
    ) -> None:
        self._exporter = exporter
        self._backstop = backstop
        self._batch_size = batch_size
        self._cond = threading.Condition()
        self._pending: list[ReadableSpan] = []
        self._requested = 0  # export rounds asked for
        self._finished = 0  # export rounds completed
        self._stopping = False
        self._warned = False
        self._thread = threading.Thread(target=self._work, name=f"btcbot-export-{name}", daemon=True)
        self._thread.start()

    @property
    def span_exporter(self) -> SpanExporter:
        return self._exporter

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        ctx = span.context
        if ctx is None or not ctx.trace_flags.sampled:
            return
        with self._cond:
            if self._stopping:
                return
            self._pending.append(span)
            if len(self._pending) >= self._backstop and self._requested == self._finished:
                self._requested += 1
                self._cond.notify_all()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def export_window(self, timeout_s: float) -> bool:
        """Export every span ended so far; wait for it at most ``timeout_s``. True when it is all out."""
        with self._cond:
            if not self._pending and self._requested == self._finished:
                return True
            self._requested += 1
            target = self._requested
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._finished >= target, max(0.0, timeout_s))

    def _work(self) -> None:
        # Exporters must not trace their own requests (the SDK's batch processor does the same).
        token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._requested > self._finished or self._stopping)
                    if self._requested == self._finished:  # stopping, nothing asked
                        return
                    target = self._requested
                    spans, self._pending = self._pending, []
                for start in range(0, len(spans), self._batch_size):
                    self._export(spans[start : start + self._batch_size])
                with self._cond:
                    self._finished = target
                    self._cond.notify_all()
        finally:
            detach(token)

    def _export(self, spans: list[ReadableSpan]) -> None:
        try:
            result = self._exporter.export(spans)
        except Exception:  # noqa: BLE001 - an exporter bug must not end the worker: later windows still export
            _log.exception("span exporter %s failed", type(self._exporter).__name__)
            return
        if result is not SpanExportResult.SUCCESS and not self._warned:
            self._warned = True
            _log.warning("span exporter %s could not export a batch", type(self._exporter).__name__)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.export_window(timeout_millis / 1000)

    def shutdown(self) -> None:
        with self._cond:
            # One last round for whatever is pending; from here on, spans that end are not taken.
            self._stopping = True
            if self._pending:
                self._requested += 1
            self._cond.notify_all()
        self._thread.join(timeout=30.0)
        self._exporter.shutdown()
