"""The market-data dataset file: format version 1, JSON lines, optionally gzip-compressed.

Line 1 is a header object; every further line is one market-data event as a compact 7-element array, so the
replay loop decodes thousands of events with one ``json.loads`` call::

    {"format": "btcbot.marketdata", "version": 1, "source": "ws", "symbols": ["BTCTRY"],
     "recorded_from": "ws://127.0.0.1:5001", "started_ms": 1790000000000,
     "exchange_info": {"BTCTRY": {<the symbol's exchangeinfo entry, as the venue sent it>}},
     "fields": ["type", "recv_ms", "exch_ms", "symbol", "cs", "bids", "asks"]}
    [431, 1790000000123, null, "BTCTRY", 17, [["3842925", "0.012"], ...], [["3844704", "0.02"], ...]]
    [432, 1790000000883, null, "BTCTRY", 18, [["3842925", "0.005", 0]], [["3844710", "0", 3]]]

``type`` 431 is a full book (bids best first, asks best first), 432 a difference whose levels carry BTCTurk's
change type (0 update, 1 new, 3 removed). ``recv_ms`` is the local wall clock when the frame arrived and never
decreases; ``exch_ms`` is the venue's own timestamp (REST snapshots) or null (WebSocket frames carry none).
Prices and amounts are decimal strings, exactly as the venue sent them.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import IO, Any, Final

from btcbot.errors import UsageError

FORMAT_NAME: Final = "btcbot.marketdata"
FORMAT_VERSION: Final = 1
FIELDS: Final = ("type", "recv_ms", "exch_ms", "symbol", "cs", "bids", "asks")
FULL_BOOK: Final = 431
DIFF: Final = 432
CHANGE_UPDATE: Final = 0
CHANGE_NEW: Final = 1
CHANGE_REMOVE: Final = 3
_CHANGE_TYPES: Final = frozenset({CHANGE_UPDATE, CHANGE_NEW, CHANGE_REMOVE})

# The dataset shipped inside the package; ``--dataset`` defaults to it and accepts its name.
SHIPPED_DATASET: Final = "sim-btctry"
_SHIPPED_FILES: Final = {SHIPPED_DATASET: "sim_btctry.jsonl.gz"}

_CHUNK_BYTES: Final = 1 << 20

Event = list[Any]  # [type, recv_ms, exch_ms, symbol, cs, bids, asks]


class _Bad(Exception):
    """An event failed the fast check; ``_explain`` says why."""


class DatasetError(UsageError):
    """The dataset file is missing or malformed; the message names the file and the problem (exit 2)."""


@dataclass(frozen=True, slots=True)
class DatasetHeader:
    path: str
    source: str
    symbols: tuple[str, ...]
    recorded_from: str
    started_ms: int
    exchange_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "source": self.source,
            "symbols": list(self.symbols),
            "recorded_from": self.recorded_from,
            "started_ms": self.started_ms,
            "exchange_info": self.exchange_info,
            "fields": list(FIELDS),
            **self.extra,
        }


def resolve_dataset(dataset: str | None) -> Path:
    """A file path, or the name of a shipped dataset (``None`` means the default shipped one)."""
    name = dataset or SHIPPED_DATASET
    if name in _SHIPPED_FILES:
        ref = resources.files("btcbot.data").joinpath(_SHIPPED_FILES[name])
        return Path(str(ref))
    return Path(name).expanduser()


def _open_text(path: Path) -> IO[str]:
    try:
        raw = path.open("rb")
    except FileNotFoundError:
        raise DatasetError(
            f"dataset {path}: file not found; pass --dataset PATH of a recorded file or the shipped "
            f"name {SHIPPED_DATASET!r}"
        ) from None
    except OSError as exc:
        raise DatasetError(f"dataset {path}: cannot open it ({exc.strerror or exc.__class__.__name__})") from None
    magic = raw.peek(2)[:2] if isinstance(raw, io.BufferedReader) else b""
    stream = gzip.GzipFile(fileobj=raw, mode="rb") if magic == b"\x1f\x8b" else raw
    return io.TextIOWrapper(stream, encoding="utf-8", newline="\n")


def _parse_header(path: Path, line: str) -> DatasetHeader:
    where = f"dataset {path}: line 1 (header)"
    if not line.strip():
        raise DatasetError(f"dataset {path}: empty file; expected a {FORMAT_NAME} header on line 1")
    try:
        obj = json.loads(line)
    except ValueError:
        raise DatasetError(f"{where}: not JSON; expected a {FORMAT_NAME} header object") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT_NAME:
        raise DatasetError(f'{where}: not a {FORMAT_NAME} header (missing or wrong "format")')
    version = obj.get("version")
    if version != FORMAT_VERSION:
        raise DatasetError(
            f"{where}: unsupported format version {version!r}; this btcbot reads version {FORMAT_VERSION}"
        )
    missing = [k for k in ("source", "symbols", "recorded_from", "started_ms") if k not in obj]
    if missing:
        raise DatasetError(f"{where}: missing field(s) {', '.join(missing)}")
    symbols = obj["symbols"]
    if not isinstance(symbols, list) or not symbols or not all(isinstance(s, str) and s for s in symbols):
        raise DatasetError(f'{where}: "symbols" must be a non-empty list of symbol names')
    info = obj.get("exchange_info") or {}
    if not isinstance(info, dict):
        raise DatasetError(f'{where}: "exchange_info" must be an object keyed by symbol')
    if not isinstance(obj["started_ms"], int):
        raise DatasetError(f'{where}: "started_ms" must be an integer (ms)')
    known = {"format", "version", "source", "symbols", "recorded_from", "started_ms", "exchange_info", "fields"}
    return DatasetHeader(
        path=str(path),
        source=str(obj["source"]),
        symbols=tuple(symbols),
        recorded_from=str(obj["recorded_from"]),
        started_ms=obj["started_ms"],
        exchange_info=info,
        extra={k: v for k, v in obj.items() if k not in known},
    )


class DatasetReader:
    """Streams a dataset's events in chunks, validating as it goes; errors name the file and the line."""

    def __init__(self, dataset: str | Path | None) -> None:
        self.path = dataset if isinstance(dataset, Path) else resolve_dataset(dataset)
        self._fh = _open_text(self.path)
        try:
            first = self._fh.readline()
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            self._fh.close()
            raise DatasetError(f"dataset {self.path}: cannot read it ({exc.__class__.__name__})") from None
        try:
            self.header = _parse_header(self.path, first)
        except DatasetError:
            self._fh.close()
            raise
        self._symbols = frozenset(self.header.symbols)
        self._line_no = 1
        self._last_recv = -1
        self.events_read = 0

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> DatasetReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def chunks(self) -> Iterator[list[Event]]:
        """Validated events, a chunk (about 1 MiB of text) at a time, in file order."""
        # A block split on newlines, not readlines(): that checks the stream per line, a tenth of the decode time.
        rest = ""
        try:
            while True:
                block = self._fh.read(_CHUNK_BYTES)
                if not block:
                    if rest:
                        yield self._decode([rest])
                    return
                lines = (rest + block).split("\n")
                rest = lines.pop()  # the partial last line (or "" after a final newline) starts the next block
                if lines:
                    yield self._decode(lines)
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise DatasetError(
                f"dataset {self.path}: cannot read past line {self._line_no} ({exc.__class__.__name__}: "
                "truncated or corrupt file?)"
            ) from None
        finally:
            self._fh.close()

    def _decode(self, lines: list[str]) -> list[Event]:
        # Blank lines are tolerated; everything else must be an event array. all(map(...)) runs in C.
        blank = not all(map(str.strip, lines))
        body = [ln for ln in lines if ln.strip()] if blank else lines
        try:
            events = json.loads("[" + ",".join(body) + "]")
        except ValueError:
            events = None
        if events is None or len(events) != len(body):
            self._raise_bad_json(lines)
        self._validate(lines, events, blank)
        return events  # type: ignore[no-any-return]

    def _raise_bad_json(self, lines: list[str]) -> None:
        for offset, ln in enumerate(lines, start=1):
            if not ln.strip():
                continue
            try:
                json.loads(ln)
            except json.JSONDecodeError as exc:
                raise DatasetError(
                    f"dataset {self.path}: line {self._line_no + offset}: bad JSON ({exc.msg})"
                ) from None
        raise DatasetError(f"dataset {self.path}: near line {self._line_no + 1}: bad JSON")

    def _validate(self, lines: list[str], events: list[Any], blank: bool) -> None:
        """Check every event; the common (valid) case is one tight loop, a bad event gets the precise message."""
        line_no = self._line_no
        last = self._last_recv
        symbols = self._symbols
        change_types = _CHANGE_TYPES
        numbers = [i for i, ln in enumerate(lines, start=line_no + 1) if ln.strip()] if blank else None
        i = 0
        try:
            for i, ev in enumerate(events):  # noqa: B007 - i names the bad line afterwards
                if type(ev) is not list or len(ev) != 7:
                    raise _Bad
                kind, recv, exch, sym, cs, bids, asks = ev
                if type(recv) is not int or recv < last or sym not in symbols:
                    raise _Bad
                if type(bids) is not list or type(asks) is not list:
                    raise _Bad
                if kind == DIFF:
                    for lv in bids:
                        if type(lv) is not list or len(lv) != 3 or type(lv[0]) is not str or type(lv[1]) is not str:
                            raise _Bad
                        if lv[2] not in change_types:
                            raise _Bad
                    for lv in asks:
                        if type(lv) is not list or len(lv) != 3 or type(lv[0]) is not str or type(lv[1]) is not str:
                            raise _Bad
                        if lv[2] not in change_types:
                            raise _Bad
                elif kind == FULL_BOOK:
                    for lv in bids:
                        if type(lv) is not list or len(lv) != 2 or type(lv[0]) is not str or type(lv[1]) is not str:
                            raise _Bad
                    for lv in asks:
                        if type(lv) is not list or len(lv) != 2 or type(lv[0]) is not str or type(lv[1]) is not str:
                            raise _Bad
                else:
                    raise _Bad
                if (exch is not None and type(exch) is not int) or (cs is not None and type(cs) is not int):
                    raise _Bad
                last = recv
        except (_Bad, TypeError):  # TypeError: an unhashable symbol, say; the precise check names it
            pass
        else:
            self._last_recv = last
            self._line_no = line_no + len(lines)
            self.events_read += len(events)
            return
        n = numbers[i] if numbers is not None else line_no + 1 + i
        self._explain(events[i], n, last)

    def _explain(self, ev: Any, n: int, last: int) -> None:
        """Raise the DatasetError that says what is wrong with event ``ev`` on line ``n``."""
        where = f"dataset {self.path}: line {n}"
        if type(ev) is not list or len(ev) != 7:
            raise DatasetError(f"{where}: expected an event array of 7 fields ({', '.join(FIELDS)})")
        kind, recv, exch, sym, cs, _bids, _asks = ev
        if kind != FULL_BOOK and kind != DIFF:
            raise DatasetError(f"{where}: unknown event type {kind!r} (expected 431 or 432)")
        if type(recv) is not int:
            raise DatasetError(f"{where}: missing or non-integer recv_ms")
        if recv < last:
            raise DatasetError(f"{where}: non-monotonic timestamps (recv_ms {recv} < previous {last})")
        if not isinstance(sym, str) or sym not in self._symbols:
            listed = ", ".join(sorted(self._symbols))
            raise DatasetError(f"{where}: unknown symbol {sym!r} (header lists {listed})")
        if exch is not None and type(exch) is not int:
            raise DatasetError(f"{where}: exch_ms must be an integer or null")
        if cs is not None and type(cs) is not int:
            raise DatasetError(f"{where}: cs must be an integer or null")
        shape = "[price, amount, change]" if kind == DIFF else "[price, amount]"
        raise DatasetError(f"{where}: missing or malformed book levels (each must be {shape} with decimal strings)")


def read_header(dataset: str | Path | None) -> DatasetHeader:
    with DatasetReader(dataset) as reader:
        return reader.header


class DatasetWriter:
    """Appends events to a dataset file (gzip when the name ends in .gz); writes the header first."""

    def __init__(self, path: Path, header: DatasetHeader) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = (
            gzip.open(path, "wb", compresslevel=6)  # noqa: SIM115 - closed by close()
            if path.suffix == ".gz"
            else path.open("wb")
        )
        self._fh = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
        self._fh.write(json.dumps(header.to_json(), separators=(",", ":"), sort_keys=True) + "\n")
        self.path = path
        self.events = 0
        self._last_recv = -1

    def write(self, event: Event) -> None:
        # Receive stamps must never go backwards, even if the wall clock steps: replay relies on it.
        if event[1] < self._last_recv:
            event = [event[0], self._last_recv, *event[2:]]
        self._last_recv = event[1]
        self._fh.write(json.dumps(event, separators=(",", ":")) + "\n")
        self.events += 1

    def flush(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()
