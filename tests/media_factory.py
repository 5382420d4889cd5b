"""Real media files made in the test session (PyAV, Pillow, numpy): no binary fixtures."""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import numpy as np


def make_image(
    path: Path, size: tuple[int, int] = (64, 96), color: tuple[int, int, int] = (200, 80, 40)
) -> Path:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(img)
    draw.ellipse([size[0] // 4, size[1] // 8, 3 * size[0] // 4, size[1] // 2], fill=(240, 220, 200))
    img.save(path)
    return path


def make_video(
    path: Path,
    frames: int = 24,
    size: tuple[int, int] = (64, 48),
    fps: int | Fraction = 24,
    audio: bool = False,
    codec: str = "libx264",
    sample_rate: int = 48000,
    audio_channels: int = 1,
) -> Path:
    """An H.264 clip with a moving gradient, and a 440 Hz tone if ``audio``."""
    import av

    width, height = size
    with av.open(str(path), "w") as out:
        vs = out.add_stream(codec, rate=Fraction(fps))
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        astream = None
        if audio:
            astream = out.add_stream("aac", rate=sample_rate)
            astream.layout = "mono" if audio_channels == 1 else "stereo"
        for i in range(frames):
            x = np.linspace(0, 255, width, dtype=np.float32)
            img = np.zeros((height, width, 3), np.uint8)
            img[..., 0] = ((x + i * 10) % 256).astype(np.uint8)
            img[..., 1] = 100
            img[..., 2] = (i * 7) % 256
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
        if astream is not None:
            seconds = frames / float(fps)
            n = int(seconds * sample_rate)
            t = np.arange(n) / sample_rate
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            data = np.tile(tone, (audio_channels, 1)) if audio_channels > 1 else tone[None, :]
            chunk = 1024
            for start in range(0, n, chunk):
                part = np.ascontiguousarray(data[:, start : start + chunk])
                af = av.AudioFrame.from_ndarray(
                    part, format="fltp", layout=astream.layout.name
                )
                af.sample_rate = sample_rate
                for packet in astream.encode(af):
                    out.mux(packet)
            for packet in astream.encode():
                out.mux(packet)
    return path


def make_wav(
    path: Path, seconds: float = 1.0, sample_rate: int = 22050, freq: float = 330.0,
    channels: int = 1,
) -> Path:
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    data = (0.4 * np.sin(2 * np.pi * freq * t) * 32767).astype(np.int16)
    if channels > 1:
        data = np.repeat(data[:, None], channels, axis=1).reshape(-1)
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(channels)
        wf.setsampwidth(2)
        wf.setframerate(sample_rate)
        wf.writeframes(data.tobytes())
    return path
