"""``btcbot traces [--last N] [--trace-id ID]``: a waterfall of recent cycles from the local trace sink.

For operators without a collector. Reads ``<state dir>/traces/spans.jsonl`` (and its rotated predecessor);
never writes anything. Exit codes: 0 shown (or the sink is empty), 1 the requested trace id is not in the
sink, 2 invalid arguments or configuration.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from btcbot.commands.args import CommandArgs, EnvFile, validate_kwargs

EXIT_OK = 0
EXIT_NOT_FOUND = 1


class TracesArgs(CommandArgs):
    """A terminal waterfall of recent cycle traces from the local trace sink (never writes anything)."""

    last: int = Field(default=5, gt=0, le=1000, description="show the latest N cycles", examples=[5])
    trace_id: str | None = Field(
        default=None,
        pattern=r"^[0-9a-fA-F]{32}$",
        description="show this one trace: 32 hex digits, as in decisions.trace_id",
        examples=["4bf92f3577b34da6a3ce929d0e0e4736"],
        json_schema_extra={"metavar": "ID"},
    )
    env_file: EnvFile = None


def traces(**kwargs: Any) -> int:
    args = validate_kwargs(TracesArgs, "traces", kwargs)

    from btcbot.settings import load_settings
    from btcbot.telemetry.sink import sink_files, sink_path
    from btcbot.telemetry.waterfall import build_traces, read_sink, render, select

    settings = load_settings(env_file=args.env_file)
    path = sink_path(settings.state_dir)
    if not sink_files(path):
        print(f"no traces yet: the trace sink {path} does not exist.")
        if not settings.trace_sink_enabled:
            print("TRACE_SINK_ENABLED=false: set it to true (the default) to keep recent traces on disk.")
        else:
            print("Run a cycle (e.g. `btcbot run --once`) with the same STATE_DB_PATH, then try again.")
        return EXIT_OK
    views = build_traces(read_sink(path))
    if not views:
        print(f"no traces yet: the trace sink {path} is empty.")
        return EXIT_OK
    chosen = select(views, last=args.last, trace_id=args.trace_id)
    if not chosen:
        print(
            f"trace {args.trace_id} is not in the local sink {path} "
            f"({len(views)} traces kept; older ones were rotated out). Look it up in Jaeger if it was exported."
        )
        return EXIT_NOT_FOUND
    for i, view in enumerate(chosen):
        if i:
            print()
        for line in render(view):
            print(line)
    return EXIT_OK
