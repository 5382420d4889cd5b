"""Takes built from public-domain photographs that ship inside wheels: scikit-image's
astronaut (Eileen Collins, NASA) and matplotlib's Grace Hopper (US Navy). Each take moves,
zooms, re-lights, mirrors or recompresses the photo, encoded as a real H.264 clip."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

EFFECTS = ("still", "move", "zoom", "relight", "mirror", "recompress")


def astronaut() -> np.ndarray:
    from skimage import data

    return np.asarray(data.astronaut())


def grace_hopper() -> np.ndarray:
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        return np.asarray(Image.open(fh).convert("RGB"))


def save_photo(photo: np.ndarray, path: Path) -> Path:
    Image.fromarray(photo).save(path)
    return path


def take_frames(photo: np.ndarray, effect: str, frames: int = 6,
                size: tuple[int, int] = (320, 320)) -> np.ndarray:
    """(frames, H, W, 3) uint8: the photo under one camera/light effect."""
    img = Image.fromarray(photo)
    w, h = img.size
    out = []
    for i in range(frames):
        f = i / max(1, frames - 1)
        side = min(w, h) * (0.8 if effect != "zoom" else 0.95 - 0.3 * f)
        cx, cy = w / 2, h / 2 - (h - side) * 0.1
        if effect == "move":
            cx += (f - 0.5) * (w - side) * 0.9
        box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
        frame = img.resize(size, Image.Resampling.BICUBIC, box=box)
        if effect == "relight":
            frame = ImageEnhance.Brightness(frame).enhance(1.0 - 0.55 * f)
            frame = ImageEnhance.Contrast(frame).enhance(1.0 - 0.3 * f)
        if effect == "mirror":
            frame = frame.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        if effect == "recompress":
            buf = io.BytesIO()
            frame.save(buf, "JPEG", quality=12)
            frame = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
        out.append(np.asarray(frame))
    return np.stack(out)


def make_take(photo: np.ndarray, effect: str, path: Path, frames: int = 6, fps: int = 6,
              crf: int = 23) -> Path:
    from engine.generate.video_io import write_video

    return write_video(take_frames(photo, effect, frames), path, fps,
                       crf=40 if effect == "recompress" else crf)


def blank_take(path: Path, frames: int = 6, fps: int = 6) -> Path:
    """A clip with no face in it: a grey gradient."""
    from engine.generate.video_io import write_video

    x = np.linspace(40, 200, 320, dtype=np.uint8)
    frame = np.stack([np.tile(x, (320, 1))] * 3, axis=-1)
    return write_video(np.stack([frame] * frames), path, fps)
