"""Pack a project into one zip for a teammate, and unpack one safely.

A zip from someone else is untrusted: unpacking refuses entries that escape the target,
links, absurd sizes or compression ratios, media whose bytes do not match their name, and
a missing or foreign project.db. Nothing is written to the target until all checks pass.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from engine import __version__
from engine.errors import ProjectError, StoryreelError
from engine.model import entities as E
from engine.store import ProjectStore, integrity, schema
from engine.store.media import sha256_file
from engine.store.project import DB_NAME

MANIFEST = "storyreel-bundle.json"
MAX_TOTAL_BYTES = 64 << 30  # 64 GiB unpacked
MAX_ENTRIES = 200_000
MAX_RATIO = 1000  # uncompressed / compressed, for entries over 1 MiB
_MEDIA_RE = re.compile(r"^media/([0-9a-f]{2})/([0-9a-f]{64})(\.[a-z0-9]{1,8})$")


class BundleError(StoryreelError):
    """A bundle is unsafe or not a Storyreel project."""


def used_media(store: ProjectStore) -> set[str]:
    """sha256 of every media file the project refers to."""
    used: set[str] = set()
    for ch in store.all(E.Character):
        used.update(ch.reference_images)
    for shot in store.all(E.Shot):
        used.update(m for m in (shot.first_keyframe, shot.last_keyframe) if m)
    for take in store.all(E.Take):
        used.add(take.media)
        if take.thumbnail:
            used.add(take.thumbnail)
    for clip in store.all(E.VoiceClip):
        used.add(clip.media)
    for placement in store.all(E.AudioPlacement):
        used.add(placement.media)
    # media the user imported on purpose stays with the project too
    used.update(a.sha256 for a in store.all(E.MediaAsset))
    return used


_REPAIR = ("`storyreel generate` and `storyreel voice` make takes, thumbnails and voices "
           "again; `storyreel import-media` with the original file puts an import back.")


def pack(store: ProjectStore, out: Path) -> int:
    """Write the project (database + media it uses, no cache) to ``out``. Returns entries."""
    out = Path(out)
    from engine.store.project import check_output_path

    check_output_path(store.root, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=out.parent, suffix=".zip.part")
    os.close(fd)
    tmp = Path(tmp_name)
    count = 0
    try:
        with tempfile.TemporaryDirectory() as td:
            db_copy = Path(td) / DB_NAME
            src = sqlite3.connect(store.db_path)
            dst = sqlite3.connect(db_copy)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")
            finally:
                dst.close()
                src.close()
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                manifest = {
                    "format": 1, "generator": f"Storyreel {__version__}",
                    "project_id": store.project.id, "schema": store.schema_version,
                }
                zf.writestr(MANIFEST, json.dumps(manifest, indent=2))
                zf.write(db_copy, DB_NAME)
                count = 2
                for sha in sorted(used_media(store)):
                    asset = store.get(E.MediaAsset, sha)
                    if asset is None:
                        continue
                    path = store.root / asset.relpath
                    if not path.is_file():
                        raise BundleError(
                            f"Media file {asset.relpath} ({asset.original_name}) is missing "
                            f"from the project; {_REPAIR}"
                        )
                    if path.stat().st_size != asset.size_bytes:
                        raise BundleError(
                            f"Media file {asset.relpath} ({asset.original_name}) is damaged "
                            f"({path.stat().st_size} bytes, {asset.size_bytes} recorded); "
                            f"{_REPAIR}"
                        )
                    # media is already compressed; store it as is
                    zf.write(path, asset.relpath, compress_type=zipfile.ZIP_STORED)
                    count += 1
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return count


def _check_name(name: str) -> PurePosixPath:
    if "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise BundleError(f"Refusing bundle: entry {name!r} has an absolute or foreign path.")
    path = PurePosixPath(name)
    if any(part in ("..", "") for part in path.parts) or not path.parts:
        raise BundleError(f"Refusing bundle: entry {name!r} escapes the project folder.")
    return path


def _check_entries(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise BundleError(f"Refusing bundle: {len(infos)} entries is more than a project has.")
    total = 0
    names: set[str] = set()
    for info in infos:
        _check_name(info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise BundleError(f"Refusing bundle: entry {info.filename!r} is a link.")
        if info.is_dir():
            continue
        if info.filename in names:
            raise BundleError(f"Refusing bundle: entry {info.filename!r} appears twice.")
        names.add(info.filename)
        if info.filename not in (DB_NAME, MANIFEST) and not _MEDIA_RE.match(info.filename):
            raise BundleError(
                f"Refusing bundle: unexpected entry {info.filename!r} (a project bundle holds "
                f"{DB_NAME}, {MANIFEST} and media/ only)."
            )
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise BundleError("Refusing bundle: it would unpack to more than 64 GiB.")
        if info.file_size > (1 << 20) and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise BundleError(
                f"Refusing bundle: entry {info.filename!r} has an absurd compression ratio."
            )
    if DB_NAME not in names:
        raise BundleError(f"Refusing bundle: it has no {DB_NAME}, so it is not a project.")
    if MANIFEST not in names:
        raise BundleError(f"Refusing bundle: it has no {MANIFEST}, so it was not made by "
                          "`storyreel pack`.")
    return infos


# what zipfile, zlib and the file layer raise for a damaged entry (bad CRC, bad header,
# cut-off data, unknown compression, an offset outside the file)
_DAMAGED_ZIP = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
                ValueError, OSError)


def _damaged(zip_path: Path, name: str, exc: BaseException) -> BundleError:
    reason = " ".join(str(exc).split(" for file ")[0].split())[:120] or type(exc).__name__
    return BundleError(f"Refusing bundle {zip_path.name}: its entry {name!r} is damaged "
                       f"({reason}); ask for a fresh copy made with `storyreel pack`.")


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path,
             zip_path: Path) -> None:
    dest = target / info.filename
    dest.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        src = zf.open(info)
    except _DAMAGED_ZIP as exc:
        raise _damaged(zip_path, info.filename, exc) from exc
    with src, open(dest, "wb") as dst:
        while True:
            try:
                chunk = src.read(1 << 20)
            except _DAMAGED_ZIP as exc:
                raise _damaged(zip_path, info.filename, exc) from exc
            if not chunk:
                break
            written += len(chunk)
            if written > info.file_size:
                raise BundleError(f"Refusing bundle: entry {info.filename!r} lies about its size.")
            dst.write(chunk)
    if written != info.file_size:
        raise BundleError(f"Refusing bundle {zip_path.name}: its entry {info.filename!r} is "
                          "cut off; ask for a fresh copy made with `storyreel pack`.")


def _check_manifest(staging: Path, zip_path: Path, version: int) -> None:
    """The manifest must be Storyreel's and describe the project.db beside it."""
    where = f"Refusing bundle {zip_path.name}: its {MANIFEST}"
    try:
        manifest = json.loads((staging / MANIFEST).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BundleError(f"{where} is not readable JSON, so it was not made by "
                          "`storyreel pack`.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != 1:
        raise BundleError(f"{where} is not a Storyreel bundle manifest (format 1).")
    if manifest.get("schema") != version:
        raise BundleError(f"{where} says schema {str(manifest.get('schema'))[:20]!r} but its "
                          f"{DB_NAME} has schema {version}; the bundle was altered.")
    con = sqlite3.connect(f"file:{(staging / DB_NAME).as_posix()}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT id FROM project").fetchall()
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        raise BundleError(f"Refusing bundle {zip_path.name}: its {DB_NAME} is not usable "
                          f"({' '.join(str(exc).split())[:120]}).") from exc
    finally:
        con.close()
    ids = [r[0] for r in rows]
    if ids != [manifest.get("project_id")]:
        raise BundleError(f"{where} names project {str(manifest.get('project_id'))[:40]!r} "
                          f"but its {DB_NAME} holds {len(ids)} other project record(s); the "
                          "bundle was altered.")


def unpack(zip_path: Path, target: Path) -> Path:
    """Unpack a bundle into a new folder ``target``; returns it. Refuses unsafe bundles."""
    zip_path = Path(zip_path)
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BundleError(f"{target} already exists and is not empty.")
    if not zip_path.is_file():
        raise BundleError(f"{zip_path} does not exist.")
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"{zip_path} is not a zip file ({exc}).") from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".unpack-"))
    try:
        with zf:
            infos = _check_entries(zf)
            for info in infos:
                if not info.is_dir():
                    _extract(zf, info, staging, zip_path)
        try:
            version = schema.check_readable(staging / DB_NAME)
            integrity.check_database(staging / DB_NAME)
        except ProjectError as exc:
            raise BundleError(f"Refusing bundle: its {DB_NAME} is not usable: {exc}") from exc
        _check_manifest(staging, zip_path, version)
        for path in (staging / "media").rglob("*") if (staging / "media").exists() else []:
            if path.is_file():
                m = _MEDIA_RE.match(path.relative_to(staging).as_posix())
                if m is None or sha256_file(path) != m.group(2):
                    raise BundleError(
                        f"Refusing bundle: {path.relative_to(staging)} does not match its hash."
                    )
        (staging / "cache").mkdir(exist_ok=True)
        (staging / "media").mkdir(exist_ok=True)
        if target.exists():
            target.rmdir()
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    # opening runs migrations if the bundle came from an older Storyreel
    try:
        ProjectStore.open(target).close()
    except StoryreelError:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return target
