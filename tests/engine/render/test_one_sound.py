"""`storyreel mix`, the preview and the export hear the same film: the Timeline's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.cli import main
from engine.model import AudioPlacement, AudioRole, TakeKind, VoiceClip
from engine.render.export import export_film
from engine.render.timeline_builder import build_timeline, set_clip_edit
from tests.engine.render.conftest import TEST_PRESET, add_take, solid_png
from tests.media_factory import make_video, make_wav

AAC_FRAME = 1024
RATE = 48000


def _decode(path: Path) -> np.ndarray:
    """The file's first audio stream as float32 (2, n) at 48 kHz."""
    import av

    parts = []
    with av.open(str(path)) as c:
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=RATE)
        for frame in c.decode(audio=0):
            parts += [f.to_ndarray() for f in resampler.resample(frame)]
        parts += [f.to_ndarray() for f in resampler.resample(None)]
    return np.concatenate(parts, axis=1).astype(np.float32)


def _level_at(x: np.ndarray, freq: float) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    return float(spectrum[np.abs(freqs - freq) < 15].max())


def _voice(store, tmp_path: Path, shot_id: str, seconds: float, freq: float) -> None:
    asset = store.media.import_file(make_wav(tmp_path / f"v{freq:g}.wav", seconds, freq=freq))
    store.add(VoiceClip(shot_id=shot_id, line_index=0, text="台词", media=asset.sha256,
                        duration=seconds))


def _film_with_edits(film, tmp_path: Path):
    store = film(3, duration=1.0)  # 24 fps: 24 frames a shot
    s0, s1, s2 = store.shots()
    # shot 1: a 2 s take with its own 440 Hz sound, played at ×2 (so 880 Hz, 1 s of film)
    add_take(store, s0.id, make_video(tmp_path / "a.mp4", frames=48, fps=24, audio=True),
             kind=TakeKind.GENERATED)
    set_clip_edit(store, s0.id, speed=2.0)
    # shot 2 crossfades in over 6 frames; shot 3's head is trimmed by half a second
    add_take(store, s1.id, solid_png(tmp_path / "b.png", (20, 200, 20)))
    set_clip_edit(store, s1.id, transition="crossfade", transition_frames=6)
    add_take(store, s2.id, make_video(tmp_path / "c.mp4", frames=48, fps=24))
    set_clip_edit(store, s2.id, trim_in=12)
    _voice(store, tmp_path, s0.id, 0.5, 330.0)
    _voice(store, tmp_path, s1.id, 0.5, 550.0)
    _voice(store, tmp_path, s2.id, 0.6, 250.0)
    bed = store.media.import_file(make_wav(tmp_path / "bed.wav", 1.0, freq=660.0, channels=2))
    store.add(AudioPlacement(role=AudioRole.MUSIC, media=bed.sha256, gain_db=-12, loop=True))
    return store


def test_timeline_places_sound_with_speed_trims_and_crossfades(film, tmp_path: Path) -> None:
    store = _film_with_edits(film, tmp_path)
    tl = build_timeline(store)
    assert [(c.record_in, c.record_out) for c in tl.video] == [(0, 24), (18, 42), (42, 66)]
    lines = [a for a in tl.audio if a.role is AudioRole.DIALOGUE]
    # shot 1 at ×2: its line (0.25 s into the shot) is heard 0.125 s into the clip;
    # shot 2's starts inside the crossfade; shot 3 lost its line's first 0.25 s to the trim
    assert [(a.record_in, a.record_out) for a in lines] == [(3, 15), (24, 36), (42, 50)]
    assert [a.source_in for a in lines] == pytest.approx([0.0, 0.0, 0.25])
    own = [a for a in tl.audio if a.role is AudioRole.EFFECTS]
    assert len(own) == 1 and own[0].speed == 2.0 and (own[0].record_in, own[0].record_out) \
        == (0, 24)
    assert own[0].fade_out == pytest.approx(6 / 24)  # fades out under the crossfade


def test_mix_command_is_the_exported_films_sound(film, tmp_path: Path, capsys) -> None:
    from engine.audio.mix import read_mix
    from engine.render.audio import load_mix, preview_mix

    store = _film_with_edits(film, tmp_path)
    wav = tmp_path / "mix.wav"
    assert main(["mix", str(store.root), str(wav)]) == 0
    assert "Wrote" in capsys.readouterr().out
    mixed = np.concatenate(list(read_mix(wav)), axis=1)
    tl = build_timeline(store)
    assert mixed.shape == (2, round(tl.duration * RATE))
    # the speed change is heard: the clip's 440 Hz tone plays an octave up
    head = mixed[0, : int(0.7 * RATE)]
    assert _level_at(head, 880.0) > 10 * _level_at(head, 440.0)
    # shot 2's line is heard from its place in the crossfade (1.0 s), not at 1.25 s
    assert _level_at(mixed[0, int(1.02 * RATE) : int(1.2 * RATE)], 550.0) > \
        10 * _level_at(mixed[0, int(0.7 * RATE) : int(0.74 * RATE)], 550.0)

    # the studio's preview mix is the same sound
    preview, rate = load_mix(preview_mix(tl, tmp_path / "cache"))
    assert rate == RATE and np.allclose(np.asarray(preview).T, mixed, atol=1e-6)

    out = tmp_path / "film.mp4"
    export_film(store, out, preset=TEST_PRESET, burn_subtitles=False, aigc_label="none")
    exported = _decode(out)
    assert abs(exported.shape[1] - mixed.shape[1]) <= AAC_FRAME
    n = min(exported.shape[1], mixed.shape[1])
    a, b = exported[:, :n].reshape(-1), mixed[:, :n].reshape(-1)
    correlation = float(np.corrcoef(a, b)[0, 1])
    assert correlation >= 0.98, correlation
