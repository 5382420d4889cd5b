"""Thumbnails: the right frame of a real H.264 clip, scaled to fit; pictures upright."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.errors import MediaError
from engine.generate.thumbnails import make_thumbnail, thumbnail_from_image
from tests.media_factory import make_image, make_video, make_wav


def blue_of(png: Path) -> float:
    """make_video paints blue = frame index × 7: the blue level tells which frame this is."""
    with Image.open(png) as im:
        return float(np.asarray(im.convert("RGB"))[..., 2].mean())


def test_thumbnail_is_the_middle_frame_scaled_to_fit(tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mp4", frames=24, size=(64, 48), fps=24)
    out = make_thumbnail(video, tmp_path / "thumbs" / "clip.png", max_side=32)
    assert out == tmp_path / "thumbs" / "clip.png"
    with Image.open(out) as im:
        assert im.format == "PNG"
        assert im.size == (32, 24)
    assert abs(blue_of(out) - 12 * 7) < 10
    first = make_thumbnail(video, tmp_path / "first.png", max_side=32, at=0.0)
    assert blue_of(first) < 10
    # nothing but the PNGs: the temp file was renamed into place
    assert sorted(p.name for p in (tmp_path / "thumbs").iterdir()) == ["clip.png"]


def test_thumbnail_seeks_into_a_longer_clip(tmp_path: Path) -> None:
    video = make_video(tmp_path / "long.mp4", frames=72, size=(64, 48), fps=24)  # 3 s
    out = make_thumbnail(video, tmp_path / "late.png", at=0.75)
    with Image.open(out) as im:
        assert im.size == (64, 48)  # already small: not enlarged
    assert abs(blue_of(out) - (54 * 7) % 256) < 10
    last = make_thumbnail(video, tmp_path / "last.png", at=1.0)
    assert abs(blue_of(last) - (71 * 7) % 256) < 10


def test_unreadable_video_is_one_sentence_media_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x01 this is not a video" * 20)
    with pytest.raises(MediaError, match="junk.mp4") as info:
        make_thumbnail(junk, tmp_path / "j.png")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "j.png").exists()
    with pytest.raises(MediaError, match="does not exist"):
        make_thumbnail(tmp_path / "missing.mp4", tmp_path / "m.png")
    video = make_video(tmp_path / "ok.mp4", frames=4)
    with pytest.raises(MediaError, match="outside 0–1"):
        make_thumbnail(video, tmp_path / "x.png", at=1.5)
    sound = make_wav(tmp_path / "sound.wav", seconds=0.2)
    with pytest.raises(MediaError, match="no video stream"):
        make_thumbnail(sound, tmp_path / "y.png")


def test_thumbnail_from_image_fits_and_respects_exif_orientation(tmp_path: Path) -> None:
    src = make_image(tmp_path / "wide.png", size=(640, 480), color=(10, 200, 30))
    out = thumbnail_from_image(src, tmp_path / "t.png", max_side=320)
    with Image.open(out) as im:
        assert im.size == (320, 240)
        assert np.asarray(im.convert("RGB"))[2, 2].tolist() == [10, 200, 30]
    # a phone photo stored sideways with "rotate 90°" in its EXIF comes out upright
    photo = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (400, 200), (120, 120, 120)).save(photo, exif=exif)
    with Image.open(thumbnail_from_image(photo, tmp_path / "p.png", max_side=100)) as im:
        assert im.size == (50, 100)


def test_thumbnail_from_bad_image_is_a_media_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_text("no picture here")
    with pytest.raises(MediaError, match="bad.png"):
        thumbnail_from_image(bad, tmp_path / "b.png")
    assert not (tmp_path / "b.png").exists()
