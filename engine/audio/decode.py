"""Decoding audio for the mix and the meters: probe a file, read it as float32 blocks.

Below both ``engine.audio.mix`` and ``engine.audio.loudness`` (each imports this; it
imports neither), so the two no longer import each other.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import MediaError, StoryreelError

__all__ = ["SourceReader", "probe_channels", "probe_duration"]


def probe_channels(path: Path) -> int:
    import av

    try:
        with av.open(str(path)) as c:
            if not c.streams.audio:
                raise MediaError(f"{path.name} has no audio stream.")
            return int(c.streams.audio[0].codec_context.channels or 1)
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path.name} is not a readable audio file ({exc}).") from exc


def probe_duration(path: Path) -> float:
    """Seconds of audio in ``path`` (from the container, else by decoding)."""
    import av

    try:
        with av.open(str(path)) as c:
            if not c.streams.audio:
                raise MediaError(f"{path.name} has no audio stream.")
            s = c.streams.audio[0]
            if s.duration is not None and s.time_base:
                return float(s.duration * s.time_base)
            if c.duration is not None:
                return c.duration / 1_000_000
            total = 0
            rate = 1
            for frame in c.decode(s):
                total += frame.samples
                rate = frame.sample_rate
            return total / rate
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path.name} is not a readable audio file ({exc}).") from exc


class SourceReader:
    """Sequential reader of one file's audio as float32 (channels, n) at a fixed rate.

    At ``speed`` ≠ 1 the source is resampled to ``sample_rate / speed``, so ``n`` samples
    read cover ``n × speed`` source samples' time (faster and higher, or slower and lower).
    """

    def __init__(self, path: Path, sample_rate: int = 48000, channels: int = 2,
                 in_point: float = 0.0, loop: bool = False, speed: float = 1.0) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise StoryreelError(f"Audio speed {speed!r} must be a positive number.")
        self.path = path
        self.sample_rate = max(1, int(round(sample_rate / speed)))
        self.channels = channels
        self.in_point = max(0.0, in_point)
        self.loop = loop
        self.exhausted = False
        self._buf = np.zeros((channels, 0), np.float32)
        self._container: Any = None
        self._frames: Iterator[Any] | None = None
        self._resampler: Any = None
        self._produced_any = False
        self._open()

    def _open(self) -> None:
        import av

        self.close()
        try:
            self._container = av.open(str(self.path))
        except av.error.FFmpegError as exc:
            raise MediaError(f"{self.path.name} is not a readable audio file ({exc}).") from exc
        if not self._container.streams.audio:
            raise MediaError(f"{self.path.name} has no audio stream.")
        stream = self._container.streams.audio[0]
        self._skip = 0
        if self.in_point > 0:
            try:
                self._container.seek(int(self.in_point * 1_000_000), backward=True)
            except av.error.FFmpegError:
                pass
            self._skip = None  # decided from the first frame's timestamp
        self._resampler = av.AudioResampler(
            format="fltp", layout="mono" if self.channels == 1 else "stereo",
            rate=self.sample_rate,
        )
        self._frames = iter(self._container.decode(stream))
        self._done_decoding = False

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def _pull(self) -> bool:
        """Decode more into the buffer. False when the source has ended."""
        import av

        if self._done_decoding:
            return False
        assert self._frames is not None
        try:
            frame = next(self._frames)
        except StopIteration:
            frame = None
        except av.error.FFmpegError as exc:
            raise MediaError(f"{self.path.name} cannot be decoded ({exc}).") from exc
        if self._skip is None:
            start = float(frame.pts * frame.time_base) if frame is not None and \
                frame.pts is not None else 0.0
            self._skip = max(0, int(round((self.in_point - start) * self.sample_rate)))
        if frame is None:
            self._done_decoding = True
            out_frames = self._resampler.resample(None)
        else:
            frame.pts = None
            out_frames = self._resampler.resample(frame)
        parts = [f.to_ndarray().astype(np.float32, copy=False) for f in out_frames]
        if parts:
            data = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
            data = data.reshape(self.channels, -1)
            if self._skip:
                cut = min(self._skip, data.shape[1])
                data = data[:, cut:]
                self._skip -= cut
            if data.shape[1]:
                self._produced_any = True
                self._buf = np.concatenate([self._buf, data], axis=1)
        return True

    def read(self, n: int) -> np.ndarray:
        """Next ``n`` samples (fewer only at the very end of a non-looping source)."""
        while self._buf.shape[1] < n:
            if not self._pull():
                if self.loop and self._produced_any:
                    self._open()
                    continue
                self.exhausted = True
                break
        out, self._buf = self._buf[:, :n], self._buf[:, n:]
        return out
