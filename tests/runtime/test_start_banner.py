"""The start banner names every gate whose environment value overrides a different one in --env-file."""

from __future__ import annotations

from pathlib import Path

import pytest

from btcbot.cli import main
from btcbot.lock import InstanceLock
from btcbot.settings import load_settings


@pytest.mark.parametrize(("env_dry_run", "named"), [("false", True), ("true", False)])
def test_banner_names_gates_overriding_the_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env_dry_run: str, named: bool
) -> None:
    env_file = tmp_path / ".env.pilot"
    env_file.write_text("DRY_RUN=true\nKILL_SWITCH=true\n")
    for key, value in {
        "DRY_RUN": env_dry_run,
        "BTCTURK_BASE_URL": "http://127.0.0.1:9",
        "STATE_DB_PATH": str(tmp_path / "state.db"),
        "TRACE_SINK_ENABLED": "false",
        "OTEL_SDK_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(env_file)
    # The lock is held, so the run stops right after the banner: nothing reaches the exchange.
    with InstanceLock.for_settings(settings):
        code = main(["run", "--once", "--dry-run", "--env-file", str(env_file)])
    assert code == 2
    (banner,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("btcbot run: run_id=")]
    assert ("env_overrides_env_file=DRY_RUN" in banner) is named
    assert f"account_scope=default state_db_path={(tmp_path / 'state.db').resolve()}" in banner
