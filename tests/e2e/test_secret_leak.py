"""Every CLI command, run with distinctive credentials, must never print them or write them to a file.

Adding a command is one line in COMMANDS. Commands whose module has not landed yet are skipped, and are
covered automatically once ``btcbot.commands.<module>`` exists.

Two hostile set-ups on top: a key ending in a newline (as a secret created from a file arrives), which every
command must refuse at load without echoing it; and a proxy between btcbot and the venue that echoes the request
headers (the key among them) back in a 400 body, whose text then travels towards errors, the DB and exports.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

pytestmark = pytest.mark.e2e

API_KEY = "LEAKCANARY-key-7f3a9c41"
_SECRET_BYTES = b"LEAKCANARY-secret-bytes-7f3a9c41"
API_SECRET = base64.b64encode(_SECRET_BYTES).decode()  # BTCTurk secrets are base64
NEEDLES = (API_KEY, API_SECRET, "7f3a9c41")


def _written_forms(secret: str) -> set[str]:
    """Every way the secret could be written out: as is, stripped, repr- and JSON-escaped, percent-encoded."""
    out: set[str] = set()
    for form in (secret, secret.strip()):
        out |= {form, repr(form)[1:-1], json.dumps(form)[1:-1], quote(form, safe=""), quote_plus(form)}
    return out


ALL_FORMS = tuple(sorted({f for s in (*NEEDLES, API_KEY + "\n") for f in _written_forms(s)}, key=len))


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
    "orders list": Cmd("orders", ("orders", "list"), needs_sim=True),
    "orders list --json": Cmd("orders", ("orders", "list", "--json"), needs_sim=True),
    "orders cancel-all": Cmd("orders", ("orders", "cancel-all"), needs_sim=True),
    "orders cancel-all --confirm": Cmd("orders", ("orders", "cancel-all", "--confirm", "--json"), needs_sim=True),
    "stage7-report": Cmd("reports", ("stage7-report", "--last", "20")),
    "stage7-alerts": Cmd("reports", ("stage7-alerts", "--last", "50")),
    "stage7-export": Cmd("reports", ("stage7-export", "--last", "50", "--out", "artifacts/export.jsonl", "--force")),
    "status": Cmd("status", ("status",)),
    "status --json": Cmd("status", ("status", "--json")),
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
            if any(n.encode() in data for n in ALL_FORMS) or _SECRET_BYTES in data:
                hits.append(str(path.relative_to(root)))
    return hits


def _run(argv: tuple[str, ...], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "btcbot", *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=90
    )


def _assert_no_form_in(text: str, what: str) -> None:
    for form in ALL_FORMS:
        assert form not in text, f"{what} carries a form of a credential ({form[:3]}...)"


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_never_leaks_credentials(name: str, workdir: Path, sim_urls: tuple[str, str] | None) -> None:
    cmd = COMMANDS[name]
    if importlib.util.find_spec(f"btcbot.commands.{cmd.module}") is None:
        pytest.skip(f"btcbot.commands.{cmd.module} has not landed yet")
    if cmd.needs_sim and sim_urls is None:
        pytest.skip("needs the simulator (btcbot.sim.Simulator) to run armed")
    proc = _run(cmd.argv, workdir, _env(workdir, sim_urls))
    output = proc.stdout + proc.stderr
    assert proc.stdout or proc.stderr, "the command printed nothing: the test would prove nothing"
    _assert_no_form_in(output, f"{name} (exit {proc.returncode})")
    assert "Traceback" not in output, output[-2000:]
    assert _files_containing_needles(workdir) == []


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_key_with_a_trailing_newline_is_refused_at_load_and_never_echoed(name: str, tmp_path: Path) -> None:
    cmd = COMMANDS[name]
    if importlib.util.find_spec(f"btcbot.commands.{cmd.module}") is None:
        pytest.skip(f"btcbot.commands.{cmd.module} has not landed yet")
    env = _env(tmp_path, None)
    env["BTCTURK_API_KEY"] = API_KEY + "\n"
    proc = _run(cmd.argv, tmp_path, env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output[-2000:]
    assert "BTCTURK_API_KEY: contains whitespace or a control character" in output
    _assert_no_form_in(output, name)
    assert "Traceback" not in output, output[-2000:]
    assert _files_containing_needles(tmp_path) == []


class EchoingProxy:
    """Loopback proxy in front of the simulator. The routes in ``echo_routes`` are answered by the proxy itself
    with a 400 whose message echoes every request header, the way a misconfigured gateway's error page does;
    everything else is passed through.
    """

    def __init__(self, upstream: str) -> None:
        import requests

        self.echo_routes = {("POST", "/api/v1/order"), ("DELETE", "/api/v1/order")}
        self.echoed: list[str] = []
        session = requests.Session()
        session.trust_env = False
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path.split("?", 1)[0]
                if (self.command, path) in proxy.echo_routes:
                    proxy.echoed.append(f"{self.command} {path}")
                    # The bare key first, then the auth headers: the echo survives any cut of the message.
                    headers = dict(sorted(self.headers.items(), key=lambda kv: not kv[0].lower().startswith("x-")))
                    message = f"unknown key {self.headers.get('X-PCK')}, headers: {headers}"
                    reply = json.dumps({"success": False, "message": message, "code": 1})
                    status, payload, ctype = 400, reply.encode(), "application/json"
                else:
                    up = session.request(
                        self.command,
                        upstream + self.path,
                        data=body or None,
                        headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                        timeout=10,
                    )
                    status, payload = up.status_code, up.content
                    ctype = up.headers.get("Content-Type", "application/json")
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


RUN_ONCE = ("run", "--once")
PROXIED = (
    RUN_ONCE,
    ("canary", "once", "--notional-try", "150", "--ttl-seconds", "2", "--cycle-seconds", "1"),
    RUN_ONCE,  # reconcile reads echoed too (set below): the failure's log path
    ("doctor",),
    ("doctor", "--json"),
    ("health", "--json"),
    ("stage7-report", "--last", "20"),
    ("stage7-alerts", "--last", "50"),
    ("stage7-export", "--last", "50", "--out", "artifacts/export.jsonl", "--force"),
    ("stage7-export", "--last", "50", "--format", "csv", "--out", "artifacts/export.csv", "--force"),
    ("traces", "--last", "5"),
)


def test_a_proxy_echoing_our_headers_never_lands_the_key_anywhere(
    sim_urls: tuple[str, str] | None, tmp_path: Path
) -> None:
    if sim_urls is None:
        pytest.skip("needs the simulator (btcbot.sim.Simulator)")
    from btcbot.storage import open_reader

    proxy = EchoingProxy(sim_urls[0])
    try:
        env = _env(tmp_path, (proxy.url, sim_urls[1]))
        for i, argv in enumerate(PROXIED):
            if i == 2:
                proxy.echo_routes |= {("GET", "/api/v1/users/balances"), ("GET", "/api/v1/openOrders")}
            proc = _run(argv, tmp_path, env)
            output = proc.stdout + proc.stderr
            assert proc.stdout or proc.stderr, f"{argv} printed nothing"
            _assert_no_form_in(output, " ".join(argv))
            assert "Traceback" not in output, output[-2000:]
    finally:
        proxy.close()
    # The hostile path did run: the venue echoed the key back, and that text reached the order records.
    assert "POST /api/v1/order" in proxy.echoed and "GET /api/v1/openOrders" in proxy.echoed
    with open_reader(tmp_path / "state" / "btcbot_state.db") as con:
        errors = [r[0] for r in con.execute("SELECT last_error FROM orders WHERE status = 'REJECTED'").fetchall()]
    assert errors and all("[REDACTED]" in e for e in errors), errors
    assert (tmp_path / "artifacts" / "export.jsonl").stat().st_size > 0
    assert _files_containing_needles(tmp_path) == []
