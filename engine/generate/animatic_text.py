"""Text for the animatic: shot badges, scene heading and timed dialogue captions.

Everything here is drawn once per clip, at the output resolution, into transparent
layers that the frame loop pastes without re-drawing (so text stays crisp whatever the
virtual camera does). Chinese wraps by characters, English by words, with the usual
line-breaking rules for punctuation.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from engine.assets import load_font
from engine.generate.base import GenerationRequest, SpokenLine
from engine.model import CameraAngle, CameraMove, ShotSize

SIZE_NAMES_ZH = {
    ShotSize.EXTREME_WIDE: "大远景",
    ShotSize.WIDE: "全景",
    ShotSize.MEDIUM: "中景",
    ShotSize.MEDIUM_CLOSE_UP: "近景",
    ShotSize.CLOSE_UP: "特写",
    ShotSize.EXTREME_CLOSE_UP: "大特写",
}
MOVE_NAMES_ZH = {
    CameraMove.STATIC: "固定",
    CameraMove.PAN: "摇",
    CameraMove.TILT: "俯仰",
    CameraMove.PUSH_IN: "推",
    CameraMove.PULL_OUT: "拉",
    CameraMove.ORBIT: "环绕",
    CameraMove.TRACK: "移",
    CameraMove.HANDHELD: "手持",
}
ANGLE_NAMES_ZH = {
    CameraAngle.EYE_LEVEL: "平视",
    CameraAngle.HIGH: "俯拍",
    CameraAngle.LOW: "仰拍",
    CameraAngle.OVERHEAD: "顶拍",
    CameraAngle.DUTCH: "倾斜",
    CameraAngle.OVER_THE_SHOULDER: "过肩",
}

# characters that must not start a line (closing punctuation) or end one (opening)
NO_LINE_START = set("，。！？、；：”’）》」』】〉…—,.!?;:)]}%·～~")
NO_LINE_END = set("“‘（《「『【〈([{")

NAME_COLOUR = (255, 214, 102, 255)
NARRATOR_COLOUR = (170, 205, 255, 255)
TEXT_COLOUR = (255, 255, 255, 255)
OUTLINE_COLOUR = (0, 0, 0, 255)


@functools.lru_cache(maxsize=32)
def font(size: int) -> ImageFont.FreeTypeFont:
    return load_font(max(1, size))


def is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x2E80 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF
        or 0x3000 <= code <= 0x303F
        or 0x20000 <= code <= 0x2FA1F
    )


_LATIN_RUN = re.compile(r"[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+\s*|\s+")


def tokenize(text: str) -> list[str]:
    """Break units: one token per CJK character, one per Latin word (with its spaces)."""
    tokens: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if is_cjk(ch):
            tokens.append(ch)
            i += 1
            continue
        match = _LATIN_RUN.match(text, i)
        assert match is not None  # every non-CJK character matches one branch
        tokens.append(match.group())
        i = match.end()
    # glue opening punctuation to what follows, closing punctuation to what precedes
    glued: list[str] = []
    carry = ""
    for tok in tokens:
        if tok and tok.strip() and all(c in NO_LINE_END for c in tok.strip()):
            carry += tok
            continue
        tok = carry + tok
        carry = ""
        if glued and tok.strip() and tok.strip()[0] in NO_LINE_START:
            glued[-1] += tok
        else:
            glued.append(tok)
    if carry:
        glued.append(carry)
    return glued


def wrap_text(text: str, fnt: ImageFont.FreeTypeFont, max_width: float) -> list[str]:
    """Greedy wrap to ``max_width`` pixels; explicit newlines are kept."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current = ""
        for tok in tokenize(paragraph.strip()):
            candidate = current + tok
            if not current or fnt.getlength(candidate.rstrip()) <= max_width:
                current = candidate
                continue
            lines.append(current.rstrip())
            current = tok.lstrip()
        # a single token wider than the line (a long URL, a long word): break it by characters
        while current and fnt.getlength(current.rstrip()) > max_width and len(current) > 1:
            cut = len(current) - 1
            while cut > 1 and fnt.getlength(current[:cut]) > max_width:
                cut -= 1
            lines.append(current[:cut])
            current = current[cut:]
        if current.strip() or not lines:
            lines.append(current.rstrip())
    return lines


@dataclass(frozen=True)
class SafeArea:
    """Title-safe rectangle in output pixels: left, top, right, bottom."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left


def safe_area(width: int, height: int) -> SafeArea:
    """Keep clear of short-video app chrome: the top bar, the bottom ~22 % and the right
    ~15 % of a 9:16 frame (the same margins as the burned-in subtitles)."""
    if height > width:  # 9:16 and other portrait frames
        return SafeArea(
            round(width * 0.08), round(height * 0.07), round(width * 0.85), round(height * 0.78)
        )
    return SafeArea(
        round(width * 0.06), round(height * 0.07), round(width * 0.94), round(height * 0.90)
    )


def text_unit(width: int, height: int) -> int:
    """Base size for text: the short side of the frame."""
    return min(width, height)


def caption_font_size(width: int, height: int) -> int:
    """5.2% of the short side; never under 13 px unless the frame itself is tiny."""
    unit = text_unit(width, height)
    return max(round(unit * 0.052), min(13, round(unit * 0.09)))


def badge_font_size(width: int, height: int) -> int:
    unit = text_unit(width, height)
    return max(round(unit * 0.034), min(11, round(unit * 0.06)))


def badge_text(request: GenerationRequest) -> str:
    size = ShotSize(request.size)
    move = CameraMove(request.camera_move)
    angle = CameraAngle(request.angle)
    if request.language.startswith("zh"):
        parts = [f"{size.value} {SIZE_NAMES_ZH[size]}", MOVE_NAMES_ZH[move]]
        if angle is not CameraAngle.EYE_LEVEL:
            parts.append(ANGLE_NAMES_ZH[angle])
    else:
        parts = [size.value, move.value]
        if angle is not CameraAngle.EYE_LEVEL:
            parts.append(angle.value)
    return " · ".join(parts)


@dataclass
class Overlay:
    """A pre-rendered RGBA patch and where it goes in the frame."""

    image: Image.Image
    x: int
    y: int

    def paste_onto(self, frame: Image.Image) -> None:
        frame.paste(self.image, (self.x, self.y), self.image)


def _trimmed(layer: Image.Image) -> Overlay | None:
    box = layer.getchannel("A").getbbox()
    if box is None:
        return None
    return Overlay(layer.crop(box), box[0], box[1])


def _pill(
    draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float], fill, radius: float
) -> None:
    draw.rounded_rectangle(box, radius=radius, fill=fill)


def render_header(
    request: GenerationRequest, width: int, height: int, line: SpokenLine | None = None
) -> Overlay | None:
    """Top-left: the shot label, the size/move/angle badge, the scene heading, the action,
    and the line being spoken (``line``) as a storyboard note.

    Dialogue sits in this note rather than at the bottom of the frame, where the export
    burns the exact, TTS-timed subtitles: the two never cover each other."""
    area = safe_area(width, height)
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    size = badge_font_size(width, height)
    fnt = font(size)
    pad = max(2, round(size * 0.35))
    gap = max(2, round(size * 0.3))
    x, y = area.left, area.top
    line_h = round(size * 1.25)

    label = request.shot_label.strip()
    if label:
        label_text = label if not request.language.startswith("zh") else f"镜 {label}"
        w = fnt.getlength(label_text)
        _pill(draw, (x, y, x + w + 2 * pad, y + line_h + pad), (230, 70, 60, 235), pad)
        draw.text((x + pad, y + pad / 2), label_text, font=fnt, fill=TEXT_COLOUR)
        x += w + 2 * pad + gap
    badge = badge_text(request)
    w = fnt.getlength(badge)
    if x + w + 2 * pad > area.right and label:  # no room beside the label: next row
        x, y = area.left, y + line_h + pad + gap
    _pill(draw, (x, y, x + w + 2 * pad, y + line_h + pad), (0, 0, 0, 150), pad)
    draw.text((x + pad, y + pad / 2), badge, font=fnt, fill=TEXT_COLOUR)
    x += w + 2 * pad + gap

    small = font(max(size - 2, round(size * 0.9)))
    stroke = max(1, round(small.size / 14))
    heading = request.scene_heading.strip()
    landscape = width > height
    if landscape and heading and x + small.getlength(heading) + 2 * pad <= area.right:
        # wide frames have room: the heading rides on the badge row, keeping faces clear
        _pill(
            draw,
            (x, y, x + small.getlength(heading) + 2 * pad, y + line_h + pad),
            (0, 0, 0, 110),
            pad,
        )
        draw.text(
            (x + pad, y + pad / 2 + (size - small.size) / 2),
            heading,
            font=small,
            fill=(255, 255, 255, 240),
            stroke_width=stroke,
            stroke_fill=(0, 0, 0, 160),
        )
        heading = ""
    y += line_h + pad + gap
    rows: list[tuple[str, tuple[int, int, int, int]]] = []
    spoken = ""
    if line is not None and line.text.strip():
        spoken = caption_prefix(line, request.language) + line.text.strip()
    for text, colour, most in (
        (heading, (255, 255, 255, 240), 2),
        (request.action.strip(), (222, 228, 240, 230), 2),
        (spoken, NOTE_DIALOGUE_COLOUR, 3),
    ):
        if not text:
            continue
        lines = wrap_text(text, small, area.width - 2 * pad)
        max_lines = 1 if landscape and most < 3 else most
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            lines[-1] = _ellipsize(lines[-1], small, area.width - 2 * pad)
        rows += [(line, colour) for line in lines]
    if rows:
        row_h = round(small.size * 1.3)
        box_w = max(small.getlength(text) for text, _ in rows) + 2 * pad
        _pill(
            draw,
            (area.left, y, area.left + box_w, y + row_h * len(rows) + pad),
            (0, 0, 0, 110),
            pad,
        )
        y += pad / 2
        for text, colour in rows:
            draw.text(
                (area.left + pad, y),
                text,
                font=small,
                fill=colour,
                stroke_width=stroke,
                stroke_fill=(0, 0, 0, 160),
            )
            y += row_h
    return _trimmed(layer)


NOTE_DIALOGUE_COLOUR = (255, 226, 120, 245)


def _ellipsize(line: str, fnt: ImageFont.FreeTypeFont, max_width: float) -> str:
    while line and fnt.getlength(line + "…") > max_width:
        line = line[:-1]
    return line + "…"


def caption_prefix(line: SpokenLine, language: str) -> str:
    zh = language.startswith("zh")
    speaker = line.speaker.strip()
    if not speaker:
        return "旁白：" if zh else "Narrator: "
    return f"{speaker}：" if zh else f"{speaker}: "


def caption_schedule(lines: list[SpokenLine], frames: int) -> list[int]:
    """First frame of each line: the shot's duration split by line length."""
    weights = [len(ln.text.strip()) + 4 for ln in lines]
    total = sum(weights) or 1
    starts: list[int] = []
    acc = 0
    for w in weights:
        starts.append(round(frames * acc / total))
        acc += w
    return starts
