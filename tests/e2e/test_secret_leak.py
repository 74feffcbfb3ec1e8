"""Every CLI command, run with distinctive credentials, must never print them or write them to a file.

Adding a command is one line in COMMANDS. Commands whose module has not landed yet are skipped, and are
covered automatically once ``btcbot.commands.<module>`` exists.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

API_KEY = "LEAKCANARY-key-7f3a9c41"
_SECRET_BYTES = b"LEAKCANARY-secret-bytes-7f3a9c41"
API_SECRET = base64.b64encode(_SECRET_BYTES).decode()  # BTCTurk secrets are base64
NEEDLES = (API_KEY, API_SECRET, "7f3a9c41")


@dataclass(frozen=True)
class Cmd:
    module: str  # btcbot.commands.<module> must exist, else the case is skipped
    argv: tuple[str, ...]
    needs_sim: bool = False


COMMANDS: dict[str, Cmd] = {
    "config show": Cmd("config_show", ("config", "show")),
    "config show --json": Cmd("config_show", ("config", "show", "--json")),
    "doctor": Cmd("doctor", ("doctor",)),
    "doctor --json": Cmd("doctor", ("doctor", "--json")),
    "doctor --offline": Cmd("doctor", ("doctor", "--offline")),
    "health": Cmd("health", ("health",)),
    "health --json": Cmd("health", ("health", "--json")),
    "run --once": Cmd("run", ("run", "--once"), needs_sim=True),
    "canary once": Cmd(
        "canary", ("canary", "once", "--notional-try", "150", "--ttl-seconds", "2", "--cycle-seconds", "1"), True
    ),
    "canary loop": Cmd(
        "canary",
        ("canary", "loop", "--notional-try", "150", "--ttl-seconds", "2", "--cycle-seconds", "1", "--max-cycles", "2"),
        True,
    ),
    "stage7-report": Cmd("reports", ("stage7-report", "--last", "20")),
    "stage7-alerts": Cmd("reports", ("stage7-alerts", "--last", "50")),
    "stage7-export": Cmd("reports", ("stage7-export", "--last", "50", "--out", "artifacts/export.jsonl", "--force")),
    "traces": Cmd("traces", ("traces", "--last", "3")),
    "record": Cmd("replay", ("record", "--duration", "1", "--out", "artifacts/rec.jsonl.gz"), needs_sim=True),
    "backtest": Cmd("replay", ("backtest", "--json")),
}


@pytest.fixture(scope="module")
def sim_urls() -> Iterator[tuple[str, str] | None]:
    """A simulator that accepts the distinctive credentials, when the simulator has landed."""
    try:
        from btcbot.sim import Simulator
    except ImportError:
        yield None
        return
    with Simulator(seed=1, symbols=("BTCTRY", "ETHTRY"), api_key=API_KEY, api_secret=API_SECRET) as sim:
        yield sim.rest_url, sim.ws_url


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("leak")


def _env(workdir: Path, sim: tuple[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    rest, ws = sim if sim else ("http://127.0.0.1:9", "ws://127.0.0.1:9")
    env.update(
        {
            "BTCTURK_API_KEY": API_KEY,
            "BTCTURK_API_SECRET": API_SECRET,
            "BTCTURK_BASE_URL": rest,
            "BTCTURK_WS_URL": ws,
            "BTCTURK_WS_ENABLED": "true",
            # Fully armed against the simulator: the signing paths run, which is where a leak would be.
            "LIVE_TRADING": "true",
            "LIVE_TRADING_ACK": "I_UNDERSTAND",
            "DRY_RUN": "false",
            "KILL_SWITCH": "false",
            "SAFE_MODE": "false",
            "MIN_ORDER_NOTIONAL_TRY": "100",
            "STATE_DB_PATH": str(workdir / "state" / "btcbot_state.db"),
            "LOG_LEVEL": "DEBUG",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def _files_containing_needles(root: Path) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if any(n.encode() in data for n in NEEDLES) or _SECRET_BYTES in data:
                hits.append(str(path.relative_to(root)))
    return hits


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_never_leaks_credentials(name: str, workdir: Path, sim_urls: tuple[str, str] | None) -> None:
    cmd = COMMANDS[name]
    if importlib.util.find_spec(f"btcbot.commands.{cmd.module}") is None:
        pytest.skip(f"btcbot.commands.{cmd.module} has not landed yet")
    if cmd.needs_sim and sim_urls is None:
        pytest.skip("needs the simulator (btcbot.sim.Simulator) to run armed")
    proc = subprocess.run(
        [sys.executable, "-m", "btcbot", *cmd.argv],
        cwd=workdir,
        env=_env(workdir, sim_urls),
        capture_output=True,
        text=True,
        timeout=90,
    )
    output = proc.stdout + proc.stderr
    assert proc.stdout or proc.stderr, "the command printed nothing: the test would prove nothing"
    for needle in NEEDLES:
        assert needle not in output, f"{name} printed a credential (exit {proc.returncode})"
    assert "Traceback" not in output, output[-2000:]
    assert _files_containing_needles(workdir) == []
