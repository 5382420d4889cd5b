from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main
from engine.errors import StoryreelError
from engine.model import (
    AudioPlacement,
    AudioRole,
    ClipEdit,
    TakeKind,
    TransitionKind,
    VoiceClip,
)
from engine.model.timeline import SourceKind
from engine.render.timeline_builder import build_timeline, set_clip_edit
from tests.engine.render.conftest import FPS, add_take, solid_png
from tests.media_factory import make_video, make_wav


def test_one_clip_per_shot_in_order_with_integer_frames(film, tmp_path: Path) -> None:
    store = film(3, duration=1.25)
    shots = store.shots()
    add_take(store, shots[0].id, make_video(tmp_path / "a.mp4", frames=48, fps=24))
    add_take(store, shots[2].id, solid_png(tmp_path / "c.png", (0, 0, 255)))
    tl = build_timeline(store)
    assert tl.fps == FPS
    assert [c.shot_id for c in tl.video] == [s.id for s in shots]
    assert [c.kind for c in tl.video] == [SourceKind.VIDEO, SourceKind.SLATE, SourceKind.IMAGE]
    assert [(c.record_in, c.record_out) for c in tl.video] == [(0, 30), (30, 60), (60, 90)]
    assert tl.duration_frames == 90
    assert tl.duration == pytest.approx(3.75)
    assert tl.video[0].source_in == 0.0 and tl.video[0].source_out == pytest.approx(1.25)
    assert "第2句台词" in tl.video[1].slate_text and tl.video[1].label == "1-2"


def test_take_choice_approved_else_newest(film, tmp_path: Path) -> None:
    store = film(1)
    shot = store.shots()[0]
    first = add_take(store, shot.id, solid_png(tmp_path / "r.png", (255, 0, 0)), approved=True)
    newer = add_take(store, shot.id, solid_png(tmp_path / "g.png", (0, 255, 0)))
    assert build_timeline(store).video[0].take_id == first.id
    shot = store.shots()[0]
    shot.approved_take_id = None
    store.update(shot)
    first.approved = False
    store.update(first)
    assert build_timeline(store).video[0].take_id == newer.id
    # a storyboard animatic made later does not replace a real take
    add_take(store, shot.id, solid_png(tmp_path / "a.png", (9, 9, 9)), kind=TakeKind.ANIMATIC)
    assert build_timeline(store).video[0].take_id == newer.id


def test_short_source_never_shortens_the_shot(film, tmp_path: Path) -> None:
    store = film(2, duration=2.0)
    shots = store.shots()
    add_take(store, shots[0].id, make_video(tmp_path / "a.mp4", frames=12, fps=24))  # 0.5 s
    tl = build_timeline(store)
    planned = round(2.0 * store.project.fps)
    assert tl.video[0].duration_frames == planned  # its last frame is held
    assert tl.video[1].record_in == planned


def test_clip_edit_trims_speed_and_survives_regeneration(film, tmp_path: Path) -> None:
    store = film(2, duration=1.0)
    shot = store.shots()[0]
    add_take(store, shot.id, make_video(tmp_path / "a.mp4", frames=72, fps=24))  # 3 s
    set_clip_edit(store, shot.id, trim_in=12, speed=2.0)
    clip = build_timeline(store).video[0]
    assert clip.source_in == pytest.approx(0.5)
    assert clip.source_out == pytest.approx(2.5)  # 1 s of film at ×2
    assert clip.duration_frames == 24 and clip.speed == 2.0
    # a new take of the shot: the edit is keyed by shot, it still applies
    add_take(store, shot.id, make_video(tmp_path / "b.mp4", frames=96, fps=24),
             kind=TakeKind.GENERATED, approved=True)
    clip = build_timeline(store).video[0]
    assert clip.take_id is not None and clip.source_in == pytest.approx(0.5)
    assert store.get(ClipEdit, shot.id).speed == 2.0
    # undo restores the previous edit state
    set_clip_edit(store, shot.id, trim_out=24)
    assert store.get(ClipEdit, shot.id).trim_out == 24
    assert store.undo()
    assert store.get(ClipEdit, shot.id).trim_out == 0


def test_trim_out_cuts_the_tail(film, tmp_path: Path) -> None:
    store = film(1, duration=2.0)
    shot = store.shots()[0]
    add_take(store, shot.id, make_video(tmp_path / "a.mp4", frames=48, fps=24))
    set_clip_edit(store, shot.id, trim_out=12)
    clip = build_timeline(store).video[0]
    assert clip.duration_frames == 36 and clip.source_out == pytest.approx(1.5)


def test_transitions(film) -> None:
    store = film(3, duration=1.0)
    shots = store.shots()
    set_clip_edit(store, shots[1].id, transition="crossfade", transition_frames=6)
    set_clip_edit(store, shots[2].id, transition=TransitionKind.DIP_TO_BLACK, transition_frames=8)
    tl = build_timeline(store)
    assert [(c.record_in, c.record_out) for c in tl.video] == [(0, 24), (18, 42), (42, 66)]
    assert tl.duration_frames == 66
    assert tl.video[1].transition is TransitionKind.CROSSFADE
    assert tl.video[2].transition is TransitionKind.DIP_TO_BLACK
    assert [len(tl.clips_at(f)) for f in (17, 18, 23, 24)] == [1, 2, 2, 1]


@pytest.mark.parametrize("changes, words", [
    ({"speed": 0}, "speed"),
    ({"trim_in": -1}, "trim_in"),
    ({"transition": "wipe"}, "transition"),
    ({"colour": 1}, "colour"),
])
def test_bad_edits_are_refused(film, changes, words) -> None:
    store = film(1)
    with pytest.raises(StoryreelError, match=words):
        set_clip_edit(store, store.shots()[0].id, **changes)
    assert store.get(ClipEdit, store.shots()[0].id) is None


def test_voices_music_and_subtitles(film, tmp_path: Path) -> None:
    store = film(2, duration=1.5)
    shots = store.shots()
    voice = store.media.import_file(make_wav(tmp_path / "v.wav", seconds=0.6))
    store.add(VoiceClip(shot_id=shots[1].id, line_index=0, text="第2句台词",
                        media=voice.sha256, duration=0.6))
    music = store.media.import_file(make_wav(tmp_path / "m.wav", seconds=0.5, channels=2))
    store.add(AudioPlacement(role=AudioRole.MUSIC, media=music.sha256, from_shot=shots[1].id,
                             offset=0.25, gain_db=-6))
    tl = build_timeline(store)
    dialogue = [a for a in tl.audio if a.role is AudioRole.DIALOGUE]
    assert len(dialogue) == 1 and dialogue[0].record_in >= 36  # inside the second shot
    assert dialogue[0].record_out - dialogue[0].record_in == round(0.6 * 24)
    bed = [a for a in tl.audio if a.role is AudioRole.MUSIC]
    assert [(b.record_in, b.record_out, b.gain_db) for b in bed] == [(42, 72, -6.0)]
    # shot 1 has no voice: its line spans the shot; shot 2's cue follows its voice clip
    assert [(s.text, s.record_in) for s in tl.subtitles] == [
        ("第1句台词", 0), ("第2句台词", dialogue[0].record_in)]
    # a 0.6 s line's cue stays up into the silence after it: 0.8 s at least, to be read
    assert tl.subtitles[1].record_out >= dialogue[0].record_out
    assert tl.subtitles[1].record_out - tl.subtitles[1].record_in >= round(0.8 * 24) - 1
    assert tl.subtitles[0].speaker == "林晓"


def test_timeline_cli(film, capsys) -> None:
    store = film(2)
    root = str(store.root)
    assert main(["clip-edit", root, "1-2", "--transition", "crossfade",
                 "--transition-frames", "4"]) == 0
    assert "crossfade 4f" in capsys.readouterr().out
    assert main(["timeline", root, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["duration_frames"] == 44
    assert [c["record_in"] for c in data["video"]] == [0, 20]
    assert main(["timeline", root]) == 0
    assert "1-2" in capsys.readouterr().out
    assert main(["clip-edit", root, "9-9", "--speed", "2"]) == 2
    assert "There is no shot 9-9" in capsys.readouterr().err


def test_preview_mix_is_cached_by_what_is_heard(film, tmp_path: Path) -> None:
    import dataclasses

    import numpy as np

    from engine.render.audio import load_mix, preview_mix

    store = film(2, duration=1.0)
    shots = store.shots()
    music = store.media.import_file(make_wav(tmp_path / "m.wav", seconds=0.5, channels=2))
    placement = store.add(AudioPlacement(role=AudioRole.MUSIC, media=music.sha256,
                                         from_shot=shots[1].id, offset=0.0))
    cache = tmp_path / "cache"
    first = preview_mix(build_timeline(store), cache)
    samples, rate = load_mix(first)
    assert rate == 48000 and samples.shape == (96000, 2)
    level = np.abs(samples).max(axis=1)
    assert level[:40000].max() < 1e-4 and level[48000:72000].max() > 0.01  # in shot 2 only
    mtime = first.stat().st_mtime_ns
    assert preview_mix(build_timeline(store), cache) == first  # nothing heard changed
    assert first.stat().st_mtime_ns == mtime
    store.update(dataclasses.replace(placement, gain_db=-12.0))  # a louder/quieter bed
    second = preview_mix(build_timeline(store), cache)
    assert second != first and second.is_file() and not first.exists()  # one per project
    assert [p.name for p in cache.iterdir()] == [second.name]  # no temp file left
