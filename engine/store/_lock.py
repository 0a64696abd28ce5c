"""One run at a time per store: an exclusive `flock` on `<store>.lock`, holder written inside.

The kernel drops a `flock` when its process dies, even on SIGKILL, so a lock can never outlive its
run; the holder's PID and run id stay in the file only to name it in the second run's message and to
log that a killed run left a stale lock behind. The file is never deleted: unlinking a lock file
that another process has just opened would let two processes lock two different files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
from pathlib import Path
from typing import Any

from engine.errors import RunLockedError, file_system_error

__all__ = ["StoreLock", "lock_path"]


def lock_path(store: Path) -> Path:
    return store.with_name(store.name + ".lock")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


class StoreLock:
    """Exclusive lock of a store for one run.

    >>> with StoreLock(Path("out/mfr.duckdb"), run_id="r1") as lock:  # doctest: +SKIP
    ...     lock.stale_holder  # the holder a killed run left behind, if any
    """

    def __init__(self, store: Path, run_id: str) -> None:
        self.path = lock_path(store)
        self.store = store
        self.run_id = run_id
        self.stale_holder: dict[str, Any] | None = None
        self._fd: int | None = None

    def _read_holder(self, fd: int) -> dict[str, Any] | None:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = os.read(fd, 4096)
        try:
            holder = json.loads(raw) if raw.strip() else None
        except ValueError:
            return None
        return holder if isinstance(holder, dict) else None

    def acquire(self) -> StoreLock:
        """Take the lock; `RunLockedError` if another run holds it, `FileSystemError` (one line
        naming the lock file) if the folder cannot hold it: read-only, full, or not a folder."""
        try:
            return self._acquire()
        except OSError as exc:
            raise file_system_error(
                exc, path=self.path, consequence="could not lock the store; it was not touched"
            ) from None

    def _acquire(self) -> StoreLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._read_holder(fd) or {}
            os.close(fd)
            who = f"run {holder.get('run_id', '?')} (pid {holder.get('pid', '?')}"
            if holder.get("started_at"):
                who += f", started {holder['started_at']}"
            raise RunLockedError(
                f"store {self.store} is in use by {who}); "
                "wait for that run to finish, or use another --store",
                path=self.path,
            ) from None
        previous = self._read_holder(fd)
        if previous:
            # A clean release empties the file: a holder still written here was killed mid-run.
            pid = previous.get("pid")
            same_host = previous.get("host") == socket.gethostname()
            previous["alive"] = bool(same_host and isinstance(pid, int) and _pid_alive(pid))
            self.stale_holder = previous
        holder = {
            "run_id": self.run_id,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps(holder).encode())
            os.fsync(fd)
        except OSError as exc:  # a full disk: let go of the lock we took, name the file
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            raise OSError(exc.errno, exc.strerror, str(self.path)) from exc
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> StoreLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
