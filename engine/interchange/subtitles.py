"""Subtitles: cues from the script's lines and measured TTS timings; SRT, ASS, burn-in.

Cue times never come from guessing: a line's cue starts exactly with its voice clip, and
when a long line is split (at punctuation) the split times are the TTS word/character
timings. Text is wrapped to two lines between words: Chinese words from jieba (≤ 16
characters a line in 9:16, ≤ 20 in 16:9), English words (≤ 42, ≤ 32 in 9:16 where the
picture is narrow); a break never falls inside a word.

Cues that read well: none shorter than 0.8 s and none faster than 9 Chinese characters
(17 English letters) a second: a short cue runs on into the silence after it (or starts
a little before, in the silence before it), and one that still cannot be read in time is
merged with its neighbour. Chinese lines drop their trailing 。，、；： (？！… stay), as
Chinese subtitles do. ``speaker_names`` puts "林夏：" before each cue's text.

Burn-in pictures use the bundled CJK font and stay inside the 9:16 platform safe area
(Douyin/Kuaishou cover about the bottom 20 % and the right 15 % of the frame).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from engine.errors import StoryreelError

FONT_NAME = "Noto Sans CJK SC"
MAX_LINES = 2
MIN_CUE = 0.8  # seconds
ZH_CPS = 9.0  # most Chinese characters read a second
EN_CPS = 17.0  # most English letters read a second
MAX_TAIL = 0.5  # a list's last cue may run this far past its line (the shot's breath)
MAX_LEAD = 0.3  # a cue may appear this much before its voice, in silence
_DROP_AT_LINE_END = "。，、；：,;:"
_BREAK_AFTER = "。！？!?；;，,、：:…—"
_NO_LINE_START = "，。！？、；：,.!?;:）)》」』”’…—"
_B = re.escape(_BREAK_AFTER)
_PHRASE = re.compile(rf"[^{_B}]*[{_B}]+\s*|[^{_B}]+$")


@dataclass
class Cue:
    start: float  # seconds on the film timeline
    end: float
    text: str  # may hold "\n" between its (at most two) lines
    speaker: str = ""


@dataclass
class TimedLine:
    """A spoken line on the timeline. ``timings`` are the TTS groups
    [{"text", "start", "end"}] in seconds from the start of the line's clip."""

    text: str
    start: float
    end: float
    timings: list[dict[str, Any]] = field(default_factory=list)
    language: str = "zh"
    speaker: str = ""


# --------------------------------------------------------------------------- wrapping
def _is_zh(language: str) -> bool:
    return str(language).lower().startswith(("zh", "cmn"))


def _portrait(aspect: Any) -> bool:
    a = str(getattr(aspect, "value", aspect))
    if ":" in a:
        w, h = a.split(":", 1)
        try:
            return float(h) >= float(w)
        except ValueError:
            pass
    return a.lower() in ("portrait", "square")


def line_limit(language: str, aspect: Any) -> int:
    """Most characters on one subtitle line for this language and frame shape."""
    if _is_zh(language):
        return 16 if _portrait(aspect) else 20
    return 32 if _portrait(aspect) else 42


def _char_width(ch: str) -> float:
    return 1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.5


def display_width(text: str, language: str) -> float:
    if _is_zh(language):
        return sum(_char_width(c) for c in text)
    return float(len(text))


_ZH_RUNS = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)|([A-Za-z0-9_'\-.%]+|\s+|.)")


@lru_cache(maxsize=4096)
def _words(run: str) -> tuple[str, ...]:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return tuple(jieba.lcut(run, cut_all=False, HMM=True))


def _tokens(text: str, language: str) -> list[str]:
    if _is_zh(language):
        # Chinese runs by jieba words; runs of Latin letters/digits stay whole; marks alone
        out: list[str] = []
        for m in _ZH_RUNS.finditer(text):
            out.extend(_words(m.group(1)) if m.group(1) else [m.group(2)])
        return out
    return re.findall(r"\S+|\s+", text)


def wrap(text: str, language: str, aspect: Any) -> list[str]:
    """Break ``text`` into balanced lines of at most ``line_limit`` characters."""
    text = " ".join(text.split())
    limit = line_limit(language, aspect)
    total = display_width(text, language)
    if total <= limit:
        return [text] if text else []
    n_lines = math.ceil(total / limit)
    target = min(limit, math.ceil(total / n_lines))
    tokens = _tokens(text, language)
    lines: list[str] = []
    cur = ""
    for tok in tokens:
        cand = cur + tok
        width = display_width(cand.strip(), language)
        fits = width <= target or (width <= limit and len(lines) == n_lines - 1)
        if cur.strip() and not fits:
            if tok and tok[0] in _NO_LINE_START:
                if width <= limit:
                    cur = cand  # closing punctuation stays on its line
                    continue
                if len(cur.strip()) > 1:  # or takes the line's last character along
                    lines.append(cur.rstrip()[:-1].rstrip())
                    cur = cur.rstrip()[-1] + tok
                    continue
            head, rest = _soft_break(cur, language, target)
            lines.append(head)
            cur = rest + tok if rest else tok.lstrip()
        else:
            cur = cand
        # a single token longer than a line (a long Latin word): cut it
        while display_width(cur.strip(), language) > limit:
            cut = max(1, int(limit)) if not _is_zh(language) else int(limit)
            lines.append(cur[:cut])
            cur = cur[cut:]
    if cur.strip():
        lines.append(cur.strip())
    return lines


def _soft_break(cur: str, language: str, target: int) -> tuple[str, str]:
    """Break a full line after its last punctuation mark when that keeps most of it."""
    stripped = cur.strip()
    for i in range(len(stripped) - 1, 0, -1):
        if stripped[i] in _BREAK_AFTER and i < len(stripped) - 1:
            while i + 1 < len(stripped) and stripped[i + 1] in _NO_LINE_START:
                i += 1  # closing quotes and brackets stay with their sentence
            if display_width(stripped[: i + 1], language) >= 0.6 * target:
                return stripped[: i + 1].strip(), stripped[i + 1 :].lstrip()
            break
    return stripped, ""


# --------------------------------------------------------------------------- cues
def _phrases(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the text's phrases, each ending at punctuation."""
    return [(m.start(), m.end()) for m in _PHRASE.finditer(text) if m.group().strip()]


def _chunks(text: str, language: str, aspect: Any) -> list[tuple[int, int]]:
    """Spans of ``text`` that each fit in one cue (≤ two wrapped lines)."""
    fits = lambda a, b: len(wrap(text[a:b], language, aspect)) <= MAX_LINES
    if fits(0, len(text)):
        return [(0, len(text))]
    out: list[tuple[int, int]] = []
    for a, b in _phrases(text):
        if out and fits(out[-1][0], b):
            out[-1] = (out[-1][0], b)
        elif fits(a, b):
            out.append((a, b))
        else:  # one phrase longer than a cue: pages of two lines, cut between tokens
            pos = a
            while pos < b:
                end = pos + 1
                cut = end
                for tok_end in _token_ends(text, pos, b, language):
                    if not fits(pos, tok_end):
                        break
                    cut = tok_end
                end = max(cut, pos + 1)
                out.append((pos, end))
                pos = end
    return out


def _token_ends(text: str, a: int, b: int, language: str) -> list[int]:
    ends = []
    pos = a
    for tok in _tokens(text[a:b], language):
        pos += len(tok)
        ends.append(pos)
    return ends


def _timing_positions(text: str, timings: list[dict[str, Any]]) -> list[tuple[int, float]]:
    """(character position in ``text``, start seconds) of each timing group, in order."""
    out: list[tuple[int, float]] = []
    cursor = 0
    for t in timings:
        word = str(t.get("text", ""))
        idx = text.find(word, cursor) if word else -1
        if idx < 0 and isinstance(t.get("pos"), int) and t["pos"] >= cursor:
            idx = int(t["pos"])
        if idx < 0:
            continue
        out.append((idx, float(t.get("start", 0.0))))
        cursor = idx + max(1, len(word))
    return out


def make_cues(lines: list[TimedLine], language: str, aspect: Any,
              speaker_names: bool = False,
              span: tuple[float, float] | None = None) -> list[Cue]:
    """One cue per line; a line too long for two subtitle lines becomes several cues split
    at punctuation, timed by the line's TTS timings; then made readable (see the module
    notes). ``span`` (the shot's start and end) keeps the lengthened cues inside the shot:
    a subtitle does not hang over a cut."""
    cues = _timed_cues(lines, language, aspect)
    cues = readable(cues, language, aspect, span)
    if _is_zh(language):
        for cue in cues:
            cue.text = "\n".join(_drop_trailing(row) for row in cue.text.split("\n"))
    if speaker_names:
        sep = "：" if _is_zh(language) else ": "
        for cue in cues:
            if cue.speaker:
                cue.text = f"{cue.speaker}{sep}{cue.text}"
    return cues


def _drop_trailing(row: str) -> str:
    stripped = row.rstrip()
    while stripped and stripped[-1] in _DROP_AT_LINE_END and len(stripped) > 1:
        stripped = stripped[:-1].rstrip()
    return stripped


def reading_time(text: str, language: str) -> float:
    """Seconds a viewer needs for ``text``: at least MIN_CUE, at most ZH_CPS/EN_CPS."""
    if _is_zh(language):
        n = sum(1 for c in text if _char_width(c) == 1.0 and c not in "，。！？、；：“”《》（）")
        n += sum(len(w) for w in re.findall(r"[A-Za-z0-9]+", text)) / 2.0
        return max(MIN_CUE, n / ZH_CPS)
    return max(MIN_CUE, len(re.sub(r"\s+", "", text)) / EN_CPS)


def readable(cues: list[Cue], language: str, aspect: Any,
             span: tuple[float, float] | None = None) -> list[Cue]:
    """Cues lengthened into the silence around them (never over a neighbour) until they
    can be read; one still too short is merged with the neighbour it touches when the two
    fit one cue. Starts stay on the voice unless there is silence before them to use."""
    out = [Cue(c.start, c.end, c.text, c.speaker) for c in cues]
    for i, cue in enumerate(out):
        need = reading_time(cue.text, language)
        if cue.end - cue.start >= need:
            continue
        nxt = out[i + 1].start if i + 1 < len(out) else cue.end + MAX_TAIL
        if span is not None:
            nxt = min(nxt, max(cue.end, span[1]))
        cue.end = max(cue.end, min(nxt, cue.start + need))
        if cue.end - cue.start < need:
            prev = max(out[i - 1].end if i > 0 else 0.0, cue.start - MAX_LEAD)
            if span is not None:
                prev = max(prev, min(cue.start, span[0]))
            cue.start = min(cue.start, max(prev, cue.end - need))
    merged: list[Cue] = []
    for cue in out:
        if merged and (cue.end - cue.start < MIN_CUE - 1e-6 or
                       merged[-1].end - merged[-1].start < MIN_CUE - 1e-6):
            last = merged[-1]
            joined = _join(last.text, cue.text, language)
            same = last.speaker == cue.speaker or not last.speaker or not cue.speaker
            if same and len(wrap(joined.replace("\n", " " if not _is_zh(language) else ""),
                                 language, aspect)) <= MAX_LINES:
                flat = joined.replace("\n", "" if _is_zh(language) else " ")
                merged[-1] = Cue(last.start, max(last.end, cue.end),
                                 "\n".join(wrap(flat, language, aspect)), last.speaker)
                continue
        merged.append(cue)
    return merged


def _join(a: str, b: str, language: str) -> str:
    a = a.replace("\n", "" if _is_zh(language) else " ")
    b = b.replace("\n", "" if _is_zh(language) else " ")
    return a + b if _is_zh(language) else f"{a} {b}"


def _timed_cues(lines: list[TimedLine], language: str, aspect: Any) -> list[Cue]:
    cues: list[Cue] = []
    for line in lines:
        text = " ".join(line.text.split())
        if not text:
            continue
        if line.end <= line.start:
            raise StoryreelError(f"The line {text[:20]!r} ends before it starts.")
        lang = line.language or language
        spans = _chunks(text, lang, aspect)
        positions = _timing_positions(text, line.timings)
        starts = [line.start]
        for a, _b in spans[1:]:
            # the first timed word at or after the chunk's first character
            t = next((s for p, s in positions if p >= a), None)
            abs_t = line.start + t if t is not None else None
            if abs_t is None or abs_t <= starts[-1] or abs_t >= line.end:
                # no timing for this split (text without TTS timings): share by length
                abs_t = line.start + (line.end - line.start) * a / len(text)
            starts.append(max(starts[-1], min(line.end, abs_t)))
        for i, (a, b) in enumerate(spans):
            end = starts[i + 1] if i + 1 < len(spans) else line.end
            if end <= starts[i]:
                continue
            body = "\n".join(wrap(text[a:b], lang, aspect))
            cues.append(Cue(starts[i], end, body, line.speaker))
    return cues


# --------------------------------------------------------------------------- files
def _ms(seconds: float) -> int:
    return int(round(seconds * 1000.0))


def _ssa_file(cues: list[Cue]) -> Any:
    import pysubs2

    subs = pysubs2.SSAFile()
    for cue in cues:
        subs.append(pysubs2.SSAEvent(start=_ms(cue.start), end=_ms(cue.end),
                                     text=cue.text.replace("\n", r"\N"), name=cue.speaker))
    return subs


def write_srt(cues: list[Cue], path: str | Path) -> Path:
    path = Path(path)
    _ssa_file(cues).save(str(path), format_="srt", encoding="utf-8")
    return path


@dataclass(frozen=True)
class SafeLayout:
    font_size: int
    margin_left: int
    margin_right: int
    margin_bottom: int  # from the frame's bottom edge to the last line's baseline area
    outline: int

    def text_width(self, width: int) -> int:
        return width - self.margin_left - self.margin_right


def safe_layout(width: int, height: int) -> SafeLayout:
    """Where subtitles go: inside the platform safe area for the frame's shape."""
    if width <= 0 or height <= 0:
        raise StoryreelError(f"Frame size {width}×{height} is not valid.")
    if height > width:  # 9:16: app UI over the bottom ~20 % and the right ~15 %
        ml, mr, mb = round(0.08 * width), round(0.15 * width), round(0.22 * height)
        size = min(round(0.046 * width), int(0.77 * width / 16 * 0.97))
    elif height == width:
        ml, mr, mb = round(0.08 * width), round(0.12 * width), round(0.15 * height)
        size = round(0.045 * width)
    else:
        ml = mr = round(0.06 * width)
        mb = round(0.08 * height)
        size = round(0.055 * height)
    size = max(10, size)
    return SafeLayout(size, ml, mr, mb, max(1, round(size * 0.08)))


def write_ass(cues: list[Cue], path: str | Path, width: int, height: int) -> Path:
    """ASS subtitles for a ``width``×``height`` film, styled inside the safe area."""
    import pysubs2

    layout = safe_layout(width, height)
    subs = _ssa_file(cues)
    subs.info["PlayResX"] = str(width)
    subs.info["PlayResY"] = str(height)
    subs.info["WrapStyle"] = "2"  # our own line breaks only
    subs.info["ScaledBorderAndShadow"] = "yes"
    subs.styles["Default"] = pysubs2.SSAStyle(
        fontname=FONT_NAME, fontsize=layout.font_size, bold=True,
        primarycolor=pysubs2.Color(255, 255, 255, 0),
        outlinecolor=pysubs2.Color(0, 0, 0, 0),
        backcolor=pysubs2.Color(0, 0, 0, 128),
        outline=layout.outline, shadow=max(1, layout.outline // 2),
        alignment=pysubs2.Alignment.BOTTOM_CENTER,
        marginl=layout.margin_left, marginr=layout.margin_right,
        marginv=layout.margin_bottom,
    )
    path = Path(path)
    subs.save(str(path), format_="ass", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- burn-in
def _has_cjk(text: str) -> bool:
    return any(_char_width(c) == 1.0 for c in text)


@lru_cache(maxsize=96)
def cue_sprite(text: str, width: int, height: int) -> tuple[Any, tuple[int, int]]:
    """The subtitle drawn tight (RGBA) and where its top-left goes on the frame. Cached."""
    from PIL import Image, ImageDraw

    from engine.assets import load_font

    layout = safe_layout(width, height)
    lang = "zh" if _has_cjk(text) else "en"
    aspect = "9:16" if height > width else "16:9"
    lines = [ln for part in text.split("\n") for ln in (wrap(part, lang, aspect) or [""])]
    avail = layout.text_width(width)
    size = layout.font_size
    font = load_font(size)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    widest = max(probe.textlength(ln, font=font) for ln in lines) if lines else 0
    if widest > avail:  # shrink rather than cross the safe area
        size = max(10, int(size * avail / widest))
        font = load_font(size)
        widest = max(probe.textlength(ln, font=font) for ln in lines)
    stroke = max(1, round(size * 0.08))
    shadow = max(1, round(size * 0.05))
    line_h = round(size * 1.3)
    pad = stroke + shadow + 2
    w = int(math.ceil(widest)) + 2 * pad
    h = line_h * len(lines) + 2 * pad
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    for i, ln in enumerate(lines):
        lw = draw.textlength(ln, font=font)
        x = pad + (widest - lw) / 2
        y = pad + i * line_h
        draw.text((x + shadow, y + shadow), ln, font=font, fill=(0, 0, 0, 140),
                  stroke_width=stroke, stroke_fill=(0, 0, 0, 140))
        draw.text((x, y), ln, font=font, fill=(255, 255, 255, 255),
                  stroke_width=stroke, stroke_fill=(20, 20, 20, 235))
    center = layout.margin_left + avail / 2
    left = int(round(center - w / 2))
    left = max(layout.margin_left - pad, min(left, width - layout.margin_right - w + pad))
    top = height - layout.margin_bottom - h + pad
    return img, (left, top)


def render_cue(text: str, width: int, height: int) -> Any:
    """A full-frame RGBA picture, transparent except the subtitle (bottom-centred inside
    the safe area). The drawing is cached; each call returns a new frame-size image."""
    from PIL import Image

    sprite, (x, y) = cue_sprite(text, width, height)
    frame = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    frame.paste(sprite, (x, y))
    return frame
