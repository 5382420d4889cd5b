from __future__ import annotations

import sqlite3
import stat
import zipfile
from pathlib import Path

import pytest

from engine.interchange.bundle import BundleError, pack, unpack
from engine.model import Character, MediaAsset, Scene, Shot, Take, TakeKind
from engine.store import ProjectStore
from tests.media_factory import make_image, make_video


def _populated(tmp_path: Path) -> ProjectStore:
    store = ProjectStore.create(tmp_path / "src.storyreel")
    ref = store.media.import_file(make_image(tmp_path / "ref.png"))
    clip = store.media.import_file(make_video(tmp_path / "c.mp4"))
    char = store.add(Character(name="林雨", reference_images=[ref.sha256]))
    scene = store.add(Scene(number=1, heading="第1场 日 内 客厅"))
    shot = store.add(Shot(scene_id=scene.id, characters=[char.id]))
    store.add(Take(shot_id=shot.id, kind=TakeKind.ANIMATIC, media=clip.sha256))
    (store.cache_dir / "big.tmp").write_bytes(b"x" * 10000)
    return store


def test_pack_unpack_round_trip(tmp_path: Path) -> None:
    store = _populated(tmp_path)
    out = tmp_path / "share.zip"
    count = pack(store, out)
    names = zipfile.ZipFile(out).namelist()
    assert "project.db" in names and count == len(names)
    assert not any(n.startswith("cache/") for n in names)
    target = unpack(out, tmp_path / "dst.storyreel")
    copy = ProjectStore.open(target)
    assert copy.project.id == store.project.id
    assert [c.name for c in copy.characters()] == ["林雨"]
    assert len(copy.shots()) == 1 and len(copy.all(Take)) == 1
    for asset in store.all(MediaAsset):
        assert copy.media_path(asset.sha256).read_bytes() == store.media_path(
            asset.sha256).read_bytes()
    copy.close()
    store.close()


def _zip(path: Path, entries: dict[str, bytes], links: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


@pytest.fixture
def good_db(tmp_path: Path) -> bytes:
    store = _populated(tmp_path)
    store.close()
    db = tmp_path / "copy.db"
    src = sqlite3.connect(store.db_path)
    dst = sqlite3.connect(db)
    src.backup(dst)
    dst.close()
    src.close()
    return db.read_bytes()


@pytest.mark.parametrize("case", [
    "escape", "absolute", "link", "no-db", "foreign-db", "bomb", "bad-hash", "stray",
])
def test_hostile_zips_are_refused_and_leave_nothing(
    tmp_path: Path, good_db: bytes, case: str
) -> None:
    sha = "ab" + "0" * 62
    entries: dict[str, bytes] = {"project.db": good_db}
    links: tuple[str, ...] = ()
    if case == "escape":
        entries["media/../../evil.sh"] = b"rm -rf /"
    elif case == "absolute":
        entries["/tmp/evil.sh"] = b"x"
    elif case == "link":
        links = ("media/ab/" + sha + ".png",)
    elif case == "no-db":
        entries = {"media/ab/" + sha + ".png": b"x"}
    elif case == "foreign-db":
        other = tmp_path / "other.db"
        conn = sqlite3.connect(other)
        conn.execute("CREATE TABLE users(id INTEGER)")
        conn.commit()
        conn.close()
        entries["project.db"] = other.read_bytes()
    elif case == "bomb":
        entries["media/ab/" + sha + ".mp4"] = b"\0" * (50 << 20)
    elif case == "bad-hash":
        entries["media/ab/" + sha + ".png"] = b"not the bytes the name promises"
    elif case == "stray":
        entries["autorun.py"] = b"print('hi')"
    z = _zip(tmp_path / f"{case}.zip", entries, links)
    target = tmp_path / "out" / "dst.storyreel"
    with pytest.raises(BundleError) as info:
        unpack(z, target)
    assert "\n" not in str(info.value)
    assert not target.exists()
    assert not (tmp_path / "evil.sh").exists()
    leftovers = list((tmp_path / "out").iterdir()) if (tmp_path / "out").exists() else []
    assert leftovers == []


def test_unpack_refuses_non_zip_and_existing_target(tmp_path: Path, good_db: bytes) -> None:
    notzip = tmp_path / "x.zip"
    notzip.write_text("hello")
    with pytest.raises(BundleError, match="not a zip"):
        unpack(notzip, tmp_path / "a")
    z = _zip(tmp_path / "ok.zip", {"project.db": good_db})
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(BundleError, match="not empty"):
        unpack(z, tmp_path / "full")
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
