"""The single-instance lock: one ``run``/``canary`` per (state DB path, account scope).

An exclusive ``flock`` on ``<db>.<scope>.lock`` (the holder's PID written inside). The kernel drops the
lock when the holder's file descriptor closes, including when the process is SIGKILLed, so a dead holder
never leaves a stale lock; the file itself is left in place on purpose (unlinking it would let two
processes lock two different inodes under the same name).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from pathlib import Path
from types import TracebackType

from btcbot.errors import InstanceLockHeld, StateStoreUnavailable

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
# A doctor's probe holds a shared lock for microseconds; a short retry keeps it from failing a starting run.
_ACQUIRE_GRACE_S = 0.2


def lock_path_for(db_path: str | os.PathLike[str], scope: str) -> Path:
    db = Path(db_path).expanduser().resolve()
    safe_scope = _UNSAFE.sub("_", scope) or "default"
    return db.with_name(f"{db.name}.{safe_scope}.lock")


def _read_pid(fd: int) -> int | None:
    try:
        raw = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(raw) if raw.isdigit() else None


class InstanceLock:
    """``with InstanceLock(settings.state_db_path, settings.resolved_account_scope): ...``"""

    def __init__(self, db_path: str | os.PathLike[str], scope: str, *, grace_s: float = _ACQUIRE_GRACE_S) -> None:
        self.path = lock_path_for(db_path, scope)
        self.scope = scope
        self._grace_s = grace_s
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise InstanceLockHeld naming the lock file and the holder's PID."""
        if self._fd is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise StateStoreUnavailable(
                f"cannot create the instance lock file {self.path}: {exc.strerror or exc.__class__.__name__}; "
                "STATE_DB_PATH must be in a writable directory"
            ) from None
        deadline = time.monotonic() + self._grace_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_pid(fd)
                    os.close(fd)
                    record_contention(self.path, self.scope, holder)
                    raise InstanceLockHeld(str(self.path), holder) from None
                time.sleep(0.01)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            # Clear the PID first so a reader never sees a dead holder's PID next to a free lock.
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"InstanceLock({str(self.path)!r}, held={self.held})"


def lock_status(db_path: str | os.PathLike[str], scope: str) -> tuple[bool, int | None]:
    """Probe without taking the lock for longer than a moment: (held, holder PID if known)."""
    path = lock_path_for(db_path, scope)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False, None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True, _read_pid(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False, None
    finally:
        os.close(fd)


# Contention is evidence the operator needs (runbook: lock contention aborts stage 0), but a refused instance
# must not open the state DB, which belongs to the holder. It leaves one line in a small file beside the lock.
_CONTENTION_MAX_BYTES = 256 * 1024


def contention_path_for(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name + ".contention.jsonl")


def record_contention(lock_path: Path, scope: str, holder_pid: int | None) -> None:
    """Best effort: a refused start never fails for want of this record."""
    path = contention_path_for(lock_path)
    line = json.dumps(
        {"ts_ms": time.time_ns() // 1_000_000, "scope": scope, "pid": os.getpid(), "holder_pid": holder_pid}
    )
    try:
        if path.exists() and path.stat().st_size > _CONTENTION_MAX_BYTES:
            path.write_text("", encoding="utf-8")  # bounded: old contention is not worth unbounded growth
        with path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    except OSError:
        pass


def read_contention(db_path: str | os.PathLike[str]) -> list[dict[str, object]]:
    """Every recorded refusal for any scope of this DB, oldest first; unreadable lines are skipped."""
    db = Path(db_path).expanduser().resolve()
    events: list[dict[str, object]] = []
    for path in sorted(db.parent.glob(f"{db.name}.*.lock.contention.jsonl")):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(event, dict) and isinstance(event.get("ts_ms"), int):
                events.append(event)
    return sorted(events, key=lambda e: int(str(e["ts_ms"])))
