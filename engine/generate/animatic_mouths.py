"""Talking figures: the animatic opens a speaker's mouth on each syllable of its voice.

A voiced line's per-character (or per-word) timings, placed where the line sits in the
shot, give the open intervals: a mouth opens shortly after a syllable starts and closes
before it ends, so syllables read as separate movements; between lines it stays closed.
An open mouth is a dark ellipse over the figure's face; a closed one is the picture's
own. Shapes only: lip sync for generated takes is another pipeline's work.
"""

from __future__ import annotations

import math
from typing import Any

from PIL import Image, ImageDraw

OPEN_FROM = 0.12  # fraction of a syllable before the mouth opens
OPEN_UNTIL = 0.72  # … and when it closes again
MIN_OPEN = 0.05  # seconds: a shorter opening would fall between frames
MOUTH_WIDTH = 0.3  # head units
MOUTH_HEIGHT = 0.13
INSIDE = (46, 18, 24, 235)
LIP = (120, 50, 55, 235)


def mouth_intervals(timings: list[dict[str, Any]], offset: float) -> list[tuple[float, float]]:
    """Open intervals (seconds from the shot's start) for a line placed at ``offset``."""
    out: list[tuple[float, float]] = []
    for t in timings:
        try:
            start, end = float(t["start"]), float(t["end"])
        except (KeyError, TypeError, ValueError):
            continue
        if end <= start:
            continue
        a = offset + start + OPEN_FROM * (end - start)
        b = offset + start + max(OPEN_UNTIL * (end - start), OPEN_FROM * (end - start) + MIN_OPEN)
        out.append((round(a, 4), round(b, 4)))
    return out


def is_open(intervals: list[tuple[float, float]], t: float) -> bool:
    return any(a <= t < b for a, b in intervals)


def rotate_point(x: float, y: float, canvas: tuple[int, int], degrees: float
                 ) -> tuple[float, float]:
    """Where a canvas point goes when the layer is rotated like ``Image.rotate``."""
    cx, cy = canvas[0] / 2.0, canvas[1] / 2.0
    r = math.radians(degrees)
    dx, dy = x - cx, y - cy
    return cx + dx * math.cos(r) + dy * math.sin(r), cy - dx * math.sin(r) + dy * math.cos(r)


def draw_open_mouth(image: Image.Image, centre: tuple[float, float], unit: float,
                    box: tuple[float, ...], canvas: tuple[int, int]) -> None:
    """An open mouth on the output frame, for a mouth at ``centre`` (canvas pixels) seen
    through the camera window ``box`` of the canvas."""
    x0, y0, x1, y1 = box
    sx, sy = image.width / (x1 - x0), image.height / (y1 - y0)
    cx, cy = (centre[0] - x0) * sx, (centre[1] - y0) * sy
    w = max(2.0, MOUTH_WIDTH * unit * sx) / 2
    h = max(1.5, MOUTH_HEIGHT * unit * sy) / 2
    if cx + w < 0 or cy + h < 0 or cx - w > image.width or cy - h > image.height:
        return
    draw = ImageDraw.Draw(image, "RGBA")
    draw.ellipse((cx - w, cy - h, cx + w, cy + h), fill=INSIDE, outline=LIP,
                 width=max(1, round(h / 3)))
