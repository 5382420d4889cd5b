"""Emotion → prosody, phone and off-screen placement: decided per line, measured in sound."""

from __future__ import annotations

import numpy as np
import pytest

from engine.audio import delivery, tts, voices
from engine.audio.mix import SourceReader
from engine.errors import StoryreelError
from engine.model import Character, DialogueLine, Project, Scene, Shot, VoiceClip, VoiceProfile

LINE = "你为什么现在才来？我等了你一个晚上，整整一个晚上。"


def _band_fraction(x: np.ndarray, sr: int, lo: float = 300.0, hi: float = 3400.0) -> float:
    spec = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / sr)
    return float(spec[(freqs < lo) | (freqs > hi)].sum() / spec.sum())


def _decoded(project, clip: VoiceClip) -> np.ndarray:
    reader = SourceReader(project.media_path(clip.media), sample_rate=24000, channels=1)
    n = int(clip.duration * 24000) + 24000
    out = np.concatenate([reader.read(4800) for _ in range(n // 4800 + 1)], axis=1)[0]
    reader.close()
    return out[: int(clip.duration * 24000)]


def _rms_db(x: np.ndarray) -> float:
    frame = 480
    n = len(x) // frame
    rms = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1))
    voiced = rms[rms > rms.max() * 0.1]
    return float(20 * np.log10(np.sqrt(np.mean(voiced**2))))


def test_cues_are_found_in_parentheticals_and_combine() -> None:
    table = delivery.table_for({})
    p, cues = delivery.prosody_for("强忍哽咽", table)
    assert cues == ["哽咽"] and p.rate < 0.9 and p.pause > 1.5 and p.energy < 0
    p, cues = delivery.prosody_for("冷笑", table)
    assert cues == ["冷笑"]  # not also 笑
    p, cues = delivery.prosody_for("angry, whispering", table)
    assert set(cues) == {"愤怒", "低声"}
    assert p.rate == pytest.approx(1.15 * 0.88, abs=1e-3)
    assert delivery.prosody_for("", table) == (delivery.Prosody(), [])
    # the project's own table adds and overrides cues; bad ones are one sentence
    mine = delivery.table_for({"prosody": {"哽咽": {"rate": 0.6}, "撒娇": {"pitch": 3}}})
    assert mine["哽咽"].rate == 0.6 and mine["撒娇"].pitch == 3.0
    with pytest.raises(delivery.DeliveryError, match="unknown setting 'speed'"):
        delivery.table_for({"prosody": {"哽咽": {"speed": 2}}})
    with pytest.raises(delivery.DeliveryError, match="out of range"):
        delivery.table_for({"prosody": {"哽咽": {"rate": 9}}})


def test_placement_rules() -> None:
    assert delivery.placement_for("电话里，焦急") == "phone"
    assert delivery.placement_for("画外音") == "offscreen"
    assert delivery.placement_for("(V.O.)") == "offscreen"
    assert delivery.placement_for("", context="她拿起手机") == "phone"
    assert delivery.placement_for("电话", narrator=True) == ""
    assert delivery.placement_for("hopeful", context="a phoneme lesson") == ""


def test_phone_line_is_band_limited_and_offscreen_is_softer() -> None:
    clip = tts.synthesize(LINE, VoiceProfile(backend="espeak", voice="cmn+f1"), "zh")
    normal = _band_fraction(clip.samples, clip.sample_rate)
    phone = delivery.place(clip.samples, clip.sample_rate, "phone")
    assert len(phone) == len(clip.samples)
    assert _band_fraction(phone, clip.sample_rate) < 0.1 * normal
    # as loud as before: a phone line must stay clear
    assert _rms_db(phone) == pytest.approx(_rms_db(clip.samples), abs=1.5)
    far = delivery.place(clip.samples, clip.sample_rate, "offscreen")
    assert _rms_db(far) < _rms_db(clip.samples) - 3.0
    spec_far = np.abs(np.fft.rfft(far)) ** 2
    spec = np.abs(np.fft.rfft(clip.samples)) ** 2
    freqs = np.fft.rfftfreq(len(far), 1 / clip.sample_rate)
    hf = freqs > 6000
    assert spec_far[hf].sum() / spec_far.sum() < 0.5 * spec[hf].sum() / spec.sum()


def test_emotion_changes_prosody_measurably_in_a_project(project) -> None:
    meta = project.project
    meta.settings = {**meta.settings, "prosody": {"哽咽": {"rate": 0.8, "pitch": 1.0,
                                                         "energy": -4.0, "pause": 1.8}}}
    project.update(meta, label="prosody table")
    her = project.add(Character("林夏", gender="女"))
    caller = project.add(Character("母亲", gender="女"))
    scene = project.add(Scene(number=1, heading="内 出租屋 夜", description="手机响了"))
    lines = [DialogueLine(LINE, her.id), DialogueLine(LINE, her.id, emotion="愤怒"),
             DialogueLine(LINE, her.id, emotion="强忍哽咽"),
             DialogueLine(LINE, caller.id), DialogueLine(LINE, her.id, emotion="画外音")]
    shot = project.add(Shot(scene_id=scene.id, order=1, characters=[her.id], dialogue=lines,
                            narration="那一夜，雨下得很大。"))
    report = voices.synthesize_project(project)
    given = {d["line_index"]: d for d in report.delivery}
    assert given[1]["cues"] == ["愤怒"] and given[2]["cues"] == ["哽咽"]
    assert given[3]["placement"] == "phone"  # the caller is not in the frame
    assert given[0]["placement"] == "" and given[4]["placement"] == "offscreen"
    assert given[voices.NARRATION_INDEX]["placement"] == ""
    clips = {c.line_index: c for c in project.all(VoiceClip) if c.shot_id == shot.id}
    plain, angry, choked = clips[0], clips[1], clips[2]
    # the voice record keeps what was applied
    assert choked.delivery["cues"] == ["哽咽"] and choked.delivery["prosody"]["rate"] == 0.8
    assert clips[3].delivery["placement"] == "phone" and plain.delivery["cues"] == []
    assert angry.duration < plain.duration * 0.93
    assert choked.duration > plain.duration * 1.2
    assert _rms_db(_decoded(project, angry)) > _rms_db(_decoded(project, plain)) + 2.5
    assert _rms_db(_decoded(project, choked)) < _rms_db(_decoded(project, plain)) - 2.5
    # 哽咽's longer pauses: the gap at the comma grows
    def comma_gap(c: VoiceClip) -> float:
        t = {x["pos"]: x for x in c.timings}
        i = LINE.index("，")
        return t[i + 1]["start"] - t[i - 1]["end"]
    assert comma_gap(choked) > comma_gap(plain) * 1.4
    # the phone line, decoded from the media store, is band-limited
    assert _band_fraction(_decoded(project, clips[3]), 24000) < \
        0.2 * _band_fraction(_decoded(project, plain), 24000) + 0.02
    # a second run reuses every clip (delivery is part of the cache key)
    again = voices.synthesize_project(project)
    assert again.synthesized == 0 and again.reused == len(report.clips)


def test_bad_project_table_is_one_clear_error(project) -> None:
    meta = project.project
    meta.settings = {"prosody": {"哽咽": "slow"}}
    project.update(meta, label="bad table")
    project.add(Shot(scene_id=project.add(Scene(number=1)).id, narration="你好。"))
    with pytest.raises(StoryreelError, match="rate/pitch/energy/pause"):
        voices.synthesize_project(project)
    assert project.all(VoiceClip) == []


def test_project_settings_are_a_dict() -> None:
    assert isinstance(Project(title="x").settings, dict)
