"""Every btcbot command line the operator docs show is one the CLI accepts, as printed.

An operator types these exactly; a renamed flag, a dropped subcommand or a value of the wrong type in a doc is an
exit 2 at the worst moment (during an incident). The commands are parsed in-process (nothing runs); the runbook's
rollback section is also run for real in tests/orders/test_runbook_rollback.py.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from btcbot import cli
from btcbot.cli_args import Parsed, parse_argv
from btcbot.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
DOCS = ("README.md", "docs/runbook.md", "docs/strategies.md")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def btcbot_argvs(command_line: str) -> list[list[str]]:
    """The argv after ``btcbot`` of each btcbot invocation on one shell line (env prefixes, redirections dropped)."""
    lexer = shlex.shlex(command_line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    simple: list[list[str]] = [[]]
    target = False  # the next token is a redirection's file, not an argument
    for token in lexer:
        if token in ("&&", "||", ";", "&", "|"):
            simple.append([])
        elif token.startswith((">", "<")):
            target = True
        elif target:
            target = False
        else:
            simple[-1].append(token)
    argvs = []
    for words in simple:
        while words and _ASSIGNMENT.match(words[0]):
            words.pop(0)
        if words and words[0] == "btcbot":
            argvs.append(words[1:])
    return argvs


def documented(bash: Any) -> list[tuple[str, list[str]]]:
    return [
        (doc, argv)
        for doc in DOCS
        for line in bash.commands((ROOT / doc).read_text(encoding="utf-8"))
        for argv in btcbot_argvs(line)
    ]


def test_every_documented_command_line_parses(markdown_bash: Any) -> None:
    shown = documented(markdown_bash)
    # The walk covers every stage: were the extraction to find nothing, the check below would pass vacuously.
    heads = {" ".join(argv[:2]) for _, argv in shown}
    for command in ("doctor", "health", "run --dry-run", "canary once", "canary loop", "orders list",
                    "orders cancel-all", "stage7-report --last", "stage7-export --last", "stage7-alerts --last",
                    "status --watch", "backtest --strategy", "config show", "sim serve"):  # fmt: skip
        assert command in heads, command
    refused = []
    for doc, argv in shown:
        try:
            parsed = parse_argv(cli.COMMANDS, argv)
        except UsageError as exc:
            refused.append(f"{doc}: btcbot {' '.join(argv)}: {exc}")
            continue
        assert isinstance(parsed, Parsed), argv
    assert refused == []
