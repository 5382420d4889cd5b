"""The animatic's virtual camera: per-frame windows into pre-rendered layers.

The backdrop and the character layer are drawn once on a canvas larger than the frame
(``CANVAS_MARGIN`` times); each frame is a crop + resize of each layer. A camera is an
offset (``dx``, ``dy``, in frame widths/heights from the canvas centre) and a ``zoom``
(1 = one canvas pixel per output pixel). Moves that really shift perspective (push-in,
pull-out, orbit, track) give the two layers different cameras: that is the parallax.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from engine.model import CameraMove

CANVAS_MARGIN = 1.3  # canvas size / frame size: room for pans and parallax


@dataclass(frozen=True)
class Camera:
    dx: float = 0.0
    dy: float = 0.0
    zoom: float = 1.0

    def box(
        self, canvas: tuple[int, int], frame: tuple[int, int]
    ) -> tuple[float, float, float, float]:
        """The canvas rectangle this camera sees, kept inside the canvas."""
        cw, ch = canvas
        fw, fh = frame
        zoom = max(self.zoom, fw / cw, fh / ch)
        w, h = fw / zoom, fh / zoom
        cx = min(max(cw / 2 + self.dx * fw, w / 2), cw - w / 2)
        cy = min(max(ch / 2 + self.dy * fh, h / 2), ch - h / 2)
        return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def ease(t: float) -> float:
    """Ease-in-out (cosine) over 0..1."""
    t = min(1.0, max(0.0, t))
    return 0.5 - 0.5 * math.cos(math.pi * t)


def _lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


PARALLAX_MOVES = frozenset(
    {CameraMove.PUSH_IN, CameraMove.PULL_OUT, CameraMove.ORBIT, CameraMove.TRACK}
)


class Shake:
    """Smooth seeded noise: a few incommensurate sines per axis (handheld breathing)."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed ^ 0x5EED)
        self.terms = [
            [
                (rng.uniform(0.25, 1.9), rng.uniform(0, 2 * math.pi), rng.uniform(0.4, 1.0))
                for _ in range(4)
            ]
            for _axis in range(3)
        ]

    def at(self, seconds: float, axis: int) -> float:
        terms = self.terms[axis]
        total = sum(a for _, _, a in terms)
        return sum(a * math.sin(2 * math.pi * f * seconds + p) for f, p, a in terms) / total


def camera_path(
    move: CameraMove, frames: int, fps: float, seed: int
) -> list[tuple[Camera, Camera]]:
    """(background camera, character camera) for each frame."""
    rng = random.Random(seed)
    sign = 1 if rng.random() < 0.5 else -1
    shake = Shake(seed)
    path: list[tuple[Camera, Camera]] = []
    for i in range(frames):
        t = ease(i / (frames - 1)) if frames > 1 else 0.5
        seconds = i / fps
        if move is CameraMove.PAN:
            cam = Camera(dx=sign * _lerp(-0.11, 0.11, t))
            bg, fg = cam, cam
        elif move is CameraMove.TILT:
            cam = Camera(dy=sign * _lerp(-0.1, 0.1, t))
            bg, fg = cam, cam
        elif move is CameraMove.PUSH_IN:
            bg, fg = Camera(zoom=_lerp(1.0, 1.1, t)), Camera(zoom=_lerp(1.0, 1.2, t))
        elif move is CameraMove.PULL_OUT:
            bg, fg = Camera(zoom=_lerp(1.1, 1.0, t)), Camera(zoom=_lerp(1.2, 1.0, t))
        elif move is CameraMove.ORBIT:
            # the subject and the world behind it slide in opposite directions
            fg = Camera(dx=sign * _lerp(-0.09, 0.09, t), zoom=1.04)
            bg = Camera(dx=-sign * _lerp(-0.11, 0.11, t), zoom=1.04)
        elif move is CameraMove.TRACK:
            # everything slides the same way; what is near slides further
            fg = Camera(dx=sign * _lerp(-0.12, 0.12, t))
            bg = Camera(dx=sign * _lerp(-0.045, 0.045, t))
        elif move is CameraMove.HANDHELD:
            cam = Camera(
                dx=0.012 * shake.at(seconds, 0),
                dy=0.01 * shake.at(seconds, 1),
                zoom=1.05 + 0.006 * shake.at(seconds, 2),
            )
            bg, fg = cam, cam
        else:  # static: a barely visible drift keeps a held frame alive
            cam = Camera(dx=sign * _lerp(0.0, 0.004, t), zoom=_lerp(1.0, 1.012, t))
            bg, fg = cam, cam
        path.append((bg, fg))
    return path
