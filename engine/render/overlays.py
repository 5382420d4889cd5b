"""Pictures drawn over the film: burned-in subtitles, the AI-content label, shot slates."""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.assets import load_font
from engine.render.frames import Fitter, Overlay, StillSource, Yuv

AIGC_TEXT = {"zh": "AI生成", "en": "AI-generated"}


def _wrap(draw: Any, text: str, font: Any, max_width: int) -> list[str]:
    """Break text into lines no wider than max_width (by character: works for CJK)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current = ""
        for ch in paragraph:
            trial = current + ch
            if current and draw.textlength(trial, font=font) > max_width:
                # prefer breaking at the last space for Latin text
                cut = current.rfind(" ")
                if cut > 0 and ch != " ":
                    lines.append(current[:cut])
                    current = current[cut + 1 :] + ch
                else:
                    lines.append(current.rstrip())
                    current = ch.lstrip()
            else:
                current = trial
        lines.append(current)
    return [line for line in lines if line.strip()]


class SubtitleOverlays:
    """Each cue's picture (``engine.interchange.subtitles.cue_sprite``: bottom-centred in
    the safe area) as an Overlay, built once; only the cues on screen are kept."""

    def __init__(self, width: int, height: int, matrix: str = "ITU601") -> None:
        self.width, self.height, self.matrix = width, height, matrix
        self._cache: dict[tuple[str, str], Overlay | None] = {}

    def get(self, text: str, speaker: str = "") -> Overlay | None:
        from engine.interchange.subtitles import cue_sprite

        key = (text, speaker)
        if key not in self._cache:
            sprite, (x, y) = cue_sprite(text, self.width, self.height)
            rgba = np.asarray(sprite.convert("RGBA"))
            visible = rgba[..., 3].any()
            self._cache[key] = Overlay(rgba, int(x), int(y), self.matrix) if visible else None
        return self._cache[key]

    def keep_only(self, keys: set[tuple[str, str]]) -> None:
        for key in list(self._cache):
            if key not in keys:
                del self._cache[key]


def aigc_label_image(language: str, width: int, height: int,
                     position: str = "top-left") -> tuple[Any, tuple[int, int]]:
    """The visible "AI生成" / "AI-generated" mark as an RGBA chip and its top-left position:
    text at least 5 % of the frame's shorter side tall (GB 45438-2025, explicit label
    for video; ``engine.render.aigc``), at the chosen corner."""
    from PIL import Image, ImageDraw

    from engine.render.aigc import label_font_size, place

    text = AIGC_TEXT.get(language, AIGC_TEXT["en"])
    size = label_font_size(text, min(width, height))
    font = load_font(size)
    pad = max(2, size // 3)
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font)
    chip = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (0, 0, 0, 0))
    draw = ImageDraw.Draw(chip)
    draw.rounded_rectangle([0, 0, chip.width - 1, chip.height - 1], radius=pad,
                           fill=(0, 0, 0, 120))
    draw.text((pad - left, pad - top), text, font=font, fill=(255, 255, 255, 235))
    return chip, place(position, width, height, chip.width, chip.height)


def aigc_label(language: str, width: int, height: int, position: str = "top-left",
               matrix: str = "ITU601") -> Overlay:
    """The visible AI-content mark on a dark chip at a corner, as an Overlay."""
    chip, (x, y) = aigc_label_image(language, width, height, position)
    return Overlay(np.asarray(chip), x, y, matrix)


def slate(fitter: Fitter, label: str, text: str) -> StillSource:
    """A storyboard card for a shot that has no take yet: its number and its words, drawn
    at the picture area's size and placed like any source."""
    width, height = fitter.picture
    return StillSource(fitter(_frame_of(slate_image(label, text, width, height))))


def slate_image(label: str, text: str, width: int, height: int) -> Any:
    """The slate card as a PIL image (also written as a still for other editors)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), (28, 30, 38))
    draw = ImageDraw.Draw(img)
    big = load_font(max(10, int(min(width, height) * 0.09)))
    small = load_font(max(8, int(min(width, height) * 0.045)))
    margin = int(width * 0.08)
    draw.text((margin, int(height * 0.12)), label, font=big, fill=(240, 190, 90))
    y = int(height * 0.12) + int(big.size * 1.6)
    for line in _wrap(draw, text, small, width - 2 * margin)[:12]:
        draw.text((margin, y), line, font=small, fill=(225, 225, 230))
        y += int(small.size * 1.4)
    return img


def _frame_of(img: Any) -> Any:
    import av

    return av.VideoFrame.from_image(img)


def preview_rgb(yuv: Yuv) -> np.ndarray:
    return yuv.to_rgb()
