"""The guarded-live runbook, walked end to end against the local simulator (``./scripts/demo``).

Every stage runs the real ``btcbot`` CLI as a subprocess, with the environment pointing at an in-process
simulator and a demo state directory. Each command's exit code is checked against what the runbook says it
should be at that point (a deliberate safe-mode latch *must* make ``stage7-alerts`` exit 2), and the DB is
checked for the evidence each stage should leave. The walk exits 0 only when every stage behaved.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from btcbot.settings import Settings, current_environ

# What the demo owns inside its state dir; only these are removed when a walk starts afresh.
_DB_NAME = "btcbot_state.db"
_EXPORT_NAME = "stage7_demo.jsonl"
_ARMED = {
    "LIVE_TRADING": "true",
    "LIVE_TRADING_ACK": "I_UNDERSTAND",
    "DRY_RUN": "false",
    "KILL_SWITCH": "false",
    "SAFE_MODE": "false",
}
_CHILD_STAGE3 = "_stage3-child"


@dataclass(frozen=True, slots=True)
class Timings:
    """How long each stage runs; the defaults keep the whole walk well under a minute."""

    cycle_seconds: Decimal = Decimal("0.5")
    dry_run_cycles: int = 4
    canary_ttl_seconds: int = 2
    loop_cycles: int = 12
    # Stage 3: market data freezes from this cycle for ``freeze_cycles`` cycles; the actor fails after.
    freeze_at_cycle: int = 3
    freeze_cycles: int = 3
    fail_at_cycle: int = 8
    max_market_data_age_ms: int = 400
    market_tick_ms: int = 100

    @classmethod
    def fast(cls) -> Timings:
        return cls(
            cycle_seconds=Decimal("0.3"),
            dry_run_cycles=3,
            canary_ttl_seconds=1,
            loop_cycles=10,
            freeze_at_cycle=2,
            freeze_cycles=3,
            fail_at_cycle=7,
            max_market_data_age_ms=250,
            market_tick_ms=50,
        )


@dataclass
class Step:
    label: str
    argv: Sequence[str]
    expect: frozenset[int]
    env: Mapping[str, str] = field(default_factory=dict)
    why: str = ""
    module: str = "btcbot"


@dataclass
class StepResult:
    step: Step
    code: int
    seconds: float
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.code in self.step.expect


class DemoFailure(Exception):
    """A stage did not behave as the runbook says it should."""


class Walk:
    """Runs the steps, prints one progress line per stage, and keeps every output for the failure report."""

    def __init__(self, state_dir: Path, env: dict[str, str], out: Callable[[str], None]) -> None:
        self.state_dir = state_dir
        self.env = env
        self.out = out
        self.results: list[StepResult] = []
        self.log_path = state_dir / "demo.log"

    def run(self, step: Step) -> StepResult:
        env = {**self.env, **step.env}
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", step.module, *step.argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        result = StepResult(step, proc.returncode, time.monotonic() - started, proc.stdout, proc.stderr)
        self.results.append(result)
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"$ btcbot {' '.join(step.argv)}  -> exit {proc.returncode}\n{proc.stdout}{proc.stderr}\n")
        if not result.ok:
            expected = "/".join(str(c) for c in sorted(step.expect))
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise DemoFailure(
                f"{step.label}: exit {proc.returncode}, expected {expected}" + "".join(f"\n    {t}" for t in tail)
            )
        return result

    def stage(self, name: str, steps: Sequence[Step], check: Callable[[], str] | None = None) -> None:
        started = time.monotonic()
        parts = []
        for step in steps:
            r = self.run(step)
            # The reason is printed only when the tolerated exit code is not a plain success.
            parts.append(f"{step.label} exit={r.code}{f' ({step.why})' if step.why and r.code else ''}")
        note = check() if check else ""
        elapsed = time.monotonic() - started
        self.out(f"[{name}] ok in {elapsed:.1f}s: " + "; ".join(parts) + (f"; {note}" if note else ""))


def child_env(sim_rest: str, sim_ws: str, api_key: str, api_secret: str, db: Path, t: Timings) -> dict[str, str]:
    """The subprocesses' environment: this process's minus any btcbot/OTEL variable, plus the demo's own."""
    own = {name.upper() for name in Settings.model_fields}
    base = {k: v for k, v in current_environ().items() if k.upper() not in own and not k.upper().startswith("OTEL_")}
    base.update(
        {
            "BTCTURK_BASE_URL": sim_rest,
            "BTCTURK_WS_URL": sim_ws,
            "BTCTURK_API_KEY": api_key,
            "BTCTURK_API_SECRET": api_secret,
            "STATE_DB_PATH": str(db),
            # The simulator's account is not the operator's: its own scope and lock directory, so the demo
            # neither waits for nor blocks a real instance of this user.
            "ACCOUNT_SCOPE": "demo",
            "LOCK_DIR": str(db.resolve().parent / "locks"),
            "UNIVERSE_SYMBOLS": "BTCTRY",
            # The exchange's own BTCTRY minimum is just under 100 TRY; doctor warns below it.
            "MIN_ORDER_NOTIONAL_TRY": "100",
            "MAX_MARKET_DATA_AGE_MS": str(t.max_market_data_age_ms),
            "SAFE_MODE_STALE_CYCLES": str(t.freeze_cycles),
            "DOCTOR_STALE_BLOCK_WARN_COUNT": str(t.freeze_cycles),
            "RECONCILE_MIN_INTERVAL_MS": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return base


def _post_json(url: str, body: Mapping[str, Any]) -> Any:
    req = urllib.request.Request(  # noqa: S310 - loopback URL of the simulator this process started
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
        return json.loads(resp.read() or b"null")


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback URL of our simulator
        return json.loads(resp.read() or b"null")


def _db_facts(db: Path) -> dict[str, int]:
    """Counts the walk checks stage by stage (read-only, like any operator tool)."""
    from btcbot.storage import open_reader

    with open_reader(db) as con:
        rows = con.execute(
            "SELECT "
            "count(*) FILTER (WHERE reason_code = 'market_data:stale'), "
            "count(*) FILTER (WHERE reason_code = 'supervisor:safe_mode'), "
            "count(*) FILTER (WHERE reason_code = 'dry_run:would_submit'), "
            "count(DISTINCT run_id), count(*) "
            "FROM decisions"
        ).fetchone()
        orders = con.execute("SELECT count(*) FROM orders WHERE status NOT IN ('INTENT', 'NOT_SENT')").fetchone()
    if rows is None or orders is None:
        raise DemoFailure(f"cannot read {db}")
    stale, safe, would, runs, decisions = rows
    return {
        "stale": int(stale),
        "safe_mode": int(safe),
        "would_submit": int(would),
        "runs": int(runs),
        "decisions": int(decisions),
        "orders_sent": int(orders[0]),
    }


def walk(state_dir: Path, timings: Timings, out: Callable[[str], None] = print) -> int:
    from btcbot.sim import DEMO_API_KEY, DEMO_API_SECRET, Simulator

    t = timings
    started = time.monotonic()
    state_dir.mkdir(parents=True, exist_ok=True)
    db = state_dir / _DB_NAME
    export = state_dir / "artifacts" / _EXPORT_NAME
    for stale in (db, db.with_suffix(db.suffix + ".wal"), export, state_dir / "demo.log"):
        stale.unlink(missing_ok=True)
    shutil.rmtree(state_dir / "traces", ignore_errors=True)

    cyc = str(t.cycle_seconds)
    with Simulator(
        seed=1,
        symbols=("BTCTRY", "ETHTRY", "ETHBTC"),
        api_key=DEMO_API_KEY,
        api_secret=DEMO_API_SECRET,
        market_tick_ms=t.market_tick_ms,
        host="127.0.0.1",
    ) as sim:
        env = child_env(sim.rest_url, sim.ws_url, sim.api_key, sim.api_secret, db, t)
        w = Walk(state_dir, env, out)
        out(f"btcbot demo: simulator at {sim.rest_url} (ws {sim.ws_url}); state in {state_dir}")
        try:
            w.stage(
                "stage 0 observe-only",
                [
                    Step("doctor", ["doctor"], frozenset({0, 1}), why="WARN accepted: no SLO evidence yet"),
                    Step(
                        f"run --dry-run --loop x{t.dry_run_cycles}",
                        ["run", "--dry-run", "--loop", "--cycle-seconds", cyc, "--max-cycles", str(t.dry_run_cycles)],
                        frozenset({0}),
                        # Observe-only still (--dry-run, DRY_RUN, LIVE_TRADING=false); opening only the kill
                        # switch and safe mode lets the strategy run, so each intent shows as would_submit.
                        env={"KILL_SWITCH": "false", "SAFE_MODE": "false"},
                    ),
                ],
                check=lambda: _expect_facts(
                    db,
                    lambda f: f["would_submit"] >= 1 and f["orders_sent"] == 0,
                    "{would_submit} would_submit records and no order sent",
                ),
            )
            w.stage(
                "stage 1 connectivity",
                [
                    Step("health", ["health"], frozenset({0})),
                    Step(
                        "doctor", ["doctor"], frozenset({0, 1}), why="WARN accepted: no live order yet, SLOs unproven"
                    ),
                ],
            )
            w.stage(
                "stage 2 canary once (armed)",
                [
                    Step(
                        "canary once",
                        [
                            "canary",
                            "once",
                            "--symbol",
                            "BTCTRY",
                            "--notional-try",
                            "150",
                            "--ttl-seconds",
                            str(t.canary_ttl_seconds),
                            "--cycle-seconds",
                            cyc,
                        ],
                        frozenset({0}),
                        env=_ARMED,
                    ),
                    Step(
                        "doctor --json",
                        ["doctor", "--json"],
                        frozenset({0, 1}),
                        why="WARN accepted: one order is thin evidence",
                    ),
                ],
                check=lambda: _expect_facts(db, lambda f: f["orders_sent"] >= 1, "{orders_sent} canary order sent"),
            )
            stage3(w, sim.rest_url, t)
            export_rel = export
            w.stage(
                "reports (stage7-*)",
                [
                    Step("stage7-report", ["stage7-report", "--last", "40"], frozenset({0})),
                    Step(
                        "stage7-alerts",
                        ["stage7-alerts", "--last", "200"],
                        frozenset({2}),
                        why="critical expected: the deliberate safe mode",
                    ),
                    Step(
                        "stage7-export",
                        ["stage7-export", "--last", "200", "--format", "jsonl", "--out", str(export_rel)],
                        frozenset({0}),
                    ),
                ],
                check=lambda: _expect_output(w, "stage7-alerts", "safe_mode"),
            )
        except DemoFailure as exc:
            out(f"demo FAILED: {exc}")
            out(f"full command output: {w.log_path}")
            return 1
    facts = _db_facts(db)
    out(
        f"done in {time.monotonic() - started:.1f}s: {facts['decisions']} decision records over {facts['runs']} "
        f"runs, {facts['stale']} stale blocks, {facts['safe_mode']} safe-mode escalation(s), "
        f"{facts['orders_sent']} order(s) sent"
    )
    out(f"  state DB : {db}")
    out(f"  export   : {export}")
    out(f"  traces   : {state_dir / 'traces'}")
    out(f"  log      : {w.log_path}")
    out(f"  view the traces: STATE_DB_PATH={shlex.quote(str(db))} {btcbot_command()} traces --last 5")
    bin_dir = Path(sys.executable).parent
    if (bin_dir / "activate").is_file():
        out(f"  (or `source {shlex.quote(str(bin_dir / 'activate'))}` once, then plain `btcbot ...`)")
    return 0


def btcbot_command() -> str:
    """How to run ``btcbot`` from any shell: .venv is not on the PATH, so name the entry point by its full path."""
    script = Path(sys.executable).parent / "btcbot"
    if script.is_file():
        return shlex.quote(str(script))
    return f"{shlex.quote(sys.executable)} -m btcbot"


def stage3(w: Walk, rest_url: str, t: Timings) -> None:
    """Bounded canary loop; the simulator freezes market data, then an actor is made to fail."""
    stop = threading.Event()
    errors: list[str] = []

    def book_requests() -> int:
        return sum(1 for r in _get_json(f"{rest_url}/sim/requests") if "orderbook" in str(r.get("path", "")))

    def wait_for(count: int) -> bool:
        while not stop.is_set():
            if book_requests() >= count:
                return True
            stop.wait(0.05)
        return False

    def freeze_then_thaw() -> None:
        # Paced by the runtime's own book requests (one per cycle), not by wall time: the child's start-up
        # time varies, its cycles do not.
        try:
            base = book_requests()
            if not wait_for(base + t.freeze_at_cycle):
                return
            _post_json(f"{rest_url}/sim/faults", {"freeze_market_data": True})
            if not wait_for(base + t.freeze_at_cycle + t.freeze_cycles + 1):
                return
            _post_json(f"{rest_url}/sim/faults", {"freeze_market_data": False})
        except OSError as exc:
            errors.append(f"simulator control failed: {exc}")

    timer = threading.Thread(target=freeze_then_thaw, name="demo-freeze", daemon=True)
    timer.start()
    try:
        w.stage(
            "stage 3 canary loop + faults",
            [
                Step(
                    f"canary loop x{t.loop_cycles} (freeze md, fail an actor)",
                    [
                        _CHILD_STAGE3,
                        "--symbol",
                        "BTCTRY",
                        "--notional-try",
                        "150",
                        "--ttl-seconds",
                        str(t.canary_ttl_seconds),
                        "--cycle-seconds",
                        str(t.cycle_seconds),
                        "--max-cycles",
                        str(t.loop_cycles),
                        "--fail-at-cycle",
                        str(t.fail_at_cycle),
                    ],
                    frozenset({1}),
                    env=_ARMED,
                    module="btcbot.demo",
                    why="1 expected: safe mode latched on purpose",
                )
            ],
            check=lambda: _expect_facts(
                w.state_dir / _DB_NAME,
                lambda f: f["stale"] >= t.freeze_cycles and f["safe_mode"] >= 2,
                "{stale} stale blocks and {safe_mode} safe-mode escalations (stale data, actor failure)",
            ),
        )
    finally:
        stop.set()
        timer.join(timeout=5)
        _post_json(f"{rest_url}/sim/faults", {"freeze_market_data": False})
    if errors:
        raise DemoFailure("; ".join(errors))


def _expect_facts(db: Path, predicate: Callable[[dict[str, int]], bool], what: str) -> str:
    facts = _db_facts(db)
    if not predicate(facts):
        raise DemoFailure(f"DB check failed ({what}): {facts}")
    return "DB shows " + what.format(**facts)


def _expect_output(w: Walk, label: str, needle: str) -> str:
    result = next(r for r in reversed(w.results) if r.step.label == label)
    if needle not in result.stdout:
        raise DemoFailure(f"{label} output lacks {needle!r}")
    return f"{label} reports {needle}"


def stage3_child(argv: Sequence[str]) -> int:
    """``canary loop`` exactly as the CLI runs it, plus the runtime's test/demo fault hook.

    The hook is reachable only from Python (no setting or flag reaches it), so the demo runs this small
    entry point as its own process instead of ``btcbot canary loop``; everything else is the same code path.
    """
    from btcbot.actors._base import FaultPlan
    from btcbot.commands.canary import CanaryLoopArgs, check_caps
    from btcbot.runtime.session import RuntimeOptions
    from btcbot.runtime.wiring import execute
    from btcbot.settings import load_settings
    from btcbot.strategy_loader import load_strategy

    parser = argparse.ArgumentParser(prog="python -m btcbot.demo " + _CHILD_STAGE3)
    for flag in ("--symbol", "--notional-try", "--ttl-seconds", "--cycle-seconds", "--max-cycles"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--fail-at-cycle", type=int, required=True)
    parser.add_argument("--fail-actor", default="strategy")
    ns = parser.parse_args(argv)
    args = CanaryLoopArgs.model_validate(
        {
            "symbol": ns.symbol,
            "notional_try": ns.notional_try,
            "ttl_seconds": ns.ttl_seconds,
            "cycle_seconds": ns.cycle_seconds,
            "max_cycles": ns.max_cycles,
        }
    )
    settings = load_settings()
    check_caps(settings, args.notional_try)
    settings = settings.model_copy(update={"universe_symbols": (args.symbol,)})
    cycle_s = float(args.cycle_seconds)
    options = RuntimeOptions(
        command="canary_loop",
        max_cycles=args.max_cycles,
        cycle_seconds=cycle_s,
        symbols=(args.symbol,),
        ttl_seconds=args.ttl_seconds,
        cycle_timeout_s=max(60.0, 3 * cycle_s),
        fault=FaultPlan(actor=ns.fail_actor, phase="receive", cycle_id=ns.fail_at_cycle),
    )
    strategy = load_strategy(settings, spec="canary", canary_params={"notional_try": args.notional_try})
    return execute(strategy.into(settings), options, strategy, cli_dry_run=False).exit_code


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in[:1] == [_CHILD_STAGE3]:
        from btcbot.errors import BtcbotError

        try:
            return stage3_child(args_in[1:])
        except BtcbotError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exc.exit_code
    parser = argparse.ArgumentParser(prog="python -m btcbot.demo", description=__doc__)
    parser.add_argument("--state-dir", default="./var/demo", help="demo state directory (default ./var/demo)")
    parser.add_argument("--fast", action="store_true", help="shorter cycles (used by the test suite)")
    args = parser.parse_args(args_in)
    try:
        return walk(Path(args.state_dir).resolve(), Timings.fast() if args.fast else Timings())
    except KeyboardInterrupt:
        print("demo interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
