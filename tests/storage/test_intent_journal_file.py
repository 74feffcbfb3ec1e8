"""The intent journal as a file, without a store: its name, its line format, who owns it, and when it may go."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from btcbot.storage import intent_journal
from btcbot.storage.intent_journal import (
    IntentJournal,
    claim_orphan,
    find_journals,
    journal_path_for,
    new_owner,
    owner_alive,
    read_journal,
)

ROW = {
    "client_order_id": "btcbot-s-1",
    "price": Decimal("3000000.50"),
    "quantity": Decimal("0.00005000"),
    "created_at": datetime(2026, 11, 24, 12, 0, 0, 123000, tzinfo=UTC),
    "acked_at": None,
    "cycle_id": 3,
    "status": "INTENT",
}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


def test_one_journal_per_owner_beside_the_db(db: Path) -> None:
    assert journal_path_for(db, "123-ab") == db.with_name("state.db.intents.123-ab.jsonl")
    for name in ("state.db.intents.b.jsonl", "state.db.intents.a.jsonl", "other.db.intents.c.jsonl", "state.db"):
        (db.parent / name).write_text("")
    (db.parent / "state.db.intents.d.jsonl.bak").write_text("")
    assert find_journals(db) == [db.with_name("state.db.intents.a.jsonl"), db.with_name("state.db.intents.b.jsonl")]


def test_an_owner_is_the_pid_and_randomness() -> None:
    owner = new_owner()
    assert re.fullmatch(rf"{os.getpid()}-[0-9a-f]{{8}}", owner)
    assert new_owner() != owner


def test_a_line_is_compact_json_with_exact_numbers_and_times(db: Path) -> None:
    journal = IntentJournal(journal_path_for(db, "o"))
    journal.append(ROW)
    assert journal.path.read_text() == (
        '{"client_order_id":"btcbot-s-1","price":{"$decimal":"3000000.50"},"quantity":{"$decimal":"0.00005000"},'
        '"created_at":{"$datetime":"2026-11-24T12:00:00.123000+00:00"},"acked_at":null,"cycle_id":3,'
        '"status":"INTENT"}\n'
    )
    (row,) = journal.read()
    assert row == ROW and str(row["quantity"]) == "0.00005000"
    journal.close()


def test_a_time_keeps_its_offset(db: Path) -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=3)))
    journal = IntentJournal(journal_path_for(db, "o"))
    journal.append({"client_order_id": "c", "at": at, "meta": {"plain": 1}})
    (row,) = journal.read()
    assert row == {"client_order_id": "c", "at": at, "meta": {"plain": 1}}
    assert row["at"].utcoffset() == timedelta(hours=3)
    journal.close()


def test_reading_skips_blank_torn_and_foreign_lines_and_says_which(db: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = journal_path_for(db, "o")
    lines = [
        json.dumps({"client_order_id": "a", "n": 1}),
        "",
        "   ",
        '{"client_order_id": "torn", "pri',
        json.dumps({"client_order_id": 5}),
        json.dumps(["client_order_id", "x"]),
        json.dumps({"status": "INTENT"}),
        json.dumps({"client_order_id": "b", "p": {"$decimal": "1.5"}}),
    ]
    path.write_text("\n".join(lines) + "\n")
    with caplog.at_level(logging.WARNING, logger=intent_journal.__name__):
        rows = read_journal(path)
    assert rows == [{"client_order_id": "a", "n": 1}, {"client_order_id": "b", "p": Decimal("1.5")}]
    assert [r.getMessage() for r in caplog.records] == [
        f"intent journal {path}: skipping unreadable line 4 (torn write?)"
    ]


def test_a_missing_journal_reads_as_empty(db: Path) -> None:
    assert read_journal(journal_path_for(db, "none")) == []


def test_the_writer_holds_its_journal_for_life_and_a_dead_ones_can_be_claimed(db: Path) -> None:
    path = journal_path_for(db, "o")
    assert not owner_alive(path)
    with claim_orphan(path) as claimed:
        assert claimed is False  # nothing to claim
    journal = IntentJournal(path)
    journal.append(ROW)
    assert owner_alive(path)
    with claim_orphan(path) as claimed:
        assert claimed is False  # its owner is alive
    journal.close()
    assert path.exists() and not owner_alive(path)  # an unflushed line stays for recovery
    with claim_orphan(path) as claimed:
        assert claimed is True
        assert owner_alive(path)  # held exclusively while claimed
    assert not owner_alive(path)


def test_the_journal_is_private_to_its_user(db: Path) -> None:
    journal = IntentJournal(journal_path_for(db, "o"))
    journal.append(ROW)
    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600
    journal.close()


def test_truncation_only_when_nothing_arrived_since_the_snapshot(db: Path) -> None:
    journal = IntentJournal(journal_path_for(db, "o"))
    assert journal.truncate_if_count(0)  # nothing written yet, nothing open
    journal.append(ROW)
    journal.append(ROW)
    assert journal.appended == 2
    assert not journal.truncate_if_count(1)
    assert not journal.truncate_if_count(3)
    assert len(journal.read()) == 2 and journal.appended == 2
    assert journal.truncate_if_count(2)
    assert journal.path.read_text() == "" and journal.appended == 0
    journal.append(ROW)
    assert journal.appended == 1 and len(journal.read()) == 1
    journal.close()


def test_a_drained_journal_is_deleted_on_close_and_close_is_idempotent(db: Path) -> None:
    journal = IntentJournal(journal_path_for(db, "o"))
    journal.close()
    assert not journal.path.exists()
    journal.append(ROW)
    assert journal.truncate_if_count(1)
    journal.close()
    assert not journal.path.exists()
    journal.close()


class _ShortWritingOs:
    """``os`` as the journal module sees it, except that a write stops one byte short."""

    def __getattr__(self, name: str) -> object:
        return getattr(os, name)

    @staticmethod
    def write(fd: int, data: bytes) -> int:
        return os.write(fd, data[:-1])


def test_close_keeps_a_journal_that_holds_lines_it_did_not_count(db: Path) -> None:
    journal = IntentJournal(journal_path_for(db, "o"))
    journal.append(ROW)
    assert journal.truncate_if_count(1)
    with journal.path.open("a") as fh:  # a line this object never appended: not provably drained
        fh.write(json.dumps({"client_order_id": "other"}) + "\n")
    journal.close()
    assert [r["client_order_id"] for r in read_journal(journal.path)] == ["other"]


def test_close_tolerates_a_drained_journal_already_removed(db: Path) -> None:
    journal = IntentJournal(journal_path_for(db, "o"))
    journal.append(ROW)
    assert journal.truncate_if_count(1)
    journal.path.unlink()
    journal.close()
    assert not journal.path.exists()


def test_a_short_write_is_an_error_not_a_silent_loss(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = IntentJournal(journal_path_for(db, "o"))
    monkeypatch.setattr(intent_journal, "os", _ShortWritingOs())
    with pytest.raises(OSError, match="short write to the intent journal"):
        journal.append(ROW)
    assert journal.appended == 0
    monkeypatch.undo()
    journal.close()
