"""``--help`` on stdout with dashed names, each flag's type, default and example, and the exit codes."""

from __future__ import annotations

import pytest

from btcbot import cli
from btcbot.cli_spec import Command

_IDS = [c.name for c in cli.COMMANDS]


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert cli.main(list(argv)) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


@pytest.mark.parametrize("command", cli.COMMANDS, ids=_IDS)
def test_command_help_shows_every_flag_with_type_default_example_and_the_exit_codes(
    command: Command, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _help(capsys, *command.path, "--help")
    assert out.startswith(f"usage: btcbot {command.name}")
    assert command.summary in out.replace("\n", " ")
    for flag in command.flags():
        block = out.split(f"\n  {flag.name}", 1)[1].split("\n  -", 1)[0]
        assert "_" not in flag.name and f"default: {flag.default}" in block and flag.kind in block
        assert f"e.g. {flag.example}" in block, (flag.name, block)
    for code, meaning in command.exit_codes:
        assert f"  {code:<5}{meaning}" in out
    assert _help(capsys, *command.path, "-h") == out


def test_run_help_uses_the_runbooks_names_and_the_one_exit_code_table(capsys: pytest.CaptureFixture[str]) -> None:
    out = _help(capsys, "run", "--help")
    for text in (
        "--max-cycles N",
        "--cycle-seconds SECONDS",
        "--dry-run",
        "--adopt-foreign-orders",
        "e.g. --max-cycles 60",
    ):
        assert text in out
    assert "integer > 0" in out
    for code in ("0 ", "1 ", "2 ", "130"):
        assert f"\n  {code}" in out
    assert "doctor" not in out.split("exit codes:")[1]  # run has the one general table


def test_top_level_and_group_help(capsys: pytest.CaptureFixture[str]) -> None:
    top = _help(capsys, "--help")
    for command in cli.COMMANDS:
        assert f"\n  {command.name} " in top
    assert "stage7-report" in top and "stage7_report" not in top
    assert "exit codes:" in top and "130" in top and "doctor: 0 PASS, 1 WARN, 2 FAIL" in top
    canary = _help(capsys, "canary", "--help")
    assert canary.startswith("usage: btcbot canary once|loop") and "canary loop" in canary
    assert "sim serve" in _help(capsys, "sim", "-h")


def test_help_wins_over_other_tokens_and_runs_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    out = _help(capsys, "run", "--dryrun", "--help")
    assert out.startswith("usage: btcbot run")
