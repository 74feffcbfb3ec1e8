"""What a command is on the command line: its path, its argument model, its flags and its exit codes.

A ``Command`` ties a path (``("canary", "once")``) to the pydantic model of its arguments and the function
that runs it. Every flag, with its type, default, example and help, is read off the model here, so the argv
validator (``btcbot.cli_args``) and the help text (``btcbot.cli_help``) never disagree with what the command
accepts. The model's docstring is the command's description; its first paragraph is the one-line summary.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

ExitCodes = tuple[tuple[int, str], ...]

# One table for run, canary and every other command unless the command documents its own.
EXIT_CODES: ExitCodes = (
    (0, "clean: the command did what was asked"),
    (1, "anomaly: it ran, and something needs a look (the output says what)"),
    (2, "configuration or usage error, or refused (nothing unsafe was done)"),
    (130, "interrupted (Ctrl-C)"),
)
DOCTOR_EXIT_CODES: ExitCodes = (
    (0, "PASS"),
    (1, "WARN"),
    (2, "FAIL, or a usage error"),
    (130, "interrupted (Ctrl-C)"),
)


@dataclass(frozen=True, slots=True)
class Flag:
    """One ``--flag`` of a command, as the model defines it."""

    name: str  # "--max-cycles"
    key: str  # the model's validation key (the field's alias, else its name)
    is_bool: bool  # a bare switch: present means true
    required: bool
    metavar: str  # "N", "PATH", ...
    kind: str  # "integer > 0", "bool switch", ...
    default: str  # as shown in help
    example: str  # "--max-cycles 60"
    help: str


@dataclass(frozen=True, slots=True)
class Command:
    path: tuple[str, ...]
    model: type[BaseModel]
    run: Callable[..., int]  # called with the validated flags as keyword arguments
    exit_codes: ExitCodes = EXIT_CODES

    @property
    def name(self) -> str:
        return " ".join(self.path)

    @property
    def paragraphs(self) -> list[str]:
        """The model's docstring, one string per paragraph; the first is the one-line summary."""
        text = inspect.cleandoc(self.model.__doc__ or "")
        return [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]

    @property
    def summary(self) -> str:
        return (self.paragraphs or [""])[0]

    def flags(self) -> tuple[Flag, ...]:
        return flags_of(self.model)


def _strip(annotation: Any) -> Any:
    """The value type under ``Annotated[...]`` and ``... | None``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            rest = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(rest) != 1:
                raise TypeError(f"a flag has one value type, not {annotation!r}")
            annotation = rest[0]
        else:
            return annotation


_KINDS: dict[Any, tuple[str, str]] = {  # value type -> (kind, metavar)
    bool: ("bool switch, no value", ""),
    int: ("integer", "N"),
    float: ("number", "NUMBER"),
    Decimal: ("decimal", "NUMBER"),
    str: ("text", "TEXT"),
    Path: ("path", "PATH"),
}


_BOUNDS = (
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Ge, "ge", ">="),
    (annotated_types.Lt, "lt", "<"),
    (annotated_types.Le, "le", "<="),
)


def _bounds(field: FieldInfo) -> str:
    marks = [(meta, attr, sign) for meta in field.metadata for cls, attr, sign in _BOUNDS if isinstance(meta, cls)]
    return ", ".join(f"{sign} {getattr(meta, attr)}" for meta, attr, sign in marks)


def _show(value: object) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    return str(value)


def flag_of(name: str, field: FieldInfo) -> Flag:
    key = field.alias or name
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    value_type = _strip(field.annotation)
    if typing.get_origin(value_type) is typing.Literal:
        choices = [str(c) for c in typing.get_args(value_type)]
        kind, metavar = "one of " + ", ".join(choices), "|".join(choices)
    elif typing.get_origin(value_type) is tuple:
        kind, metavar = "comma-separated list", "A,B"
    else:
        kind, metavar = _KINDS.get(value_type, ("text", "TEXT"))
    is_bool = value_type is bool
    bounds = _bounds(field)
    flag = "--" + key.replace("_", "-")
    required = field.is_required()
    if "default_text" in extra:
        default = str(extra["default_text"])
    elif required:
        default = "required"
    elif is_bool:
        default = "on" if field.default else "off"
    else:
        default = "none" if field.default is None else _show(field.default)
    examples = field.examples or []
    if is_bool:
        example = flag
    elif examples:
        example = f"{flag} {_show(examples[0])}"
    else:
        example = ""
    return Flag(
        name=flag,
        key=key,
        is_bool=is_bool,
        required=required,
        metavar=str(extra.get("metavar", metavar)),
        kind=f"{extra.get('kind', kind)} {bounds}".rstrip(),
        default=default,
        example=example,
        help=field.description or "",
    )


def flags_of(model: type[BaseModel]) -> tuple[Flag, ...]:
    return tuple(flag_of(name, field) for name, field in model.model_fields.items())
