"""The ``btcbot`` command line: the command registry, argv validation first, then Fire.

``COMMANDS`` lists every command: its path, the pydantic model of its arguments (in
``btcbot/commands/<module>.py``) and the function that runs it. ``main`` validates the whole argv against
that model (``btcbot.cli_args``) before anything else happens: no settings are read, no DB opened, nothing
sent, until every token is accepted. Fire (the product owner's choice) then routes the command path to the
command's function, which receives the validated values; values never pass through Fire's literal parser
(it would turn ``--out 2024`` into an int and ``--notional-try 1e2`` into a float).

To add a command: write its ``CommandArgs`` model (every field with a description and one example) and its
function in ``btcbot/commands/<module>.py``, then add one ``Command`` below. Its flags, suggestions for
misspellings, ``--help`` and the table-driven tests in ``tests/cli`` follow from the model.

Exit codes (one table, also in ``--help``, README and docs/runbook.md): 0 clean, 1 anomaly, 2 configuration,
usage error or refused, 130 interrupted; doctor: 0 PASS, 1 WARN, 2 FAIL. Operator mistakes never print a
traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

from btcbot.cli_spec import DOCTOR_EXIT_CODES, Command, ExitCodes
from btcbot.commands import (
    canary,
    config_show,
    doctor,
    health,
    orders,
    replay,
    reports,
    run,
    sim,
    status,
    traces,
    version,
)

EXIT_OK = 0
EXIT_ANOMALY = 1
EXIT_FAIL = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports it

# run and canary: the general table, said precisely (the summary's `anomaly:` lines, which signals).
_RUNTIME_EXIT_CODES: ExitCodes = (
    (0, "clean: no anomaly"),
    (1, "anomaly: each on its own 'anomaly: <kind> ...' line of the summary (an order left open, ...)"),
    (2, "configuration or usage error, or refused (nothing unsafe was done)"),
    (130, "interrupted by SIGINT (Ctrl-C) or SIGTERM, once or twice; the summary still lists every anomaly"),
)
_HEALTH_EXIT_CODES: ExitCodes = ((0, "every enabled probe is OK"), (2, "a probe failed, or a usage error"))
_ALERTS_EXIT_CODES: ExitCodes = (
    (0, "no open alert"),
    (1, "warnings open"),
    (2, "a critical alert is open, or a usage/configuration error"),
)
_STATUS_EXIT_CODES: ExitCodes = (
    (0, "shown"),
    (2, "the state DB could not be read, or a usage/configuration error"),
    (130, "interrupted (Ctrl-C), which is how --watch ends without --count"),
)
_TRACES_EXIT_CODES: ExitCodes = (
    (0, "shown, or the sink is empty"),
    (1, "the requested trace id is not in the sink"),
    (2, "usage or configuration error"),
)

COMMANDS: tuple[Command, ...] = (
    Command(("doctor",), doctor.DoctorArgs, doctor.doctor, DOCTOR_EXIT_CODES),
    Command(("health",), health.HealthArgs, health.health, _HEALTH_EXIT_CODES),
    Command(("config", "show"), config_show.ConfigShowArgs, config_show.show),
    Command(("run",), run.RunArgs, run.run, _RUNTIME_EXIT_CODES),
    Command(("canary", "once"), canary.CanaryArgs, canary.once, _RUNTIME_EXIT_CODES),
    Command(("canary", "loop"), canary.CanaryLoopArgs, canary.loop, _RUNTIME_EXIT_CODES),
    Command(("orders", "list"), orders.OrdersListArgs, orders.list_orders),
    Command(("orders", "cancel-all"), orders.OrdersCancelAllArgs, orders.cancel_all, orders.CANCEL_ALL_EXIT_CODES),
    Command(("status",), status.StatusArgs, status.status, _STATUS_EXIT_CODES),
    Command(("stage7-report",), reports.ReportArgs, reports.report),
    Command(("stage7-export",), reports.ExportArgs, reports.export),
    Command(("stage7-alerts",), reports.AlertsArgs, reports.alerts, _ALERTS_EXIT_CODES),
    Command(("traces",), traces.TracesArgs, traces.traces, _TRACES_EXIT_CODES),
    Command(("record",), replay.RecordArgs, replay.record),
    Command(("replay",), replay.ReplayArgs, replay.replay),
    Command(("backtest",), replay.BacktestArgs, replay.backtest),
    Command(("sim", "serve"), sim.SimServeArgs, sim.serve),
    Command(("version",), version.VersionArgs, version.version),
)


class _ExitRequest(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _fire(command: Command, kwargs: dict[str, Any]) -> int:
    """Let Fire route the command path to the command, which gets the already validated values."""
    import fire

    def invoke() -> None:
        raise _ExitRequest(int(command.run(**kwargs) or 0))

    tree: dict[str, Any] = {}
    node = tree
    for part in command.path[:-1]:
        node = node.setdefault(part, {})
    node[command.path[-1]] = invoke
    try:
        fire.Fire(tree, command=list(command.path), name="btcbot")
    except _ExitRequest as req:
        return req.code
    return EXIT_OK


def _terminal_redactor(command: Command, args: Any) -> Callable[[str], str]:
    """What scrubs the terminal: this configuration's secrets in every written form, and header-shaped values.

    ``sim serve`` is left alone: its ready line gives out the simulator's own (published) credentials by design.
    Settings that do not load still get the header-shaped scrubbing; the command itself reports why.
    """
    from btcbot.errors import BtcbotError
    from btcbot.settings import load_settings
    from btcbot.telemetry.redact import Redactor

    if command.path[0] == "sim":
        return lambda text: text
    try:
        return Redactor.for_settings(load_settings(getattr(args, "env_file", None)))
    except (BtcbotError, OSError):
        return Redactor([])


def main(argv: Sequence[str] | None = None) -> int:
    from btcbot.cli_args import ArgvError, HelpRequest, parse_argv
    from btcbot.cli_help import command_help, group_help, usage_lines
    from btcbot.console.redacting_stream import redacted_output
    from btcbot.errors import BtcbotError

    try:
        try:
            parsed = parse_argv(COMMANDS, list(sys.argv[1:] if argv is None else argv))
        except ArgvError as err:
            print(f"error: {err}", file=sys.stderr)
            print("\n".join(usage_lines(COMMANDS, err.command, err.group)), file=sys.stderr)
            return EXIT_FAIL
        if isinstance(parsed, HelpRequest):
            if parsed.command is not None:
                print(command_help(parsed.command))
            else:
                print(group_help(COMMANDS, parsed.group))
            return EXIT_OK
        with redacted_output(_terminal_redactor(parsed.command, parsed.args)):
            try:
                # Only the flags given: a command can tell an explicit value from a default (canary, when armed).
                return _fire(parsed.command, parsed.args.model_dump(by_alias=True, exclude_unset=True))
            except BtcbotError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return exc.exit_code
            except KeyboardInterrupt:
                print("interrupted", file=sys.stderr)
                return EXIT_INTERRUPTED
            except BrokenPipeError:
                raise
            except Exception:  # noqa: BLE001 - the last edge; the traceback is printed, scrubbed
                # A bug, not an operator mistake: keep the traceback for the report, through the redaction.
                import traceback

                traceback.print_exc()
                return EXIT_ANOMALY
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, and keep the interpreter's final flush quiet too.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def entrypoint() -> None:
    sys.exit(main())
