"""Every command in docs/runbook.md's "Rollback and incidents" section, run as written against the simulator.

The scene is the one the section is for: an armed canary was SIGKILLed while its order rested at the venue, and
the operator is back at the safe baseline (every gate closed). The baseline environment is the runbook's own
``.env.sim`` block with the simulator's real ports substituted for 18080/18081.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from btcbot.settings import Settings
from btcbot.storage import open_reader

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "runbook.md"
_OWN = frozenset(name.upper() for name in Settings.model_fields)  # never leak the developer's shell into a run


def section(markdown: str, title: str) -> str:
    start = markdown.index(f"\n## {title}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end != -1 else None]


def env_setup_block(markdown: str, bash: Any) -> str:
    """The runbook's block that writes .env.sim (the safe baseline pointed at the simulator)."""
    [block] = [body for body in bash.blocks(section(markdown, "Prerequisites")) if "cat > .env.sim" in body]
    return block


def test_the_rollback_section_uses_the_clean_up_commands(markdown_bash: Any) -> None:
    commands = markdown_bash.commands(section(RUNBOOK.read_text(), "Rollback and incidents"))
    assert "btcbot orders list" in commands and "btcbot orders cancel-all --confirm" in commands
    assert commands.index("btcbot orders list") < commands.index("btcbot orders cancel-all --confirm")
    assert not [c for c in commands if "LIVE_TRADING=true" in c or "DRY_RUN=false" in c]  # never re-armed here


def test_every_rollback_command_runs_against_the_simulator(venue: Any, markdown_bash: Any) -> None:
    markdown = RUNBOOK.read_text()
    rest_port = venue.sim.rest_url.rsplit(":", 1)[1]
    ws_port = venue.sim.ws_url.rsplit(":", 1)[1]
    setup = env_setup_block(markdown, markdown_bash)
    setup = setup.replace("127.0.0.1:18080", f"127.0.0.1:{rest_port}").replace(
        "127.0.0.1:18081", f"127.0.0.1:{ws_port}"
    )
    setup = setup.replace("runbook-demo-key", venue.sim.api_key).replace(
        "c2ltdWxhdG9yLW9ubHktc2VjcmV0", venue.sim.api_secret
    )
    cwd = venue.tmp_path
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    base_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "BTCTURK_")) and k.upper() not in _OWN
    }
    # LOCK_DIR is the test's own (tests/conftest.py), never the developer's home.
    base_env.update(
        {"PATH": path, "PYTHONDONTWRITEBYTECODE": "1", "OTEL_SDK_DISABLED": "true", "LOCK_DIR": os.environ["LOCK_DIR"]}
    )

    def sh(script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", f"set -a; source .env.sim; set +a\n{script}"],
            cwd=cwd,
            env=base_env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    created = subprocess.run(["bash", "-c", setup], cwd=cwd, env=base_env, capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stdout + created.stderr
    db = cwd / "var" / "btcbot_state.db"
    venue.db = db  # the runbook's STATE_DB_PATH, relative to the working directory
    venue.killed_canary()
    [resting] = venue.open_orders()

    outputs: list[tuple[str, str]] = []
    for command in markdown_bash.commands(section(markdown, "Rollback and incidents")):
        proc = sh(command)
        outputs.append((command, proc.stdout))
        assert proc.returncode == 0, f"{command!r} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        assert "Traceback" not in proc.stderr, command

    listings = [out for command, out in outputs if command == "btcbot orders list"]
    assert resting.client_order_id in listings[0] and "open_at_venue=1" in listings[0]
    assert "open_at_venue=0" in listings[-1]
    [cancelled] = [out for command, out in outputs if command == "btcbot orders cancel-all --confirm"]
    assert "venue: Canceled (confirmed)" in cancelled and resting.client_order_id in cancelled
    assert venue.open_orders() == []
    assert len(venue.writes("DELETE")) == 1
    for artifact in ("doctor_incident.json", "stage7_incident.jsonl", "stage7_alerts_incident.txt"):
        assert (cwd / "artifacts" / artifact).stat().st_size > 0, artifact
    assert "operator_cancel_all" in (cwd / "artifacts" / "stage7_alerts_incident.txt").read_text()
    with open_reader(db) as con:
        [(status,)] = con.execute(
            "SELECT status FROM orders WHERE client_order_id = ?", [resting.client_order_id]
        ).fetchall()
    assert status == "CANCELLED"
