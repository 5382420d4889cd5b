"""Crash detection and periodic snapshots of an open project.

The store commits every edit at once, so nothing typed is ever only in memory. What can
go wrong is a crash in the middle of a bad series of edits, or a damaged database. So:

* on open, ``cache/studio.lock`` is written (with the pid); a clean close removes it.
  Finding it on open means the last session did not close cleanly → offer recovery.
* every ``interval_ms`` (and on Save) the database is copied with SQLite's online backup
  to ``cache/autosave/project.db`` when something changed since the last snapshot; the
  copy is made on the studio's background thread (``studio.background``), never the UI's.
* "Restore snapshot" replaces project.db with that copy (the current one is kept as
  ``cache/autosave/project.before-restore.db``). Media files are content-addressed and
  never deleted, so the snapshot's references still resolve.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer

from studio.background import shared_reader

LOCK_NAME = "studio.lock"
SNAPSHOT_DIR = "autosave"
SNAPSHOT_NAME = "project.db"


def lock_path(root: Path) -> Path:
    return Path(root) / "cache" / LOCK_NAME


def snapshot_path(root: Path) -> Path:
    return Path(root) / "cache" / SNAPSHOT_DIR / SNAPSHOT_NAME


def lock_owner(root: Path) -> int | None:
    """The pid written in the lock file, or None (no lock, or unreadable)."""
    try:
        return int(lock_path(root).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    return True


def open_elsewhere(root: Path) -> int | None:
    """The pid of another running process holding the project's lock, else None."""
    pid = lock_owner(root)
    if pid is None or pid == os.getpid() or not _alive(pid):
        return None
    return pid


def crashed_before(root: Path) -> bool:
    """True when a previous studio session left its lock file behind (and is gone)."""
    return lock_path(root).is_file() and open_elsewhere(root) is None


def has_snapshot(root: Path) -> bool:
    return snapshot_path(root).is_file()


def acquire(root: Path) -> None:
    path = lock_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(os.getpid()), encoding="utf-8")


def release(root: Path) -> None:
    lock_path(root).unlink(missing_ok=True)


def write_snapshot(db_path: Path, root: Path) -> Path:
    """Copy the live database consistently (SQLite backup API) into cache/autosave/."""
    target = snapshot_path(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(db_path)
    dst = sqlite3.connect(tmp)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    os.replace(tmp, target)
    return target


def restore_snapshot(root: Path) -> bool:
    """Replace the (closed) project's database with the last snapshot. False if none."""
    root = Path(root)
    snap = snapshot_path(root)
    if not snap.is_file():
        return False
    db = root / "project.db"
    if db.is_file():
        shutil.copy2(db, snap.with_name("project.before-restore.db"))
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    shutil.copy2(snap, db)
    return True


class Autosave(QObject):
    """Holds the lock of an open project and snapshots it on a timer when it changed."""

    def __init__(self, store: Any, interval_ms: int = 60_000,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.root = Path(store.root)
        self.changed_since_snapshot = False
        self.snapshots = 0
        self.pending = 0  # snapshots queued on the background thread, not written yet
        self._lock = threading.Lock()
        acquire(self.root)
        self._unsubscribe = store.subscribe(self._on_change)
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.tick)
        self.timer.start()

    def _on_change(self, _changes: list[Any]) -> None:
        self.changed_since_snapshot = True  # may run on a worker thread: just a flag

    def tick(self) -> None:
        """The timer's snapshot, when something changed (checked and written off the UI
        thread); ``snapshots`` counts the copies written."""
        if self.pending:
            return
        self._count(+1)

        def work() -> None:
            try:
                if self.changed_since_snapshot or not has_snapshot(self.root):
                    self._write()
            finally:
                self._count(-1)

        shared_reader().submit(work)

    def snapshot(self) -> Path:
        """Queue a snapshot now (Save); returns where it is written."""
        self._count(+1)

        def work() -> None:
            try:
                self._write()
            finally:
                self._count(-1)

        shared_reader().submit(work)
        return snapshot_path(self.root)

    def _count(self, step: int) -> None:
        with self._lock:
            self.pending += step

    def _write(self) -> None:  # on the background thread
        self.changed_since_snapshot = False  # a change from here on makes the next one
        write_snapshot(self.store.db_path, self.root)
        self.snapshots += 1

    def close(self) -> None:
        """A clean close: stop the timer, drop the lock."""
        self.timer.stop()
        try:
            self._unsubscribe()
        except ValueError:
            pass
        release(self.root)
