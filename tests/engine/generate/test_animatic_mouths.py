"""Talking figures: mouths open on the voice's syllables, frame by frame."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine.audio import voices
from engine.generate import requests as reqs
from engine.generate.animatic import Storyboard
from engine.generate.animatic_mouths import is_open, mouth_intervals
from engine.generate.base import CharacterRef, SpokenLine
from engine.model import CameraMove, Character, DialogueLine, Scene, Shot, ShotSize, VoiceClip
from tests.engine.generate.test_animatic import bust, request


def _frames(sb: Storyboard) -> list[np.ndarray]:
    return [np.asarray(sb.frame(i).convert("RGB"), dtype=np.int16) for i in range(sb.frames)]


@pytest.mark.parametrize("size,move,pictured", [
    (ShotSize.CLOSE_UP, CameraMove.STATIC, True),
    (ShotSize.MEDIUM, CameraMove.PUSH_IN, False),  # a silhouette, parallax layers
])
def test_mouth_opens_exactly_on_the_timed_syllables(tmp_path: Path, size: ShotSize,
                                                     move: CameraMove, pictured: bool) -> None:
    images = [bust(tmp_path / "lin.png")] if pictured else []
    intervals = [(0.10, 0.30), (0.42, 0.55), (0.80, 0.95)]
    base = request(width=96, height=160, duration=1.0, size=size, camera_move=move,
                   characters=[CharacterRef("林雨", images=images)])
    quiet = replace(base, dialogue=[SpokenLine("林雨", "你好吗")])
    talking = replace(base, dialogue=[SpokenLine("林雨", "你好吗", intervals)])
    a, b = _frames(Storyboard(quiet)), _frames(Storyboard(talking))
    changed = [float(np.abs(x - y).mean()) > 0.02 for x, y in zip(a, b, strict=True)]
    expected = [is_open(intervals, i / 24.0) for i in range(len(a))]
    assert changed == expected
    # the change is a dark mouth on the face, not elsewhere in the frame
    i = expected.index(True)
    delta = np.abs(a[i] - b[i]).sum(axis=2)
    ys, xs = np.nonzero(delta > 30)
    assert len(ys) > 0 and np.ptp(xs) < base.width * 0.3 and np.ptp(ys) < base.height * 0.15
    assert b[i][ys, xs].mean() < a[i][ys, xs].mean()


def test_a_line_by_someone_off_frame_moves_no_mouth() -> None:
    base = request(width=64, height=112, duration=0.5, characters=[CharacterRef("林雨")])
    sb = Storyboard(replace(base, dialogue=[SpokenLine("陈默", "喂？", [(0.0, 0.5)])]))
    assert sb.talking == []


def test_intervals_come_from_the_voice_timings_where_the_line_sits(project) -> None:
    her = project.add(Character("林夏", gender="女"))
    scene = project.add(Scene(number=1))
    shot = project.add(Shot(scene_id=scene.id, order=1, duration=3.0, characters=[her.id],
                            narration="那天夜里。",
                            dialogue=[DialogueLine("你好，我来了。", her.id)]))
    settings = {"width": 64, "height": 112, "frames": 17, "fps": 16, "steps": 1, "guidance": 1}
    before = reqs.build_request(project, shot, settings)
    assert before.dialogue[0].mouth == []
    key_before = reqs.cache_key(before, "animatic", "", (None, None), storyboard=True)
    voices.synthesize_project(project)
    shot = project.get(Shot, shot.id)
    after = reqs.build_request(project, shot, settings)
    clip = next(c for c in project.all(VoiceClip) if c.line_index == 0)
    offset = next(p.offset for p in voices.line_layout(shot, project.all(VoiceClip))
                  if p.line_index == 0)
    assert offset > voices.LEAD_IN  # after the narration
    assert after.dialogue[0].mouth == mouth_intervals(clip.timings, offset)
    assert len(after.dialogue[0].mouth) == len("你好我来了")  # one opening a character
    for (a, b), t in zip(after.dialogue[0].mouth, clip.timings, strict=True):
        assert offset + t["start"] <= a < b <= offset + t["end"]
    assert after.dialogue[-1].speaker == "" and after.dialogue[-1].mouth == []  # narrator
    # the storyboard differs once voiced, so the take's cache key does too
    assert reqs.cache_key(after, "animatic", "", (None, None), storyboard=True) != key_before
