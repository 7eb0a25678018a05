"""One tag writer at a time per library database, across processes and threads.

A write or undo batch holds an exclusive lock on a file next to the database
(``library.sqlite3.write-lock``) from reading the files' old values to recording their
new size/mtime, so two batches never interleave (a file written twice, a stale stored
identity, undo picking the wrong batch). The lock is an OS file lock (``flock``; on
Windows ``msvcrt.locking``): it is released when the holder closes it or dies, so a
killed writer never leaves the library locked. The lock file itself is left in place.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from tagger.core.errors import StoreError
from tagger.core.progress import CancelToken

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

log = logging.getLogger(__name__)

#: How often a blocked :meth:`WriteLock.acquire` tries again.
POLL_S = 0.2


class WriteLock:
    """The write lock of the database at ``db_path``; not re-entrant (one per batch)."""

    def __init__(self, db_path: str | Path) -> None:
        self.path = Path(f"{db_path}.write-lock")
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; False (at once) if another writer holds it."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this WriteLock")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot open the write lock {self.path}: {exc.strerror}") from exc
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def acquire(self, waiting: str, cancel: CancelToken | None = None) -> bool:
        """Take the lock, waiting while another holder has it (``waiting`` is logged once,
        as a warning); False if ``cancel`` is set first."""
        if self.try_acquire():
            return True
        log.warning("%s (%s)", waiting, self.path)
        while not self.try_acquire():
            if cancel is not None and cancel.cancelled:
                return False
            time.sleep(POLL_S)
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if fcntl is None:
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        finally:
            os.close(fd)  # closing releases a flock
