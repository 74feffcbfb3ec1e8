"""``btcbot version``: print the installed version."""

from __future__ import annotations

from typing import Any

from btcbot.commands.args import CommandArgs, validate_kwargs


class VersionArgs(CommandArgs):
    """Print the installed btcbot version."""


def version(**kwargs: Any) -> int:
    validate_kwargs(VersionArgs, "version", kwargs)
    from btcbot import __version__

    print(__version__)
    return 0
