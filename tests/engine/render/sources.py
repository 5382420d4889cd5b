"""Odd source media the renderer must accept, made in the test session with PyAV."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np


def gradient(width: int, height: int, i: int) -> np.ndarray:
    x = np.linspace(0, 255, width, dtype=np.float32)
    img = np.zeros((height, width, 3), np.uint8)
    img[..., 0] = ((x + i * 10) % 256).astype(np.uint8)
    img[..., 1] = 100
    img[..., 2] = (i * 7) % 256
    return img


def make_odd_video(
    path: Path, size: tuple[int, int] = (63, 47), frames: int = 12, fps: int = 12
) -> Path:
    """An odd-sized clip: libx264 in 4:4:4 (4:2:0 cannot hold odd sizes)."""
    import av

    width, height = size
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv444p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(gradient(width, height, i), format="rgb24")
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
    return path


def make_vfr_video(
    path: Path,
    times: list[float],
    size: tuple[int, int] = (64, 48),
    colors: list[tuple[int, int, int]] | None = None,
) -> Path:
    """A variable-frame-rate clip: one frame at each of ``times`` (seconds), solid colours."""
    import av

    width, height = size
    tb = Fraction(1, 1000)
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=30)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.codec_context.time_base = tb
        vs.time_base = tb
        for i, t in enumerate(times):
            color = colors[i] if colors else (i * 40 % 256, 80, 200)
            img = np.zeros((height, width, 3), np.uint8)
            img[...] = color
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = int(round(t / tb))
            frame.time_base = tb
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
    return path


def rotate_metadata(src: Path, dst: Path, degrees: int) -> Path | None:
    """Copy ``src`` with a display-rotation matrix (as phones record), using the ffmpeg
    binary that imageio-ffmpeg ships; None if that is not installed."""
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    subprocess.run(
        [
            ffmpeg,
            "-y",
            "-loglevel",
            "error",
            "-display_rotation",
            str(degrees),
            "-i",
            str(src),
            "-c",
            "copy",
            str(dst),
        ],
        check=True,
        capture_output=True,
    )
    return dst
