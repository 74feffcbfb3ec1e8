"""The narrow view of the state store the runtime writes through (``btcbot.storage.StateStore`` fits it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from btcbot.domain.orders import OrderStatus
from btcbot.runtime.lifecycle import LIVE_STATUSES, ORDER_COLUMNS, OrderRecord, record_from_row


class RuntimeStore(Protocol):
    def insert(self, table: str, rows: list[dict[str, Any]]) -> None: ...

    def upsert_order(self, row: dict[str, Any]) -> None: ...

    def write_ahead(self, row: dict[str, Any]) -> None:
        """Durable before it returns (the INTENT row before a submit), and buffered like upsert_order."""
        ...

    def flush(self) -> Any: ...

    def query(self, sql: str, params: Sequence[Any] = ...) -> list[tuple[Any, ...]]: ...


class RowSource(Protocol):
    """Anything that answers a query with rows: the store, or a read-only DB connection (``btcbot status``)."""

    def query(self, sql: str, params: Sequence[Any] = ...) -> list[tuple[Any, ...]]: ...


def load_live_orders(store: RowSource, prefixes: tuple[str, ...]) -> list[OrderRecord]:
    """Orders of this scope the DB still considers unfinished (INTENT, open, UNKNOWN, cancel pending)."""
    statuses = sorted(s.value for s in LIVE_STATUSES)
    marks = ", ".join("?" for _ in statuses)
    owned = " OR ".join("starts_with(client_order_id, ?)" for _ in prefixes) or "false"
    rows = store.query(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE status IN ({marks}) AND ({owned})",  # noqa: S608 - placeholders only
        [*statuses, *prefixes],
    )
    return [record_from_row(r) for r in rows]


def known_client_ids(store: RuntimeStore, client_ids: Sequence[str]) -> set[str]:
    """Which of these client ids the DB holds in any status (a finished order is still one this DB placed)."""
    if not client_ids:
        return set()
    marks = ", ".join("?" for _ in client_ids)
    rows = store.query(f"SELECT client_order_id FROM orders WHERE client_order_id IN ({marks})", list(client_ids))  # noqa: S608 - placeholders only
    return {str(r[0]) for r in rows}


def is_unfinished(status: OrderStatus) -> bool:
    return status in LIVE_STATUSES
