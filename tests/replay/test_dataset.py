"""The dataset format: round trip, and a clear error (file + problem) for every malformed input."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from btcbot.cli import main
from btcbot.replay.dataset import FORMAT_NAME, DatasetError, DatasetReader, read_header, resolve_dataset

from .conftest import diff, full, header


def _events(path: Path) -> list[list[Any]]:
    with DatasetReader(path) as reader:
        return [ev for chunk in reader.chunks() for ev in chunk]


def test_round_trip_gzip_and_plain(write_dataset: Callable[..., Path]) -> None:
    evs = [full(0), diff(100, 2, bids=[["3000500", "0.1", 1]]), diff(200, 3, asks=[["3001000", "0", 3]])]
    for name in ("a.jsonl.gz", "a.jsonl"):
        path = write_dataset(evs, name)
        assert _events(path) == evs
        assert read_header(path).symbols == ("BTCTRY",)


def _raw(tmp_path: Path, lines: list[str], name: str = "bad.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(ln + "\n" for ln in lines))
    return path


def _hdr() -> str:
    return json.dumps(header().to_json())


@pytest.mark.parametrize(
    ("lines", "needle"),
    [
        ([], "empty file"),
        (["not json"], "line 1 (header): not JSON"),
        ([json.dumps({"format": "other"})], "not a btcbot.marketdata header"),
        ([json.dumps({**header().to_json(), "version": 99})], "unsupported format version 99"),
        ([json.dumps({"format": FORMAT_NAME, "version": 1})], "missing field(s) source, symbols"),
        ([_hdr(), json.dumps(full(0)), "{oops"], "line 3: bad JSON"),
        ([_hdr(), json.dumps(full(0)), json.dumps([431, 1])], "line 3: expected an event array of 7 fields"),
        ([_hdr(), json.dumps(full(100)), json.dumps(full(50, cs=2))], "line 3: non-monotonic timestamps"),
        ([_hdr(), json.dumps([431, 5, None, "DOGETRY", 1, [], []])], "line 2: unknown symbol 'DOGETRY'"),
        ([_hdr(), json.dumps([431, None, None, "BTCTRY", 1, [], []])], "line 2: missing or non-integer recv_ms"),
        ([_hdr(), json.dumps([431, 5, None, "BTCTRY", 1, [["1"]], []])], "line 2: missing or malformed book levels"),
        ([_hdr(), json.dumps([432, 5, None, "BTCTRY", 1, [["1", "2", 7]], []])], "malformed book levels"),
        ([_hdr(), json.dumps([999, 5, None, "BTCTRY", 1, [], []])], "unknown event type 999"),
    ],
)
def test_malformed_dataset_names_file_and_problem(tmp_path: Path, lines: list[str], needle: str) -> None:
    path = _raw(tmp_path, lines)
    with pytest.raises(DatasetError) as info:
        _events(path)
    assert needle in str(info.value)
    assert str(path) in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="file not found"):
        DatasetReader(tmp_path / "nope.jsonl")


def test_truncated_gzip_is_a_clear_error(tmp_path: Path, write_dataset: Callable[..., Path]) -> None:
    good = write_dataset([full(i * 10, cs=1) for i in range(2000)])
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(DatasetError, match=r"cut\.jsonl\.gz"):
        _events(cut)


def test_cli_exit_2_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _raw(tmp_path, [_hdr(), "[431,"])
    code = main(["replay", "--dataset", str(bad), "--db", str(tmp_path / "r.db")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"dataset {bad}: line 2: bad JSON" in err
    assert "Traceback" not in err


def test_shipped_dataset_resolves_and_is_small() -> None:
    path = resolve_dataset(None)
    assert path.is_file()
    assert path.stat().st_size < 400_000
    with gzip.open(path, "rt") as fh:
        assert json.loads(fh.readline())["format"] == FORMAT_NAME


def test_synthetic_drift_moves_the_whole_book_and_keeps_it_well_formed(tmp_path: Path) -> None:
    from btcbot.replay.market import RecordedMarket
    from btcbot.replay.synthetic import write_synthetic

    path = tmp_path / "drift.jsonl.gz"
    write_synthetic(path, events=5000, drift=0.5, interval_ms=10, start_ms=0)
    market = RecordedMarket(DatasetReader(path))
    mids = set()
    for t in range(0, 50_000, 500):
        market.advance_to(t)
        book = market.books["BTCTRY"]
        bid, ask = max(map(int, book.bids)), min(map(int, book.asks))
        assert (ask - bid, len(book.bids), len(book.asks), book.broken) == (200, 20, 20, False)
        mids.add((bid + ask) // 2)
    assert len(mids) > 10
