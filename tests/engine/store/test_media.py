from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import MediaError
from engine.model import MediaAsset, MediaKind
from engine.store import ProjectStore
from tests.media_factory import make_image, make_video, make_wav


def test_import_copies_once_and_records_facts(tmp_path: Path, project: ProjectStore) -> None:
    clip = make_video(tmp_path / "a.mp4", frames=30, size=(64, 48), fps=30, audio=True)
    first = project.media.import_file(clip)
    copy = tmp_path / "same-bytes.mp4"
    copy.write_bytes(clip.read_bytes())
    second = project.media.import_file(copy)
    assert first.sha256 == second.sha256
    files = [p for p in (project.root / "media").rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].name == f"{first.sha256}.mp4"
    assert len(project.all(MediaAsset)) == 1
    assert first.kind is MediaKind.VIDEO and (first.width, first.height) == (64, 48)
    assert first.fps == pytest.approx(30)
    assert first.duration == pytest.approx(1.0, abs=0.1)
    assert first.has_audio


def test_audio_and_image_probe(tmp_path: Path, project: ProjectStore) -> None:
    wav = project.media.import_file(make_wav(tmp_path / "v.wav", seconds=1.5))
    assert wav.kind is MediaKind.AUDIO and wav.duration == pytest.approx(1.5, abs=0.05)
    img = project.media.import_file(make_image(tmp_path / "r.png", size=(40, 60)))
    assert img.kind is MediaKind.IMAGE and (img.width, img.height) == (40, 60)
    assert project.media_path(img.sha256).read_bytes() == (tmp_path / "r.png").read_bytes()


@pytest.mark.parametrize("name,data", [
    ("broken.mp4", b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 50),
    ("noise.wav", b"RIFF" + bytes(range(256)) * 4),
    ("fake.png", b"\x89PNG\r\n\x1a\n" + b"nope" * 10),
    ("notes.txt", b"hello"),
])
def test_unreadable_media_is_rejected_and_nothing_added(
    tmp_path: Path, project: ProjectStore, name: str, data: bytes
) -> None:
    bad = tmp_path / name
    bad.write_bytes(data)
    with pytest.raises(MediaError) as info:
        project.media.import_file(bad)
    assert name in str(info.value) and "\n" not in str(info.value)
    assert project.all(MediaAsset) == []
    assert [p for p in (project.root / "media").rglob("*") if p.is_file()] == []
