"""Shared fixtures: every test starts from a clean, baseline-safe environment."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from btcbot.settings import Settings

# Variables btcbot reads; a developer's shell must never leak into a test.
_OWN_VARS = {name.upper() for name in Settings.model_fields}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    for key in list(os.environ):
        if key.upper() in _OWN_VARS or key.upper().startswith("OTEL_"):
            monkeypatch.delenv(key, raising=False)
    # The instance lock lives in a per-user directory, not beside the DB: each test gets its own (subprocesses
    # inherit it), so parallel tests never contend and none writes to the developer's home.
    monkeypatch.setenv("LOCK_DIR", str(tmp_path_factory.mktemp("locks")))
    yield


# DuckDB's file layout: three 4 KiB headers, then 256 KiB blocks, each starting with an 8-byte checksum.
_DUCKDB_HEADERS = 3 * 4096
_DUCKDB_BLOCK = 256 * 1024


def _damage_block(data: bytearray, block: int) -> None:
    at = _DUCKDB_HEADERS + block * _DUCKDB_BLOCK + 16  # past the checksum, so the stored checksum no longer fits
    data[at : at + 64] = b"\xab" * 64


def _reads(path: Path, table: str) -> bool:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608 - the tests' own table names
        return True
    except duckdb.Error:
        return False
    finally:
        con.close()


def damage_state_db(path: Path, *, broken: str, intact: str | None = None) -> None:
    """Damage one data block of a closed state DB so that it still opens but ``broken`` no longer reads back
    (a checksum error, as after a torn write or a bad disk), while ``intact`` (when given) still does.

    The block is searched for rather than assumed, so a DuckDB upgrade that moves tables around fails here, loudly.
    """
    original = path.read_bytes()
    blocks = (len(original) - _DUCKDB_HEADERS) // _DUCKDB_BLOCK
    for block in range(1, blocks):  # block 0 holds the catalog: damaging it makes the file fail to open at all
        data = bytearray(original)
        _damage_block(data, block)
        path.write_bytes(bytes(data))
        if not _reads(path, broken) and (intact is None or _reads(path, intact)):
            return
    path.write_bytes(original)
    raise AssertionError(f"no single damaged block breaks {broken!r} and spares {intact!r}: the layout changed")


@pytest.fixture
def damage_db() -> Callable[..., None]:
    return damage_state_db


class MarkdownBash:
    """Docs-as-tests: the ```bash blocks of a Markdown text, and the commands they show."""

    FENCE = re.compile(r"^( *)```bash\n(.*?)^\1```", re.DOTALL | re.MULTILINE)

    @classmethod
    def blocks(cls, text: str) -> list[str]:
        return [body for _, body in cls.FENCE.findall(text)]

    @classmethod
    def commands(cls, text: str) -> list[str]:
        """One per logical line (``\\`` continuations joined), comments and blank lines left out."""
        commands: list[str] = []
        for indent, body in cls.FENCE.findall(text):
            joined = re.sub(r"\\\n\s*", " ", "\n".join(line.removeprefix(indent) for line in body.splitlines()))
            commands += [c.strip() for c in joined.splitlines() if c.strip() and not c.lstrip().startswith("#")]
        return commands


@pytest.fixture
def markdown_bash() -> type[MarkdownBash]:
    """MarkdownBash for test modules (they cannot import conftest under --import-mode=importlib)."""
    return MarkdownBash
