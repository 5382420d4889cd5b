"""Fountain screenplay parser (https://fountain.io/syntax).

Handles the title page, scene headings (INT./EXT./EST./I/E and forced ``.``, scene
numbers ``#12A#``), action (and forced ``!``), character cues with extensions
(V.O., O.S., CONT'D) and forced ``@``, parentheticals, dual dialogue (``^``),
transitions (``CUT TO:`` and forced ``>``), centered text, lyrics, notes ``[[ ]]``,
boneyard ``/* */``, sections ``#`` and synopses ``=``, page breaks and emphasis markup.
"""

from __future__ import annotations

import re

from engine.model import Language, LineKind, Setting, TimeOfDay
from engine.story.script import (
    Beat,
    BeatKind,
    ParsedScript,
    ScriptScene,
    guess_language,
    parse_episode_heading,
)

TITLE_KEYS = ("title", "credit", "author", "authors", "source", "draft date", "date",
              "contact", "copyright", "notes", "revision")
NARRATOR_CUES = {"NARRATOR", "NARRATION", "旁白"}
_TITLE_LINE = re.compile(r"^([A-Za-z][A-Za-z ]*):(.*)$")
_HEADING = re.compile(r"^(INT\.?/EXT|INT/EXT|I/E|INT|EXT|EST)[\. ]", re.IGNORECASE)
_SCENE_NUMBER = re.compile(r"\s*#([A-Za-z0-9.\-]+)#\s*$")
_TRANSITION = re.compile(r"^[A-Z0-9 .,'’\-]+TO:$")
_CUE_EXTENSION = re.compile(r"\(([^)]*)\)")
# a note may span lines but not an empty one (a line of two spaces is allowed inside)
_NOTE = re.compile(r"\[\[((?:(?!\n[ \t]?\n).)*?)\]\]", re.DOTALL)
_BONEYARD = re.compile(r"/\*.*?\*/", re.DOTALL)
_EMPHASIS = re.compile(r"(\\?)([*_]{1,3})(?=\S)(.+?)(?<=\S)\2")

TIMES = {
    "DAY": TimeOfDay.DAY, "NIGHT": TimeOfDay.NIGHT, "DAWN": TimeOfDay.DAWN,
    "DUSK": TimeOfDay.DUSK, "MORNING": TimeOfDay.MORNING, "EVENING": TimeOfDay.EVENING,
    "SUNSET": TimeOfDay.DUSK, "SUNRISE": TimeOfDay.DAWN, "AFTERNOON": TimeOfDay.DAY,
    "NOON": TimeOfDay.DAY, "LATER": TimeOfDay.CONTINUOUS, "CONTINUOUS": TimeOfDay.CONTINUOUS,
    "MOMENTS LATER": TimeOfDay.CONTINUOUS, "SAME": TimeOfDay.CONTINUOUS,
}


def strip_emphasis(text: str) -> str:
    """Remove Fountain emphasis markup (*italic*, **bold**, _underline_), keep ``\\*``."""
    previous = None
    while previous != text:
        previous = text
        text = _EMPHASIS.sub(lambda m: m.group(0) if m.group(1) else m.group(3), text)
    return text.replace("\\*", "*").replace("\\_", "_")


def parse_heading(heading: str) -> tuple[Setting, str, TimeOfDay]:
    """``INT. COFFEE SHOP - NIGHT`` → (INTERIOR, "COFFEE SHOP", NIGHT)."""
    text = heading.strip()
    setting = Setting.INTERIOR
    m = _HEADING.match(text + " ")
    if m:
        prefix = m.group(1).upper().replace(".", "")
        if prefix in ("INT/EXT", "I/E"):
            setting = Setting.INTERIOR_EXTERIOR
        elif prefix in ("EXT", "EST"):
            setting = Setting.EXTERIOR
        text = text[m.end() - 1:].strip(" .")
    time = TimeOfDay.UNSPECIFIED
    parts = [p.strip() for p in re.split(r"\s+[-–—]\s+", text)]
    if len(parts) > 1:
        for candidate in reversed(parts[1:]):
            if candidate.upper() in TIMES:
                time = TIMES[candidate.upper()]
                parts.remove(candidate)
                break
    location = " - ".join(p for p in parts if p)
    return setting, location, time


class _Lines:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def blank(self, i: int) -> bool:
        return i < 0 or i >= len(self.lines) or not self.lines[i].strip()


def _is_character_cue(line: str, lines: _Lines, i: int) -> bool:
    stripped = line.strip()
    if stripped.startswith("@"):
        return not lines.blank(i + 1)
    if not lines.blank(i - 1) or lines.blank(i + 1):
        return False
    if line != line.rstrip():  # "SCANNING THE AISLES…  " + text: action, not a cue
        return False
    if _HEADING.match(stripped + " "):  # a heading without its blank line: action
        return False
    name = _CUE_EXTENSION.sub("", stripped).rstrip("^").strip()
    return (bool(name) and name == name.upper() and any(ch.isalpha() for ch in name)
            and not stripped.startswith("!") and not _TRANSITION.match(stripped))


def _line_kind(extensions: list[str]) -> LineKind:
    for ext in extensions:
        token = ext.upper().replace(" ", "")
        if token in ("V.O.", "VO", "V.O"):
            return LineKind.VOICE_OVER
        if token in ("O.S.", "OS", "O.C.", "OC", "O.S", "OFF"):
            return LineKind.OFF_SCREEN
    return LineKind.DIALOGUE


def parse_fountain(text: str) -> ParsedScript:
    script = ParsedScript(format="fountain", language=Language.ENGLISH)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    text = _BONEYARD.sub("", text)
    script.notes.extend(n.strip() for n in _NOTE.findall(text) if n.strip())
    text = _NOTE.sub("", text)
    raw = text.split("\n")

    # title page: key: value pairs at the very top, ending at the first blank line
    start = 0
    first = next((i for i, line in enumerate(raw) if line.strip()), len(raw))
    m = _TITLE_LINE.match(raw[first].strip()) if first < len(raw) else None
    if m and m.group(1).strip().lower() in TITLE_KEYS:
        key = ""
        i = first
        while i < len(raw) and raw[i].strip():
            line = raw[i]
            m = _TITLE_LINE.match(line.strip())
            if m and not line.startswith((" ", "   ")):
                key = m.group(1).strip().lower()
                value = m.group(2).strip()
                # a key given twice (two Author: lines) keeps both values
                before = script.metadata.get(key, "")
                script.metadata[key] = f"{before}\n{value}".strip() if before else value
            elif key:
                joined = script.metadata.get(key, "")
                script.metadata[key] = (joined + "\n" + line.strip()).strip()
            i += 1
        start = i
        script.title = strip_emphasis(script.metadata.get("title", "")).replace("\n", " ")

    lines = _Lines(raw[start:])
    scene: ScriptScene | None = None
    section = ""
    episode_number = 1
    pending_action: list[str] = []
    pending_synopsis: list[str] = []

    def current_scene() -> ScriptScene:
        nonlocal scene
        if scene is None:  # text before the first heading: a scene without a heading
            scene = ScriptScene(number=len(script.scenes) + 1, heading="",
                                episode=episode_number)
            scene.section = section
            script.scenes.append(scene)
        return scene

    def flush_action() -> None:
        if pending_action:
            body = " ".join(s.strip() for s in pending_action if s.strip())
            if body:
                current_scene().beats.append(Beat(BeatKind.ACTION, strip_emphasis(body)))
            pending_action.clear()

    i = 0
    n = len(lines.lines)
    last = ""  # the element before this line: heading, section, synopsis, dialogue, ...
    while i < n:
        line = lines.lines[i]
        stripped = line.strip()
        if not stripped:
            flush_action()
            if last == "action":
                last = "blank-after-action"
            i += 1
            continue
        if re.fullmatch(r"={3,}", stripped):  # page break
            flush_action()
            i += 1
            continue
        if stripped.startswith("#"):  # section: its level (number of #) and name are kept
            flush_action()
            section = stripped.lstrip("#").strip()
            level = len(stripped) - len(stripped.lstrip("#"))
            script.metadata.setdefault("sections", []).append({"level": level,
                                                                "name": section})
            last = "section"
            episode = parse_episode_heading(section)
            if episode is not None:  # "# Episode 2" / "# 第2集 重逢" starts an episode
                episode_number = episode.number
                found = script.episode(episode.number)
                found.title = found.title or episode.title
                scene = None
            i += 1
            continue
        if stripped.startswith("=") and not stripped.startswith("==") and last in (
                "heading", "section", "synopsis", "synopsis-pending"):  # synopsis
            flush_action()
            if last in ("heading", "synopsis") and scene is not None:
                scene.synopsis = (scene.synopsis + " " + stripped[1:].strip()).strip()
                last = "synopsis"
            else:  # after a section: it describes the scene that follows
                pending_synopsis.append(stripped[1:].strip())
                last = "synopsis-pending"
            i += 1
            continue
        forced_heading = stripped.startswith(".") and not stripped.startswith("..")
        if (forced_heading or (_HEADING.match(stripped + " ") and lines.blank(i - 1)
                               and lines.blank(i + 1))):
            flush_action()
            last = "heading"
            heading = stripped[1:] if forced_heading else stripped
            number = None
            mnum = _SCENE_NUMBER.search(heading)
            if mnum:
                number = mnum.group(1)
                heading = heading[: mnum.start()].rstrip()
            setting, location, time = parse_heading(heading)
            scene = ScriptScene(
                number=len(script.scenes) + 1, heading=heading.upper() if not forced_heading
                else heading, location=location, setting=setting, time_of_day=time,
                section=section, synopsis=" ".join(pending_synopsis), episode=episode_number,
            )
            pending_synopsis.clear()
            if number:
                script.metadata.setdefault("scene_numbers", {})[str(scene.number)] = number
            script.scenes.append(scene)
            i += 1
            continue
        if stripped.startswith(">") and stripped.endswith("<"):  # centered text
            pending_action.append(stripped[1:-1].strip())
            i += 1
            continue
        if (stripped.startswith(">") or (_TRANSITION.match(stripped) and lines.blank(i - 1)
                                         and lines.blank(i + 1))):
            flush_action()
            current_scene().beats.append(
                Beat(BeatKind.TRANSITION, stripped.lstrip(">").strip()))
            last = "transition"
            i += 1
            continue
        if stripped.startswith("~"):  # lyrics are sung lines without a speaker cue
            flush_action()
            current_scene().beats.append(Beat(BeatKind.ACTION, "♪ " + stripped[1:].strip()))
            i += 1
            continue
        if stripped.startswith("!"):
            pending_action.append(stripped[1:])
            i += 1
            continue
        if _is_character_cue(line, lines, i):
            flush_action()
            cue = stripped.lstrip("@").strip()
            dual = cue.endswith("^") and last == "dialogue"  # ^ pairs with a dialogue only
            cue = cue.rstrip("^").strip()
            extensions = _CUE_EXTENSION.findall(cue)
            name = _CUE_EXTENSION.sub("", cue).strip()
            kind = _line_kind(extensions)
            speaker: str | None = name
            if name.upper() in NARRATOR_CUES:
                speaker, kind = None, LineKind.NARRATION
            i += 1
            emotion = ""
            spoken: list[str] = []

            def emit(emotion: str, spoken: list[str], dual: bool,
                     name: str | None = speaker, kind: LineKind = kind) -> None:
                body = strip_emphasis(" ".join(spoken).strip())
                if body:
                    current_scene().beats.append(Beat(
                        BeatKind.LINE, body, speaker=name, emotion=emotion,
                        line_kind=kind, dual=dual))

            # a line of two spaces inside dialogue keeps the speech together
            while i < n and (lines.lines[i].strip() or lines.lines[i].startswith("  ")):
                part = lines.lines[i].strip()
                if not part:
                    i += 1
                    continue
                if part.startswith("(") and part.endswith(")"):
                    if spoken:  # a parenthetical mid-speech starts a new delivery
                        emit(emotion, spoken, dual)
                        spoken = []
                        dual = False
                    emotion = part[1:-1].strip()
                else:
                    spoken.append(part)
                i += 1
            emit(emotion, spoken, dual)
            last = "dialogue"
            continue
        pending_action.append(line)
        last = "action"
        i += 1
    flush_action()

    script.scenes = [s for s in script.scenes if s.beats or s.heading]
    counters: dict[int, int] = {}
    for s in script.scenes:  # scene numbers are per episode
        counters[s.episode] = s.number = counters.get(s.episode, 0) + 1
        for speaker in s.speakers():
            script.ensure_character(speaker)
    script.number_scenes()
    _read_introductions(script)
    all_text = " ".join(b.text for s in script.scenes for b in s.beats)
    if all_text:
        script.language = guess_language(all_text)
    return script


CLOTHES = ("jacket", "suit", "dress", "shirt", "coat", "tie", "jeans", "uniform", "hat",
           "hoodie", "sweater", "skirt", "boots", "scarf", "gown", "apron", "glasses",
           "wearing", "in a ", "t-shirt", "blazer", "overalls", "cap")
_AGE_WORD = re.compile(r"^(?:early |mid |mid-|late )?(\d{1,2})s?$|^(?:in (?:her|his|their) )"
                       r"?(?:early |mid-|late )?(\d{1,2})s$", re.IGNORECASE)
_SHE = re.compile(r"\b(she|her|woman|girl|mother|wife|sister)\b", re.IGNORECASE)
_HE = re.compile(r"\b(he|him|his|man|boy|father|husband|brother)\b", re.IGNORECASE)


def _read_introductions(script: ParsedScript) -> None:
    """'MAYA, 30s, paint-stained denim jacket, sits…' → Maya's age, look and clothes."""
    for character in script.characters:
        pattern = re.compile(rf"\b{re.escape(character.name)}\b(?: \([^)]*\))?,\s*([^.]+)")
        for scene in script.scenes:
            intro = next((m for b in scene.beats if b.kind is BeatKind.ACTION
                          for m in [pattern.search(b.text)] if m), None)
            if intro is None:
                continue
            clauses = [c.strip() for c in intro.group(1).split(",") if c.strip()]
            look: list[str] = []
            clothes: list[str] = []
            for i, clause in enumerate(clauses):
                age = _AGE_WORD.match(clause)
                if age and not character.age:
                    character.age = clause
                    continue
                first = clause.split()[0]
                if i > 0 and first.islower() and first.endswith("s") and not any(
                        w in clause.lower() for w in CLOTHES):
                    break  # from here on it is what they do ("sits alone…", "steps in")
                (clothes if any(w in clause.lower() for w in CLOTHES) else look).append(clause)
            character.appearance = character.appearance or ", ".join(look)
            character.costume = character.costume or ", ".join(clothes)
            character.description = character.description or intro.group(0).strip()
            context = intro.string[intro.start():]
            if not character.gender:
                she, he = len(_SHE.findall(context)), len(_HE.findall(context))
                character.gender = "female" if she > he else "male" if he > she else ""
            break


def looks_like_fountain(text: str) -> bool:
    """True when the text has Fountain scene headings or a Fountain title page."""
    for line in text.splitlines()[:400]:
        stripped = line.strip()
        if _HEADING.match(stripped + " ") and stripped == stripped.upper():
            return True
        m = _TITLE_LINE.match(stripped)
        if m and m.group(1).strip().lower() == "title":
            return True
    return False
