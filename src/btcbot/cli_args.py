"""Argv validation: every token is checked against the command's model before anything runs.

``parse_argv`` turns the raw argv into the command and its validated argument model (or a help request),
or raises ``ArgvError``; nothing is imported, read, opened or sent before it has said yes. The rules:

- The command path comes first, with dashed names only: ``canary once``, ``stage7-report``.
- Flags are ``--long`` and dashed: ``--max-cycles``. The underscored spelling (``--max_cycles``) is refused
  with the dashed one suggested, so scripts never come to depend on a second spelling.
- A bool flag is a bare switch: ``--dry-run``. A switch cannot be turned off (it is off unless given), so
  ``--dry-run=false``, ``--dry-run true`` and ``--no-dry-run`` are refused rather than guessed at.
- A value flag takes exactly one value, ``--max-cycles 5`` or ``--max-cycles=5``. A next token that starts
  with ``--`` is not a value: ``--max-cycles --dry-run`` is a flag without its value.
- Refused as well: an unknown or misspelled flag (with the closest valid one suggested), a flag given twice,
  a stray positional argument, and ``--`` (with everything after it).
- ``--help`` or ``-h`` anywhere prints that command's help (or the group's) to stdout and runs nothing.
- Values are parsed once, from the typed text, by the model (pydantic), never by Fire's literal parser.

Adding a command is one ``CommandArgs`` model in ``btcbot/commands/<module>.py`` (fields with a description
and one example) plus one ``Command`` entry in ``btcbot.cli.COMMANDS``; validation, suggestions and help
all follow from the model.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from btcbot.cli_spec import Command, Flag
from btcbot.commands.args import describe_errors
from btcbot.errors import UsageError

HELP_TOKENS = ("--help", "-h")


class ArgvError(UsageError):
    """The argv is not a valid command line; ``command`` / ``group`` say whose usage to show."""

    def __init__(self, message: str, *, command: Command | None = None, group: tuple[str, ...] = ()) -> None:
        super().__init__(f"{command.name}: {message}" if command else message)
        self.command = command
        self.group = group


@dataclass(frozen=True, slots=True)
class Parsed:
    command: Command
    args: BaseModel


@dataclass(frozen=True, slots=True)
class HelpRequest:
    command: Command | None  # None: the help of ``group`` (the top level when empty)
    group: tuple[str, ...] = ()


def _closest(word: str, choices: Sequence[str]) -> str | None:
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def _did_you_mean(suggestion: str | None) -> str:
    return f" (did you mean {suggestion}?)" if suggestion else ""


def parse_argv(commands: Sequence[Command], argv: Sequence[str]) -> Parsed | HelpRequest:
    tokens = list(argv)
    wants_help = any(t in HELP_TOKENS for t in tokens)
    path: tuple[str, ...] = ()
    i = 0
    while True:
        below = [c for c in commands if c.path[: len(path)] == path]
        command = next((c for c in below if c.path == path), None)
        if command is not None:
            break
        names = list(dict.fromkeys(c.path[len(path)] for c in below))
        where = f"{' '.join(path)}: " if path else ""
        what = "subcommand" if path else "command"
        if i >= len(tokens) or tokens[i].startswith("-"):
            if wants_help:
                return HelpRequest(None, path)
            got = f" before {tokens[i]}" if i < len(tokens) else ""
            choices = f" (one of {', '.join(names)})" if path else ""
            raise ArgvError(f"{where}missing {what}{got}{choices}", group=path)
        word = tokens[i]
        if word not in names:
            hint = _closest(word.replace("_", "-").lower(), names)
            raise ArgvError(f"{where}unknown {what} {word!r}{_did_you_mean(hint)}", group=path)
        path = (*path, word)
        i += 1
    if wants_help:
        return HelpRequest(command)
    return Parsed(command, parse_flags(command, tokens[i:]))


def _unknown_flag(token: str, flags: dict[str, Flag]) -> str:
    dashed = "--" + token.lstrip("-").replace("_", "-")
    switch = "--" + dashed.removeprefix("--no-")
    if dashed.startswith("--no-") and switch in flags and flags[switch].is_bool:
        return f"unknown flag {token}: {switch} is off unless given, so leave it out"
    hint = dashed if dashed in flags else _closest(dashed, list(flags))
    return f"unknown flag {token}{_did_you_mean(hint)}"


def parse_flags(command: Command, tokens: Sequence[str]) -> BaseModel:
    """The command's model validated from its flag tokens, or an ArgvError naming the first problem."""
    flags = {f.name: f for f in command.flags()}
    values: dict[str, object] = {}
    previous: Flag | None = None
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token == "--":  # noqa: S105 (the end-of-options marker, not a password)
            raise ArgvError("'--' is not accepted (nothing may follow it); remove it", command=command)
        if not token.startswith("-") or _is_number(token):
            after = f" ({previous.name} is a switch and takes no value)" if previous and previous.is_bool else ""
            raise ArgvError(f"unexpected argument {token!r}{after}{_typographic_dash(token)}", command=command)
        name, has_inline, inline = token.partition("=")
        flag = flags.get(name)
        if flag is None:
            raise ArgvError(_unknown_flag(name, flags), command=command)
        if flag.key in values:
            raise ArgvError(f"{name} given twice; give it once", command=command)
        if flag.is_bool:
            if has_inline:
                raise ArgvError(f"{name} is a switch and takes no value; write {name} alone", command=command)
            values[flag.key] = True
        else:
            if has_inline:
                value = inline
            elif i < len(tokens) and not tokens[i].startswith("--"):
                value = tokens[i]
                i += 1
            else:
                value = ""
            if not value:
                raise ArgvError(f"{name} needs a value (e.g. {flag.example})", command=command)
            values[flag.key] = value
        previous = flag
    for flag in flags.values():
        if flag.required and flag.key not in values:
            raise ArgvError(f"{flag.name} {flag.metavar} is required (e.g. {flag.example})", command=command)
    try:
        return command.model.model_validate(values)
    except ValidationError as exc:
        raise ArgvError(describe_errors(exc), command=command) from None


# What a document or chat turns "--" into: a flag pasted from one would otherwise read as a stray argument.
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"


def _typographic_dash(token: str) -> str:
    stripped = token.lstrip(_DASHES + "-")
    if len(stripped) == len(token) or not any(ch in _DASHES for ch in token[: len(token) - len(stripped)]):
        return ""
    return f": it starts with a typographic dash (pasted?); type --{stripped}"


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True
