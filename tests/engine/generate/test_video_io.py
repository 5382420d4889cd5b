"""Takes encode to the same bits every time, whatever the process did before."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from engine.generate.video_io import read_frames, write_video


def _moving_frames() -> np.ndarray:
    # a tiny model's take: 17 frames of 32×32 noise-like pictures
    return np.random.default_rng(7).integers(0, 255, (17, 32, 32, 3), dtype=np.uint8)


def test_a_take_encodes_to_the_same_frames_after_other_allocations(tmp_path: Path) -> None:
    # a seed must reproduce its take; before the allocator fill, 10 encodes of these frames
    # in one process, with other memory used and freed between them, decoded 4 ways
    frames = _moving_frames()
    rng = np.random.default_rng(3)
    seen: set[str] = set()
    held: list[bytearray] = []
    for i in range(10):
        held.append(bytearray(rng.integers(0, 255, size=int(rng.integers(10**3, 2 * 10**6)),
                                           dtype=np.uint8).tobytes()))
        if i % 3 == 0:
            held.clear()
        path = write_video(frames, tmp_path / f"take{i}.mp4", 30)
        seen.add(hashlib.sha256(read_frames(path).tobytes()).hexdigest())
    assert len(seen) == 1
