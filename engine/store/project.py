"""The project folder ``NAME.storyreel/``: project.db, media/, cache/.

``ProjectStore`` is the one door to a project's data. Every write runs in one SQLite
transaction (WAL, foreign keys on), so a process killed at any moment leaves the last
committed state readable. User-visible edits are recorded in one undo history; listeners
get the list of changes after each commit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, func, insert, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.errors import ProjectError, StoryreelError, one_line
from engine.model import entities as E
from engine.model import review as R
from engine.model import shot_rules
from engine.store import codec, integrity, orm, schema, team
from engine.store.history import (
    ENGINE,
    OP,
    REDO,
    UNDO,
    WHOLE_ROW,
    FieldChange,
    LogEntry,
    StaleWriteError,
    UndoRefused,
    UndoStacks,
    collapse,
    current_author,
    replay,
)
from engine.store.media import MediaStore

T = TypeVar("T")

PROJECT_SUFFIX = ".storyreel"
DB_NAME = "project.db"
WRITE_LOCK_KEY = 0x5354_5259  # "STRY": the team server's one write lock
LOCK_TIMEOUT_S = 30.0  # how long a write waits for another process's write to finish
BUSY = ("The project is busy: another program kept project.db locked for 30 s and nothing "
        "was changed; try again when it has finished.")

# Edits of these kinds are the user's and go into the undo history. Jobs, media and
# synthesized voices are made by the machine and are not undone.
UNDOABLE: tuple[type, ...] = (
    E.Project, E.Character, E.Scene, E.Shot, E.Take, E.AudioPlacement, E.ClipEdit,
    R.ShotReview, R.ReviewNote,
    E.Episode, E.Location, E.Costume,
)
UNDOABLE_NAMES = frozenset(c.__name__ for c in UNDOABLE)
# Job progress and media rows change often and are not edits: they are not logged.
NOT_LOGGED_NAMES = frozenset({"Job", "MediaAsset", "ShotLock", "TeamMember"})
# Fields that follow from other data: an undo leaves them as re-derived since.
DERIVED_FIELDS: dict[str, tuple[str, ...]] = {"Shot": ("status", "prompt"), "Take": ("identity",)}
ENTITY_BY_NAME: dict[str, type] = {cls.__name__: cls for cls in codec.ROW_OF}


def _plain(value: Any) -> Any:
    """A value as the log stores it (JSON types)."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def changes_of(entry: LogEntry) -> list[Change]:
    """The per-row changes of a log entry, as listeners receive them (field changes give
    partial before/after dicts of the changed fields only)."""
    rows: dict[tuple[str, str], Change] = {}
    out: list[Change] = []
    for fc in entry.changes:
        cls = ENTITY_BY_NAME.get(fc.entity)
        if cls is None:
            continue
        if fc.field == WHOLE_ROW:
            out.append(Change(cls, fc.key, fc.before, fc.after))
            continue
        ch = rows.get((fc.entity, fc.key))
        if ch is None:
            ch = Change(cls, fc.key, {}, {})
            rows[(fc.entity, fc.key)] = ch
            out.append(ch)
        assert ch.before is not None and ch.after is not None
        ch.before[fc.field] = fc.before
        ch.after[fc.field] = fc.after
    return out


@dataclass(frozen=True)
class Change:
    """One entity changed: ``before`` None means added, ``after`` None means deleted."""

    kind: type
    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _damaged(db_path: Path, exc: DatabaseError) -> str:
    return (f"{db_path} cannot be read ({one_line(str(exc.orig), 120)}); nothing was "
            f"changed; run `storyreel repair {db_path.parent}` to restore its newest good "
            "backup.")


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
    if not (p / DB_NAME).is_file() and not (p / team.LINK_NAME).is_file():
        raise ProjectError(f"{path} is not a Storyreel project (no {DB_NAME} inside).")
    return p


class ProjectStore:
    """An open project. Use ``ProjectStore.create`` or ``ProjectStore.open``."""

    def __init__(self, root: Path, engine: Engine, link: team.Link | None = None) -> None:
        self.root = root
        self.engine = engine
        # a linked working copy: the database is the team server's, media is shared
        self.link = link
        self.shared = team.shared_media(link.media) if link else None
        self.media = MediaStore(self)
        self._lock = threading.RLock()
        self._listeners: list[Callable[[list[Change]], None]] = []
        # on a team server the author is the database role, which row security checks
        self.author = link.user if link else current_author()
        self._listen: Any = None
        self._pending: list[Change] | None = None
        self._fields: list[FieldChange] = []
        self._deriving = False
        self._tx_label = ""
        self._tx_author = self.author
        self._tx_undoable = True
        self._tx_kind = OP
        self._tx_target: int | None = None
        self._own_seqs: set[int] = set()
        self.last_entry: LogEntry | None = None
        self._commits = 0  # entries this store committed; _recent maps count → entry
        self._recent: dict[int, LogEntry] = {}
        self._last_user_seq: int | None = None
        with Session(engine) as session:
            self._feed_seq = session.scalar(select(func.max(orm.OpLogRow.seq))) or 0
        self._saved_done: tuple[int, ...] = tuple(self.stacks().done)
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
            session.add(codec.to_row(E.Episode(number=1, version=1)))
        return store

    @classmethod
    def open(cls, path: str | Path) -> ProjectStore:
        root = find_project_dir(path)
        link = team.read_link(root)
        if link is not None:
            return cls._open_linked(root, link)
        db_path = root / DB_NAME
        version = schema.check_readable(db_path)
        integrity.check_database(db_path)
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
            raise ProjectError(f"{db_path} is corrupt ({one_line(str(exc.orig), 120)}).") from exc
        (root / "media").mkdir(exist_ok=True)
        (root / "cache").mkdir(exist_ok=True)
        return store

    @classmethod
    def _open_linked(cls, root: Path, link: team.Link) -> ProjectStore:
        engine = team.server_engine(link.server)
        where = team.make_url(link.server).render_as_string(hide_password=True)
        try:
            version = team.server_version(engine)
            if version is None:
                raise ProjectError(f"The team server {where} holds no Storyreel project; "
                                   "`storyreel share` puts one there.")
            head = schema.head_version()
            if version > head:
                raise ProjectError(f"The project on {where} was saved by a newer Storyreel "
                                   f"(schema {version}); this version reads schema {head} "
                                   "and older. Update Storyreel to open it.")
            if version < head:
                schema.upgrade(engine)
            _check_tables(engine, Path(where))
            store = cls(root, engine, link)
            project = store.project
        except BaseException:
            engine.dispose()
            raise
        if link.project_id and project.id != link.project_id:
            engine.dispose()
            raise ProjectError(f"{where} holds another project ({project.title}) than the "
                               f"one {root.name} was linked to.")
        (root / "media").mkdir(exist_ok=True)
        (root / "cache").mkdir(exist_ok=True)
        return store

    @property
    def is_linked(self) -> bool:
        return self.link is not None

    def close(self) -> None:
        if self._listen is not None:
            self._listen.close()
            self._listen = None
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
                if self.link is None:
                    raise ProjectError(_damaged(self.db_path, exc)) from exc
                raise
            except StaleDataError:
                session.rollback()
                raise ProjectError(
                    "The change was refused: the row it changes was removed by someone else "
                    "or is not yours to change (a teammate's note); nothing was changed."
                ) from None
            except DBAPIError as exc:
                session.rollback()
                refused = team.forbidden_sentence(exc, self.author, self._role())
                if refused:
                    raise ProjectError(refused) from None
                if self.link is None and isinstance(exc, DatabaseError):
                    raise ProjectError(_damaged(self.db_path, exc)) from exc
                raise
            except BaseException:
                session.rollback()
                raise

    @contextlib.contextmanager
    def transaction(self, label: str = "Edit", *, author: str | None = None,
                    undoable: bool = True) -> Iterator[ProjectStore]:
        """Group writes into one commit and one log entry. Nested calls join the outer one.

        ``undoable=False`` marks the entry as the engine's (derived state, generated
        media): it is logged and followed, but never undone.
        """
        with self._lock:
            if self._session is not None:
                yield self
                return
            self._pending = []
            self._fields = []
            self._tx_label = label
            self._tx_author = author or self.author
            self._tx_undoable = undoable
            self._tx_kind = OP
            self._tx_target = None
            entry: LogEntry | None = None
            try:
                with self._session_scope() as session:
                    self._session = session
                    self._owner = threading.get_ident()
                    if self.engine.dialect.name == "postgresql":
                        # one writer at a time, as on SQLite: log entries commit in seq
                        # order, so a client following by seq never skips one
                        session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                        {"key": WRITE_LOCK_KEY})
                    try:
                        yield self
                        entry = self._write_log(session)
                    finally:
                        self._session = None
                        self._owner = None
            except BaseException:
                self._pending = None
                self._fields = []
                raise
            changes, self._pending = self._pending, None
            self._fields = []
            if entry is not None:
                self._own_seqs.add(entry.seq)
                self.last_entry = entry
                self._commits += 1
                self._recent[self._commits] = entry
                self._recent.pop(self._commits - 256, None)
                if entry.kind != ENGINE:
                    self._last_user_seq = entry.seq
        if changes:
            self._emit(changes)

    def _write_log(self, session: Session) -> LogEntry | None:
        logged = collapse([c for c in self._fields if c.entity not in NOT_LOGGED_NAMES])
        kind = self._tx_kind
        if not logged and kind not in (UNDO, REDO):
            return None
        if kind == OP and not (self._tx_undoable and any(
                c.entity in UNDOABLE_NAMES for c in logged)):
            kind = ENGINE
        row = orm.OpLogRow(op=self._tx_label, author=self._tx_author, at=E.utc_now(),
                           kind=kind, target=self._tx_target)
        session.add(row)
        session.flush()
        if logged:  # executemany: a 10,000-scene import logs 30,000 rows
            session.execute(insert(orm.OpFieldRow), [
                {"seq": row.seq, "position": i, "entity": c.entity, "row_id": c.key,
                 "field": c.field, "before": c.before, "after": c.after,
                 "row_version": c.row_version, "derived": c.derived}
                for i, c in enumerate(logged)])
        return LogEntry(row.seq, row.op, row.author, row.at, kind, row.target, logged)

    def _record(self, change: Change, fields: list[FieldChange]) -> None:
        assert self._pending is not None, "writes run inside a transaction"
        self._pending.append(change)
        if self._deriving:
            fields = [dataclasses.replace(f, derived=True) for f in fields]
        self._fields.extend(fields)

    @contextlib.contextmanager
    def deriving(self) -> Iterator[None]:
        """Writes inside are derived state (composed prompts, stale status): logged with
        the operation that caused them, never undone (undo re-derives them)."""
        outer = self._deriving
        self._deriving = True
        try:
            yield
        finally:
            self._deriving = outer

    def commit_mark(self) -> int:
        """A mark for ``entry_since``: the number of entries committed so far."""
        return self._commits

    def entry_since(self, mark: int) -> LogEntry | None:
        """The first entry this store committed after ``mark`` (the caller's own, even
        when listeners committed derived entries after it), or None."""
        return self._recent.get(mark + 1) if self._commits > mark else None

    # ----------------------------------------------------------------- events
    def subscribe(self, listener: Callable[[list[Change]], None]) -> Callable[[], None]:
        """Call ``listener(changes)`` after every commit, this process's and (through
        ``follow``) other processes'. Returns an unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _emit(self, changes: list[Change]) -> None:
        for listener in list(self._listeners):
            listener(changes)

    def follow(self) -> list[LogEntry]:
        """Entries other processes committed since the last call (by sequence number);
        their changes go to the listeners. Cheap when nothing is new: one indexed read."""
        with self._lock, Session(self.engine) as session:
            rows = session.scalars(select(orm.OpLogRow).where(
                orm.OpLogRow.seq > self._feed_seq).order_by(orm.OpLogRow.seq)).all()
            if not rows:
                return []
            self._feed_seq = rows[-1].seq
            foreign = [r for r in rows if r.seq not in self._own_seqs]
            self._own_seqs = {s for s in self._own_seqs if s > self._feed_seq}
            entries = [self._entry(session, r) for r in foreign]
        changes: list[Change] = []
        for entry in entries:
            changes.extend(changes_of(entry))
        if changes:
            self._emit(changes)
        return entries

    def wait_for_change(self, timeout: float) -> list[LogEntry]:
        """Block until another process commits an entry (or ``timeout`` seconds pass),
        then ``follow``. On a team server a LISTEN connection wakes at once on the
        server's NOTIFY; on a local project the log is polled."""
        import time

        deadline = time.monotonic() + max(0.0, timeout)
        if self.engine.dialect.name == "postgresql":
            if self._listen is None:
                assert self.link is not None
                self._listen = team.listen_connection(self.link.server)
            entries = self.follow()
            while not entries:
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                for _note in self._listen.notifies(timeout=left, stop_after=1):
                    break
                entries = self.follow()
            return entries
        while not (entries := self.follow()):
            left = deadline - time.monotonic()
            if left <= 0:
                return []
            time.sleep(min(0.02, left))
        return entries

    def _role(self) -> str | None:
        if self.link is None:
            return None
        try:
            with Session(self.engine) as session:
                row = session.get(orm.TeamMemberRow, self.author)
                return row.role if row is not None else None
        except DBAPIError:
            return None

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

    def episodes(self) -> list[E.Episode]:
        return sorted(self.all(E.Episode), key=lambda e: e.number)

    def episode_by_number(self, number: int) -> E.Episode | None:
        found = self.all(E.Episode, number=number)
        return found[0] if found else None

    def locations(self) -> list[E.Location]:
        return sorted(self.all(E.Location), key=lambda loc: loc.name)

    def costumes(self, character_id: str | None = None) -> list[E.Costume]:
        rows = self.all(E.Costume, character_id=character_id) if character_id else \
            self.all(E.Costume)
        return sorted(rows, key=lambda c: (c.character_id, c.scope, c.scope_id))

    def scenes(self, episode_id: str | None = None) -> list[E.Scene]:
        """Scenes in film order: by episode number, then scene order within the series."""
        rank = {e.id: e.number for e in self.all(E.Episode)}
        scenes = self.all(E.Scene, episode_id=episode_id) if episode_id else self.all(E.Scene)
        return sorted(scenes, key=lambda s: (rank.get(s.episode_id or "", 0), s.order, s.number))

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
        cls = type(entity)
        with self.transaction(label or f"Add {cls.__name__.lower()}"), \
                self._session_scope() as session:
            if hasattr(entity, "version"):
                entity.version = 1
            session.add(codec.to_row(entity))
            session.flush()
            values = codec.to_values(entity)
            self._record(Change(cls, codec.key_of(entity), None, values),
                         [FieldChange(cls.__name__, codec.key_of(entity), WHOLE_ROW, None,
                                      _plain(values), 1)])
        return entity

    def add_many(self, entities: list[Any], label: str = "") -> list[Any]:
        """Add many new entities in one flush (a 10,000-scene import inserts its rows in
        batches instead of one statement per row); logged like ``add``, one by one."""
        if not entities:
            return entities
        with self.transaction(label or "Add"), self._session_scope() as session:
            by_kind: dict[type, list[dict[str, Any]]] = {}
            for entity in entities:
                if hasattr(entity, "version"):
                    entity.version = 1
                by_kind.setdefault(type(entity), []).append(codec.to_values(entity))
            session.flush()
            for cls, values_list in by_kind.items():  # executemany, no unit of work
                session.execute(insert(codec.ROW_OF[cls]), values_list)
            for cls, values_list in by_kind.items():
                for values in values_list:
                    key = values[codec.KEY_OF[cls]]
                    self._record(Change(cls, key, None, values),
                                 [FieldChange(cls.__name__, key, WHOLE_ROW, None,
                                              _plain(values), 1)])
        return entities

    def update(self, entity: Any, label: str = "") -> Any:
        """Write the fields of ``entity`` that differ from the saved row.

        A write based on a stale read (the entity's version is older than the row's) is
        merged field by field against the log: a field the caller left as it was read
        keeps its newer value; a field both the caller and someone else changed is
        refused (StaleWriteError) and nothing is written.
        """
        cls = type(entity)
        key = codec.key_of(entity)
        with self.transaction(label or f"Edit {cls.__name__.lower()}"), \
                self._session_scope() as session:
            row = session.get(codec.ROW_OF[cls], key)
            if row is None:
                raise StoryreelError(f"No {cls.__name__.lower()} with id {key} to update.")
            current = codec.to_values(codec.from_row(row))
            wanted = codec.to_values(entity)
            fields = {f: v for f, v in wanted.items() if f != "version" and current[f] != v}
            read_version = getattr(entity, "version", 0)
            if fields and read_version and read_version < current.get("version", 0):
                fields = self._merge_stale(session, cls, key, read_version, fields)
            if fields:
                self._write_fields(session, cls, row, fields)
            saved = codec.from_row(row)
            for f in dataclasses.fields(cls):
                setattr(entity, f.name, getattr(saved, f.name))
        return entity

    def set_fields(self, cls: type, key: str, *, expected_version: int | None = None,
                   **fields: Any) -> Any:
        """Write some fields of one row (the operations' primitive). Values are domain
        values (enums, VoiceProfile, ...). ``expected_version`` refuses the write when the
        row changed since the caller read it. Returns the entity as saved."""
        with self.transaction(f"Edit {cls.__name__.lower()}"), \
                self._session_scope() as session:
            row = session.get(codec.ROW_OF[cls], key)
            if row is None:
                raise StoryreelError(f"No {cls.__name__.lower()} with id {key} in this project.")
            if expected_version is not None and row.version != expected_version:
                raise StaleWriteError(
                    f"The {cls.__name__.lower()} was changed by "
                    f"{self._last_writer(session, cls, key)} since it was read; reload and "
                    "try again (nothing was changed).")
            current_entity = codec.from_row(row)
            current = codec.to_values(current_entity)
            wanted = codec.to_values(dataclasses.replace(current_entity, **fields))
            changed = {f: v for f, v in wanted.items() if f != "version" and current[f] != v}
            if changed:
                self._write_fields(session, cls, row, changed)
            return codec.from_row(row)

    def _write_fields(self, session: Session, cls: type, row: Any,
                      fields: dict[str, Any]) -> None:
        key = getattr(row, codec.KEY_OF[cls])
        before = codec.to_values(codec.from_row(row))
        for f, v in fields.items():
            setattr(row, f, v)
        if hasattr(row, "version"):
            row.version = (row.version or 0) + 1
        session.flush()
        after = codec.to_values(codec.from_row(row))
        version = after.get("version", 0)
        self._record(Change(cls, key, before, after),
                     [FieldChange(cls.__name__, key, f, _plain(before[f]), _plain(after[f]),
                                  version) for f in fields])

    def _merge_stale(self, session: Session, cls: type, key: str, read_version: int,
                     fields: dict[str, Any]) -> dict[str, Any]:
        """The fields of a stale write that may be applied (see ``update``)."""
        if cls.__name__ in NOT_LOGGED_NAMES:
            return fields
        later = session.execute(
            select(orm.OpFieldRow.field, orm.OpFieldRow.before, orm.OpLogRow.author)
            .join(orm.OpLogRow, orm.OpLogRow.seq == orm.OpFieldRow.seq)
            .where(orm.OpFieldRow.entity == cls.__name__, orm.OpFieldRow.row_id == key,
                   orm.OpFieldRow.row_version > read_version)
            .order_by(orm.OpFieldRow.row_version, orm.OpFieldRow.position)).all()
        base: dict[str, tuple[Any, str]] = {}
        for name, before, author in later:
            base.setdefault(name, (before, author))
        keep: dict[str, Any] = {}
        for name, value in fields.items():
            if name not in base:
                keep[name] = value
            elif _plain(value) == base[name][0]:
                continue  # the caller did not change it: the newer value stands
            elif name not in DERIVED_FIELDS.get(cls.__name__, ()):
                raise StaleWriteError(
                    f"The {name.replace('_', ' ')} of this {cls.__name__.lower()} was "
                    f"changed by {base[name][1]} since it was read; reload and try again "
                    "(nothing was changed).")
        return keep

    def _last_writer(self, session: Session, cls: type, key: str) -> str:
        author = session.scalar(
            select(orm.OpLogRow.author).join(orm.OpFieldRow,
                                             orm.OpLogRow.seq == orm.OpFieldRow.seq)
            .where(orm.OpFieldRow.entity == cls.__name__, orm.OpFieldRow.row_id == key)
            .order_by(orm.OpLogRow.seq.desc()).limit(1))
        return author or "another program"

    def update_derived(self, entity: Any, **fields: Any) -> Any:
        """Write fields that follow from other data (a shot's stale status) as the
        engine's, outside any author's undo history. Listeners are told."""
        cls = type(entity)
        with self.transaction(f"Update {cls.__name__.lower()}", undoable=False):
            saved = self.set_fields(cls, codec.key_of(entity), **fields)
        for name in fields:
            setattr(entity, name, getattr(saved, name))
        if hasattr(entity, "version"):
            entity.version = saved.version
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
            self._delete_row(session, row)

    def _children_of(self, session: Session, cls: type, key: str) -> list[Any]:
        children: list[Any] = []
        if cls is E.Episode:
            children += session.scalars(select(codec.ROW_OF[E.Scene]).where(
                codec.ROW_OF[E.Scene].episode_id == key)).all()
        if cls is E.Character:
            children += session.scalars(select(codec.ROW_OF[E.Costume]).where(
                codec.ROW_OF[E.Costume].character_id == key)).all()
        if cls is E.Scene:
            children += session.scalars(select(codec.ROW_OF[E.Shot]).where(
                codec.ROW_OF[E.Shot].scene_id == key)).all()
        if cls is E.Shot:
            for child_cls in (E.Take, E.VoiceClip, E.ClipEdit):
                rc = codec.ROW_OF[child_cls]
                children += session.scalars(select(rc).where(rc.shot_id == key)).all()
        return children

    def _delete_row(self, session: Session, row: Any) -> None:
        """Delete a row and its children (cascade), recording each so undo restores them."""
        entity = codec.from_row(row)
        cls = type(entity)
        key = codec.key_of(entity)
        for child in self._children_of(session, cls, key):
            self._delete_row(session, child)
        values = codec.to_values(entity)
        session.delete(row)
        session.flush()
        self._record(Change(cls, key, values, None),
                     [FieldChange(cls.__name__, key, WHOLE_ROW, _plain(values), None,
                                  values.get("version", 0))])

    def _insert_values(self, session: Session, cls: type, values: dict[str, Any]) -> None:
        entity = codec.from_values(cls, values)
        if hasattr(entity, "version"):
            entity.version = int(values.get("version") or 0) + 1
        session.add(codec.to_row(entity))
        session.flush()
        after = codec.to_values(entity)
        key = codec.key_of(entity)
        self._record(Change(cls, key, None, after),
                     [FieldChange(cls.__name__, key, WHOLE_ROW, None, _plain(after),
                                  after.get("version", 0))])

    # ----------------------------------------------------------------- history
    def history(self, *, limit: int | None = None, author: str | None = None) -> list[LogEntry]:
        """Log entries, newest first."""
        with Session(self.engine) as session:
            stmt = select(orm.OpLogRow).order_by(orm.OpLogRow.seq.desc())
            if author is not None:
                stmt = stmt.where(orm.OpLogRow.author == author)
            if limit is not None:
                stmt = stmt.limit(limit)
            return [self._entry(session, r) for r in session.scalars(stmt).all()]

    def entry(self, seq: int) -> LogEntry | None:
        with Session(self.engine) as session:
            row = session.get(orm.OpLogRow, seq)
            return None if row is None else self._entry(session, row)

    def _entry(self, session: Session, row: orm.OpLogRow) -> LogEntry:
        fields = session.scalars(select(orm.OpFieldRow).where(
            orm.OpFieldRow.seq == row.seq).order_by(orm.OpFieldRow.position)).all()
        return LogEntry(row.seq, row.op, row.author, row.at, row.kind, row.target,
                        [FieldChange(f.entity, f.row_id, f.field, f.before, f.after,
                                     f.row_version, bool(f.derived)) for f in fields])

    def stacks(self, author: str | None = None) -> UndoStacks:
        with Session(self.engine) as session:
            rows = session.execute(
                select(orm.OpLogRow.seq, orm.OpLogRow.kind, orm.OpLogRow.target,
                       orm.OpLogRow.op)
                .where(orm.OpLogRow.author == (author or self.author),
                       orm.OpLogRow.kind.in_((OP, UNDO, REDO)))
                .order_by(orm.OpLogRow.seq)).all()
        return replay([tuple(r) for r in rows])

    @property
    def can_undo(self) -> bool:
        return bool(self.stacks().done)

    @property
    def can_redo(self) -> bool:
        return bool(self.stacks().undone)

    @property
    def undo_label(self) -> str:
        st = self.stacks()
        return st.labels.get(st.done[-1], "") if st.done else ""

    @property
    def redo_label(self) -> str:
        st = self.stacks()
        return st.labels.get(st.undone[-1], "") if st.undone else ""

    @property
    def dirty(self) -> bool:
        """True when this author's history differs from the last saved checkpoint."""
        return tuple(self.stacks().done) != self._saved_done

    def mark_saved(self) -> None:
        self._saved_done = tuple(self.stacks().done)

    def undo(self, author: str | None = None,
             refresh: Callable[[list[tuple[str, str, str]]], None] | None = None
             ) -> LogEntry | None:
        """Undo the author's last operation; None when there is nothing to undo.
        Raises UndoRefused (and changes nothing) when a field it changed has been
        changed since."""
        st = self.stacks(author)
        if not st.done:
            return None
        return self._apply(st.done[-1], reverse=True, author=author, refresh=refresh)

    def redo(self, author: str | None = None,
             refresh: Callable[[list[tuple[str, str, str]]], None] | None = None
             ) -> LogEntry | None:
        st = self.stacks(author)
        if not st.undone:
            return None
        return self._apply(st.undone[-1], reverse=False, author=author, refresh=refresh)

    def _apply(self, seq: int, *, reverse: bool, author: str | None,
               refresh: Callable[[list[tuple[str, str, str]]], None] | None = None
               ) -> LogEntry | None:
        """Apply an entry backwards (undo) or forwards (redo) as one new entry; ``refresh``
        re-derives state from the (entity, id, field) it wrote, in the same transaction."""
        target = self.entry(seq)
        assert target is not None
        changes = list(reversed(target.changes)) if reverse else list(target.changes)
        verb = "undo" if reverse else "redo"
        mark = self.commit_mark()
        with self.transaction(target.op, author=author):
            self._tx_kind = UNDO if reverse else REDO
            self._tx_target = seq
            with self._session_scope() as session:
                for ch in changes:
                    self._apply_one(session, target, ch, reverse=reverse, verb=verb)
            if refresh is not None:
                refresh([(c.entity, c.key, c.field) for c in changes])
        entry = self.entry_since(mark)
        assert entry is not None and entry.target == seq
        return entry

    def _apply_one(self, session: Session, target: LogEntry, ch: FieldChange, *,
                   reverse: bool, verb: str) -> None:
        cls = ENTITY_BY_NAME[ch.entity]
        want, expect = (ch.before, ch.after) if reverse else (ch.after, ch.before)
        row = session.get(codec.ROW_OF[cls], ch.key)
        if ch.derived:
            return  # derived state: the refresh after the undo re-derives it
        what = self._describe(cls, ch.key)
        if ch.field != WHOLE_ROW:
            if row is None:
                raise UndoRefused(f"Cannot {verb} “{target.op}”: the {what} was deleted "
                                  f"by {self._last_writer(session, cls, ch.key)} since.")
            current = _plain(codec.to_values(codec.from_row(row))[ch.field])
            if current != expect and ch.field in DERIVED_FIELDS.get(ch.entity, ()):
                return  # derived state someone re-derived since: it stands
            if current != expect:
                raise UndoRefused(
                    f"Cannot {verb} “{target.op}”: the {ch.field.replace('_', ' ')} of "
                    f"{what} was changed by "
                    f"{self._field_writer(session, ch, target.seq)} since (nothing was "
                    "changed).")
            self._write_fields(session, cls, row, {ch.field: want})
            return
        if want is None:  # the row was added: remove it, if nobody changed it since
            if row is None:
                return
            current = _plain(codec.to_values(codec.from_row(row)))
            expect = dict(expect or {})
            if reverse:  # derived state the entry itself wrote to the new row (not undone)
                for other in target.changes:
                    if (other.entity, other.key) == (ch.entity, ch.key) and other.derived:
                        expect[other.field] = other.after
            moved = [f for f, v in expect.items() if f != "version"
                     and f not in DERIVED_FIELDS.get(ch.entity, ()) and current.get(f) != v]
            if moved:
                raise UndoRefused(
                    f"Cannot {verb} “{target.op}”: the {moved[0].replace('_', ' ')} of "
                    f"{what} was changed by {self._last_writer(session, cls, ch.key)} "
                    "since (nothing was changed).")
            self._delete_row(session, row)
        else:  # the row was deleted: bring it back
            if row is not None:
                return
            self._insert_values(session, cls, want)

    def _describe(self, cls: type, key: str) -> str:
        """How people name a row in a sentence: ``shot 2-3``, ``character 林雨``,
        ``scene 2``; the id's first characters for a row that is gone. (Called inside
        the undo's transaction: the reads see its earlier writes.)"""
        entity = self.get(cls, key)
        if isinstance(entity, E.Shot):
            label = shot_rules.shot_labels(self.scenes(), self.shots()).get(key)
            return f"shot {label}" if label else f"shot {key[:8]}"
        if isinstance(entity, E.Take):
            label = shot_rules.shot_labels(self.scenes(), self.shots()).get(entity.shot_id)
            return f"take {key[:8]} of shot {label}" if label else f"take {key[:8]}"
        if isinstance(entity, E.Character):
            return f"character {entity.name}"
        if isinstance(entity, E.Scene):
            return f"scene {entity.number}"
        if isinstance(entity, E.Project):
            return "the project"
        return f"{cls.__name__.lower()} {key[:8]}"

    def _field_writer(self, session: Session, ch: FieldChange, after_seq: int) -> str:
        author = session.scalar(
            select(orm.OpLogRow.author).join(orm.OpFieldRow,
                                             orm.OpLogRow.seq == orm.OpFieldRow.seq)
            .where(orm.OpFieldRow.entity == ch.entity, orm.OpFieldRow.row_id == ch.key,
                   orm.OpFieldRow.field == ch.field, orm.OpLogRow.seq > after_seq)
            .order_by(orm.OpLogRow.seq.desc()).limit(1))
        return author or "another program"

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
