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


def make_audio(path: Path, codec: str, seconds: float = 1.0, rate: int = 44100,
               layout: str = "stereo", freq: float = 220.0) -> Path:
    """A tone encoded with ``codec`` (libmp3lame, aac, flac, pcm_s16le...) into ``path``."""
    import av

    channels = 2 if layout == "stereo" else 1
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = layout
        fmt = stream.codec_context.codec.audio_formats[0].name
        n = int(seconds * rate)
        t = np.arange(n) / rate
        tone = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
        data = np.tile(tone, (channels, 1))
        for start in range(0, n, 1024):
            part = np.ascontiguousarray(data[:, start : start + 1024])
            frame = av.AudioFrame.from_ndarray(part, format="fltp", layout=layout)
            frame.sample_rate = rate
            frame.pts = start
            resampled = av.AudioResampler(format=fmt, layout=layout, rate=rate).resample(frame)
            for f in resampled:
                for packet in stream.encode(f):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path
