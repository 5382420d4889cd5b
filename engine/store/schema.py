"""Schema versions of project.db: read without touching, migrate after a backup copy."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from engine.errors import ProjectError, one_line

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_version() -> int:
    """The schema version this Storyreel writes."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return int(head)


def read_version(db_path: Path) -> int:
    """The schema version of an existing project.db, read without changing the file.

    Raises ProjectError with one sentence when the file is not a Storyreel database.
    """
    # immutable=1 leaves no -wal/-shm behind when there is no pending WAL to read
    has_wal = db_path.with_name(db_path.name + "-wal").exists()
    uri = f"file:{db_path.as_posix()}?mode=ro" + ("" if has_wal else "&immutable=1")
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise ProjectError(f"{db_path} cannot be opened: {one_line(str(exc), 120)}.") from exc
    try:
        try:
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            raise ProjectError(
                f"{db_path} is corrupt or not a Storyreel project database "
                f"({one_line(str(exc), 120)})."
            ) from exc
        if "alembic_version" not in tables or "project" not in tables:
            raise ProjectError(f"{db_path} is not a Storyreel project database.")
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        if row is None or not str(row[0]).isdigit():
            raise ProjectError(f"{db_path} has an unknown schema version "
                               f"{one_line(repr(row), 40)}.")
        return int(row[0])
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{db_path} is corrupt ({one_line(str(exc), 120)}).") from exc
    finally:
        conn.close()


def check_readable(db_path: Path) -> int:
    """Refuse a database from a newer Storyreel; return its version otherwise."""
    version = read_version(db_path)
    head = head_version()
    if version > head:
        raise ProjectError(
            f"{db_path.parent.name} was saved by a newer Storyreel (schema {version}); "
            f"this version reads schema {head} and older. Update Storyreel to open it."
        )
    return version


def backup(db_path: Path, version: int) -> Path:
    """A consistent copy of project.db next to it, made with SQLite's backup API."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = db_path.with_name(f"project.v{version}.{stamp}.bak.db")
    src = sqlite3.connect(db_path)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config()
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()
