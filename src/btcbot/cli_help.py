"""The ``--help`` text and the usage lines of errors, generated from the commands' argument models.

Help goes to stdout and shows, for every flag, its dashed name, type, default, one example and what it does,
then the exit codes. Nothing here is written by hand per command: it all comes from ``btcbot.cli_spec``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from btcbot.cli_spec import EXIT_CODES, Command, ExitCodes, Flag

WIDTH = 100
PROGRAM = "btcbot"

RULES = (
    "Flags are dashed (--max-cycles). A switch is bare (--dry-run) and off unless given. A value follows its "
    "flag (--max-cycles 5 or --max-cycles=5). An unknown, misspelled or repeated flag, a switch with a value, "
    "a flag without its value, a stray argument or '--' is refused with exit 2 before anything runs."
)


def _wrap(text: str, indent: str = "", first: str | None = None) -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_on_hyphens=False,
        break_long_words=False,
    )


def _flag_usage(flag: Flag) -> str:
    text = flag.name if flag.is_bool else f"{flag.name} {flag.metavar}"
    return text if flag.required else f"[{text}]"


def command_usage(command: Command) -> list[str]:
    """The usage line, wrapped between flags (never inside ``[--flag VALUE]``)."""
    head = f"usage: {PROGRAM} {command.name}"
    lines = [head]
    for atom in (_flag_usage(f) for f in command.flags()):
        if len(lines[-1]) + 1 + len(atom) > WIDTH:
            lines.append(" " * len(head))
        lines[-1] += " " + atom
    return lines


def _members(commands: Sequence[Command], group: tuple[str, ...]) -> list[Command]:
    return [c for c in commands if c.path[: len(group)] == group]


def usage_lines(commands: Sequence[Command], command: Command | None, group: tuple[str, ...]) -> list[str]:
    """What an error shows after its one-line message."""
    if command is not None:
        lines = command_usage(command)
    elif group:
        lines = [line for c in _members(commands, group) for line in command_usage(c)]
    else:
        names = ", ".join(dict.fromkeys(c.path[0] for c in commands))
        lines = _wrap(f"usage: {PROGRAM} COMMAND [SUBCOMMAND] [FLAGS]; commands: {names}", " " * 7, first="")
        return [*lines, f"run '{PROGRAM} --help' for what each command does"]
    target = " ".join((PROGRAM, *(command.path if command else group), "--help"))
    return [*lines, f"run '{target}' for every flag with its type, default and an example"]


def _exit_table(codes: ExitCodes) -> list[str]:
    return ["exit codes:", *(f"  {code:<5}{meaning}" for code, meaning in codes)]


def _flag_lines(flag: Flag) -> list[str]:
    """The flag on its own line, then what it does and its facts indented under it."""
    left = f"  {flag.name}" if flag.is_bool else f"  {flag.name} {flag.metavar}"
    facts = f"{flag.kind}; default: {flag.default}" + (f"; e.g. {flag.example}" if flag.example else "")
    return [left, *_wrap(flag.help, " " * 6), *_wrap(facts, " " * 6)]


def command_help(command: Command) -> str:
    lines = command_usage(command)
    for paragraph in command.paragraphs:
        lines += ["", *_wrap(paragraph)]
    lines += ["", "flags:"]
    for flag in command.flags():
        lines += _flag_lines(flag)
    lines += ["  -h, --help", "      this help, on stdout; runs nothing", "", *_wrap(RULES)]
    lines += ["", *_exit_table(command.exit_codes)]
    return "\n".join(lines)


def group_help(commands: Sequence[Command], group: tuple[str, ...]) -> str:
    members = _members(commands, group)
    if group:
        names = "|".join(c.path[len(group)] for c in members)
        lines = [f"usage: {PROGRAM} {' '.join(group)} {names} [FLAGS]"]
        hint = f"{PROGRAM} {' '.join(group)} SUBCOMMAND --help"
    else:
        lines = [
            f"usage: {PROGRAM} COMMAND [SUBCOMMAND] [FLAGS]",
            "",
            "btcbot: guarded-live trading runtime for BTCTurk. See README.md and docs/runbook.md.",
        ]
        hint = f"{PROGRAM} COMMAND --help"
    width = max(len(c.name) for c in members) + 2
    lines += ["", "commands:"]
    for c in members:
        lines += _wrap(c.summary, " " * (width + 2), first=f"  {c.name:<{width}}")
    lines += ["", f"'{hint}' shows every flag with its type, default and an example.", "", *_wrap(RULES)]
    lines += ["", *_exit_table(EXIT_CODES)]
    for c in members:
        if c.exit_codes != EXIT_CODES:
            own = ", ".join(f"{code} {meaning}" for code, meaning in c.exit_codes)
            lines += _wrap(own, " " * 4, first=f"  {c.name}: ")
    return "\n".join(lines)
