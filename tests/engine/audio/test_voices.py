from __future__ import annotations

import numpy as np
import pytest

from engine.audio import tts, voices
from engine.audio.decode import SourceReader
from engine.errors import Cancelled
from engine.jobs.progress import CancelToken
from engine.model import (
    Character,
    DialogueLine,
    LineKind,
    Scene,
    Shot,
    VoiceClip,
    VoiceProfile,
)


def _film(store):
    her = store.add(Character("林夏", gender="女"))
    him = store.add(Character("陈默", gender="男"))
    scene = store.add(Scene(number=1, heading="内 咖啡馆 夜"))
    s1 = store.add(Shot(scene_id=scene.id, order=1, duration=1.5,
                        narration="那一夜，雨下得很大。",
                        dialogue=[DialogueLine("你为什么现在才来？", her.id),
                                  DialogueLine("路上出了点事。", him.id)]))
    s2 = store.add(Shot(scene_id=scene.id, order=2, duration=12.0,
                        dialogue=[DialogueLine("算了。", her.id)]))
    s3 = store.add(Shot(scene_id=scene.id, order=3, duration=2.0, action="雨夜街景"))
    return her, him, s1, s2, s3


def test_one_clip_per_line_and_shots_fit_their_lines(project) -> None:
    her, him, s1, s2, s3 = _film(project)
    messages = []
    report = voices.synthesize_project(project, progress=lambda f, m="": messages.append(f))
    assert report.synthesized == 4 and report.reused == 0
    clips = {(c.shot_id, c.line_index): c for c in project.all(VoiceClip)}
    assert set(clips) == {(s1.id, -1), (s1.id, 0), (s1.id, 1), (s2.id, 0)}
    assert messages[-1] == 1.0
    for clip in clips.values():
        path = project.media_path(clip.media)
        reader = SourceReader(path, sample_rate=22050, channels=1)
        decoded = np.concatenate([reader.read(22050) for _ in range(20)], axis=1)
        reader.close()
        # the stored clip is exactly as long as recorded (to the millisecond)
        assert decoded.shape[1] / 22050 == pytest.approx(clip.duration, abs=0.001)
        assert clip.timings and clip.timings[-1]["end"] <= clip.duration
    # shot 1 grew to hold narration + two lines + breaths; shot 2 keeps its longer plan
    s1_now, s2_now = project.get(Shot, s1.id), project.get(Shot, s2.id)
    layout = voices.line_layout(s1_now, [c for c in clips.values() if c.shot_id == s1.id])
    assert [p.line_index for p in layout] == [-1, 0, 1]
    assert layout[0].offset == pytest.approx(voices.LEAD_IN)
    for a, b in zip(layout, layout[1:], strict=False):
        assert b.offset == pytest.approx(a.offset + a.duration + voices.BREATH)
    needed = layout[-1].offset + layout[-1].duration + voices.BREATH
    # rounded up to the next whole frame (30 fps), so the film's length adds up
    assert needed <= s1_now.duration + 1e-6 < needed + 1 / 30 + 1e-6
    assert abs(s1_now.duration * 30 - round(s1_now.duration * 30)) < 1e-4
    assert s1_now.generation["planned_duration"] == 1.5
    assert s2_now.duration == 12.0
    assert project.get(Shot, s3.id).duration == 2.0


def test_defaults_are_stored_and_distinct(project) -> None:
    her, him, *_ = _film(project)
    voices.synthesize_project(project)
    her_v = project.get(Character, her.id).voice
    him_v = project.get(Character, him.id).voice
    assert her_v.backend == him_v.backend == "kokoro"
    assert her_v != him_v and her_v.voice.startswith("zf_") and him_v.voice.startswith("zm_")
    assert tts.narrator_voice("zh").voice not in (her_v.voice, him_v.voice)
    # stable: a second run keeps the same voices and reuses every clip
    report = voices.synthesize_project(project)
    assert report.synthesized == 0 and report.reused == 4
    assert project.get(Character, her.id).voice == her_v


def test_only_changed_lines_are_synthesized_again(project) -> None:
    her, him, s1, s2, _ = _film(project)
    voices.synthesize_project(project)
    before = {(c.shot_id, c.line_index): c for c in project.all(VoiceClip)}
    shot = project.get(Shot, s1.id)
    shot.dialogue[1] = DialogueLine("路上堵车了，对不起。", him.id)
    project.update(shot)
    character = project.get(Character, her.id)
    character.voice = VoiceProfile(backend="espeak", voice="cmn+f4", pitch=3.0)
    project.update(character)
    report = voices.synthesize_project(project)
    after = {(c.shot_id, c.line_index): c for c in project.all(VoiceClip)}
    # changed text (him) and changed voice (her: two lines) are redone; narration is reused
    assert report.synthesized == 3 and report.reused == 1
    assert after[(s1.id, -1)].media == before[(s1.id, -1)].media
    assert after[(s1.id, 1)].text == "路上堵车了，对不起。"
    assert after[(s1.id, 1)].id == before[(s1.id, 1)].id  # same row, new audio
    # a removed line loses its clip
    shot = project.get(Shot, s1.id)
    shot.narration = ""
    project.update(shot)
    report = voices.synthesize_project(project, shot_ids=[s1.id])
    assert report.removed == 1
    assert (s1.id, -1) not in {(c.shot_id, c.line_index) for c in project.all(VoiceClip)}


def test_narration_kind_uses_the_narrator_and_cancel_stops(project) -> None:
    project_row = project.project
    project_row.narrator_voice = VoiceProfile(backend="espeak", voice="cmn+m2", rate=1.2)
    project.update(project_row)
    scene = project.add(Scene(number=1))
    shot = project.add(Shot(scene_id=scene.id, dialogue=[
        DialogueLine("三年后。", None, kind=LineKind.NARRATION)]))
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        voices.synthesize_project(project, cancel=token)
    assert project.all(VoiceClip) == []
    voices.synthesize_project(project)
    (clip,) = project.all(VoiceClip)
    assert clip.shot_id == shot.id and clip.line_index == 0
    from engine.audio import tts

    assert clip.profile_key == tts.profile_key("三年后。", project_row.narrator_voice, "zh")


def test_unknown_shot_id_is_refused(project) -> None:
    from engine.errors import StoryreelError

    with pytest.raises(StoryreelError, match="No shot with id"):
        voices.synthesize_project(project, shot_ids=["nope"])
