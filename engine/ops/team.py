"""Share a local project on a PostgreSQL server, join it from another machine, and give
people roles that the server itself enforces (GRANTs and row-level security)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError

from engine.errors import ProjectError
from engine.jobs.nodes import ensure_schema
from engine.model import MediaAsset
from engine.model.review import ROLES, TeamMember
from engine.store import orm, schema
from engine.store.project import DB_NAME, ProjectStore, find_project_dir
from engine.store.team import (
    Link,
    check_user,
    public_url,
    read_link,
    server_engine,
    server_version,
    shared_media,
    write_link,
)

# what each role may write, beyond reading everything (viewer: nothing)
REVIEW_TABLES = ("review_notes", "shot_reviews", "shot_locks", "op_log", "op_fields")


def share(path: str | Path, url: str, media: str) -> Link:
    """Move a local project onto the server; the folder becomes a linked working copy.
    The server's database must be empty. Nothing local changes unless all of it worked
    (the old project.db is kept beside, renamed)."""
    root = find_project_dir(path)
    if read_link(root) is not None:
        raise ProjectError(f"{root.name} is already shared on {read_link(root).server}.")
    shared = shared_media(media)
    shared.check()
    server_url = public_url(url)
    engine = server_engine(url)
    try:
        if server_version(engine) is not None:
            raise ProjectError(f"{server_url} already holds a Storyreel project; join it with "
                               "`storyreel join` instead, or give an empty database.")
        local = ProjectStore.open(root)
        try:
            project_id = local.project.id
            schema.upgrade(engine)
            try:
                ensure_schema(engine, server_url)
                with engine.begin() as server, local.engine.connect() as source:
                    _copy_rows(source, server)
                    secure(server)
                    owner = Link(server_url, media).user
                    server.execute(orm.TeamMemberRow.__table__.insert(), [
                        {"user": owner, "role": "owner", "granted_by": owner,
                         "created_at": datetime.now(UTC).isoformat(), "version": 1}])
                for asset in local.all(MediaAsset):
                    source_file = local.root / asset.relpath
                    if source_file.is_file():
                        shared.put(source_file, asset.relpath, asset.size_bytes)
            except BaseException:
                orm.Base.metadata.drop_all(engine)
                with engine.begin() as conn:
                    conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
                raise
        finally:
            local.close()
    finally:
        engine.dispose()
    link = Link(server=server_url, media=str(media), project_id=project_id)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    db = root / DB_NAME
    os.replace(db, root / f"project.before-share.{stamp}.bak.db")
    for suffix in ("-wal", "-shm"):
        (root / (DB_NAME + suffix)).unlink(missing_ok=True)
    write_link(root, link)
    return link


def join(url: str, path: str | Path, media: str) -> ProjectStore:
    """Make a linked working copy of the server's project in a new folder."""
    root = Path(path)
    if root.exists() and any(root.iterdir()):
        raise ProjectError(f"{path} already exists and is not empty.")
    shared_media(media).check()
    server_url = public_url(url)
    engine = server_engine(url)
    try:
        if server_version(engine) is None:
            raise ProjectError(f"{server_url} holds no Storyreel project; `storyreel share` "
                               "puts one there.")
        with engine.connect() as conn:
            project_id = conn.execute(select(orm.ProjectRow.id)).scalar()
    finally:
        engine.dispose()
    root.mkdir(parents=True, exist_ok=True)
    (root / "media").mkdir(exist_ok=True)
    (root / "cache").mkdir(exist_ok=True)
    write_link(root, Link(server=server_url, media=str(media), project_id=project_id or ""))
    return ProjectStore.open(root)


def _copy_rows(source: Connection, server: Connection) -> None:
    for table in orm.Base.metadata.sorted_tables:
        rows = [dict(r._mapping) for r in source.execute(select(table))]
        for start in range(0, len(rows), 500):
            server.execute(table.insert(), rows[start:start + 500])
        for column in table.primary_key.columns:
            if column.autoincrement is True or (
                    column.type.python_type is int and len(table.primary_key.columns) == 1):
                sequence = server.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                          {"t": table.name, "c": column.name}).scalar()
                if sequence:
                    server.execute(text(
                        f'SELECT setval(:s, (SELECT COALESCE(MAX("{column.name}"), 0) + 1 '
                        f'FROM "{table.name}"), false)'), {"s": sequence})


def secure(server: Connection) -> None:
    """Row-level security: notes are written, changed and deleted only by their author,
    and every history entry names the role that wrote it (no one writes as another)."""
    for table, column, writes in (("review_notes", "author", ("INSERT", "UPDATE", "DELETE")),
                                  ("op_log", "author", ("INSERT",))):
        server.execute(text(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY'))
        server.execute(text(f'DROP POLICY IF EXISTS storyreel_read ON "{table}"'))
        server.execute(text(f'CREATE POLICY storyreel_read ON "{table}" FOR SELECT '
                            "USING (true)"))
        for verb in writes:
            name = f"storyreel_own_{verb.lower()}"
            server.execute(text(f'DROP POLICY IF EXISTS {name} ON "{table}"'))
            check = (f"WITH CHECK ({column} = current_user)" if verb == "INSERT"
                     else f"USING ({column} = current_user)")
            server.execute(text(f'CREATE POLICY {name} ON "{table}" FOR {verb} {check}'))


def grant(store: ProjectStore, user: str, role: str) -> TeamMember:
    """Give ``user`` (a PostgreSQL role, made when absent) ``role`` on the shared project."""
    if not store.is_linked:
        raise ProjectError(f"{store.root.name} is a local project; share it on a team server "
                           "first (`storyreel share`).")
    check_user(user)
    if role not in ROLES:
        raise ProjectError(f"{role!r} is not a role; choose one of {', '.join(ROLES)}.")
    engine: Engine = store.engine
    quoted = f'"{user}"'
    try:
        with engine.begin() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :u"),
                                  {"u": user}).scalar()
            if not exists:
                conn.execute(text(f"CREATE ROLE {quoted} LOGIN"))
            conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {quoted}"))
            conn.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {quoted}"))
            conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {quoted}"))
            if role != "viewer":
                conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public "
                                  f"TO {quoted}"))
            if role in ("owner", "editor"):
                conn.execute(text(f"GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "
                                  f"public TO {quoted}"))
                if role == "editor":
                    conn.execute(text(f"REVOKE INSERT, UPDATE, DELETE ON team_members "
                                      f"FROM {quoted}"))
            elif role == "reviewer":
                for table in REVIEW_TABLES:
                    conn.execute(text(f'GRANT INSERT, UPDATE, DELETE ON "{table}" '
                                      f"TO {quoted}"))
                # a retake marks the shot stale: that column (and its version) only
                conn.execute(text(f"GRANT UPDATE (status, version) ON shots TO {quoted}"))
            if role == "owner":
                conn.execute(text(f"ALTER ROLE {quoted} CREATEROLE"))
                conn.execute(text(f"GRANT ALL ON SCHEMA public TO {quoted}"))
    except DBAPIError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise ProjectError(f"{store.author} cannot grant roles on this server ({reason}); "
                           "ask the project's owner.") from None
    with store.transaction(f"Grant {role} to {user}", undoable=False):
        if store.get(TeamMember, user) is None:
            store.add(TeamMember(user=user, role=role, granted_by=store.author))
        else:
            store.set_fields(TeamMember, user, role=role, granted_by=store.author)
    return store.require(TeamMember, user)


def members(store: ProjectStore) -> list[TeamMember]:
    return sorted(store.all(TeamMember), key=lambda m: (ROLES.index(m.role)
                                                        if m.role in ROLES else 9, m.user))


def node_copy(url: str, media: str) -> Path:
    """This machine's linked working copy of the server's project (made once)."""
    parsed = make_url(public_url(url))
    home = Path(os.environ.get("STORYREEL_HOME") or Path.home() / ".storyreel")
    root = home / "nodes" / f"{parsed.host}_{parsed.port or 5432}_{parsed.database}.storyreel"
    if (root / "team.json").is_file():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    # two nodes started at once on one machine: one makes the copy, the other waits for it
    with open(root.parent / ".copy.lock", "a+b") as lock:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; one node per machine there
            fcntl = None  # type: ignore[assignment]
        if fcntl is not None:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if not (root / "team.json").is_file():
            join(url, root, media).close()
    return root


