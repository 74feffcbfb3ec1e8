"""Numbered SQL migrations (``migrations/NNNN_name.sql``) recorded in a ``schema_version`` table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from btcbot.errors import InvariantViolation

if TYPE_CHECKING:
    import duckdb

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

SCHEMA_VERSION_DDL = """
CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER PRIMARY KEY,
    name        VARCHAR NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL DEFAULT current_timestamp
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


@cache
def available_migrations() -> tuple[Migration, ...]:
    """Every packaged migration, in order; gaps or duplicates are a packaging bug."""
    root = resources.files("btcbot.storage").joinpath("migrations")
    found: list[Migration] = []
    for entry in root.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    expected = list(range(1, len(found) + 1))
    if [m.version for m in found] != expected:
        raise InvariantViolation(
            f"state DB migrations are not numbered 1..N without gaps: {[m.version for m in found]}"
        )
    return tuple(found)


def latest_version() -> int:
    migrations = available_migrations()
    return migrations[-1].version if migrations else 0


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The DB's schema version; 0 for a DB that has never been migrated."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def apply_migrations(con: duckdb.DuckDBPyConnection) -> int:
    """Apply each pending migration in its own transaction; returns the resulting version."""
    con.execute(SCHEMA_VERSION_DDL)
    version = current_version(con)
    if version > latest_version():
        raise InvariantViolation(
            f"state DB schema version {version} is newer than this btcbot knows ({latest_version()}); "
            "upgrade btcbot or point STATE_DB_PATH at another file"
        )
    for migration in available_migrations():
        if migration.version <= version:
            continue
        con.begin()
        try:
            con.execute(migration.sql)
            con.execute("INSERT INTO schema_version (version, name) VALUES (?, ?)", [migration.version, migration.name])
            con.commit()
        except BaseException:
            con.rollback()
            raise
        version = migration.version
    return version
