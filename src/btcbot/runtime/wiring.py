"""Build the real dependencies (lock, state store, BTCTurk adapter, market data, telemetry) and run a session.

Used by ``btcbot run`` and ``btcbot canary``. The lock is taken before the exchange or the DB is touched;
signals are translated into a graceful stop (first) or an immediate one (second, which latches safe mode first).
Either way the run is interrupted: exit 130, with the signal and what the clean-up did in the summary.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from btcbot.arming import ArmingGate
from btcbot.domain.clock import SystemClock
from btcbot.errors import BtcbotError
from btcbot.runtime.session import RunResult, RuntimeDeps, RuntimeOptions, StopControl, new_run_id, run_session
from btcbot.settings import Settings, gates_overriding_env_file
from btcbot.strategy_loader import LoadedStrategy

log = logging.getLogger(__name__)


@contextlib.contextmanager
def signals_to(stop: StopControl) -> Iterator[None]:
    """SIGINT/SIGTERM -> graceful stop, a second one -> stop at once; SIGUSR1 dumps thread tracebacks.

    SIGTERM counts as an interruption just like SIGINT (exit 130): a service manager stopping a loop has cut the
    run short all the same, and the summary names the signal.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        stop.request(name)
        print(
            f"{name}: "
            + (
                "safe mode latched, stopping now (no clean-up)"
                if stop.hard.is_set()
                else "finishing the current step, then the clean-up; a second signal stops at once"
            ),
            file=sys.stderr,
        )

    previous: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, _on_signal)
    with contextlib.suppress(ImportError, AttributeError, ValueError):
        import pykka.debug

        previous[signal.SIGUSR1] = signal.signal(signal.SIGUSR1, pykka.debug.log_thread_tracebacks)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _configure_telemetry(settings: Settings, run_id: str) -> Callable[[], None]:
    try:
        from btcbot.telemetry.logs import close_log_file, configure_log_file, configure_logging
        from btcbot.telemetry.setup import configure_telemetry
    except ImportError:  # telemetry extras are optional for the runtime itself
        return lambda: None
    handle = configure_telemetry(settings, run_id=run_id)
    configure_logging(settings)
    log_file = configure_log_file(settings)

    def _close() -> None:
        handle.force_flush()
        close_log_file(log_file)

    return _close


def execute(
    settings: Settings,
    options: RuntimeOptions,
    strategy: LoadedStrategy,
    *,
    cli_dry_run: bool,
    env_file: str | None = None,
    out: Callable[[str], None] = print,
) -> RunResult:
    """Everything a command needs around ``run_session``; returns its result (the summary is printed).

    Each cycle is shown as it ends (``btcbot.console.live_line``): a live panel on a terminal, one ``key=value``
    line per cycle otherwise.
    """
    from btcbot.console.live_line import LiveLine
    from btcbot.exchange.btcturk import BtcturkExchange
    from btcbot.exchange.btcturk.market_data import build_market_data
    from btcbot.lock import InstanceLock
    from btcbot.storage import StateStore

    run_id = new_run_id()
    close_telemetry = _configure_telemetry(settings, run_id)
    gate = ArmingGate.from_settings(settings, cli_dry_run=cli_dry_run)
    reasons = ",".join(gate.decision.reasons) or "none"
    overridden = gates_overriding_env_file(env_file)
    note = f" env_overrides_env_file={','.join(overridden)}" if overridden else ""
    typed = options.command.replace("_", " ")  # as the operator typed it: canary once, canary loop
    out(
        f"btcbot {typed}: run_id={run_id} mode={gate.decision.mode.value} arm_blocking_reasons={reasons} "
        f"account_scope={settings.resolved_account_scope} state_db_path={settings.state_db_file}" + note
    )
    log.info(
        "%s started: run_id=%s mode=%s arm_blocking_reasons=%s pid=%d",
        options.command,
        run_id,
        gate.decision.mode.value,
        reasons,
        os.getpid(),
    )
    out(f"btcbot {typed}: {strategy.describe()}")
    stop = StopControl()
    stop.guard(gate)  # from the first moment signals are ours, not only once the session has started
    try:
        with InstanceLock.for_settings(settings):
            store = StateStore(settings.state_db_path)
            store.migrate()
            exchange = BtcturkExchange.from_settings(settings)
            try:
                md = build_market_data(settings, exchange.http)
                deps = RuntimeDeps(
                    settings=settings,
                    gate=gate,
                    clock=SystemClock(),
                    market_data=md,
                    reader=exchange,
                    gateway=exchange,
                    store=store,
                    strategy=strategy.strategy,
                    run_id=run_id,
                    stop=stop,
                    venue_429s=lambda: exchange.http.limiter.venue_429s,
                )
                with signals_to(stop), LiveLine(sys.stdout) as live_line:
                    deps.on_cycle = live_line.show
                    result = run_session(options, deps)
            finally:
                exchange.close()
                store.close()
        # The run's end, with its whole summary, in the log file too (the incident evidence).
        summary = " | ".join(result.summary.lines())
        log.info("%s ended: run_id=%s exit_code=%d | %s", options.command, run_id, result.exit_code, summary)
    except BtcbotError as exc:
        log.error("%s stopped: run_id=%s %s: %s", options.command, run_id, type(exc).__name__, exc)
        raise
    finally:
        close_telemetry()
    for line in result.summary.lines():
        out(line)
    out(f"exit_code={result.exit_code}")
    if result.refusal is not None:
        from btcbot.errors import OperatorActionRequired

        raise OperatorActionRequired(result.refusal)
    return result
