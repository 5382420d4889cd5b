"""A take as long as its shot: segments that continue from each other, blended at the seams.

A model makes at most ``window`` frames per call (Wan: 33 at draft, 81 at standard). A shot
whose lines last longer is made in segments: each one after the first is conditioned on the
tail of the one before (Wan VACE: its video + mask inputs; Wan I2V/FLF2V: the last frame as
its first image; text-only models: nothing, the seam is only blended). Consecutive segments
overlap by ``overlap`` frames; the overlap is crossfaded. Each finished segment is saved
(numpy ``.npy``, never pickle) under a key of its inputs, so a cancelled or crashed run
resumes at the first unfinished segment and an unchanged segment is never made twice.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SegmentPlan:
    needed: int  # frames the shot needs
    window: int  # frames one call makes
    overlap: int  # frames each segment shares with the one before
    count: int  # segments

    @property
    def stride(self) -> int:
        return self.window - self.overlap

    @property
    def total(self) -> int:
        """Frames the segments make together, after the overlaps are merged."""
        return self.window + (self.count - 1) * self.stride


def frames_needed(duration: float, fps: float, step: int) -> int:
    """Frames covering ``duration`` seconds at ``fps``, as a count the model takes
    (``step``·k + 1), rounded up: a take is never shorter than its shot."""
    raw = max(1, math.ceil(duration * fps - 1e-6))
    if step > 1:
        return (max(0, raw - 1) + step - 1) // step * step + 1
    return raw


def plan(needed: int, window: int, overlap: int | None = None) -> SegmentPlan:
    """How many ``window``-frame segments cover ``needed`` frames, sharing ``overlap``."""
    if needed <= window:
        return SegmentPlan(needed, window, 0, 1)
    if overlap is None:
        overlap = max(1, min(8, window // 4))
    overlap = max(1, min(overlap, window - 1))
    stride = window - overlap
    count = 1 + math.ceil((needed - window) / stride)
    return SegmentPlan(needed, window, overlap, count)


def blend(head: np.ndarray, tail: np.ndarray, overlap: int) -> np.ndarray:
    """Join two clips (T, H, W, 3 floats) whose last/first ``overlap`` frames show the same
    moment: a linear crossfade over the overlap."""
    if overlap <= 0:
        return np.concatenate([head, tail])
    w = np.linspace(0.0, 1.0, overlap + 2, dtype=np.float32)[1:-1].reshape(-1, 1, 1, 1)
    seam = head[-overlap:] * (1.0 - w) + tail[:overlap] * w
    return np.concatenate([head[:-overlap], seam.astype(head.dtype), tail[overlap:]])


def as_float(frames: Any) -> np.ndarray:
    """(T, H, W, 3) float32 in 0..1 from a pipeline's floats or stored uint8."""
    arr = np.asarray(frames)
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    return arr.astype(np.float32, copy=False)


def as_uint8(frames: Any) -> np.ndarray:
    arr = np.asarray(frames)
    if arr.dtype == np.uint8:
        return arr
    return (np.clip(arr.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def segment_key(facts: dict[str, Any], index: int, seed: int,
                previous: np.ndarray | None) -> str:
    """A segment's cache key: what it was made from, including the frames it continues."""
    digest = hashlib.sha256(json.dumps({**facts, "segment": index, "seed": seed},
                                       sort_keys=True, default=str).encode())
    if previous is not None:
        digest.update(np.ascontiguousarray(previous).tobytes())
    return digest.hexdigest()


class SegmentCache:
    """Finished segments on disk (``cache/segments/<key>.npy``), written atomically."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def _path(self, key: str) -> Path | None:
        return None if self.folder is None else self.folder / f"{key}.npy"

    def get(self, key: str) -> tuple[np.ndarray | None, dict[str, Any]]:
        """(frames, the record extras the call returned), or (None, {}) when not kept."""
        path = self._path(key)
        if path is None or not path.is_file():
            return None, {}
        try:
            frames = np.load(path, allow_pickle=False)
            extra = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            path.unlink(missing_ok=True)  # a half-written or damaged file: make it again
            return None, {}
        return frames, extra if isinstance(extra, dict) else {}

    def put(self, key: str, frames: np.ndarray, extra: dict[str, Any]) -> None:
        path = self._path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        plain = {k: v for k, v in extra.items() if not k.startswith("_")}
        side = path.with_suffix(f".{os.getpid()}.json.part")
        side.write_text(json.dumps(plain, default=str), encoding="utf-8")
        os.replace(side, path.with_suffix(".json"))
        tmp = path.with_suffix(f".{os.getpid()}.part")
        with open(tmp, "wb") as fh:
            np.save(fh, as_uint8(frames), allow_pickle=False)
        os.replace(tmp, path)
