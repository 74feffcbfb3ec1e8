"""What every command's argument model shares: the base class, common flags, one error format.

Each command module defines one ``CommandArgs`` subclass; it is the single source of truth for the command's
flags (see ``btcbot.cli_spec``). Every field carries a ``description`` and one ``examples`` entry, which the
``--help`` text shows; ``json_schema_extra={"metavar": ..., "kind": ..., "default_text": ...}`` adjust how
the value, its type and the default are shown when the Python type alone does not say it well.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from btcbot.doctor.window import parse_window
from btcbot.domain.number_text import number_kind, plain_number_text
from btcbot.errors import UsageError


class CommandArgs(BaseModel):
    """Base of every command's arguments: unknown names are refused, never dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _plain_numbers(cls, value: object, info: ValidationInfo) -> object:
        kind = number_kind(cls.model_fields[info.field_name].annotation) if info.field_name else None
        return plain_number_text(value, kind) if kind else value


EnvFile = Annotated[
    str | None,
    Field(
        description="dotenv file read before the environment (the environment wins)",
        examples=[".env.pilot"],
        json_schema_extra={"metavar": "PATH", "kind": "path"},
    ),
]

AsJson = Annotated[bool, Field(alias="json", description="print one JSON document instead of text", examples=[True])]

DryRun = Annotated[bool, Field(description="observe only: never write to the exchange, whatever the environment says")]

AdoptForeignOrders = Annotated[
    bool,
    Field(
        description=(
            "adopt orders of this account scope found open at the venue that the state DB does not know, "
            "instead of refusing to arm"
        )
    ),
]


def window_text(value: object) -> object:
    """A ``--window`` value checked the doctor's way (``90s``, ``30m``, ``24h``, ``7d``, bare seconds)."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value)  # a Python caller may pass seconds as an int
    try:
        parse_window(text)
    except UsageError as exc:
        raise ValueError(str(exc).removeprefix("--window ")) from None
    return text


StrategySpec = Annotated[
    str | None,
    Field(
        description=(
            "the strategy: canary, a registered name (quoter, mean_reversion), package.module:ClassName or "
            "path/to/file.py:ClassName (see docs/strategies.md)"
        ),
        examples=["quoter"],
        json_schema_extra={"metavar": "NAME|MODULE:CLASS", "default_text": "the STRATEGY setting"},
    ),
]

StrategyConfigPath = Annotated[
    Path | None,
    Field(
        description="a TOML file whose [strategy] table holds the strategy's parameters (instead of STRATEGY_PARAMS)",
        examples=["strategy.toml"],
        json_schema_extra={"metavar": "PATH", "kind": "path", "default_text": "the STRATEGY_PARAMS setting"},
    ),
]


_M = TypeVar("_M", bound=BaseModel)

# Errors about numbers and choices echo what was typed; text values (paths, keys, secrets) are never echoed.
_ECHO_TYPES = ("int_", "float_", "decimal_", "greater_than", "less_than", "literal_error", "finite_number")


def describe_errors(exc: ValidationError) -> str:
    """One line for a pydantic error: each problem named by its ``--flag``."""
    parts = []
    for err in exc.errors(include_url=False):
        msg = str(err["msg"]).removeprefix("Value error, ")
        msg = msg[:1].lower() + msg[1:]
        if err["type"] == "literal_error":
            expected = str(err.get("ctx", {}).get("expected", ""))  # "'jsonl', 'csv' or 'parquet'"
            msg = "expected one of " + expected.replace("'", "").replace(" or ", ", ")
        if err["loc"]:
            flag = "--" + str(err["loc"][0]).replace("_", "-")
            shown = err.get("input")
            echo = isinstance(shown, (str, int)) and str(err["type"]).startswith(_ECHO_TYPES)
            value = f" {shown}" if echo else ""
            parts.append(f"{flag}{value}: {msg}")
        else:
            parts.append(msg)
    return "; ".join(parts)


def validate_kwargs(model: type[_M], command: str, kwargs: dict[str, Any]) -> _M:
    """The model built from Python keyword arguments, or a UsageError naming the command and the flags."""
    try:
        return model.model_validate(kwargs)
    except ValidationError as exc:
        raise UsageError(f"{command}: {describe_errors(exc)}") from None
