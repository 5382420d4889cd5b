from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import opentimelineio as otio
import pytest

from engine.model import AudioPlacement, AudioRole, VoiceClip
from engine.render.export import export_film
from engine.render.timeline_builder import build_timeline, set_clip_edit
from engine.store import ProjectStore
from tests.engine.render.conftest import FPS, TEST_PRESET, add_take, make_film, solid_png
from tests.media_factory import make_video, make_wav


@pytest.fixture
def edited(tmp_path: Path) -> Iterator[ProjectStore]:
    """Four shots: trimmed video, sped-up video behind a crossfade, an image, a slate."""
    store = make_film(tmp_path, 4, duration=1.0)
    shots = store.shots()
    add_take(store, shots[0].id, make_video(tmp_path / "a.mp4", frames=48, fps=24))
    add_take(store, shots[1].id, make_video(tmp_path / "b.mp4", frames=72, fps=24))
    add_take(store, shots[2].id, solid_png(tmp_path / "c.png", (10, 200, 10)))
    set_clip_edit(store, shots[0].id, trim_in=6, trim_out=6)
    set_clip_edit(store, shots[1].id, speed=1.5, transition="crossfade", transition_frames=4)
    voice = store.media.import_file(make_wav(tmp_path / "v.wav", seconds=0.5))
    store.add(VoiceClip(shot_id=shots[2].id, line_index=0, text="第3句台词",
                        media=voice.sha256, duration=0.5))
    music = store.media.import_file(make_wav(tmp_path / "m.wav", seconds=2.0, channels=2))
    store.add(AudioPlacement(role=AudioRole.MUSIC, media=music.sha256, gain_db=-9))
    store.add(AudioPlacement(role=AudioRole.MUSIC, media=music.sha256, from_shot=shots[3].id))
    yield store
    store.close()


def _read(path: Path) -> otio.schema.Timeline:
    return otio.adapters.read_from_file(str(path))


def test_otio_lists_every_clip_with_in_and_out_points(edited, tmp_path: Path) -> None:
    timeline = build_timeline(edited)
    out = tmp_path / "film.mp4"
    report = export_film(edited, out, preset=TEST_PRESET, otio=True)
    assert report.otio == out.with_suffix(".otio")
    tl = _read(report.otio)
    rate = float(FPS)
    video = tl.video_tracks()[0]
    clips = list(video.find_clips())
    assert [c.metadata["storyreel"]["shot_id"] for c in clips] == \
        [c.shot_id for c in timeline.video]
    # the track lasts exactly as long as the film
    assert video.duration().to_frames() == timeline.duration_frames
    assert tl.duration().rescaled_to(rate).to_frames() == timeline.duration_frames
    first, second, image, slate = clips
    # trimmed: source in at 6 frames, then the shot's 24 frames (the 2 s take is longer)
    assert first.source_range.start_time.to_frames() == 6
    assert first.source_range.duration.to_frames() == 24
    assert first.source_range.end_time_exclusive().to_frames() == round(
        timeline.video[0].source_out * rate)
    assert first.source_range.start_time.rate == rate
    # crossfade into the second clip: a 4-frame dissolve before the cut; the clip reaches
    # back into its handle, so it starts 4 × 1.5 source frames later and is 4 shorter
    transitions = [t for t in video if isinstance(t, otio.schema.Transition)]
    assert len(transitions) == 1
    assert transitions[0].in_offset.to_frames() == 4
    assert transitions[0].transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve
    assert second.source_range.start_time.to_frames() == 6
    assert second.source_range.duration.to_frames() == timeline.video[1].duration_frames - 4
    assert [e.time_scalar for e in second.effects] == [1.5]
    # media as file:// URLs of the project's files
    from urllib.parse import unquote, urlparse

    for clip, source in zip((first, second, image), timeline.video[:3], strict=True):
        url = urlparse(clip.media_reference.target_url)
        assert url.scheme == "file"
        assert Path(unquote(url.path)).is_file()
        assert Path(unquote(url.path)) == Path(source.path).resolve()
    assert isinstance(slate.media_reference, otio.schema.MissingReference)
    assert "第4句台词" in slate.metadata["storyreel"]["slate_text"]
    # positions on the track equal the timeline's record in points
    for clip, source in zip(clips, timeline.video, strict=True):
        placed = clip.range_in_parent().start_time.to_frames()
        head = source.transition_frames if source.transition.value == "crossfade" else 0
        assert placed == source.record_in + head


def test_otio_audio_tracks_and_subtitle_markers(edited, tmp_path: Path) -> None:
    from engine.interchange.otio import write_otio

    timeline = build_timeline(edited)
    path = write_otio(timeline, tmp_path / "edit.otio", edited.root)
    tl = _read(path)
    names = [t.name for t in tl.audio_tracks()]
    assert "Dialogue 1" in names
    assert "Music 1" in names and "Music 2" in names  # the two beds overlap: two lanes
    dialogue = next(t for t in tl.audio_tracks() if t.name == "Dialogue 1")
    (line,) = list(dialogue.find_clips())
    assert line.name == "Line 1-3 #1"
    item = next(a for a in timeline.audio if a.role is AudioRole.DIALOGUE)
    assert line.range_in_parent().start_time.to_frames() == item.record_in
    assert line.source_range.duration.to_frames() == item.record_out - item.record_in
    markers = list(tl.tracks.markers)
    assert [m.name for m in markers] == [s.text for s in timeline.subtitles]
    assert [m.marked_range.start_time.to_frames() for m in markers] == \
        [s.record_in for s in timeline.subtitles]
    assert tl.metadata["storyreel"]["project_id"] == edited.project.id
