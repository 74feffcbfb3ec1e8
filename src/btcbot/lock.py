"""The single-instance lock: one ``run``/``canary`` per account scope on this host (for this user).

An exclusive ``flock`` on ``<LOCK_DIR>/<scope key>.lock``. The name depends on the account scope alone, never on
the working directory or STATE_DB_PATH: two directories, two DB files, a hard link to the DB or two API keys of
one account all meet at the same file. The holder writes its PID and resolved STATE_DB_PATH inside, so a refused
instance can say which one to stop. The kernel drops the lock when the holder's file descriptor closes, including
on SIGKILL, so a dead holder never leaves a stale lock; the file itself is left in place on purpose (unlinking
it would let two processes lock two different inodes under the same name). Another host is out of reach of any
local lock: the start-up venue check (``btcbot.runtime.foreign_orders``) covers it.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from btcbot.domain.account_scope import scope_key
from btcbot.errors import InstanceLockHeld, StateStoreUnavailable
from btcbot.storage.paths import resolve_db_path

if TYPE_CHECKING:
    from btcbot.settings import Settings

# A doctor's probe holds a shared lock for microseconds; a short retry keeps it from failing a starting run.
_ACQUIRE_GRACE_S = 0.2
_HOLDER_MAX_BYTES = 4096


def lock_path_for(lock_dir: str | os.PathLike[str], scope: str) -> Path:
    """The lock file of an account scope; ``scope_key`` makes ``pilot-1`` and ``pilot1`` the same file."""
    return Path(lock_dir).expanduser() / f"{scope_key(scope)}.lock"


def _lock_file_problem(path: Path, exc: OSError, where: str, verb: str) -> str:
    """Why the lock file cannot be opened, with what to do about it."""
    if path.is_symlink():
        # The holder truncates the file and writes its PID: through a link that would overwrite another file.
        return f"the instance lock file {path} is a symbolic link; remove it (btcbot never writes through a link)"
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        return f"cannot {verb} the instance lock file {path}: {path.parent} is not a directory; {where} must be one"
    reason = exc.strerror or exc.__class__.__name__
    return f"cannot {verb} the instance lock file {path}: {reason}; {where} must be writable"


def _read_holder(fd: int) -> tuple[int | None, str | None]:
    """(PID, STATE_DB_PATH) as the holder wrote them; either may be unknown."""
    try:
        lines = os.pread(fd, _HOLDER_MAX_BYTES, 0).decode("utf-8", "replace").splitlines()
    except OSError:
        return None, None
    pid = int(lines[0].strip()) if lines and lines[0].strip().isdigit() else None
    db = lines[1].strip() if len(lines) > 1 and lines[1].strip() else None
    return pid, db


class InstanceLock:
    """``with InstanceLock.for_settings(settings): ...`` (``for_scope`` / ``for_output_db`` for the other uses)."""

    def __init__(
        self,
        path: Path,
        *,
        scope: str | None = None,
        state_db_path: str | os.PathLike[str] | None = None,
        grace_s: float = _ACQUIRE_GRACE_S,
        record_refusal: bool = True,
    ) -> None:
        self.path = path
        # A refused trading instance is evidence of a duplicate launch (stage7-alerts reports it); an operator's
        # clean-up refused because a run holds the scope is not, and says so on its own terminal.
        self._record_refusal = record_refusal
        self.scope = scope
        self._db = str(state_db_path) if state_db_path is not None else ""  # shown to a refused instance
        self._grace_s = grace_s
        self._fd: int | None = None

    @classmethod
    def for_scope(
        cls,
        lock_dir: str | os.PathLike[str],
        scope: str,
        *,
        state_db_path: str | os.PathLike[str] | None = None,
        grace_s: float = _ACQUIRE_GRACE_S,
    ) -> InstanceLock:
        """One trading instance per account scope in ``lock_dir``."""
        return cls(lock_path_for(lock_dir, scope), scope=scope_key(scope), state_db_path=state_db_path, grace_s=grace_s)

    @classmethod
    def for_settings(
        cls, settings: Settings, *, grace_s: float = _ACQUIRE_GRACE_S, record_refusal: bool = True
    ) -> InstanceLock:
        """The lock of this configuration's account scope: the one way a trading command builds it."""
        return cls(
            lock_path_for(settings.lock_dir, settings.resolved_account_scope),
            scope=scope_key(settings.resolved_account_scope),
            state_db_path=settings.state_db_file,
            grace_s=grace_s,
            record_refusal=record_refusal,
        )

    @classmethod
    def for_output_db(cls, db_path: str | os.PathLike[str], *, grace_s: float = _ACQUIRE_GRACE_S) -> InstanceLock:
        """One writer of a DB that is an output, not an account (a replay's): ``<db>.lock`` beside it.

        A replay trades no account, so it must neither wait for nor block the live instance of its scope.
        """
        db = resolve_db_path(db_path)
        return cls(db.with_name(db.name + ".lock"), state_db_path=db, grace_s=grace_s)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise InstanceLockHeld naming the lock file, the holder's PID and its DB."""
        if self._fd is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            where = "LOCK_DIR" if self.scope is not None else "the DB's directory"
            raise StateStoreUnavailable(_lock_file_problem(self.path, exc, where, "create")) from None
        deadline = time.monotonic() + self._grace_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder, holder_db = _read_holder(fd)
                    os.close(fd)
                    if self.scope is not None and self._record_refusal:
                        record_contention(self.path, self.scope, holder, self._db, holder_db)
                    raise InstanceLockHeld(str(self.path), holder, self.scope, holder_db) from None
                time.sleep(0.01)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n{self._db}\n".encode(), 0)
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


def lock_status(lock_dir: str | os.PathLike[str], scope: str) -> tuple[bool, int | None]:
    """Probe without taking the lock for longer than a moment: (held, holder PID if known)."""
    path = lock_path_for(lock_dir, scope)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False, None
    except OSError as exc:
        raise StateStoreUnavailable(_lock_file_problem(path, exc, "LOCK_DIR", "read")) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True, _read_holder(fd)[0]
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False, None
    finally:
        os.close(fd)


# Contention is evidence the operator needs (runbook: lock contention aborts stage 0), but a refused instance
# must not open the state DB, which belongs to the holder. It leaves one line in a small file beside the lock.
_CONTENTION_MAX_BYTES = 256 * 1024


def contention_path_for(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name + ".contention.jsonl")


def record_contention(
    lock_path: Path, scope: str, holder_pid: int | None, db: str = "", holder_db: str | None = None
) -> None:
    """Best effort: a refused start never fails for want of this record."""
    path = contention_path_for(lock_path)
    line = json.dumps(
        {
            "ts_ms": time.time_ns() // 1_000_000,
            "scope": scope,
            "pid": os.getpid(),
            "holder_pid": holder_pid,
            "state_db_path": db or None,
            "holder_state_db_path": holder_db,
        }
    )
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW  # never through a link
    try:
        if path.exists() and path.stat().st_size > _CONTENTION_MAX_BYTES:
            flags |= os.O_TRUNC  # bounded: old contention is not worth unbounded growth
        with os.fdopen(os.open(path, flags, 0o644), "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    except OSError:
        pass


def read_contention(lock_dir: str | os.PathLike[str], scope: str) -> list[dict[str, object]]:
    """Every recorded refusal of a second instance for this account scope, oldest first; bad lines are skipped."""
    path = contention_path_for(lock_path_for(lock_dir, scope))
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    events: list[dict[str, object]] = []
    for line in lines:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict) and isinstance(event.get("ts_ms"), int):
            events.append(event)
    return sorted(events, key=lambda e: int(str(e["ts_ms"])))
