"""Is project.db intact? Checked on every open, before anything reads or migrates it.

``check_database`` runs SQLite's ``PRAGMA quick_check`` and reads every row of the
tables Storyreel reads, decoding each text as UTF-8 and checking each JSON column (no
domain objects: about 0.35 s CPU for a 72 MB, 10,000-scene project). A damaged file
fails here with one sentence instead of later with an SQL error half-way through.

``repair`` restores the newest backup that passes the same check (a pre-migration
``project.vN.….bak.db`` beside the database, or the studio's autosave snapshot in
``cache/autosave/``), after copying the damaged file aside; nothing is overwritten
without a copy.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from engine.errors import ProjectError, one_line

DB_NAME = "project.db"
AUTOSAVE = Path("cache") / "autosave" / DB_NAME


def _connect_ro(db_path: Path) -> sqlite3.Connection:
    has_wal = db_path.with_name(db_path.name + "-wal").exists()
    uri = f"file:{db_path.as_posix()}?mode=ro" + ("" if has_wal else "&immutable=1")
    return sqlite3.connect(uri, uri=True)


def _json_columns() -> dict[str, list[str]]:
    from sqlalchemy import JSON

    from engine.store import orm

    return {t.name: [c.name for c in t.columns if isinstance(c.type, JSON)]
            for t in orm.Base.metadata.sorted_tables}


def problem(db_path: Path) -> str | None:
    """What is wrong with the database in a few words, or None when it is intact."""
    try:
        con = _connect_ro(db_path)
    except sqlite3.Error as exc:
        return one_line(str(exc), 120)
    try:
        rows = con.execute("PRAGMA quick_check(1)").fetchall()
        if [tuple(r) for r in rows] != [("ok",)]:
            return f"SQLite's check fails: {one_line(str(rows[0][0]) if rows else '?', 100)}"
        present = {r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")}
        for table, json_cols in _json_columns().items():
            if table not in present:
                continue  # a missing table is reported by name when the store opens
            columns = {r[1] for r in con.execute(f'PRAGMA table_info("{table}")')}
            for column in (c for c in json_cols if c in columns):
                # SQLite's json_valid is strict RFC 8259; what it flags (NaN, say, which
                # Python writes and reads) is asked of Python's parser, row by row
                for (value,) in con.execute(  # noqa: S608 - our own table and column names
                        f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL '
                        f'AND NOT json_valid("{column}")'):
                    try:
                        json.loads(value)
                    except (ValueError, TypeError):
                        return f"a JSON value in {table}.{column} cannot be read"
            for _row in con.execute(f'SELECT * FROM "{table}"'):  # noqa: S608
                pass  # decoding each text as UTF-8 is the check
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        return one_line(str(exc), 120)
    finally:
        con.close()
    return None


def check_database(db_path: Path) -> None:
    """Raise ProjectError (one sentence, naming the file and what to do) when damaged."""
    found = problem(db_path)
    if found is None:
        return
    project_dir = db_path.parent
    backup = good_backup(project_dir)
    if backup is not None:
        advice = (f"run `storyreel repair {project_dir}` to restore the backup of "
                  f"{backup.when} (the damaged file is kept beside it)")
    else:
        advice = ("no backup or autosave snapshot of it passes the check, so restore the "
                  "folder from your own backup or ask a teammate for a `storyreel pack` zip")
    raise ProjectError(f"{db_path} is damaged ({found}); {advice}.")


@dataclass(frozen=True)
class Backup:
    path: Path
    when: str  # the file's time, for the message


def backups(project_dir: Path) -> list[Path]:
    """Candidate copies of project.db, newest first."""
    found = [p for p in project_dir.glob("project.v*.bak.db") if p.is_file()]
    snap = project_dir / AUTOSAVE
    if snap.is_file():
        found.append(snap)
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def good_backup(project_dir: Path) -> Backup | None:
    """The newest backup that passes the check, or None."""
    from engine.store import schema

    for path in backups(project_dir):
        if problem(path) is not None:
            continue
        try:
            schema.check_readable(path)
        except ProjectError:
            continue
        when = datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M UTC")
        return Backup(path, when)
    return None


def repair(project_dir: Path) -> tuple[Path, Path]:
    """Restore the newest good backup over a damaged project.db; returns (restored
    from, where the damaged file was copied). Refuses when the file is not damaged."""
    db_path = project_dir / DB_NAME
    if problem(db_path) is None:
        raise ProjectError(f"{db_path} passes the check; there is nothing to repair.")
    backup = good_backup(project_dir)
    if backup is None:
        raise ProjectError(f"{db_path} is damaged and no backup or autosave snapshot of it "
                           "passes the check; restore the folder from your own backup.")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    kept = db_path.with_name(f"project.damaged.{stamp}.db")
    shutil.copy2(db_path, kept)
    for suffix in ("-wal", "-shm"):
        side = db_path.with_name(db_path.name + suffix)
        if side.exists():
            shutil.copy2(side, kept.with_name(kept.name + suffix))
            side.unlink()
    tmp = db_path.with_name(db_path.name + ".restore")
    src = sqlite3.connect(f"file:{backup.path.as_posix()}?mode=ro", uri=True)
    dst = sqlite3.connect(tmp)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    tmp.replace(db_path)
    return backup.path, kept
