"""Linked working copies of a project shared on a PostgreSQL server.

A linked folder holds ``team.json`` (the server URL without any password, the shared media
location, the project id), a local media cache in ``media/`` and ``cache/``. The database
is the server's; media objects are immutable, content-addressed files in a shared folder
(a NAS or SMB mount) copied once per machine. Passwords come from libpq's usual places
(``~/.pgpass``, a service file, ``PGPASSWORD``), never from the project folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from engine.errors import MediaError, ProjectError

LINK_NAME = "team.json"
CHANNEL = "storyreel_ops"  # the NOTIFY channel of new operations (migration 0006)
_USER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,62}")


@dataclass
class Link:
    server: str  # postgresql+psycopg://USER@HOST:PORT/DB?sslmode=..., no password
    media: str  # the shared media folder
    project_id: str = ""

    @property
    def user(self) -> str:
        return make_url(self.server).username or ""


def read_link(root: Path) -> Link | None:
    path = Path(root) / LINK_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Link(server=str(data["server"]), media=str(data["media"]),
                    project_id=str(data.get("project_id", "")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProjectError(f"{path} cannot be read ({exc}); join the project again with "
                           "`storyreel join`.") from None


def write_link(root: Path, link: Link) -> None:
    path = Path(root) / LINK_NAME
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps(asdict(link), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def public_url(url: str) -> str:
    """The server URL as kept in a linked folder: PostgreSQL only, the password dropped
    (TLS and other query settings are kept and passed through to libpq)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ProjectError(f"{url!r} is not a database URL; give one like "
                           "postgresql+psycopg://USER@HOST:5432/DB.") from None
    if parsed.get_backend_name() != "postgresql":
        raise ProjectError(f"{url!r} is not a PostgreSQL URL; a team server is PostgreSQL "
                           "15 or later (postgresql+psycopg://USER@HOST:5432/DB).")
    if not parsed.database:
        raise ProjectError(f"{url!r} names no database; add /DBNAME at its end.")
    if not parsed.username:
        raise ProjectError(f"{url!r} names no user; add USER@ before the host.")
    return URL.create("postgresql+psycopg", username=parsed.username, host=parsed.host,
                      port=parsed.port, database=parsed.database,
                      query=parsed.query).render_as_string(hide_password=False)


def server_engine(url: str) -> Engine:
    """An engine on the team server, proved reachable; one sentence when it is not."""
    from engine.store import codec

    engine = create_engine(public_url(url), json_deserializer=codec.load_json,
                           pool_pre_ping=True, pool_size=2, max_overflow=4)
    try:
        with engine.connect() as conn:
            major = int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    except (OperationalError, DBAPIError) as exc:
        engine.dispose()
        where = make_url(url)
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise ProjectError(f"The team server {where.host}:{where.port or 5432}/"
                           f"{where.database} cannot be reached as {where.username} "
                           f"({reason}).") from None
    if major < 15:
        engine.dispose()
        raise ProjectError(f"The team server runs PostgreSQL {major}; Storyreel needs 15 or "
                           "later.")
    return engine


def server_version(engine: Engine) -> int | None:
    """The schema version of the server's project, None when it holds none."""
    with engine.connect() as conn:
        if "alembic_version" not in inspect(conn).get_table_names():
            return None
        value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if value is None or not str(value).isdigit():
        raise ProjectError(f"The team server has an unknown schema version {value!r}.")
    return int(value)


def check_user(user: str) -> str:
    if not _USER.fullmatch(user or ""):
        raise ProjectError(f"{user!r} is not a user name a team server accepts (letters, "
                           "digits, _ . -, starting with a letter).")
    return user


# --------------------------------------------------------------------------- media
def shared_media(location: str) -> SharedMedia | S3Media:
    """The shared media store a location names: ``s3://BUCKET/PREFIX`` or a folder."""
    if location.startswith("s3://"):
        return S3Media(location)
    if "://" in location:
        raise ProjectError(f"Shared media {location!r}: give a folder (a NAS or SMB mount) "
                           "or s3://BUCKET/PREFIX.")
    return SharedMedia(location)


def _verified_copy(read: Any, sha256: str, size: int, dest: Path, name: str) -> None:
    """Write a stream into ``dest`` atomically, refusing bytes that are not the saved ones."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with open(tmp, "wb") as out:
            while chunk := read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256 or tmp.stat().st_size != size:
            raise MediaError(f"The shared media object {name} is damaged (its bytes are not "
                             "the ones saved); ask whoever made it to add it again.")
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


class S3Media:
    """The shared media store in an S3-compatible bucket (AWS, MinIO, Ceph…) through
    boto3; credentials and the endpoint come from boto3's usual places (the AWS_*
    environment variables, ~/.aws), never from the project folder."""

    def __init__(self, location: str) -> None:
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        if not bucket:
            raise ProjectError(f"{location!r} names no bucket; give s3://BUCKET/PREFIX.")
        self.location, self.bucket, self.prefix = location, bucket, prefix.strip("/")
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                import boto3
            except ImportError:
                raise ProjectError("Shared media in a bucket needs boto3: pip install "
                                   "'storyreel[s3]'.") from None

            self._client = boto3.client(
                "s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
        return self._client

    def key(self, relpath: str) -> str:
        rel = Path(relpath).relative_to("media").as_posix()
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def _errors(self) -> tuple[type[BaseException], ...]:
        from botocore.exceptions import BotoCoreError, ClientError

        return (BotoCoreError, ClientError)

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self._errors() as exc:
            raise ProjectError(f"The shared media bucket {self.location} cannot be reached "
                               f"({exc}).") from None

    def put(self, source: Path, relpath: str, size: int) -> None:
        key = self.key(relpath)
        try:
            try:
                head = self.client.head_object(Bucket=self.bucket, Key=key)
                if int(head.get("ContentLength", -1)) == size:
                    return  # content-addressed: the same name is the same bytes
            except self._errors():
                pass
            self.client.upload_file(str(source), self.bucket, key)
        except self._errors() as exc:
            raise MediaError(f"{Path(relpath).name} could not be uploaded to "
                             f"{self.location} ({exc}).") from None

    def fetch(self, relpath: str, sha256: str, size: int, dest: Path) -> bool:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(relpath))["Body"]
        except self._errors() as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404"):
                return False
            raise MediaError(f"{Path(relpath).name} could not be read from {self.location} "
                             f"({exc}).") from None
        _verified_copy(body.read, sha256, size, dest, Path(relpath).name)
        return True


class SharedMedia:
    """Immutable content-addressed objects in a shared folder: ``ab/abcdef….ext``."""

    def __init__(self, location: str) -> None:
        self.root = Path(location)

    def check(self) -> None:
        if not self.root.is_dir():
            raise ProjectError(f"The shared media folder {self.root} does not exist or is "
                               "not mounted.")

    def path(self, relpath: str) -> Path:
        # relpath is media/ab/sha.ext in the project; the shared store drops "media/"
        return self.root / Path(relpath).relative_to("media")

    def put(self, source: Path, relpath: str, size: int) -> None:
        target = self.path(relpath)
        if target.is_file() and target.stat().st_size == size:
            return  # content-addressed: the same name is the same bytes
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def fetch(self, relpath: str, sha256: str, size: int, dest: Path) -> bool:
        """Copy an object into the local cache, verified; False when the shared store does
        not have it, MediaError when its bytes are not the recorded ones."""
        source = self.path(relpath)
        if not source.is_file():
            return False
        with open(source, "rb") as src:
            _verified_copy(src.read, sha256, size, dest, source.name)
        return True


def forbidden_sentence(exc: BaseException, user: str, role: str | None) -> str | None:
    """One sentence for a write the server refused for the caller's role, else None."""
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate not in ("42501",):  # insufficient_privilege (GRANTs and row security)
        return None
    detail = str(orig).strip().splitlines()[0]
    who = f"{user} ({role})" if role else user
    return (f"The team server refused this change for {who}: {detail}; nothing was "
            "changed.")



def listen_connection(url: str):  # -> psycopg.Connection
    """A connection of its own that LISTENs to the channel of new operations."""
    import psycopg

    parsed = make_url(url)
    conn = psycopg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                           dbname=parsed.database, autocommit=True,
                           **{k: v for k, v in parsed.query.items() if isinstance(v, str)})
    conn.execute(f"LISTEN {CHANNEL}")
    return conn
