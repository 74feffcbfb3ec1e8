"""Every command and subcommand x every kind of command-line mistake: exit 2, one clear line, usage, nothing run.

In-process and fast: each registered command's function is replaced by one that fails the test if called,
so "refused before anything runs" is checked for every case, not only the ones run as subprocesses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from btcbot import cli
from btcbot.cli_args import ArgvError, Parsed, parse_argv
from btcbot.cli_spec import Command, Flag

MISTAKES = ("unknown", "misspelled", "duplicate", "no_value", "wrong_type", "positional", "separator")

# Flags a command needs besides its required ones to be a valid command line (a model-level rule), with
# alternatives: run takes exactly one of --once and --loop.
_BASE_EXTRA: dict[tuple[str, ...], list[list[str]]] = {
    ("run",): [["--once"], ["--loop"]],
    ("status",): [["--watch"]],  # --interval and --count go with --watch
}


def _tokens(flag: Flag) -> list[str]:
    return flag.example.split(" ", 1)


def valid_bases(command: Command) -> list[list[str]]:
    """Shortest valid command lines: the required flags with their examples (plus a model-level rule)."""
    required = [t for flag in command.flags() if flag.required for t in _tokens(flag)]
    return [[*command.path, *extra, *required] for extra in _BASE_EXTRA.get(command.path, [[]])]


def valid_base(command: Command) -> list[str]:
    return valid_bases(command)[0]


def _free_flags(command: Command) -> list[Flag]:
    """Flags the valid base does not use, so a mistake with one of them is the only mistake."""
    base = set(valid_base(command))
    return [f for f in command.flags() if f.name not in base]


def _is_numeric(flag: Flag) -> bool:
    return flag.kind.startswith(("integer", "decimal", "number"))


def case(command: Command, mistake: str) -> tuple[list[str], str] | None:
    """(argv, a fragment the error line must contain), or None when the mistake cannot apply."""
    base = valid_base(command)
    free = _free_flags(command)
    switches = [f for f in free if f.is_bool]
    valued = [f for f in free if not f.is_bool]
    if mistake == "unknown":
        return [*base, "--bogus"], "unknown flag --bogus"
    if mistake == "positional":
        return [*base, "stray"], "unexpected argument 'stray'"
    if mistake == "separator":
        return [*base, "--", "--dry-run"], "'--' is not accepted"
    if not free:
        return None
    if mistake == "misspelled":
        target = max(free, key=lambda f: len(f.name))
        typo = target.name[:-2] + target.name[-1]  # one letter dropped: --dry-run -> --dry-rn
        return [*base, typo], f"unknown flag {typo} (did you mean {target.name}?)"
    if mistake == "duplicate":
        twice = _tokens(switches[0] if switches else valued[0])
        return [*base, *twice, *twice], "given twice"
    if mistake == "no_value":
        if not valued:
            return None
        return [*base, valued[0].name], f"{valued[0].name} needs a value"
    if mistake == "wrong_type":
        numeric = [f for f in valued if _is_numeric(f)]
        if numeric:
            return [*base, numeric[0].name, "abc"], f"{numeric[0].name} abc: expected a"
        return [*base, f"{switches[0].name}=yes"], f"{switches[0].name} is a switch and takes no value"
    raise AssertionError(mistake)


def _cases() -> Iterator[Any]:
    for command in cli.COMMANDS:
        for mistake in MISTAKES:
            built = case(command, mistake)
            if built is not None:
                yield pytest.param(command, built[0], built[1], id=f"{command.name}-{mistake}")


@pytest.fixture
def nothing_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every command's function replaced by one that records the call (a refused line must leave it empty)."""
    called: list[str] = []

    def refuse(command: Command) -> Callable[..., int]:
        def run(**kwargs: Any) -> int:
            called.append(command.name)
            return 0

        return run

    monkeypatch.setattr(cli, "COMMANDS", tuple(dataclasses.replace(c, run=refuse(c)) for c in cli.COMMANDS))
    return called


def test_every_command_meets_every_mistake_it_can_have() -> None:
    for command in cli.COMMANDS:
        missing = [m for m in MISTAKES if case(command, m) is None]
        # Only a command without free flags (version) is spared the flag mistakes; the rest always apply.
        assert not missing or not _free_flags(command) or missing == ["no_value"], (command.name, missing)
        assert isinstance(parse_argv(cli.COMMANDS, valid_base(command)), Parsed), command.name


@pytest.mark.parametrize(("command", "argv", "fragment"), list(_cases()))
def test_mistake_is_refused_before_anything_runs(
    command: Command, argv: list[str], fragment: str, nothing_runs: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert out == ""
    assert lines[0].startswith(f"error: {command.name}: "), lines[0]
    assert fragment in lines[0], lines[0]
    assert lines[1].startswith(f"usage: btcbot {command.name}"), err
    assert f"btcbot {command.name} --help" in lines[-1]
    assert "Traceback" not in err
    assert nothing_runs == []


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["run", "--once", "--dryrun"], "unknown flag --dryrun (did you mean --dry-run?)"),
        (["canary", "once", "--dry-rn"], "unknown flag --dry-rn (did you mean --dry-run?)"),
        (["run", "--once", "--", "--dry-run"], "'--' is not accepted"),
        (["run", "--loop", "--max-cycle", "5"], "unknown flag --max-cycle (did you mean --max-cycles?)"),
        (["run", "--loop", "--cycle-second", "1"], "unknown flag --cycle-second (did you mean --cycle-seconds?)"),
        (["run", "--loop", "--max-cycles"], "--max-cycles needs a value (e.g. --max-cycles 60)"),
        (["run", "--loop", "--max-cycles", "--dry-run"], "--max-cycles needs a value"),
        (["run", "--loop", "--max-cycles="], "--max-cycles needs a value"),
        (["config", "show", "--bogus"], "unknown flag --bogus"),
        (["run", "--loop", "--max_cycles", "5"], "unknown flag --max_cycles (did you mean --max-cycles?)"),
        (["run", "--once", "--no-dry-run"], "--dry-run is off unless given, so leave it out"),
        (["run", "--once", "--dry-run=false"], "--dry-run is a switch and takes no value"),
        (["run", "--once", "--dry-run", "false"], "unexpected argument 'false' (--dry-run is a switch"),
        (["run", "--once", "-x"], "unknown flag -x"),
        (["run", "--loop", "--max-cycles", "0"], "--max-cycles 0: input should be greater than 0"),
        (["run", "--loop", "--cycle-seconds", "-1"], "--cycle-seconds -1: input should be greater than 0"),
        (["run", "--loop", "--cycle-seconds", "nan"], "--cycle-seconds"),
        (["run"], "pass exactly one of --once or --loop"),
        (["run", "--once", "--max-cycles", "5"], "--max-cycles bounds --loop"),
        (["canary", "loop", "--max-cycles", "2.5"], "--max-cycles 2.5: expected a whole number in plain digits"),
        # Python (and pydantic) would read other scripts' digits, underscores and exponents as some number.
        (
            ["canary", "once", "--notional-try", "\u0661\u0665\u0660"],
            "\u0661\u0665\u0660: expected a number in plain digits",
        ),
        (
            ["canary", "once", "--notional-try", "\uff11\uff15\uff10"],
            "\uff11\uff15\uff10: expected a number in plain digits",
        ),
        (["canary", "once", "--notional-try", "1_000"], "--notional-try 1_000: expected a number in plain digits"),
        (["canary", "once", "--notional-try", "1e2"], "--notional-try 1e2: expected a number in plain digits"),
        (
            ["canary", "once", "--ttl-seconds", "\uff13\uff10"],
            "\uff13\uff10: expected a whole number in plain",
        ),
        (["canary", "loop", "--max-cycles", "5.0"], "--max-cycles 5.0: expected a whole number in plain digits"),
        (["canary", "once", "--symbol", "\uff22\uff34\uff23\uff34\uff32\uff39"], "is not a symbol such as BTCTRY"),
        # A flag pasted from a document: an em dash, an en dash, a minus sign.
        (["canary", "once", "\u2014dry-run"], "typographic dash (pasted?); type --dry-run"),
        (["run", "--once", "\u2013dry-run"], "typographic dash (pasted?); type --dry-run"),
        (["run", "--once", "\u2212\u2212dry-run"], "typographic dash (pasted?); type --dry-run"),
        (["stage7-export", "--format", "xlsx", "--out", "x"], "--format xlsx: expected one of jsonl, csv, parquet"),
        (["stage7-export"], "--out PATH is required (e.g. --out ./artifacts/stage7.jsonl)"),
        (["replay", "--speed", "fast"], "--speed"),
        (["doctor", "--window", "0"], "positive duration"),
    ],
)
def test_the_issues_examples_and_edge_forms(
    argv: list[str], fragment: str, nothing_runs: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err.splitlines()[0], err
    assert "Traceback" not in err and nothing_runs == []


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ([], "error: missing command"),
        (["rn", "--once"], "error: unknown command 'rn' (did you mean run?)"),
        (["stage7_report"], "error: unknown command 'stage7_report' (did you mean stage7-report?)"),
        (["--dry-run", "run"], "error: missing command before --dry-run"),
        (["canary"], "error: canary: missing subcommand (one of once, loop)"),
        (["canary", "--symbol", "BTCTRY"], "error: canary: missing subcommand before --symbol"),
        (["canary", "onc"], "error: canary: unknown subcommand 'onc' (did you mean once?)"),
        (["config"], "error: config: missing subcommand (one of show)"),
    ],
)
def test_command_path_mistakes(
    argv: list[str], fragment: str, nothing_runs: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines()[0].startswith(fragment), err
    assert err.splitlines()[1].startswith("usage: btcbot")
    assert nothing_runs == []


def test_values_reach_the_command_exactly_as_typed(nothing_runs: list[str]) -> None:
    parsed = parse_argv(cli.COMMANDS, ["canary", "loop", "--notional-try=100.10", "--max-cycles", "3", "--dry-run"])
    assert isinstance(parsed, Parsed)
    # Only what was given is passed on, so the command can tell an explicit value from a default.
    assert parsed.args.model_dump(by_alias=True, exclude_unset=True) == {
        "notional_try": parsed.args.notional_try,  # type: ignore[attr-defined]
        "max_cycles": 3,
        "dry_run": True,
    }
    assert str(parsed.args.notional_try) == "100.10"  # type: ignore[attr-defined]
    # Text stays text: Fire would have turned these into an int and a float.
    record = parse_argv(cli.COMMANDS, ["stage7-export", "--out", "2024", "--db", "1e3"])
    assert isinstance(record, Parsed)
    assert record.args.out == "2024" and record.args.db == "1e3"  # type: ignore[attr-defined]


def test_a_valid_line_runs_the_command_once_with_the_validated_values(nothing_runs: list[str]) -> None:
    assert cli.main(["run", "--loop", "--max-cycles=3", "--dry-run"]) == 0
    assert nothing_runs == ["run"]


def test_text_values_are_never_echoed_in_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["traces", "--trace-id", "s3cr3t-looking-value"]) == 2
    err = capsys.readouterr().err
    assert "--trace-id" in err and "s3cr3t-looking-value" not in err


@pytest.mark.parametrize("command", cli.COMMANDS, ids=[c.name for c in cli.COMMANDS])
def test_model_rules(command: Command) -> None:
    """A docstring, a description for every flag, an example for every value flag, switches default off;
    and every example is itself accepted by the validator."""
    assert command.summary, f"{command.name}: the model needs a docstring"
    assert command.model.model_config.get("extra") == "forbid"
    for flag in command.flags():
        assert flag.help, f"{command.name} {flag.name}: add a description"
        assert flag.example, f"{command.name} {flag.name}: add one example"
        if flag.is_bool:
            assert flag.default == "off", f"{command.name} {flag.name}: a switch can only turn something on"
        lines = [b if flag.name in b else [*b, *flag.example.split(" ", 1)] for b in valid_bases(command)]
        assert any(isinstance(_parse(line), Parsed) for line in lines), lines


def _parse(argv: list[str]) -> object:
    try:
        return parse_argv(cli.COMMANDS, argv)
    except ArgvError as exc:
        return exc
