"""The Fountain parser against the spec's own examples (https://fountain.io/syntax)."""

from __future__ import annotations

from engine.model import LineKind
from engine.story.fountain import parse_fountain
from engine.story.script import BeatKind


def _beats(text: str) -> list[tuple[str, str, str | None]]:
    script = parse_fountain(text)
    return [(str(b.kind), b.text, b.speaker) for s in script.scenes for b in s.beats]


def test_two_spaces_keep_a_speech_together() -> None:
    text = ("INT. GARAGE - DAY\n\nDEAN\nI'm going to the store.\n  \nGet you anything?\n\n"
            "Sam nods.\n")
    beats = _beats(text)
    assert beats[0] == ("line", "I'm going to the store. Get you anything?", "DEAN")
    assert beats[1] == ("action", "Sam nods.", None)


def test_all_caps_line_with_trailing_spaces_is_action() -> None:
    text = "INT. STORE - DAY\n\nSCANNING THE AISLES...  \nWhere is that pit boss?\n"
    beats = _beats(text)
    assert [b[0] for b in beats] == ["action"]
    assert "SCANNING THE AISLES" in beats[0][1] and beats[0][2] is None
    script = parse_fountain(text)
    assert [c.name for c in script.characters] == []


def test_a_heading_needs_a_blank_line_after_it() -> None:
    script = parse_fountain("EXT. BRICK'S PATIO - DAY\n\nA gorgeous day.\n\n"
                            "INT. HOUSE - DAY\nThis line follows without a break.\n")
    assert [s.heading for s in script.scenes] == ["EXT. BRICK'S PATIO - DAY"]
    assert "INT. HOUSE - DAY" in script.scenes[0].beats[-1].text


def test_cut_to_with_a_trailing_space_is_a_transition() -> None:
    beats = _beats("INT. ROOM - DAY\n\nA door slams.\n\nCUT TO: \n\nINT. HALL - DAY\n\n"
                   "Silence.\n")
    assert ("transition", "CUT TO:", None) in beats


def test_synopses_only_after_headings_and_sections() -> None:
    script = parse_fountain("# ACT I\n\n= Set up the characters.\n\nINT. ROOM - DAY\n\n"
                            "= Dean meets Sam.\n\nDean waits.\n\n= not a synopsis here\n")
    (scene,) = script.scenes
    assert scene.synopsis == "Set up the characters. Dean meets Sam."
    assert any("= not a synopsis here" in b.text for b in scene.beats)


def test_dual_dialogue_only_after_a_dialogue() -> None:
    script = parse_fountain("INT. ROOM - DAY\n\nBRICK\nScrew retirement.\n\nSTEEL ^\n"
                            "Screw retirement.\n\nThey stop.\n\nSTEEL ^\nAgain.\n")
    lines = [b for b in script.scenes[0].beats if b.kind is BeatKind.LINE]
    assert [(b.speaker, b.dual) for b in lines] == [("BRICK", False), ("STEEL", True),
                                                     ("STEEL", False)]
    assert all(b.line_kind is LineKind.DIALOGUE for b in lines)


def test_an_unclosed_note_does_not_swallow_what_follows_a_blank_line() -> None:
    script = parse_fountain("INT. ROOM - DAY\n\nHe waits. [[an unclosed note\n\n"
                            "She enters. [[a real note]]\n")
    texts = [b.text for b in script.scenes[0].beats]
    assert any("She enters." in t for t in texts)
    assert script.notes == ["a real note"]
    spanning = parse_fountain("INT. ROOM - DAY\n\nHe waits. [[a note\n  \nover lines]] Then.\n")
    assert spanning.notes == ["a note\n  \nover lines"]


def test_sections_keep_their_level_and_name() -> None:
    script = parse_fountain("# Act One\n\n## Sequence A\n\n### Beat\n\nINT. ROOM - DAY\n\n"
                            "Rain.\n")
    assert script.metadata["sections"] == [{"level": 1, "name": "Act One"},
                                           {"level": 2, "name": "Sequence A"},
                                           {"level": 3, "name": "Beat"}]
    assert script.scenes[0].section == "Beat"


def test_repeated_title_page_keys_accumulate() -> None:
    script = parse_fountain("Title: Brick & Steel\nAuthor: Stu Maschwitz\nAuthor: John August\n"
                            "\nINT. ROOM - DAY\n\nRain.\n")
    assert script.metadata["author"] == "Stu Maschwitz\nJohn August"
    assert script.title == "Brick & Steel"
