"""Open orders that carry this scope's prefix but that neither this process nor its state DB ever placed.

The local instance lock cannot see another host, another user, or this account's other state DB. The venue can:
such an order means another instance (or an earlier run that wrote another DB) is trading this account under
this scope. Adopting it, as a crash orphan is adopted, would have both instances cancel each other's orders, so
it is adopted only on the operator's word (``--adopt-foreign-orders``). Otherwise a live start refuses to arm
(exit 2), a running live instance latches safe mode, and an observe-only one reports it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from btcbot.runtime.cycle import Details
from btcbot.runtime.lifecycle import OrderRecord

ADOPT_FLAG = "--adopt-foreign-orders"
ESCALATION_CAUSE = "foreign_orders"
NEXT_ACTION = f"stop the other instance (btcbot orders list), or restart with {ADOPT_FLAG} if they are this one's"


def split_orphans(
    candidates: Sequence[OrderRecord], db_known: Collection[str], *, adopt_foreign: bool
) -> tuple[tuple[OrderRecord, ...], tuple[OrderRecord, ...]]:
    """(adopt, foreign) among the reconciler's orphans (open, this scope's prefix, not live in the ledger).

    One the DB knows is this instance's own (a submit marked NOT_SENT that surfaced late, a restart's record);
    one it never heard of is foreign unless the operator asked to adopt it.
    """
    if adopt_foreign:
        return tuple(candidates), ()
    adopt = tuple(r for r in candidates if r.client_order_id in db_known)
    foreign = tuple(r for r in candidates if r.client_order_id not in db_known)
    return adopt, foreign


def _listing(foreign: Sequence[OrderRecord]) -> str:
    return ", ".join(f"{r.client_order_id} (exchange id {r.exchange_order_id}, {r.symbol})" for r in foreign)


def decision_details(foreign: Sequence[OrderRecord]) -> Details:
    return (
        ("client_order_ids", ",".join(r.client_order_id for r in foreign)),
        ("exchange_order_ids", ",".join(str(r.exchange_order_id) for r in foreign)),
        ("symbols", ",".join(sorted({r.symbol for r in foreign}))),
    )


def explanation(foreign: Sequence[OrderRecord], scope: str, state_db: Path) -> str:
    """Both explanations and the ways out, naming every order; one line for the operator."""
    return (
        f"{len(foreign)} open order(s) on the venue carry account scope {scope!r}'s prefix but the state DB "
        f"{state_db} never placed them: {_listing(foreign)}. Either another btcbot instance is trading this "
        "account under the same ACCOUNT_SCOPE (on another host, or as another user here), or an earlier run of "
        "this account wrote a different state DB (another STATE_DB_PATH or working directory). Stop the other "
        f"instance (see `btcbot orders list`); only if these orders are this instance's own, restart with "
        f"{ADOPT_FLAG} to adopt and manage them"
    )


def refusal_message(foreign: Sequence[OrderRecord], scope: str, state_db: Path) -> str:
    return f"refused to arm, nothing was sent: {explanation(foreign, scope, state_db)}"
