"""Thumbnails (PNG) for takes and pictures: one decoded frame, scaled to fit a box."""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from pathlib import Path

from PIL import Image, ImageOps

from engine.errors import MediaError


def _save_png(image: Image.Image, out_png: Path) -> Path:
    """Write through a temp file in the same folder, then rename: never a half PNG."""
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out_png.stem}.", suffix=".png", dir=out_png.parent)
    os.close(fd)
    try:
        image.save(tmp_name, format="PNG", optimize=False)
        os.replace(tmp_name, out_png)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp_name)
        raise
    return out_png


def _fit(image: Image.Image, max_side: int) -> Image.Image:
    if max_side < 1:
        raise MediaError(f"A thumbnail needs a size of at least 1 pixel, not {max_side}.")
    if image.mode not in ("RGB", "RGBA"):
        transparent = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if transparent else "RGB")
    image = image.copy()
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image


def _frame_at(video: Path, at: float) -> Image.Image:
    """The frame shown at ``at`` (0..1) of the video's duration."""
    import av

    try:
        container = av.open(str(video))
    except (av.FFmpegError, OSError, ValueError):
        raise MediaError(f"{video.name} is not a readable video.") from None
    with container:
        if not container.streams.video:
            raise MediaError(f"{video.name} has no video stream.")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        start = (
            float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        )
        chosen = None
        try:
            if duration and duration > 0:
                target = start + duration * at
                # seek to the key frame before the target, then decode forward to it
                if target - start > 1.0:
                    container.seek(int(target / stream.time_base), stream=stream, backward=True)
                for frame in container.decode(stream):
                    if chosen is None or frame.time is None or frame.time <= target + 1e-6:
                        chosen = frame
                    if frame.time is not None and frame.time >= target - 1e-6:
                        break
            else:  # unknown duration: decode everything and pick by position
                frames = list(container.decode(stream))
                if frames:
                    chosen = frames[min(len(frames) - 1, int(at * len(frames)))]
        except (av.FFmpegError, OSError, ValueError):
            raise MediaError(f"{video.name} is damaged: its frames cannot be decoded.") from None
        if chosen is None:
            raise MediaError(f"{video.name} has no frames to make a thumbnail from.")
        return chosen.to_image()


def make_thumbnail(video: Path, out_png: Path, max_side: int = 320, at: float = 0.5) -> Path:
    """A PNG of the frame at ``at`` (0..1) of ``video``, fitting in max_side × max_side."""
    video = Path(video)
    if not (0.0 <= at <= 1.0):
        raise MediaError(
            f"The thumbnail position {at} is outside 0–1 (a fraction of the duration)."
        )
    if not video.is_file():
        raise MediaError(f"The video {video} does not exist.")
    image = _frame_at(video, at)
    return _save_png(_fit(image, max_side), Path(out_png))


def thumbnail_from_image(image: Path, out_png: Path, max_side: int = 320) -> Path:
    """A PNG of a picture (upright by its EXIF), fitting in max_side × max_side."""
    image = Path(image)
    if not image.is_file():
        raise MediaError(f"The picture {image} does not exist.")
    try:
        with Image.open(image) as opened:
            picture = ImageOps.exif_transpose(opened)
            picture.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise MediaError(f"{image.name} is not a readable picture.") from None
    return _save_png(_fit(picture, max_side), Path(out_png))
