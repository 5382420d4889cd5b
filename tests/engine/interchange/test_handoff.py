"""Hand-off to other editors and the edit back, through the official adapters."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import opentimelineio as otio
import pytest

from engine.cli import main
from engine.model import AudioPlacement, AudioRole, VoiceClip
from engine.ops import history
from engine.render.timeline_builder import build_timeline, set_clip_edit
from engine.store import ProjectStore
from tests.engine.render.conftest import FPS, add_take, make_film
from tests.media_factory import make_video, make_wav


@pytest.fixture
def project(tmp_path: Path) -> Iterator[ProjectStore]:
    """Four shots: trimmed, sped up behind a crossfade, behind a dip to black, a slate."""
    store = make_film(tmp_path, 4, duration=1.0)
    shots = store.shots()
    add_take(store, shots[0].id, make_video(tmp_path / "a.mp4", frames=48, fps=24))
    add_take(store, shots[1].id, make_video(tmp_path / "b.mp4", frames=72, fps=24))
    add_take(store, shots[2].id, make_video(tmp_path / "c.mp4", frames=72, fps=24))
    set_clip_edit(store, shots[0].id, trim_in=6, trim_out=6)
    set_clip_edit(store, shots[1].id, speed=1.5, transition="crossfade", transition_frames=4)
    set_clip_edit(store, shots[2].id, transition="dip-to-black", transition_frames=6)
    voice = store.media.import_file(make_wav(tmp_path / "v.wav", seconds=0.5))
    store.add(VoiceClip(shot_id=shots[2].id, line_index=0, text="第3句台词",
                        media=voice.sha256, duration=0.5))
    music = store.media.import_file(make_wav(tmp_path / "m.wav", seconds=2.0, channels=2))
    store.add(AudioPlacement(role=AudioRole.MUSIC, media=music.sha256, gain_db=-9, loop=True,
                             fade_in=0.5))
    yield store
    store.close()


def _path(url: str, base: Path) -> Path:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    assert not parsed.scheme and not Path(url).is_absolute()
    return base / unquote(url)


ADAPTER = {"xmeml": ("fcp_xml", ".xml"), "fcpxml": ("fcpx_xml", ".fcpxml"),
           "edl": ("cmx_3600", ".edl"), "otio": ("otio_json", ".otio")}


@pytest.mark.parametrize("fmt", list(ADAPTER))
def test_each_format_reads_back_with_its_adapter(project, tmp_path: Path, fmt: str) -> None:
    timeline = build_timeline(project)
    out = tmp_path / f"to-{fmt}"
    assert main(["handoff", str(project.root), str(out), "--format", fmt]) == 0
    adapter, suffix = ADAPTER[fmt]
    (edit,) = [p for p in out.iterdir() if p.suffix == suffix]
    kwargs = {"rate": float(FPS)} if fmt == "edl" else {}
    tl = otio.adapters.read_from_file(str(edit), adapter_name=adapter, **kwargs)
    video = tl.video_tracks()[0]
    clips = list(video.find_clips())
    assert len(clips) == len(timeline.video) == 4
    assert [c.name for c in clips] == [f"Shot {c.label}" for c in timeline.video]
    # the picture lasts as long as the film in every format
    assert video.duration().rescaled_to(float(FPS)).to_frames() == timeline.duration_frames
    first, second = clips[0], clips[1]
    assert first.source_range.start_time.rescaled_to(24).to_frames() == 6
    transitions = [t for t in video if isinstance(t, otio.schema.Transition)]
    if fmt == "fcpxml":
        assert transitions == []  # the adapter drops them (listed in the notes)
        assert second.source_range.start_time.rescaled_to(24).to_frames() == 6
    else:
        # the crossfade into shot 2: four frames in all; the track stays the film's length
        assert len([t for t in transitions if t.transition_type ==
                    otio.schema.TransitionTypes.SMPTE_Dissolve]) == 1
        assert sum(t.in_offset.to_frames() + t.out_offset.to_frames()
                   for t in transitions if "Dip" not in t.name) == 4
    if fmt == "otio":
        assert [e.time_scalar for e in second.effects] == [1.5]
        (dip,) = [t for t in transitions if t.name == "Dip to Black"]
        assert dip.in_offset.to_frames() + dip.out_offset.to_frames() == 6
        assert [c.metadata["storyreel"]["shot_id"] for c in clips] == \
            [c.shot_id for c in timeline.video]
    # every reference is a file:// URL of a file that exists (the slate is a still card)
    for clip in clips:
        assert urlparse(clip.media_reference.target_url).scheme == "file"
        assert _path(clip.media_reference.target_url, out).is_file()
    srt = out / f"{edit.stem}.srt"
    assert srt.is_file() and "第3句台词" in srt.read_text(encoding="utf-8")


def test_bundle_moves_with_relative_references(project, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    assert main(["handoff", str(project.root), str(out), "--format", "xmeml", "--bundle"]) == 0
    moved = tmp_path / "elsewhere" / "bundle"
    moved.parent.mkdir()
    shutil.move(out, moved)
    tl = otio.adapters.read_from_file(str(next(moved.glob("*.xml"))), adapter_name="fcp_xml")
    refs = [c.media_reference.target_url for c in tl.find_clips()]
    assert refs and all(not urlparse(u).scheme and _path(u, moved).is_file() for u in refs)


def test_jianying_draft_matches_the_timeline(project, tmp_path: Path) -> None:
    timeline = build_timeline(project)
    out = tmp_path / "剪映草稿"
    assert main(["handoff", str(project.root), str(out), "--format", "jianying",
                 "--bundle"]) == 0
    content = json.loads((out / "draft_content.json").read_text(encoding="utf-8"))
    meta = json.loads((out / "draft_meta_info.json").read_text(encoding="utf-8"))
    us = lambda frames: round(frames * 1_000_000 / 24)  # noqa: E731
    assert content["duration"] == us(timeline.duration_frames) == meta["tm_duration"]
    assert meta["draft_name"] == "剪映草稿"
    assert meta["draft_id"] == content["id"] != "91E08AC5-22FB-47e2-9AA0-7DC300FAEA2B"
    tracks = {t["name"]: t for t in content["tracks"]}
    assert [t["type"] for t in content["tracks"]][0] == "video"
    video = tracks["Video"]["segments"]
    assert len(video) == 4
    # segments butt on the track and end with the film; the crossfade is cut like OTIO's
    assert video[0]["target_timerange"] == {"start": 0, "duration": us(24)}
    assert video[0]["source_timerange"] == {"start": 250000, "duration": 1000000}
    assert video[1]["target_timerange"]["start"] == us(24)
    assert video[1]["source_timerange"]["start"] == 250000  # 4 frames × 1.5 into the take
    assert video[1]["speed"] == pytest.approx(1.5, abs=1e-4)
    ends = [s["target_timerange"]["start"] + s["target_timerange"]["duration"] for s in video]
    assert ends[-1] == content["duration"]
    for seg, nxt in zip(video, video[1:], strict=False):
        assert seg["target_timerange"]["start"] + seg["target_timerange"]["duration"] == \
            nxt["target_timerange"]["start"]
    names = {t["name"] for t in content["materials"]["transitions"]}
    assert names == {"叠化", "闪黑"}
    videos = content["materials"]["videos"]
    assert [v["material_name"] for v in videos] == \
        [f"Shot {c.label} [{c.shot_id}]" for c in timeline.video]
    for m in videos + content["materials"]["audios"]:
        assert Path(m["path"]).is_file() and Path(m["path"]).is_relative_to(out)
    assert len(tracks["Dialogue 1"]["segments"]) == 1
    music = tracks["Music 1"]["segments"]
    assert len(music) == 2  # a 2 s bed looped under a 3.8 s film
    assert music[0]["volume"] == pytest.approx(10 ** (-9 / 20))  # its -9 dB gain
    fades = {f["id"]: f for f in content["materials"]["audio_fades"]}
    (fade,) = [fades[r] for r in music[0]["extra_material_refs"] if r in fades]
    assert fade["fade_in_duration"] == 500_000  # its 0.5 s fade in
    assert music[-1]["target_timerange"]["start"] + \
        music[-1]["target_timerange"]["duration"] == content["duration"]
    texts = [json.loads(t["content"])["text"] for t in content["materials"]["texts"]]
    assert texts == [s.text for s in timeline.subtitles]
    # and it comes back: every segment matches its shot by id, nothing changes
    with ProjectStore.open(project.root) as store:
        from engine.ops.edit_import import import_edit

        changes = import_edit(store, out)
        assert changes.empty and changes.result.matched == 4 and not changes.result.missing


def _edit_otio(src: Path, dst: Path) -> None:
    """What an editor does: trims 4 frames off the head of shot 1-1 and moves 1-4 before
    1-3."""
    tl = otio.adapters.read_from_file(str(src))
    video = tl.video_tracks()[0]
    clips = list(video.find_clips())
    head = otio.opentime.RationalTime(4, 24)
    sr = clips[0].source_range
    clips[0].source_range = otio.opentime.TimeRange(sr.start_time + head, sr.duration - head)
    moved = video.pop(list(video).index(clips[3]))
    video.insert(list(video).index(clips[2]), moved)
    otio.adapters.write_to_file(tl, str(dst))


def test_edited_otio_comes_back_as_one_undoable_step(project, tmp_path: Path,
                                                     capsys) -> None:
    before = build_timeline(project)
    ids = [c.shot_id for c in before.video]
    out = tmp_path / "otio"
    assert main(["handoff", str(project.root), str(out), "--format", "otio"]) == 0
    edited = tmp_path / "edited.otio"
    _edit_otio(next(out.glob("*.otio")), edited)
    project.close()
    capsys.readouterr()
    assert main(["import-edit", str(project.root), str(edited), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["matched"] == 4 and report["unmatched"] == [] and report["missing"] == []
    with ProjectStore.open(project.root) as store:
        after = build_timeline(store)
        assert [c.shot_id for c in after.video] == [ids[0], ids[1], ids[3], ids[2]]
        assert after.video[0].source_in * 24 == pytest.approx(10)
        assert after.video[0].duration_frames == 20
        assert after.duration_frames == before.duration_frames - 4
        # one entry in the history; undo puts everything back
        entry = history.history(store, limit=1)[0]
        assert entry.seq == report["seq"] and entry.op == "Import edit edited.otio"
        history.undo(store)
        back = build_timeline(store)
        assert [c.to_dict() for c in back.video] == [c.to_dict() for c in before.video]


def test_unreadable_edit_changes_nothing(project, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "broken.otio"
    bad.write_text("{ not json", encoding="utf-8")
    seq = history.history(project, limit=1)[0].seq
    project.close()
    assert main(["import-edit", str(project.root), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "broken.otio" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    with ProjectStore.open(project.root) as store:
        assert history.history(store, limit=1)[0].seq == seq
    assert main(["handoff", str(tmp_path / "nope"), str(tmp_path / "x"), "--format",
                 "otio"]) == 2


@pytest.fixture
def animatic(tmp_path: Path) -> Path:
    """Three shots whose takes the animatic pipeline made, as a user's project."""
    store = make_film(tmp_path, 3, duration=1.0, name="animatic")
    root = store.root
    store.close()
    assert main(["generate", str(root), "--size", "64x96"]) == 0
    return root


def test_xmeml_edit_from_resolve_comes_back_by_clip_name(animatic, tmp_path: Path,
                                                         capsys) -> None:
    """FCP7 XML keeps no shot ids: clips match by name. The editor swaps shots 1-2 and
    1-3, shortens 1-1's tail by 6 frames and adds a clip of its own."""
    out = tmp_path / "resolve"
    assert main(["handoff", str(animatic), str(out), "--format", "xmeml"]) == 0
    with ProjectStore.open(animatic) as store:
        before = build_timeline(store)
    ids = [c.shot_id for c in before.video]
    xml = next(out.glob("*.xml"))
    tl = otio.adapters.read_from_file(str(xml), adapter_name="fcp_xml")
    video = tl.video_tracks()[0]
    one, two, three = list(video.find_clips())
    sr = one.source_range
    one.source_range = otio.opentime.TimeRange(
        sr.start_time, sr.duration - otio.opentime.RationalTime(6, 24))
    video.remove(three)
    video.insert(list(video).index(two), three)
    stranger = otio.schema.Clip(
        name="B-roll", media_reference=otio.schema.ExternalReference(
            target_url=three.media_reference.target_url,
            available_range=three.media_reference.available_range),
        source_range=three.source_range)
    video.append(stranger)
    edited = tmp_path / "edited.xml"
    otio.adapters.write_to_file(tl, str(edited), adapter_name="fcp_xml")
    capsys.readouterr()
    assert main(["import-edit", str(animatic), str(edited)]) == 0
    text = capsys.readouterr().out
    assert "Clips that match no shot: B-roll" in text
    with ProjectStore.open(animatic) as store:
        after = build_timeline(store)
    assert [c.shot_id for c in after.video] == [ids[0], ids[2], ids[1]]
    assert after.video[0].duration_frames == before.video[0].duration_frames - 6
    assert after.duration_frames == before.duration_frames - 6


def test_jianying_edit_comes_back(animatic, tmp_path: Path) -> None:
    """In 剪映 the user trims 3 frames (125 000 µs) off the head of the second segment."""
    out = tmp_path / "draft"
    assert main(["handoff", str(animatic), str(out), "--format", "jianying"]) == 0
    path = out / "draft_content.json"
    content = json.loads(path.read_text(encoding="utf-8"))
    video = next(t for t in content["tracks"] if t["type"] == "video")["segments"]
    cut = 125_000
    video[1]["source_timerange"]["start"] += cut
    video[1]["source_timerange"]["duration"] -= cut
    video[1]["target_timerange"]["duration"] -= cut
    for seg in video[2:]:
        seg["target_timerange"]["start"] -= cut
    path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    with ProjectStore.open(animatic) as store:
        from engine.ops.edit_import import import_edit

        before = build_timeline(store)
        changes = import_edit(store, out, author="editor")
        assert not changes.empty and changes.result.missing == []
        after = build_timeline(store)
        assert after.video[1].source_in == pytest.approx(3 / 24)
        assert after.video[1].duration_frames == before.video[1].duration_frames - 3
        assert after.duration_frames == before.duration_frames - 3
        history.undo(store, "editor")
        assert build_timeline(store).duration_frames == before.duration_frames


def test_shot_dragged_into_another_scene_moves_there(project, tmp_path: Path) -> None:
    from engine.model import Scene, Shot
    from engine.ops.edit_import import import_edit

    scene2 = project.add(Scene(number=2, heading="外景 街道 夜"))
    lone = project.add(Shot(scene_id=scene2.id, order=0, duration=1.0, action="街角"))
    out = tmp_path / "otio"
    assert main(["handoff", str(project.root), str(out), "--format", "otio"]) == 0
    tl = otio.adapters.read_from_file(str(next(out.glob("*.otio"))))
    video = tl.video_tracks()[0]
    last = list(video.find_clips())[-1]
    assert last.metadata["storyreel"]["shot_id"] == lone.id
    video.remove(last)
    video.insert(0, last)
    edited = tmp_path / "edited.otio"
    otio.adapters.write_to_file(tl, str(edited))
    changes = import_edit(project, edited)
    assert "2-1" in changes.result.moved
    scene1 = project.shots()[0].scene_id
    assert project.shots()[0].id == lone.id and project.shots()[0].scene_id == scene1
    assert project.shots(scene2.id) == []
    history.undo(project)
    assert project.shots(scene2.id)[0].id == lone.id


def test_bad_handoff_input_is_one_sentence(project, tmp_path: Path, capsys) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    root = str(project.root)
    project.close()
    cases = [
        (["handoff", root, str(taken), "--format", "otio"], "not an empty folder"),
        (["handoff", root, str(tmp_path / "o"), "--format", "avid"], "invalid choice"),
        (["handoff", root, str(tmp_path / "o"), "--format", "otio", "--episode", "2"],
         "no episode 2"),
        (["import-edit", root, str(tmp_path / "none.otio")], "does not exist"),
        (["import-edit", root, str(taken / "keep.txt")], "not an edit Storyreel reads"),
        (["import-edit", root, str(taken)], "does not exist"),  # a folder that is no draft
    ]
    for argv, needle in cases:
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert needle in err and "Traceback" not in err and len(err.splitlines()) == 1, err
    assert (taken / "keep.txt").read_text() == "mine" and len(list(taken.iterdir())) == 1
    assert not (tmp_path / "o").exists()
    assert not [p for p in tmp_path.iterdir() if ".part-" in p.name]
