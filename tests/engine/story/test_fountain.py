from __future__ import annotations

from pathlib import Path

import pytest

from engine.model import Language, LineKind, Setting, TimeOfDay
from engine.story.fountain import looks_like_fountain, parse_fountain, parse_heading
from engine.story.script import BeatKind

SAMPLE = Path(__file__).resolve().parents[3] / "assets" / "sample" / "sample.fountain"

BRICK = """\
Title:
    _**BRICK & STEEL**_
    _**FULL RETIRED**_
Credit: Written by
Author: Stu Maschwitz
Source: Story by KTM
Draft date: 1/20/2012

EXT. BRICK'S PATIO - DAY

A gorgeous day.  The sun is shining.  But BRICK BRADDOCK, retired police detective,
is sitting quietly, contemplating -- something.

The SCREEN DOOR slides open and DICK STEEL, his former partner and fellow retiree,
emerges with two cold beers.

STEEL
Beer's ready!

BRICK
Are they cold?

STEEL
Does a bear crap in the woods?

Steel sits.  They laugh at each other and cheer.

BRICK (V.O.)
(hesitant)
I never told him.
(beat)
Not once.

.SNIPER SCOPE POV

From what seems like only INCHES AWAY.  _Steel's face FILLS the *Leupold Mark 4* scope_.

INT. GARAGE - NIGHT #12A#

BRICK
Screw retirement.

STEEL ^
Screw retirement.

SMASH CUT TO:

[[This note disappears.]]
/* and so does
this boneyard */
@McCLANE
Yippee ki-yay!

>THE END<

> FADE TO BLACK.
"""


def test_title_page_and_headings() -> None:
    script = parse_fountain(BRICK)
    assert script.format == "fountain"
    assert script.title == "BRICK & STEEL FULL RETIRED"
    assert script.metadata["author"] == "Stu Maschwitz"
    assert script.metadata["draft date"] == "1/20/2012"
    headings = [s.heading for s in script.scenes]
    assert headings == ["EXT. BRICK'S PATIO - DAY", "SNIPER SCOPE POV", "INT. GARAGE - NIGHT"]
    patio, pov, garage = script.scenes
    assert (patio.setting, patio.location, patio.time_of_day) == (
        Setting.EXTERIOR, "BRICK'S PATIO", TimeOfDay.DAY)
    assert garage.setting is Setting.INTERIOR and garage.time_of_day is TimeOfDay.NIGHT
    assert script.metadata["scene_numbers"] == {"3": "12A"}
    assert pov.beats[0].kind is BeatKind.ACTION
    # emphasis markup is stripped
    assert "Steel's face FILLS the Leupold Mark 4 scope" in pov.beats[0].text


def test_dialogue_parentheticals_extensions_dual() -> None:
    script = parse_fountain(BRICK)
    patio = script.scenes[0]
    lines = [b for b in patio.beats if b.kind is BeatKind.LINE]
    assert [(b.speaker, b.text) for b in lines[:3]] == [
        ("STEEL", "Beer's ready!"), ("BRICK", "Are they cold?"),
        ("STEEL", "Does a bear crap in the woods?")]
    vo = [b for b in lines if b.line_kind is LineKind.VOICE_OVER]
    # a parenthetical in the middle of a speech starts a new delivery
    assert [(b.speaker, b.emotion, b.text) for b in vo] == [
        ("BRICK", "hesitant", "I never told him."), ("BRICK", "beat", "Not once.")]
    garage = script.scenes[2]
    spoken = [b for b in garage.beats if b.kind is BeatKind.LINE]
    assert [(b.speaker, b.dual) for b in spoken] == [
        ("BRICK", False), ("STEEL", True), ("McCLANE", False)]
    assert {c.name for c in script.characters} == {"STEEL", "BRICK", "McCLANE"}


def test_transitions_notes_boneyard_centered() -> None:
    script = parse_fountain(BRICK)
    garage = script.scenes[2]
    transitions = [b.text for b in garage.beats if b.kind is BeatKind.TRANSITION]
    assert transitions == ["SMASH CUT TO:", "FADE TO BLACK."]
    assert script.notes == ["This note disappears."]
    everything = " ".join(b.text for s in script.scenes for b in s.beats)
    assert "boneyard" not in everything and "note disappears" not in everything
    assert any(b.text == "THE END" and b.kind is BeatKind.ACTION for b in garage.beats)
    assert script.language is Language.ENGLISH


def test_sections_synopsis_sample_file() -> None:
    script = parse_fountain(SAMPLE.read_text(encoding="utf-8"))
    assert script.title == "The Last Train"
    first = script.scenes[0]
    assert first.section == "ACT ONE"
    assert first.synopsis.startswith("Two strangers meet")
    assert [s.setting for s in script.scenes][:2] == [Setting.INTERIOR, Setting.EXTERIOR]
    assert script.scenes[1].time_of_day is TimeOfDay.CONTINUOUS
    kinds = {(b.speaker, b.line_kind) for s in script.scenes for b in s.beats if b.is_line}
    assert ("ANNOUNCER", LineKind.VOICE_OVER) in kinds
    assert ("LEO", LineKind.OFF_SCREEN) in kinds
    assert looks_like_fountain(SAMPLE.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("heading", "expected"), [
    ("INT. KITCHEN - DAY", (Setting.INTERIOR, "KITCHEN", TimeOfDay.DAY)),
    ("EXT. ROOFTOP - DUSK", (Setting.EXTERIOR, "ROOFTOP", TimeOfDay.DUSK)),
    ("INT./EXT. CAR - MOVING - NIGHT", (Setting.INTERIOR_EXTERIOR, "CAR - MOVING",
                                        TimeOfDay.NIGHT)),
    ("I/E HALLWAY", (Setting.INTERIOR_EXTERIOR, "HALLWAY", TimeOfDay.UNSPECIFIED)),
    ("EST. CITY SKYLINE - MORNING", (Setting.EXTERIOR, "CITY SKYLINE", TimeOfDay.MORNING)),
])
def test_parse_heading(heading: str, expected: tuple) -> None:
    assert parse_heading(heading) == expected


def test_uppercase_action_is_not_a_cue_without_dialogue() -> None:
    script = parse_fountain("INT. ROOM - DAY\n\nBANG!\n\nThe door flies open.\n")
    beats = script.scenes[0].beats
    assert [b.kind for b in beats] == [BeatKind.ACTION, BeatKind.ACTION]
    assert not script.characters


def test_character_introductions_give_age_look_clothes_gender() -> None:
    script = parse_fountain(SAMPLE.read_text(encoding="utf-8"))
    maya = script.character("MAYA")
    leo = script.character("LEO")
    assert maya is not None and leo is not None
    assert (maya.age, maya.gender) == ("30s", "female")
    assert maya.appearance == "short black hair, tired eyes"
    assert maya.costume == "paint-stained denim jacket"
    assert (leo.gender, leo.costume) == ("male", "rumpled grey suit, loosened tie")
    assert "steps in" not in leo.appearance  # what he does is not how he looks
    announcer = script.character("ANNOUNCER")
    assert announcer is not None and announcer.appearance == ""
