"""What a parsed script holds, whatever format it came from.

The Fountain and Chinese script parsers both produce a ``ParsedScript``: a title, the
character list (with appearance and costume where the script gives them) and scenes made
of beats (action, spoken lines, transitions). The rule-based breakdown and the LLM planner
turn beats into shots.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from engine.model import Language, LineKind, Setting, TimeOfDay


class BeatKind(StrEnum):
    ACTION = "action"
    LINE = "line"  # something spoken: dialogue, voice-over, off-screen, narration
    TRANSITION = "transition"


@dataclass
class ScriptCharacter:
    name: str
    age: str = ""
    gender: str = ""  # "female", "male" or ""
    appearance: str = ""
    costume: str = ""
    personality: str = ""
    description: str = ""
    role: str = ""  # a relation to the others (苏晴的母亲), never an appearance


@dataclass
class Beat:
    kind: BeatKind
    text: str
    speaker: str | None = None  # character name; None for narration and action
    emotion: str = ""  # parenthetical / 情绪 of a spoken line
    line_kind: LineKind = LineKind.DIALOGUE
    dual: bool = False  # Fountain dual dialogue: spoken at the same time as the previous

    @property
    def is_line(self) -> bool:
        return self.kind is BeatKind.LINE


@dataclass
class ScriptEpisode:
    number: int
    title: str = ""


# "第2集：重逢" / "第二集 重逢" / "EPISODE 2" / "Episode 2: The Return" / "EP02 - Title"
EPISODE_HEADING = re.compile(
    r"^[【\[]?\s*(?:第\s*(?P<zh>[0-9０-９一二三四五六七八九十百零〇两]+)\s*集"
    r"|(?:episode|ep\.?)\s*(?P<en>\d+))\s*[】\]]?\s*(?:[:：.\-—–]\s*)?(?P<title>.*?)\s*$",
    re.IGNORECASE,
)


def parse_episode_heading(line: str) -> ScriptEpisode | None:
    """An episode heading line → its number and title; None when the line is not one."""
    m = EPISODE_HEADING.match(line.strip())
    if not m:
        return None
    raw = m.group("zh") or m.group("en") or ""
    number = parse_number(raw.translate(str.maketrans("０１２３４５６７８９", "0123456789")))
    if number is None or number < 1:
        return None
    title = m.group("title").strip().strip("《》“”\"【】[]")
    if len(title) > 60:
        return None  # "Episode 2 was the one where…" is a sentence, not a heading
    return ScriptEpisode(number, title)


@dataclass
class ScriptScene:
    number: int
    heading: str
    location: str = ""
    setting: Setting = Setting.INTERIOR
    time_of_day: TimeOfDay = TimeOfDay.UNSPECIFIED
    beats: list[Beat] = field(default_factory=list)
    section: str = ""  # Fountain section / 集 the scene belongs to
    synopsis: str = ""
    episode: int = 1  # scene numbers are per episode

    @property
    def description(self) -> str:
        """The scene's action lines joined, for Scene.description."""
        if self.synopsis:
            return self.synopsis
        actions = [b.text for b in self.beats if b.kind is BeatKind.ACTION]
        return " ".join(actions)[:500]

    def weather(self, names: list[str]) -> str:
        """Weather the action lines mention (rain, snow, fog…), character names left out."""
        text = " ".join(b.text for b in self.beats if b.kind is BeatKind.ACTION)
        for name in sorted(names, key=len, reverse=True):
            text = text.replace(name, " ")
        lowered = text.lower()
        for words, weather in WEATHER_WORDS:
            if any((re.search(rf"\b{w}\b", lowered) if w.isascii() else w in text)
                   for w in words):
                return weather
        return ""

    def speakers(self) -> list[str]:
        seen: list[str] = []
        for beat in self.beats:
            if beat.speaker and beat.speaker not in seen:
                seen.append(beat.speaker)
        return seen


WEATHER_WORDS: list[tuple[tuple[str, ...], str]] = [
    (("暴雨", "大雨", "雷雨", "storm", "thunderstorm", "downpour"), "heavy rain, storm"),
    (("雨", "rain", "raining", "drizzle"), "rain"),
    (("大雪", "雪", "snow", "snowing"), "snow"),
    (("雾", "fog", "foggy", "mist"), "fog"),
    (("狂风", "大风", "wind", "windy"), "strong wind"),
]


@dataclass
class ParsedScript:
    format: str  # "fountain" or "chinese"
    title: str = ""
    language: Language = Language.CHINESE
    metadata: dict[str, Any] = field(default_factory=dict)
    characters: list[ScriptCharacter] = field(default_factory=list)
    scenes: list[ScriptScene] = field(default_factory=list)
    episodes: list[ScriptEpisode] = field(default_factory=list)  # those the script names
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def character(self, name: str) -> ScriptCharacter | None:
        for c in self.characters:
            if c.name == name:
                return c
        return None

    def episode(self, number: int) -> ScriptEpisode:
        for e in self.episodes:
            if e.number == number:
                return e
        found = ScriptEpisode(number)
        self.episodes.append(found)
        return found

    def number_scenes(self) -> None:
        """Make (episode, number) unique: a scene without its own number, or repeating one
        already used in its episode, takes the next free number (with a warning)."""
        used: dict[int, set[int]] = {}
        for scene in self.scenes:
            taken = used.setdefault(scene.episode, set())
            if scene.number in taken or scene.number < 1:
                wanted = scene.number
                scene.number = max(taken, default=0) + 1
                if wanted >= 1:
                    self.warnings.append(
                        f"Episode {scene.episode} has scene {wanted} twice; the second "
                        f"({scene.heading[:30]}) is numbered {scene.number}.")
            taken.add(scene.number)
        for number in sorted({s.episode for s in self.scenes}):
            self.episode(number)
        self.episodes.sort(key=lambda e: e.number)

    def ensure_character(self, name: str) -> ScriptCharacter:
        found = self.character(name)
        if found is None:
            found = ScriptCharacter(name=name)
            self.characters.append(found)
        return found


# ----------------------------------------------------------------------------- text helpers
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")


def cjk_count(text: str) -> int:
    return len(_CJK.findall(text))


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def guess_language(text: str) -> Language:
    """Chinese when CJK characters outnumber Latin words, else English."""
    return Language.CHINESE if cjk_count(text) >= word_count(text) else Language.ENGLISH


CHINESE_CHARS_PER_SECOND = 4.0
ENGLISH_WORDS_PER_SECOND = 2.5
BREATH_SECONDS = 0.5
MIN_SHOT_SECONDS = 2.0


def speech_seconds(text: str) -> float:
    """How long a line takes to say: ~4 Chinese characters/s, ~2.5 English words/s."""
    return cjk_count(text) / CHINESE_CHARS_PER_SECOND + word_count(text) / ENGLISH_WORDS_PER_SECOND


def parse_number(text: str) -> int | None:
    """``12`` or Chinese numerals (一, 十二, 二十三, 一百零五) → int; None if not a number."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    digits = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
    units = {"十": 10, "百": 100, "千": 1000}
    if not text or any(ch not in digits and ch not in units for ch in text):
        return None
    total, current = 0, 0
    for ch in text:
        if ch in digits:
            current = digits[ch]
        else:
            total += (current or 1) * units[ch]
            current = 0
    return total + current
