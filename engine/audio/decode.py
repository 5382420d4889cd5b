"""Decoding audio for the mix and the meters: probe a file, read it as float32 blocks.

Below both ``engine.audio.mix`` and ``engine.audio.loudness`` (each imports this; it
imports neither), so the two no longer import each other.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import MediaError, StoryreelError
from engine.store.cache_files import prune_oldest

__all__ = ["CachedSourceReader", "PcmFile", "SourceCache", "SourceReader", "probe_channels",
           "probe_duration"]


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


class PcmFile:
    """(frames, channels) float32 samples stored from a byte offset of a file, read by
    slices (``pcm[a:b]``) with ``os.pread``: nothing is mapped, so memory does not grow
    with the length of the file, and threads may read at once."""

    def __init__(self, path: Path, offset: int, frames: int, channels: int) -> None:
        self.path, self.offset = Path(path), offset
        self.shape = (frames, channels)
        self._fd = os.open(self.path, os.O_RDONLY)

    @classmethod
    def npy(cls, path: Path) -> PcmFile:
        """A (frames, channels) little-endian float32 ``.npy`` written by ``np.save``."""
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ValueError(f"{path.name}: .npy version {version} is not read here.")
            offset = fh.tell()
        if dtype != np.dtype("<f4") or fortran or len(shape) != 2:
            raise ValueError(f"{path.name} is not a (frames, channels) float32 array.")
        return cls(path, offset, int(shape[0]), int(shape[1]))

    def __getitem__(self, index: slice) -> np.ndarray:
        start, stop, step = index.indices(self.shape[0])
        if step != 1:
            raise ValueError("PcmFile reads contiguous slices only.")
        n = max(0, stop - start)
        width = 4 * self.shape[1]
        data = os.pread(self._fd, n * width, self.offset + start * width)
        if len(data) != n * width:
            raise OSError(f"{self.path.name} is shorter than its header says.")
        return np.frombuffer(data, dtype="<f4").reshape(n, self.shape[1])

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()


DECODE_CACHE_VERSION = "2"  # bump when a source decodes to different samples
DEFAULT_SOURCE_CACHE_BYTES = 1024**3
_FIGURES_MAGIC = b"SRFIG1\n\0"


class SourceCache:
    """Sources decoded once (whole, at a rate and channel count) as float32 ``.npy``
    files in a folder, keyed by the file's path, size and modification time, the rate and
    the channels; bounded in bytes, least recently used out. Read back as memory maps
    (``allow_pickle=False``: only arrays). A file that changes gets a new key, so its old
    decode is never read again (and is pruned). The mixer keeps its blocks' measured
    figures here too (``get_figures``/``put_figures``: float64 arrays by key)."""

    def __init__(self, folder: Path, limit_bytes: int = DEFAULT_SOURCE_CACHE_BYTES,
                 refresh: bool = False) -> None:
        self.folder, self.limit = folder, limit_bytes
        self.refresh = refresh  # decode every source again (and keep the new decode)
        self._arrays: dict[str, PcmFile | np.ndarray] = {}
        self.used: set[str] = set()
        self.decoded = 0  # sources decoded (not found in the cache) by this object

    def key(self, path: Path, sample_rate: int, channels: int) -> str:
        import hashlib

        st = Path(path).stat()
        text = "|".join(map(str, (DECODE_CACHE_VERSION, Path(path).resolve(), st.st_size,
                                  st.st_mtime_ns, sample_rate, channels)))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def samples(self, path: Path, sample_rate: int, channels: int) -> PcmFile | np.ndarray:
        """The whole source as float32 (frames, channels) at ``sample_rate``: read in
        slices from the cache file (a ``PcmFile``), or the array just decoded."""
        key = self.key(path, sample_rate, channels)
        self.used.add(key)
        if key in self._arrays:  # a source placed many times is decoded (or opened) once
            return self._arrays[key]
        target = self.folder / f"{key}.npy"
        if not self.refresh:
            try:
                found = PcmFile.npy(target)
                if found.shape[1] == channels:
                    os.utime(target)
                    self._arrays[key] = found
                    return found
                found.close()
            except (OSError, ValueError):
                pass
        reader = SourceReader(Path(path), sample_rate, channels)
        parts = []
        try:
            while True:
                block = reader.read(sample_rate * 10)
                if block.shape[1] == 0:
                    break
                parts.append(block)
                if reader.exhausted:
                    break
        finally:
            reader.close()
        data = np.concatenate(parts, axis=1) if parts else np.zeros((channels, 0), np.float32)
        frames = np.ascontiguousarray(data.T, dtype="<f4")  # (frames, channels)
        self.decoded += 1
        tmp = self.folder / f".{key}.{os.getpid()}.part.npy"
        result: PcmFile | np.ndarray = frames
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            np.save(tmp, frames, allow_pickle=False)
            os.replace(tmp, target)
            result = PcmFile.npy(target)
        except (OSError, ValueError):
            pass  # a cache that cannot be written costs only time
        finally:
            tmp.unlink(missing_ok=True)
        self._arrays[key] = result
        return result

    def get_figures(self, key: str) -> np.ndarray | None:
        """Measured figures (float64) kept under ``key``, or None."""
        path = self.folder / f"{key}.figures"
        if self.refresh:
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if not data.startswith(_FIGURES_MAGIC) or len(data) == len(_FIGURES_MAGIC) or \
                (len(data) - len(_FIGURES_MAGIC)) % 8:
            path.unlink(missing_ok=True)
            return None
        self.used.add(key)
        os.utime(path)
        return np.frombuffer(data, dtype="<f8", offset=len(_FIGURES_MAGIC)).copy()

    def put_figures(self, key: str, values: np.ndarray) -> None:
        self.used.add(key)
        path = self.folder / f"{key}.figures"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(_FIGURES_MAGIC + np.asarray(values, dtype="<f8").tobytes())
            os.replace(tmp, path)
        except OSError:
            pass
        finally:
            tmp.unlink(missing_ok=True)

    def prune(self) -> int:
        """Remove the least recently used decodes (never those used by this object)
        until the folder holds at most ``limit`` bytes. Returns how many were removed."""
        return prune_oldest(self.folder, ("*.npy", "*.figures"), self.limit, self.used)


class CachedSourceReader:
    """``SourceReader``'s reads from a whole decoded source: the same in-point, loop and
    speed semantics, slices of one array instead of a decoder, seeks and resampler
    restarts (so a read from any point gives the samples of one continuous decode)."""

    def __init__(self, cache: SourceCache, path: Path, sample_rate: int = 48000,
                 channels: int = 2, in_point: float = 0.0, loop: bool = False,
                 speed: float = 1.0) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise StoryreelError(f"Audio speed {speed!r} must be a positive number.")
        self.sample_rate = max(1, int(round(sample_rate / speed)))
        self.channels = channels
        self.loop = loop
        self.exhausted = False
        self._data = cache.samples(path, self.sample_rate, channels)  # (frames, channels)
        self._start = min(self._data.shape[0], int(round(max(0.0, in_point) * self.sample_rate)))
        self._pos = self._start

    def read(self, n: int) -> np.ndarray:
        parts = []
        want = n
        length = self._data.shape[0]
        while want > 0:
            if self._pos >= length:
                if self.loop and length > self._start:
                    self._pos = self._start
                    continue
                self.exhausted = True
                break
            take = min(want, length - self._pos)
            parts.append(self._data[self._pos:self._pos + take].T)
            self._pos += take
            want -= take
        if not parts:
            return np.zeros((self.channels, 0), np.float32)
        return np.array(parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1),
                        dtype=np.float32)

    def close(self) -> None:
        self._data = np.zeros((0, self.channels), np.float32)
