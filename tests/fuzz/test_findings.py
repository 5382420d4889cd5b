"""The fuzz campaign's findings (issue 19), each a regression test through the CLI as a
user meets it: exit 2, one clean sentence, nothing saved changed. Plus the committed
crash inputs under regressions/, replayed through their entry points."""

from __future__ import annotations

import json
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest

from engine.cli import main
from tests.fuzz import harness as H

REGRESSIONS = Path(__file__).with_name("regressions")


def refused(*argv: str) -> str:
    outcome = H.cli(list(argv))
    assert outcome.kind == H.REFUSED, outcome
    return outcome.detail


@pytest.fixture
def project(seed: dict, tmp_path: Path) -> Path:
    target = tmp_path / "p.storyreel"
    shutil.copytree(seed["project"], target)
    return target


def _rezip(src: Path, out: Path, *, drop: str = "", replace: dict[str, bytes] | None = None,
           compress: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", compression=compress) as zout:
        for info in zin.infolist():
            if info.filename == drop:
                continue
            data = (replace or {}).get(info.filename, zin.read(info.filename))
            zout.writestr(info.filename, data)
    return out


# ------------------------------------------------------------------ finding 1: bad CRC
def test_a_bundle_with_a_flipped_byte_in_stored_data_is_refused(
        seed: dict, tmp_path: Path) -> None:
    src = tmp_path / "seed.zip"
    src.write_bytes(seed["zip"])
    with zipfile.ZipFile(src) as zf:
        media = next(i for i in zf.infolist() if i.filename.startswith("media/")
                     and i.compress_type == zipfile.ZIP_STORED and i.file_size > 64)
        offset = media.header_offset + 30 + len(media.filename.encode()) + len(media.extra)
    data = bytearray(seed["zip"])
    data[offset + media.file_size // 2] ^= 0x40  # inside the entry's bytes: CRC no longer matches
    bad = tmp_path / "bad.zip"
    bad.write_bytes(bytes(data))
    message = refused("unpack", str(bad), str(tmp_path / "out.storyreel"))
    assert "damaged" in message and media.filename in message and "bad.zip" in message
    assert not (tmp_path / "out.storyreel").exists()
    assert not list(tmp_path.glob(".unpack-*"))


def test_a_bundle_whose_header_offset_points_outside_the_file_is_refused(
        seed: dict, tmp_path: Path) -> None:
    """Found by the campaign: a negative seek gave `Invalid argument`, exit 1."""
    src = tmp_path / "seed.zip"
    src.write_bytes(seed["zip"])
    with zipfile.ZipFile(src) as zf:
        names = zf.namelist()
    data = bytearray(seed["zip"])
    central = data.rfind(b"PK\x01\x02")  # the last central directory record
    data[central + 42:central + 46] = (0xFFFFFFF0).to_bytes(4, "little")
    bad = tmp_path / "bad.zip"
    bad.write_bytes(bytes(data))
    message = refused("unpack", str(bad), str(tmp_path / "out.storyreel"))
    assert "damaged" in message or "Refusing" in message, message
    assert names and not (tmp_path / "out.storyreel").exists()


# ------------------------------------------------------------------ finding 2: project.db
def _poison(db: Path, sql: str) -> None:
    con = sqlite3.connect(db)
    con.execute(sql)
    con.commit()
    con.close()


@pytest.mark.parametrize("sql, words", [
    # invalid UTF-8 in a JSON column: was OperationalError "Could not decode to UTF-8"
    ("update takes set record = CAST(X'7B22FF' AS TEXT)", "damaged"),
    ("update scenes set heading = CAST(X'C328' AS TEXT)", "damaged"),
    ("update shots set dialogue = '[{\"text\": ' ", "JSON value in shots.dialogue"),
])
def test_damaged_rows_in_project_db_are_one_sentence_and_change_nothing(
        project: Path, tmp_path: Path, sql: str, words: str) -> None:
    _poison(project / "project.db", sql)
    before = H.tree_digest(project)
    for argv in (["info", str(project)], ["timeline", str(project)],
                 ["pack", str(project), str(tmp_path / "out.zip")]):
        message = refused(*argv)
        assert words in message and "project.db" in message, message
    assert H.tree_digest(project) == before
    assert not list(tmp_path.glob("out.zip*"))


def test_damaged_names_in_the_schema_are_one_clean_sentence(
        project: Path) -> None:
    """Found by the campaign: a flipped byte in sqlite_master's text escaped as a
    UnicodeDecodeError from the schema-version read."""
    db = project / "project.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA writable_schema=ON")
    con.execute("update sqlite_master set sql = CAST(X'4352454154FF' AS TEXT) "
                "where name = 'jobs'")
    con.commit()
    con.close()
    message = refused("info", str(project))
    assert "project.db" in message


def test_repair_restores_the_newest_good_backup_and_keeps_the_damaged_file(
        project: Path) -> None:
    db = project / "project.db"
    snapshot = project / "cache" / "autosave" / "project.db"
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(db, snapshot)
    good = json.loads(_run_json("info", str(project), "--json"))
    _poison(db, "update takes set record = CAST(X'7B22FF' AS TEXT)")
    damaged = db.read_bytes()
    message = refused("info", str(project))
    assert f"storyreel repair {project}" in message
    assert main(["repair", str(project)]) == 0
    kept = list(project.glob("project.damaged.*.db"))
    assert len(kept) == 1 and kept[0].read_bytes() == damaged  # nothing lost
    assert json.loads(_run_json("info", str(project), "--json")) == good
    # a sound project has nothing to repair, and says so
    assert "nothing to repair" in refused("repair", str(project))


def test_repair_without_a_good_backup_changes_nothing(project: Path) -> None:
    db = project / "project.db"
    _poison(db, "update takes set record = CAST(X'7B22FF' AS TEXT)")
    before = H.tree_digest(project)
    assert "no backup" in refused("info", str(project))
    assert "no backup" in refused("repair", str(project))
    assert H.tree_digest(project) == before


def _run_json(*argv: str) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(argv)) == 0
    return out.getvalue()


# ------------------------------------------------------------------ finding 3: UTF-16
@pytest.mark.parametrize("data", [
    b"\xff\xfe" + "第1场 日 内 客厅\n李明：你好。".encode("utf-16-le") + b"\x00",  # odd count
    b"\xff\xfe" + "第1场 日 内 客厅".encode("utf-16-le") + b"\x00\xd8",  # lone surrogate
    b"\xfe\xff" + "第1场".encode("utf-16-be") + b"\xdc\x00",  # lone low surrogate
])
def test_damaged_utf16_scripts_are_refused(project: Path, tmp_path: Path,
                                           data: bytes) -> None:
    script = tmp_path / "s.txt"
    script.write_bytes(data)
    before = H.tree_digest(project)
    message = refused("import-script", str(project), str(script))
    assert "s.txt" in message and "UTF-16" in message
    assert H.tree_digest(project) == before


# ------------------------------------------------------------------ finding 5: manifests
@pytest.mark.parametrize("change", ["no manifest", "garbage manifest", "no project.db",
                                    "other project", "other schema", "not format 1"])
def test_bundles_without_a_matching_manifest_are_refused(
        seed: dict, tmp_path: Path, change: str) -> None:
    src = tmp_path / "seed.zip"
    src.write_bytes(seed["zip"])
    manifest = json.loads(zipfile.ZipFile(src).read("storyreel-bundle.json"))
    edits: dict[str, dict] = {
        "other project": {"project_id": "0" * 36}, "other schema": {"schema": 1},
        "not format 1": {"format": 2}}
    if change == "no manifest":
        bad = _rezip(src, tmp_path / "bad.zip", drop="storyreel-bundle.json")
    elif change == "no project.db":
        bad = _rezip(src, tmp_path / "bad.zip", drop="project.db")
    elif change == "garbage manifest":
        bad = _rezip(src, tmp_path / "bad.zip",
                     replace={"storyreel-bundle.json": b"\x89PNG\r\n garbage"})
    else:
        manifest.update(edits[change])
        bad = _rezip(src, tmp_path / "bad.zip",
                     replace={"storyreel-bundle.json": json.dumps(manifest).encode()})
    refused("unpack", str(bad), str(tmp_path / "out.storyreel"))
    assert not (tmp_path / "out.storyreel").exists()


def test_an_untouched_bundle_still_unpacks(seed: dict, tmp_path: Path) -> None:
    src = tmp_path / "seed.zip"
    src.write_bytes(seed["zip"])
    assert H.run_bundle(seed["zip"], tmp_path).kind == H.OK


# ------------------------------------------------------------------ committed crash inputs
def _replay(path: Path, seed: dict, tmp_path: Path) -> H.Outcome:
    point = path.name.split("-")[0]
    data = path.read_bytes()
    if point == "script_file":
        return H.run_script_file(data, tmp_path, path.suffix if path.suffix != ".noext" else "")
    if point == "script_text":
        return H.run_script_text(data.decode("utf-8", "surrogatepass"))
    if point == "llm":
        return H.run_llm(path.suffix.lstrip("."), data.decode("utf-8", "surrogatepass"))
    if point == "media":
        return H.run_media(data, tmp_path, path.suffix)
    if point == "bundle":
        return H.run_bundle(data, tmp_path)
    if point == "project":
        command = next(c for c in H.PROJECT_COMMANDS if c[0] == path.suffixes[0][1:])
        project = tmp_path / "p.storyreel"
        shutil.copytree(seed["project"], project)
        return H.run_project(data, project, tmp_path, list(command))
    raise AssertionError(f"no entry point for {path.name}")


@pytest.mark.parametrize("path", sorted(REGRESSIONS.glob("*-*")), ids=lambda p: p.name)
def test_committed_crash_inputs_are_refused_or_accepted(
        path: Path, seed: dict, tmp_path: Path) -> None:
    assert _replay(path, seed, tmp_path).kind != H.CRASH


# ------------------------------------------------------------------ media
def test_a_video_cut_off_part_way_is_refused_with_its_readable_duration(
        project: Path, tmp_path: Path) -> None:
    from tests.media_factory import make_video

    whole = make_video(tmp_path / "clip.mkv", frames=48).read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole[: len(whole) // 2])
    before = H.tree_digest(project)
    for argv in (["import-media", str(project), str(cut)],
                 ["import-take", str(project), "1-1", str(cut)]):
        message = refused(*argv)
        assert "cut.mkv is cut off" in message and "of the 2.00 s" in message, message
    assert H.tree_digest(project) == before
    assert H.run_media(whole, tmp_path, ".mkv").kind == H.OK


def test_absurd_picture_sizes_are_refused_before_decoding(project: Path,
                                                         tmp_path: Path) -> None:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    # valid PNG headers claiming huge pictures (a 360 MB and a 10 GB one), almost no data
    for side in (11000, 60000):
        png = (b"\x89PNG\r\n\x1a\n"
               + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
               + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
        bomb = tmp_path / f"bomb{side}.png"
        bomb.write_bytes(png)
        message = refused("import-media", str(project), str(bomb))
        assert bomb.name in message and (f"{side}×{side}" in message
                                         or "exceeds limit" in message), message


def test_audio_only_files_are_refused_as_takes(project: Path, tmp_path: Path) -> None:
    from tests.media_factory import make_wav

    wav = make_wav(tmp_path / "voice.wav", seconds=0.5)
    before = H.tree_digest(project)
    assert "not a video" in refused("import-take", str(project), "1-1", str(wav))
    assert H.tree_digest(project) == before


# ------------------------------------------------------------------ finding 4: scale
def test_a_long_script_import_reports_progress_and_cancels_without_a_trace(
        tmp_path: Path) -> None:
    """Speed is measured in bench/script_import.py; here: progress per scene, and a cancel
    half-way leaves the project as it was."""
    from engine.errors import Cancelled
    from engine.jobs.progress import CancelToken
    from engine.model import Scene, Shot
    from engine.ops.story import import_script
    from engine.store import ProjectStore

    script = tmp_path / "long.txt"
    script.write_text("".join(f"第{n}场 日 内 客厅\n\n李明：你好。\n\n" for n in range(1, 301)),
                      encoding="utf-8")
    with ProjectStore.create(tmp_path / "p.storyreel") as store:
        seen: list[tuple[float, str]] = []
        report = import_script(store, script,
                               progress=lambda f, m="": seen.append((f, m))).result
        assert report.scenes == 300 and report.shots == len(store.shots()) == 600
        fractions = [f for f, _ in seen]
        assert fractions == sorted(fractions) and fractions[-1] == 1.0
        assert ("Importing scene 151/300" in {m for _, m in seen})
    before = H.tree_digest(tmp_path / "p.storyreel")
    token = CancelToken()

    def cancel_half_way(fraction: float, message: str = "") -> None:
        if message.startswith("Importing scene 151/"):
            token.cancel()

    script.write_text(script.read_text(encoding="utf-8").replace("你好", "再见"),
                      encoding="utf-8")
    with ProjectStore.open(tmp_path / "p.storyreel") as store:
        seq = store.history(limit=1)[0].seq
        with pytest.raises(Cancelled):
            import_script(store, script, progress=cancel_half_way, cancel=token)
        assert store.history(limit=1)[0].seq == seq
        assert all(d.text == "你好。" for s in store.all(Shot) for d in s.dialogue)
        assert len(store.all(Scene)) == 300
    assert H.tree_digest(tmp_path / "p.storyreel") == before
