"""``btcbot orders list`` and ``btcbot orders cancel-all [--symbol S] --confirm``: the operator's clean-up.

``list`` is read-only: the venue's open orders of this scope beside the DB's view (it takes no lock and reads
the DB for a moment, so it works while a run is active). ``cancel-all`` cancels only this scope's own open
orders and never submits. It needs credentials but no arming gate (it is how an operator cleans up from the
safe baseline), refuses without ``--confirm`` (exit 2, printing what it would cancel), takes the instance
lock (exit 2 while a run holds it), and exits 0 only when the venue shows none of this scope's orders left.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from btcbot.cli_spec import ExitCodes
from btcbot.commands.args import AsJson, CommandArgs, EnvFile, validate_kwargs
from btcbot.domain.symbols import normalize_symbol
from btcbot.errors import ConfigError
from btcbot.storage.paths import resolve_db_path

if TYPE_CHECKING:
    from btcbot.arming import ArmingGate, WriteToken
    from btcbot.cleanup.cancel_all import CleanupResult
    from btcbot.cleanup.view import OpenOrdersReader, OrdersView
    from btcbot.domain.orders import VenueOrder
    from btcbot.exchange.btcturk import BtcturkExchange
    from btcbot.runtime.lifecycle import OrderRecord
    from btcbot.settings import Settings

EXIT_OK = 0
EXIT_REFUSED = 2


class OrdersListArgs(CommandArgs):
    """This account scope's orders as the exchange sees them, next to what the state DB says (read-only).

    One line per order: open at the exchange and known to the DB (its DB status beside it), open at the exchange
    and unknown to the DB, or unfinished in the DB while the exchange no longer shows it open. Orders of other
    scopes, or placed by hand, are only counted. Needs BTCTURK_API_KEY/BTCTURK_API_SECRET; takes no lock, so it
    is safe while a run is active.
    """

    as_json: AsJson = False
    env_file: EnvFile = None


class OrdersCancelAllArgs(CommandArgs):
    """Cancel this account scope's own open orders at the exchange; never submits anything.

    The operator's clean-up from the safe baseline: it needs the credentials but no arming gate, and cancels only
    orders whose client id carries this scope's prefix. Without --confirm it prints what it would cancel and
    sends nothing (exit 2); it is refused (exit 2) while a run holds the instance lock. It prints each order and
    the exchange's confirmation, then reads the open orders again until none of this scope's are left.
    """

    symbol: str | None = Field(
        default=None,
        description="cancel only this pair's orders",
        examples=["BTCTRY"],
        json_schema_extra={"default_text": "every pair"},
    )
    confirm: bool = Field(default=False, description="really cancel; without it: a dry listing, nothing sent")
    as_json: AsJson = False
    env_file: EnvFile = None

    _norm_symbol = field_validator("symbol", mode="before")(
        lambda cls, v: normalize_symbol(v) if isinstance(v, str) else v
    )


CANCEL_ALL_EXIT_CODES: ExitCodes = (
    (0, "the exchange shows none of this scope's orders open"),
    (1, "orders of this scope are still open (listed), or the exchange could not be read at the end"),
    (2, "refused: no --confirm (nothing sent), a run holds the instance lock, credentials missing, or a usage error"),
    (130, "interrupted (Ctrl-C)"),
)


def _settings(command: str, env_file: str | None) -> Settings:
    from btcbot.settings import load_settings

    settings = load_settings(env_file)
    if not settings.credentials_present:
        raise ConfigError(
            f"{command} reads this account's orders at the venue: set BTCTURK_API_KEY and BTCTURK_API_SECRET"
        )
    return settings


def _symbols(settings: Settings, db_symbols: set[str], only: str | None) -> tuple[list[str], bool]:
    """The symbols to ask the venue about, and whether to ask for all pairs too."""
    if only:
        return [only], False
    return sorted({*settings.universe_symbols, *db_symbols}), True


def _db_records(db_path: Path, prefixes: tuple[str, ...], client_ids: set[str]) -> list[OrderRecord]:
    """Read-only and brief, so a running instance's writer is never held up for long."""
    from btcbot.cleanup.view import load_records
    from btcbot.storage import open_reader

    if not db_path.is_file():
        return []
    with open_reader(db_path) as con:
        return load_records(lambda sql, params: con.execute(sql, list(params)).fetchall(), prefixes, client_ids)


def _current_view(
    settings: Settings, venue: OpenOrdersReader, symbol: str | None
) -> tuple[OrdersView, list[OrderRecord]]:
    from btcbot.cleanup.view import KnownOrder, fetch_open_orders, join, journal_intents, owned
    from btcbot.domain.orders import owned_prefixes

    scope = settings.resolved_account_scope
    prefixes = owned_prefixes(scope, settings.legacy_account_scope)
    db_path = resolve_db_path(settings.state_db_path)
    if db_path.exists() and not db_path.is_file():
        # Still useful in an incident: the venue's view of this scope, without the DB's side.
        print(
            f"orders: STATE_DB_PATH {db_path} is not a file; showing the venue's view only (point STATE_DB_PATH at "
            "the run's DB file to compare)",
            file=sys.stderr,
        )
    live = _db_records(db_path, prefixes, set())
    symbols, all_pairs = _symbols(settings, {r.symbol for r in live}, symbol)
    venue_open = fetch_open_orders(venue, symbols, all_pairs=all_pairs)
    cids = {o.client_order_id for o in owned(venue_open, prefixes) if o.client_order_id}
    records = _db_records(db_path, prefixes, cids) if cids else live
    known = [KnownOrder.from_record(r) for r in records]
    in_db = {k.client_order_id for k in known}
    known += [j for j in journal_intents(db_path, prefixes) if j.client_order_id not in in_db]
    if symbol:
        known = [k for k in known if k.symbol == symbol]
    return join(scope, prefixes, venue_open, known), records


def _view_json(view: OrdersView, db: Path, **extra: object) -> str:
    return json.dumps(
        {
            "schema_version": 1,
            "scope": view.scope,
            "db": str(db),
            "orders": [line.as_dict() for line in view.lines],
            "other_scopes_open_at_venue": view.other_open_at_venue,
            **extra,
        },
        indent=2,
    )


def _print_view(view: OrdersView, title: str) -> None:
    from btcbot.cleanup.view import render_lines, summary_line

    print(title)
    if view.lines:
        for line in render_lines(view.lines):
            print(line)
    else:
        print("(no order of this scope is open at the venue or unfinished in the DB)")
    print(summary_line(view))


def list_orders(**kwargs: Any) -> int:
    args = validate_kwargs(OrdersListArgs, "orders list", kwargs)
    from btcbot.exchange.btcturk import BtcturkExchange

    settings = _settings("orders list", args.env_file)
    db = resolve_db_path(settings.state_db_path)
    exchange = BtcturkExchange.from_settings(settings)
    try:
        view, _ = _current_view(settings, exchange, None)
    finally:
        exchange.close()
    if args.as_json:
        print(_view_json(view, db))
    else:
        _print_view(view, f"orders list: scope={view.scope} db={db} venue={settings.btcturk_base_url}")
    return EXIT_OK


def cancel_all(**kwargs: Any) -> int:
    args = validate_kwargs(OrdersCancelAllArgs, "orders cancel-all", kwargs)
    from btcbot.exchange.btcturk import BtcturkExchange

    settings = _settings("orders cancel-all", args.env_file)
    if not args.confirm:
        return _dry_listing(settings, args)
    from btcbot.arming import ArmingGate
    from btcbot.lock import InstanceLock

    gate = ArmingGate.from_settings(settings)
    token = gate.operator_cleanup_token(confirmed=args.confirm)
    # The lock first, before the venue or the DB is touched: a run holding it owns this scope's orders.
    with InstanceLock.for_settings(settings, record_refusal=False):
        exchange = BtcturkExchange.from_settings(settings)
        try:
            return _cancel_locked(settings, args, gate, token, exchange)
        finally:
            exchange.close()


def _dry_listing(settings: Settings, args: OrdersCancelAllArgs) -> int:
    from btcbot.exchange.btcturk import BtcturkExchange

    exchange = BtcturkExchange.from_settings(settings)
    try:
        view, _ = _current_view(settings, exchange, args.symbol)
    finally:
        exchange.close()
    would = view.open_at_venue
    db = resolve_db_path(settings.state_db_path)
    if args.as_json:
        print(_view_json(view, db, would_cancel=[line.as_dict() for line in would], cancelled=[]))
    else:
        _print_view(view, f"orders cancel-all (dry listing, nothing sent): scope={view.scope} db={db}")
    print(
        f"orders cancel-all: refused without --confirm; {len(would)} open order(s) of scope {view.scope} would be "
        "cancelled (nothing was sent)",
        file=sys.stderr,
    )
    return EXIT_REFUSED


def _cancel_locked(
    settings: Settings, args: OrdersCancelAllArgs, gate: ArmingGate, token: WriteToken, exchange: BtcturkExchange
) -> int:
    from btcbot.cleanup.cancel_all import cancel_all as run_cleanup
    from btcbot.cleanup.records import CleanupContext, cleanup_rows, run_row
    from btcbot.cleanup.view import fetch_open_orders, load_records, owned
    from btcbot.domain.clock import SystemClock
    from btcbot.domain.orders import owned_prefixes
    from btcbot.runtime.session import new_run_id
    from btcbot.settings import redacted_view
    from btcbot.storage import StateStore

    clock = SystemClock()
    started_ms = clock.wall_ms()
    scope = settings.resolved_account_scope
    prefixes = owned_prefixes(scope, settings.legacy_account_scope)
    run_id = new_run_id()
    # With --json the progress lines go to stderr so stdout stays one JSON document.
    out: Callable[[str], None] = (lambda line: print(line, file=sys.stderr)) if args.as_json else print
    # Opening the store folds a killed run's intent journal into the DB, so its orders are known below.
    store = StateStore(settings.state_db_path)
    try:
        store.migrate()
        live = load_records(store.query, prefixes, ())
        symbols, all_pairs = _symbols(settings, {r.symbol for r in live}, args.symbol)

        def open_now() -> list[VenueOrder]:
            return owned(fetch_open_orders(exchange, symbols, all_pairs=all_pairs), prefixes)

        targets = open_now()
        out(
            f"orders cancel-all: scope={scope} run_id={run_id} db={store.path} open_orders_of_scope={len(targets)} "
            f"mode={gate.decision.mode.value} (cancels only, never submits)"
        )
        result = run_cleanup(exchange, token, targets, open_now=open_now, clock=clock, out=out)
        cids = {t.client_order_id for t in targets if t.client_order_id}
        known = {r.client_order_id: r for r in load_records(store.query, prefixes, cids)}
        ctx = CleanupContext(
            run_id=run_id,
            mode=gate.decision.mode.value,
            scope=scope,
            started_ms=started_ms,
            now_ms=clock.wall_ms(),
            ttl_seconds=settings.ttl_seconds,
        )
        for table, rows in cleanup_rows(ctx, result, known).items():
            store.insert(table, rows)
        run = run_row(
            ctx,
            arm_reasons=",".join(gate.decision.reasons),
            symbols=",".join([*symbols, *(["*"] if all_pairs else [])]),
            exit_code=result.exit_code,
            settings_json=json.dumps(redacted_view(settings), sort_keys=True),
        )
        store.insert("runs", [run])
    finally:
        store.close()
    _report(result, scope, run_id, as_json=args.as_json, out=out)
    return result.exit_code


def _report(result: CleanupResult, scope: str, run_id: str, *, as_json: bool, out: Callable[[str], None]) -> None:
    from btcbot.cleanup.cancel_all import Outcome, describe

    remaining = result.remaining
    if remaining:
        out(f"still open at the venue ({len(remaining)}):")
        for o in remaining:
            out(f"  {describe(o)}")
    elif remaining is None:
        out("the venue's open orders could not be read at the end: check them with `btcbot orders list`")
    status = "OK" if result.clean else "LEFT_OPEN"
    if as_json:
        doc = {
            "schema_version": 1,
            "scope": scope,
            "run_id": run_id,
            "status": status,
            "exit_code": result.exit_code,
            "attempts": [
                {
                    "exchange_order_id": a.order.exchange_order_id,
                    "client_order_id": a.order.client_order_id,
                    "symbol": a.order.symbol,
                    "outcome": a.outcome.value,
                    "venue": a.detail,
                }
                for a in result.attempts
            ],
            "remaining": None
            if remaining is None
            else [{"exchange_order_id": o.exchange_order_id, "client_order_id": o.client_order_id} for o in remaining],
        }
        print(json.dumps(doc, indent=2))
        return
    confirmed = sum(1 for a in result.attempts if a.outcome in (Outcome.CANCELLED, Outcome.FILLED))
    left = "unknown" if remaining is None else str(len(remaining))
    print(f"orders_cancel_all_status={status} attempted={len(result.attempts)} confirmed={confirmed} remaining={left}")
    print(f"exit_code={result.exit_code}")
