"""The project folder ``NAME.storyreel/``: project.db, media/, cache/.

``ProjectStore`` is the one door to a project's data. Every write runs in one SQLite
transaction (WAL, foreign keys on), so a process killed at any moment leaves the last
committed state readable. User-visible edits are recorded in one undo history; listeners
get the list of changes after each commit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from engine.errors import ProjectError, StoryreelError
from engine.model import entities as E
from engine.store import codec, schema
from engine.store.media import MediaStore

T = TypeVar("T")

PROJECT_SUFFIX = ".storyreel"
DB_NAME = "project.db"
LOCK_TIMEOUT_S = 30.0  # how long a write waits for another process's write to finish
BUSY = ("The project is busy: another program kept project.db locked for 30 s and nothing "
        "was changed; try again when it has finished.")

# Edits of these kinds are the user's and go into the undo history. Jobs, media and
# synthesized voices are made by the machine and are not undone.
UNDOABLE: tuple[type, ...] = (
    E.Project, E.Character, E.Scene, E.Shot, E.Take, E.AudioPlacement, E.ClipEdit,
)


@dataclass(frozen=True)
class Change:
    """One entity changed: ``before`` None means added, ``after`` None means deleted."""

    kind: type
    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass
class _HistoryStep:
    label: str
    changes: list[Change]


def _configure_sqlite(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={int(LOCK_TIMEOUT_S * 1000)}")
    cur.close()


def _make_engine(db_path: Path) -> Engine:
    engine = create_engine(
        f"sqlite:///{db_path}",
        connect_args={"check_same_thread": False, "timeout": LOCK_TIMEOUT_S},
        json_deserializer=codec.load_json,
    )
    event.listen(engine, "connect", _configure_sqlite)
    return engine


def _check_tables(engine: Engine, db_path: Path) -> None:
    """Every table and column this version reads is there (a file edited by another
    program fails here with one sentence, not later with an SQL error)."""
    from sqlalchemy import inspect

    from engine.store import orm

    inspector = inspect(engine)
    present = set(inspector.get_table_names())
    for table in orm.Base.metadata.sorted_tables:
        if table.name not in present:
            raise ProjectError(f"{db_path} has no {table.name} table; the project file is "
                               "damaged or was changed by another program.")
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        missing = [c.name for c in table.columns if c.name not in columns]
        if missing:
            raise ProjectError(f"{db_path} has no {table.name}.{missing[0]} column; the "
                               "project file is damaged or was changed by another program.")


def check_output_path(root: Path, out: str | Path) -> None:
    """Refuse an output file (film, mix, zip) that would overwrite the project's own data:
    its database or anything under media/ or cache/."""
    target = Path(out).resolve()
    root = Path(root).resolve()
    guarded = [root / "media", root / "cache"]
    if target.name.startswith(DB_NAME) and target.parent == root or any(
            target.is_relative_to(g) for g in guarded):
        raise StoryreelError(f"{out} is inside the project's own data; write it somewhere "
                             "else, e.g. beside the project folder.")


def find_project_dir(path: str | Path) -> Path:
    """Resolve a user-given path to a project folder or raise ProjectError."""
    p = Path(path)
    if not p.exists():
        alt = p.with_name(p.name + PROJECT_SUFFIX)
        if alt.exists():
            p = alt
        else:
            raise ProjectError(f"{path} does not exist.")
    if not p.is_dir():
        raise ProjectError(f"{path} is not a project folder.")
    if not (p / DB_NAME).is_file():
        raise ProjectError(f"{path} is not a Storyreel project (no {DB_NAME} inside).")
    return p


class ProjectStore:
    """An open project. Use ``ProjectStore.create`` or ``ProjectStore.open``."""

    def __init__(self, root: Path, engine: Engine) -> None:
        self.root = root
        self.engine = engine
        self.media = MediaStore(self)
        self._lock = threading.RLock()
        self._listeners: list[Callable[[list[Change]], None]] = []
        self._history: list[_HistoryStep] = []
        self._position = 0  # steps [0, position) are done; the rest can be redone
        self._saved_position = 0
        self._pending: list[Change] | None = None
        self._session: Session | None = None
        self._owner: int | None = None

    # ----------------------------------------------------------------- open/create
    @classmethod
    def create(cls, path: str | Path, project: E.Project | None = None) -> ProjectStore:
        root = Path(path)
        if root.exists() and not root.is_dir():
            raise ProjectError(f"{path} is a file; give a new folder name for the project.")
        if root.exists() and any(root.iterdir()):
            raise ProjectError(f"{path} already exists and is not empty.")
        project = project or E.Project(title=root.name.removesuffix(PROJECT_SUFFIX))
        root.mkdir(parents=True, exist_ok=True)
        (root / "media").mkdir(exist_ok=True)
        (root / "cache").mkdir(exist_ok=True)
        engine = _make_engine(root / DB_NAME)
        schema.upgrade(engine)
        store = cls(root, engine)
        with store._session_scope() as session:
            session.add(codec.to_row(project))
        return store

    @classmethod
    def open(cls, path: str | Path) -> ProjectStore:
        root = find_project_dir(path)
        db_path = root / DB_NAME
        version = schema.check_readable(db_path)
        if version < schema.head_version():
            schema.backup(db_path, version)
        engine = _make_engine(db_path)
        try:
            if version < schema.head_version():
                schema.upgrade(engine)
            _check_tables(engine, db_path)
            store = cls(root, engine)
            store.project  # noqa: B018 - proves the project row is readable
        except DatabaseError as exc:
            engine.dispose()
            raise ProjectError(f"{db_path} is corrupt ({exc.orig}).") from exc
        (root / "media").mkdir(exist_ok=True)
        (root / "cache").mkdir(exist_ok=True)
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> ProjectStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def db_path(self) -> Path:
        return self.root / DB_NAME

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def schema_version(self) -> int:
        return schema.read_version(self.db_path)

    # ----------------------------------------------------------------- sessions
    @contextlib.contextmanager
    def _session_scope(self) -> Iterator[Session]:
        """The current transaction's session, or a new one committed at the end."""
        if self._session is not None and self._owner == threading.get_ident():
            yield self._session
            return
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except IntegrityError as exc:
                session.rollback()
                raise StoryreelError(f"The change conflicts with saved data ({exc.orig}).") from exc
            except OperationalError as exc:
                session.rollback()
                if "locked" in str(exc.orig) or "busy" in str(exc.orig):
                    raise ProjectError(BUSY) from exc
                raise
            except BaseException:
                session.rollback()
                raise

    @contextlib.contextmanager
    def transaction(self, label: str = "Edit") -> Iterator[ProjectStore]:
        """Group writes into one commit and one undo step. Nested calls join the outer one."""
        with self._lock:
            if self._session is not None:
                yield self
                return
            self._pending = []
            try:
                with self._session_scope() as session:
                    self._session = session
                    self._owner = threading.get_ident()
                    try:
                        yield self
                    finally:
                        self._session = None
                        self._owner = None
            except BaseException:
                self._pending = None
                raise
            changes, self._pending = self._pending, None
        self._finish(label, changes)

    def _finish(self, label: str, changes: list[Change]) -> None:
        undoable = [c for c in changes if c.kind in UNDOABLE]
        if undoable:
            del self._history[self._position :]
            if self._saved_position > self._position:
                self._saved_position = -1  # the saved state can no longer be reached
            self._history.append(_HistoryStep(label, undoable))
            self._position += 1
        if changes:
            self._emit(changes)

    def _record(self, change: Change) -> None:
        assert self._pending is not None, "writes run inside a transaction"
        self._pending.append(change)

    # ----------------------------------------------------------------- events
    def subscribe(self, listener: Callable[[list[Change]], None]) -> Callable[[], None]:
        """Call ``listener(changes)`` after every commit. Returns an unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _emit(self, changes: list[Change]) -> None:
        for listener in list(self._listeners):
            listener(changes)

    # ----------------------------------------------------------------- reads
    def get(self, cls: type[T], key: str) -> T | None:
        with self._session_scope() as session:
            row = session.get(codec.ROW_OF[cls], key)
            return None if row is None else codec.from_row(row)

    def require(self, cls: type[T], key: str) -> T:
        found = self.get(cls, key)
        if found is None:
            raise StoryreelError(f"No {cls.__name__.lower()} with id {key} in this project.")
        return found

    def all(self, cls: type[T], **filters: Any) -> list[T]:
        row_cls = codec.ROW_OF[cls]
        stmt = select(row_cls)
        for name, value in filters.items():
            stmt = stmt.where(getattr(row_cls, name) == value)
        with self._session_scope() as session:
            return [codec.from_row(r) for r in session.scalars(stmt)]

    @property
    def project(self) -> E.Project:
        rows = self.all(E.Project)
        if len(rows) != 1:
            raise ProjectError(f"{self.db_path} has {len(rows)} project records; expected 1.")
        return rows[0]

    def characters(self) -> list[E.Character]:
        return sorted(self.all(E.Character), key=lambda c: c.name)

    def character_by_name(self, name: str) -> E.Character | None:
        found = self.all(E.Character, name=name)
        return found[0] if found else None

    def scenes(self) -> list[E.Scene]:
        return sorted(self.all(E.Scene), key=lambda s: (s.order, s.number))

    def shots(self, scene_id: str | None = None) -> list[E.Shot]:
        """Shots in film order (scene order, then shot order)."""
        scene_rank = {s.id: i for i, s in enumerate(self.scenes())}
        shots = self.all(E.Shot, scene_id=scene_id) if scene_id else self.all(E.Shot)
        return sorted(shots, key=lambda s: (scene_rank.get(s.scene_id, 1 << 30), s.order))

    def takes(self, shot_id: str) -> list[E.Take]:
        return sorted(self.all(E.Take, shot_id=shot_id), key=lambda t: t.created_at)

    def media_path(self, sha256: str) -> Path:
        return self.media.path(sha256)

    # ----------------------------------------------------------------- writes
    def add(self, entity: Any, label: str = "") -> Any:
        with self.transaction(label or f"Add {type(entity).__name__.lower()}"), \
                self._session_scope() as session:
            session.add(codec.to_row(entity))
            session.flush()
            self._record(Change(type(entity), codec.key_of(entity), None, codec.to_values(entity)))
        return entity

    def update(self, entity: Any, label: str = "") -> Any:
        cls = type(entity)
        key = codec.key_of(entity)
        with self.transaction(label or f"Edit {cls.__name__.lower()}"), \
                self._session_scope() as session:
            row = session.get(codec.ROW_OF[cls], key)
            if row is None:
                raise StoryreelError(f"No {cls.__name__.lower()} with id {key} to update.")
            before = codec.to_values(codec.from_row(row))
            after = codec.to_values(entity)
            if before == after:
                return entity
            codec.update_row(row, entity)
            session.flush()
            self._record(Change(cls, key, before, after))
        return entity

    def update_derived(self, entity: Any, **fields: Any) -> Any:
        """Write fields that follow from other data (a shot's stale status) outside the
        undo history: undoing the user's edit re-derives them. Listeners are told."""
        cls = type(entity)
        key = codec.key_of(entity)
        with self._lock, Session(self.engine, expire_on_commit=False) as session:
            row = session.get(codec.ROW_OF[cls], key)
            if row is None:
                raise StoryreelError(f"No {cls.__name__.lower()} with id {key} to update.")
            current = codec.from_row(row)
            before = codec.to_values(current)
            changed = dataclasses.replace(current, **fields)
            codec.update_row(row, changed)
            session.commit()
        for name, value in fields.items():
            setattr(entity, name, value)
        self._emit([Change(cls, key, before, codec.to_values(changed))])
        return entity

    def upsert(self, entity: Any) -> Any:
        if self.get(type(entity), codec.key_of(entity)) is None:
            return self.add(entity)
        return self.update(entity)

    def delete(self, entity: Any, label: str = "") -> None:
        cls = type(entity)
        key = codec.key_of(entity)
        with self.transaction(label or f"Delete {cls.__name__.lower()}"), \
                self._session_scope() as session:
            row = session.get(codec.ROW_OF[cls], key)
            if row is None:
                return
            before = codec.to_values(codec.from_row(row))
            # children cascade in SQL; record them so undo can bring them back
            for child in self._children_of(session, cls, key):
                self._delete_row(session, child)
            session.delete(row)
            session.flush()
            self._record(Change(cls, key, before, None))

    def _children_of(self, session: Session, cls: type, key: str) -> list[Any]:
        children: list[Any] = []
        if cls is E.Scene:
            children += session.scalars(select(codec.ROW_OF[E.Shot]).where(
                codec.ROW_OF[E.Shot].scene_id == key)).all()
        if cls is E.Shot:
            for child_cls in (E.Take, E.VoiceClip, E.ClipEdit):
                rc = codec.ROW_OF[child_cls]
                children += session.scalars(select(rc).where(rc.shot_id == key)).all()
        return children

    def _delete_row(self, session: Session, row: Any) -> None:
        entity = codec.from_row(row)
        cls = type(entity)
        key = codec.key_of(entity)
        for child in self._children_of(session, cls, key):
            self._delete_row(session, child)
        session.delete(row)
        session.flush()
        self._record(Change(cls, key, codec.to_values(entity), None))

    # ----------------------------------------------------------------- undo
    @property
    def can_undo(self) -> bool:
        return self._position > 0

    @property
    def can_redo(self) -> bool:
        return self._position < len(self._history)

    @property
    def undo_label(self) -> str:
        return self._history[self._position - 1].label if self.can_undo else ""

    @property
    def redo_label(self) -> str:
        return self._history[self._position].label if self.can_redo else ""

    @property
    def dirty(self) -> bool:
        """True when the history position differs from the last saved checkpoint."""
        return self._position != self._saved_position

    def mark_saved(self) -> None:
        self._saved_position = self._position

    def undo(self) -> bool:
        if not self.can_undo:
            return False
        step = self._history[self._position - 1]
        self._apply(step.changes, reverse=True)
        self._position -= 1
        return True

    def redo(self) -> bool:
        if not self.can_redo:
            return False
        step = self._history[self._position]
        self._apply(step.changes, reverse=False)
        self._position += 1
        return True

    def _apply(self, changes: list[Change], *, reverse: bool) -> None:
        ordered = list(reversed(changes)) if reverse else list(changes)
        applied: list[Change] = []
        with self._lock, Session(self.engine, expire_on_commit=False) as session:
            for ch in ordered:
                target = ch.before if reverse else ch.after
                source = ch.after if reverse else ch.before
                row_cls = codec.ROW_OF[ch.kind]
                row = session.get(row_cls, ch.key)
                if target is None:
                    if row is not None:
                        session.delete(row)
                else:
                    entity = codec.from_values(ch.kind, target)
                    if row is None:
                        session.add(codec.to_row(entity))
                    else:
                        codec.update_row(row, entity)
                session.flush()
                applied.append(Change(ch.kind, ch.key, source, target))
            session.commit()
        self._emit(applied)

    # ----------------------------------------------------------------- helpers
    def copy_to(self, target: Path) -> None:
        """A consistent copy of the whole project folder (without cache/)."""
        target.mkdir(parents=True, exist_ok=False)
        shutil.copytree(self.root / "media", target / "media")
        (target / "cache").mkdir()
        src = sqlite3.connect(self.db_path)
        dst = sqlite3.connect(target / DB_NAME)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()


def replace(entity: T, **changes: Any) -> T:
    """A copy of a domain object with some fields changed (dataclasses.replace)."""
    return dataclasses.replace(entity, **changes)  # type: ignore[type-var]
