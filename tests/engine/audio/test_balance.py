"""The default music bed sits well under the dialogue: measured with pyloudnorm in the mix."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest

from engine.audio import music, voices
from engine.audio.mix import read_mix, render_mix
from engine.demo import SAMPLE_MUSIC
from engine.model import (
    AudioRole,
    Character,
    DialogueLine,
    Scene,
    Shot,
    VoiceProfile,
)

LINES = ["你为什么现在才来？我等了你整整一个晚上。", "路上出了点事，我手机也没电了。",
         "算了，我们回家吧，明天还要早起上班。"]


def _film(store, backend: str) -> None:
    profile = {"espeak": ("cmn+f1", "cmn+m1"), "kokoro": ("zf_xiaobei", "zm_yunxi")}[backend]
    her = store.add(Character("林夏", gender="女", voice=VoiceProfile(backend, profile[0])))
    him = store.add(Character("陈默", gender="男", voice=VoiceProfile(backend, profile[1])))
    scene = store.add(Scene(number=1, heading="内 咖啡馆 夜"))
    store.add(Shot(scene_id=scene.id, order=1, duration=2.0,
                   dialogue=[DialogueLine(LINES[0], her.id), DialogueLine(LINES[1], him.id)]))
    store.add(Shot(scene_id=scene.id, order=2, duration=6.0, action="雨夜街景"))
    store.add(Shot(scene_id=scene.id, order=3, duration=2.0,
                   dialogue=[DialogueLine(LINES[2], her.id)]))


def _mix(store, tmp: Path, mute_dialogue: bool = False) -> tuple[np.ndarray, list, float]:
    segments, duration = music.project_segments(store)
    if mute_dialogue:  # still ducks the music, but is not heard
        segments = [replace(s, gain_db=-200.0) if s.role is AudioRole.DIALOGUE else s
                    for s in segments]
    out = tmp / ("muted.wav" if mute_dialogue else "mix.wav")
    render_mix(segments, duration, out)
    audio = np.concatenate(list(read_mix(out)), axis=1).T
    spans = [(s.start, s.start + (s.duration or 0.0)) for s in segments
             if s.role is AudioRole.DIALOGUE]
    return audio, spans, duration


def _lufs(meter: pyloudnorm.Meter, audio: np.ndarray, spans: list[tuple[float, float]]) -> float:
    parts = [audio[int(a * 48000):int(b * 48000)] for a, b in spans if b - a >= 0.45]
    return float(meter.integrated_loudness(np.concatenate(parts)))


@pytest.mark.parametrize("backend", ["espeak", "kokoro"])
def test_bed_sits_six_lu_under_dialogue_and_ducks_further(project, tmp_path: Path,
                                                           backend: str) -> None:
    _film(project, backend)
    voices.synthesize_project(project)
    placement = music.add_music(project, SAMPLE_MUSIC)
    assert placement.gain_db == music.bed_gain_db(SAMPLE_MUSIC) < -4.0
    audio, spans, duration = _mix(project, tmp_path)
    meter = pyloudnorm.Meter(48000)
    dialogue = _lufs(meter, audio, spans)
    # the shot without lines: music alone, away from the duck ramps and the fades
    quiet_from = max(e for s, e in spans if e < duration / 2) + 0.8
    quiet_to = min(s for s, e in spans if s > duration / 2) - 0.3
    assert quiet_to - quiet_from > 3.0
    bed = _lufs(meter, audio, [(quiet_from, quiet_to)])
    assert dialogue - bed >= 6.0, f"dialogue {dialogue:.1f} LUFS, bed {bed:.1f} LUFS"
    # under the lines the bed is ducked further still (measured with the voices muted)
    muted, spans, _ = _mix(project, tmp_path, mute_dialogue=True)
    under = _lufs(meter, muted, [(s + 0.1, e) for s, e in spans])
    between = _lufs(meter, muted, [(quiet_from, quiet_to)])
    assert between - under >= 8.0, f"between {between:.1f}, under lines {under:.1f} LUFS"
    # (each mix is normalized on its own: compare levels within one mix only)
    assert (dialogue - bed) + (between - under) >= 14.0
