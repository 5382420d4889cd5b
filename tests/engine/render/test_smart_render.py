"""Smart render: per-shot segments cached by what affects their frames, re-exports that
re-encode only what changed and equal a full render bit for bit."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine.cli import main
from engine.model import VoiceClip
from engine.render import segments as seg_module
from engine.render.compose import Geometry
from engine.render.export import export_film
from engine.render.frames import matrix_for
from engine.render.segments import Encoder, SegmentCache, plan_segments
from engine.render.timeline_builder import build_timeline, set_clip_edit
from tests.engine.render.conftest import TEST_PRESET, add_take, decode_frames, solid_png
from tests.media_factory import make_video, make_wav

PLAIN = {"preset": TEST_PRESET}


def _video_packets(path: Path) -> list[tuple[int, int, bool, bytes]]:
    import av

    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return [(p.pts, p.dts, p.is_keyframe, bytes(p)) for p in c.demux(v) if p.dts is not None]


def _four_shots(film, tmp_path: Path):
    store = film(4, duration=1.0)
    shots = store.shots()
    add_take(store, shots[0].id, make_video(tmp_path / "a.mp4", frames=30, fps=24))
    add_take(store, shots[1].id, solid_png(tmp_path / "red.png", (220, 30, 30)))
    add_take(store, shots[2].id, make_video(tmp_path / "c.mp4", frames=30, fps=30,
                                            size=(48, 64)))
    # shot 4 keeps its slate; shot 1 has a voiced line (a timed subtitle)
    voice = store.media.import_file(make_wav(tmp_path / "v.wav", seconds=0.5))
    store.add(VoiceClip(shot_id=shots[0].id, line_index=0, text="第1句台词",
                        media=voice.sha256, duration=0.5))
    set_clip_edit(store, shots[2].id, transition="crossfade", transition_frames=6)
    set_clip_edit(store, shots[3].id, transition="dip-to-black", transition_frames=4)
    return store, shots


def test_re_export_reuses_unchanged_shots_and_equals_a_full_render(film, tmp_path: Path) -> None:
    store, shots = _four_shots(film, tmp_path)
    first = export_film(store, tmp_path / "first.mp4", **PLAIN)
    assert first.segments == {"total": 4, "rendered": 4, "reused": 0}
    again = export_film(store, tmp_path / "again.mp4", **PLAIN)
    assert again.segments == {"total": 4, "rendered": 0, "reused": 4}
    assert _video_packets(tmp_path / "again.mp4") == _video_packets(tmp_path / "first.mp4")
    # trim the first shot: only its segment is encoded again; the later shots move
    # earlier on the timeline but show the same frames, so they are reused
    set_clip_edit(store, shots[0].id, trim_out=12)  # of its 30-frame take: 18 frames left
    smart = export_film(store, tmp_path / "smart.mp4", **PLAIN)
    assert smart.segments == {"total": 4, "rendered": 1, "reused": 3}
    full = export_film(store, tmp_path / "full.mp4", use_cache=False, **PLAIN)
    assert full.segments["rendered"] == 4
    tl = build_timeline(store)
    assert smart.frames == full.frames == tl.duration_frames == 84
    assert _video_packets(tmp_path / "smart.mp4") == _video_packets(tmp_path / "full.mp4")
    smart_frames, full_frames = decode_frames(tmp_path / "smart.mp4"), \
        decode_frames(tmp_path / "full.mp4")
    assert len(smart_frames) == 84
    assert all(np.array_equal(a, b) for a, b in zip(smart_frames, full_frames, strict=True))
    # and it is the edit: the first shot is 6 frames shorter, the red one follows it
    assert tl.video[0].duration_frames == 18 and tl.video[1].record_in == 18
    assert np.abs(smart_frames[18][56, 32].astype(int) - [220, 30, 30]).max() < 30
    assert np.abs(smart_frames[17][56, 32].astype(int) - [220, 30, 30]).max() > 60
    # a still trimmed where it crossfades into the next shot: its own segment is shorter,
    # but the crossfade shows the same pictures (a still holds), so that one is reused
    set_clip_edit(store, shots[1].id, trim_out=4)
    assert export_film(store, tmp_path / "x.mp4", **PLAIN).segments["rendered"] == 1
    # a video's tail trimmed into the dip to black that follows it: its segment only
    set_clip_edit(store, shots[2].id, trim_out=3)
    assert export_film(store, tmp_path / "y.mp4", **PLAIN).segments["rendered"] == 1


def test_a_long_shot_is_cut_on_its_keyframe_grid_and_a_tail_trim_encodes_its_end_only(
        film, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(seg_module, "CHUNK_SECONDS", 0.5)  # 12 frames at 24 fps
    preset = replace(TEST_PRESET, gop_seconds=0.25)  # a keyframe every 6 frames
    store = film(2, duration=2.0)
    shots = store.shots()
    add_take(store, shots[0].id, make_video(tmp_path / "long.mp4", frames=60, fps=30))
    first = export_film(store, tmp_path / "first.mp4", preset=preset)
    assert first.segments == {"total": 8, "rendered": 8, "reused": 0}  # 48 + 48 frames
    set_clip_edit(store, shots[0].id, trim_out=5)  # 43 frames: 12+12+12+7
    smart = export_film(store, tmp_path / "smart.mp4", preset=preset)
    assert smart.segments == {"total": 8, "rendered": 1, "reused": 7}
    full = export_film(store, tmp_path / "full.mp4", preset=preset, use_cache=False)
    assert _video_packets(tmp_path / "smart.mp4") == _video_packets(tmp_path / "full.mp4")
    assert smart.frames == full.frames == 91
    # a trim at the head moves every source time of the shot: all its segments again
    set_clip_edit(store, shots[0].id, trim_in=2, trim_out=5)
    assert export_film(store, tmp_path / "head.mp4", preset=preset).segments["rendered"] == 4


@pytest.mark.parametrize("pool", ["processes", "threads"])
def test_parallel_and_single_process_encodes_are_identical(film, tmp_path: Path, monkeypatch,
                                                           pool: str) -> None:
    from engine.render import segments

    # a small film encodes in threads of this process; processes for more work than that
    monkeypatch.setattr(segments, "THREADED_WORK", 0 if pool == "processes" else 10**12)
    store, _shots = _four_shots(film, tmp_path)
    pooled = export_film(store, tmp_path / "pool.mp4", use_cache=False, jobs=3, **PLAIN)
    alone = export_film(store, tmp_path / "one.mp4", use_cache=False, jobs=1, **PLAIN)
    assert pooled.segments["rendered"] == alone.segments["rendered"] == 4
    assert _video_packets(tmp_path / "pool.mp4") == _video_packets(tmp_path / "one.mp4")


def test_segments_start_on_keyframes_with_the_preset_gop(film, tmp_path: Path) -> None:
    import av

    store, _shots = _four_shots(film, tmp_path)
    preset = replace(TEST_PRESET, gop_seconds=0.25, level="3.0")  # 6 frames at 24 fps
    out = tmp_path / "gop.mp4"
    export_film(store, out, preset=preset)
    tl = build_timeline(store)
    starts = sorted({0, *(c.record_in for c in tl.video)})
    keys = [i for i, p in enumerate(sorted(_video_packets(out))) if p[2]]
    expected = sorted({s + g for j, s in enumerate(starts)
                       for g in range(0, (starts + [tl.duration_frames])[j + 1] - s, 6)})
    assert keys == expected
    with av.open(str(out)) as c:
        ctx = c.streams.video[0].codec_context
        assert (ctx.profile, ctx.level) == ("High", 30)


# ---------------------------------------------------------------- every input in the key
def _keys(store, preset=TEST_PRESET, burn: bool = True, label: bool = True) -> list[str]:
    tl = build_timeline(store)
    p = preset.resolve(tl.width, tl.height, tl.fps)
    geometry = Geometry(p.width, p.height, p.fps, matrix_for(p.width, p.height), burn, label)
    enc = Encoder("libx264", p.width, p.height, p.fps, p.crf, p.x264_preset, p.profile,
                  p.level, 48, p.bframes, p.pix_fmt, geometry.matrix, 2)
    n_out = tl.duration_frames
    return [s.key for s in plan_segments(tl, geometry, enc, n_out)]


def _retake(store, shots, tmp_path):
    add_take(store, shots[1].id, solid_png(tmp_path / "blue.png", (30, 30, 220)), approved=True)


def _speed(store, shots, tmp_path):
    set_clip_edit(store, shots[0].id, speed=1.5)


def _trim_in(store, shots, tmp_path):
    set_clip_edit(store, shots[0].id, trim_in=3)


def _transition(store, shots, tmp_path):
    set_clip_edit(store, shots[1].id, transition="crossfade", transition_frames=4)


def _subtitle_text(store, shots, tmp_path):
    shot = store.shots()[1]
    shot.dialogue[0].text = "换了一句台词"
    store.update(shot)


def _slate_text(store, shots, tmp_path):
    shot = store.shots()[3]
    shot.action = "另一个动作"
    store.update(shot)


CHANGES = {"take media": (_retake, {1}), "clip speed": (_speed, {0}),
           "clip trim": (_trim_in, {0}), "transition": (_transition, {0, 1}),
           "subtitle text": (_subtitle_text, {1}), "slate text": (_slate_text, {3})}


@pytest.mark.parametrize("name", list(CHANGES))
def test_each_edit_invalidates_just_its_segments(film, tmp_path: Path, name: str) -> None:
    store = film(4, duration=1.0)
    shots = store.shots()
    add_take(store, shots[0].id, make_video(tmp_path / "a.mp4", frames=48, fps=24))
    add_take(store, shots[1].id, solid_png(tmp_path / "red.png", (220, 30, 30)))
    add_take(store, shots[2].id, solid_png(tmp_path / "green.png", (30, 220, 30)))
    before = _keys(store)
    change, changed = CHANGES[name]
    change(store, shots, tmp_path)
    after = _keys(store)
    assert len(after) == len(before) == 4
    assert {i for i in range(4) if before[i] != after[i]} == changed


def _font_changed(monkeypatch, tmp_path: Path) -> None:
    from engine import assets

    copy = tmp_path / "font.otf"
    shutil.copy(assets.cjk_font_path(), copy)
    with open(copy, "ab") as fh:
        fh.write(b"\0")  # another font file
    monkeypatch.setattr(assets, "cjk_font_path", lambda: copy)
    monkeypatch.setattr(seg_module, "_code_hash", None)


WHOLE_FILM = {
    "preset": lambda store, mp, tmp: {"preset": replace(TEST_PRESET, crf=30)},
    "label": lambda store, mp, tmp: {"label": False},
    "subtitles burned": lambda store, mp, tmp: {"burn": False},
    "renderer version": lambda store, mp, tmp: mp.setattr(seg_module, "RENDERER_VERSION", "x"),
    "font": lambda store, mp, tmp: _font_changed(mp, tmp),
}


@pytest.mark.parametrize("name", list(WHOLE_FILM))
def test_each_film_wide_input_invalidates_every_segment(film, tmp_path: Path, monkeypatch,
                                                        name: str) -> None:
    store = film(3, duration=1.0)
    before = _keys(store)
    options = WHOLE_FILM[name](store, monkeypatch, tmp_path) or {}
    after = _keys(store, **options)
    assert all(a != b for a, b in zip(before, after, strict=True))


def test_cache_is_bounded_oldest_out_and_never_packed(film, tmp_path: Path) -> None:
    import os
    import zipfile

    from engine.interchange.bundle import pack

    store, _shots = _four_shots(film, tmp_path)
    export_film(store, tmp_path / "a.mp4", **PLAIN)
    folder = store.cache_dir / "segments"
    files = sorted(folder.glob("*.mp4"))
    assert len(files) == 4 and not list(folder.glob("*.part-*"))
    for age, path in enumerate(files):  # oldest first
        os.utime(path, ns=(10**18 + age * 10**9, 10**18 + age * 10**9))
    sizes = [p.stat().st_size for p in files]
    cache = SegmentCache(folder, limit_bytes=sizes[0] + sizes[2] + sizes[3])
    assert cache.prune(keep={files[0].stem}) == 1  # the oldest not kept goes first
    assert sorted(folder.glob("*.mp4")) == [files[0], files[2], files[3]]
    assert pack(store, tmp_path / "p.zip") > 0
    with zipfile.ZipFile(tmp_path / "p.zip") as zf:
        assert not [n for n in zf.namelist() if "segments" in n or n.startswith("cache/")]


@pytest.mark.parametrize("pool", ["processes", "threads"])
def test_cancelled_pool_leaves_no_part_files(film, tmp_path: Path, monkeypatch,
                                             pool: str) -> None:
    from engine.errors import Cancelled
    from engine.jobs.progress import CancelToken
    from engine.render import segments

    monkeypatch.setattr(segments, "THREADED_WORK", 0 if pool == "processes" else 10**12)
    store, _shots = _four_shots(film, tmp_path)
    cancel = CancelToken()

    def progress(fraction: float, message: str) -> None:
        if fraction > 0.1:
            cancel.cancel()

    with pytest.raises(Cancelled):
        export_film(store, tmp_path / "x.mp4", jobs=2, progress=progress, cancel=cancel,
                    **PLAIN)
    folder = store.cache_dir / "segments"
    assert not list(folder.glob("*.part-*")) if folder.exists() else True
    assert not (tmp_path / "x.mp4").exists()
    # what was finished before the cancel is valid and reused by the next export
    report = export_film(store, tmp_path / "x.mp4", **PLAIN)
    assert report.segments["rendered"] + report.segments["reused"] == 4


def test_nvenc_is_used_or_refused_in_one_sentence(film, tmp_path: Path, capsys) -> None:
    store = film(1, duration=0.25)
    code = main(["export", str(store.root), str(tmp_path / "n.mp4"), "--preset", "draft",
                 "--encoder", "nvenc"])
    err = capsys.readouterr().err
    if code == 0:
        assert (tmp_path / "n.mp4").is_file()
    else:
        assert code == 2 and "NVENC" in err and "--encoder x264" in err
        assert "Traceback" not in err


def test_jobs_must_be_positive(film, tmp_path: Path, capsys) -> None:
    store = film(1, duration=0.25)
    assert main(["export", str(store.root), str(tmp_path / "j.mp4"), "--jobs", "0"]) == 2
    assert "--jobs" in capsys.readouterr().err



def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[str, int, int]]:
    """(type, body start, body end) of the ISO BMFF boxes in ``data[start:end]``."""
    import struct

    while start + 8 <= end:
        size, kind = struct.unpack(">I4s", data[start:start + 8])
        head = 8
        if size == 1:
            size, head = struct.unpack(">Q", data[start + 8:start + 16])[0], 16
        elif size == 0:
            size = end - start
        yield kind.decode("latin-1"), start + head, start + size
        start += size


def _edit_lists(path: Path) -> dict[str, list[tuple[int, int]]]:
    """Per track handler (vide/soun): its edit list's (media_time, rate) entries."""
    import struct

    data = path.read_bytes()
    moov = next((b, e) for k, b, e in _boxes(data, 0, len(data)) if k == "moov")
    found: dict[str, list[tuple[int, int]]] = {}
    for kind, b, e in _boxes(data, *moov):
        if kind != "trak":
            continue
        inner = {k: (bb, ee) for k, bb, ee in _boxes(data, b, e)}
        mdia = {k: (bb, ee) for k, bb, ee in _boxes(data, *inner["mdia"])}
        handler = data[mdia["hdlr"][0] + 8:mdia["hdlr"][0] + 12].decode()
        entries: list[tuple[int, int]] = []
        if "edts" in inner:
            for k, bb, _ee in _boxes(data, *inner["edts"]):
                if k != "elst":
                    continue
                version, count = data[bb], struct.unpack(">I", data[bb + 4:bb + 8])[0]
                fmt, width = (">QqI", 20) if version == 1 else (">IiI", 12)
                for n in range(count):
                    _dur, media_time, rate = struct.unpack(
                        fmt, data[bb + 8 + n * width:bb + 8 + (n + 1) * width])
                    entries.append((media_time, rate))
        found[handler] = entries
    return found


def test_the_joined_film_needs_no_edit_list_for_its_pictures(film, tmp_path: Path) -> None:
    import av

    store, _shots = _four_shots(film, tmp_path)
    preset = replace(TEST_PRESET, bframes=2)  # B-frames: the pictures' order is delayed
    out = tmp_path / "b.mp4"
    report = export_film(store, out, preset=preset)
    assert report.segments["total"] == 4
    video = _edit_lists(out)["vide"]
    # no edit list, or one that maps the track as it is (from media time 0, at speed 1)
    assert all(entry == (0, 1 << 16) for entry in video), video
    # read ignoring edit lists: frame k is at k / fps, the first at 0
    with av.open(str(out), options={"ignore_editlist": "1"}) as c:
        stream = c.streams.video[0]
        times = [frame.pts * stream.time_base for frame in c.decode(stream)]
    fps = build_timeline(store).fps
    assert times == [k / fps for k in range(report.frames)]


def test_a_segment_encodes_to_the_same_bits_every_time_in_one_process(
        film, tmp_path: Path, monkeypatch) -> None:
    # x264's look-ahead reads memory it never wrote: without the allocator filling new
    # blocks while an encoder starts, the second encode in a process could differ
    from engine.jobs.progress import CancelToken
    from engine.render.segments import SegmentJob, encode_segment

    monkeypatch.setattr(seg_module, "CHUNK_SECONDS", 0.5)
    store = film(2, duration=2.0)
    add_take(store, store.shots()[0].id, make_video(tmp_path / "long.mp4", frames=60, fps=30))
    tl = build_timeline(store)
    preset = replace(TEST_PRESET, gop_seconds=0.25).resolve(tl.width, tl.height, tl.fps)
    matrix = matrix_for(preset.width, preset.height)
    geometry = Geometry(preset.width, preset.height, preset.fps, matrix,
                        film_seconds=float(tl.duration))
    enc = Encoder("libx264", preset.width, preset.height, preset.fps, preset.crf,
                  preset.x264_preset, preset.profile, preset.level, 6, preset.bframes,
                  preset.pix_fmt, matrix, 1)
    segments = plan_segments(tl, geometry, enc, tl.duration_frames)
    runs = []
    for run in range(4):
        outs = [tmp_path / f"r{run}-{s.index}.mp4" for s in segments]
        for segment, out in zip(segments, outs, strict=True):
            encode_segment(SegmentJob(segment, geometry, enc, out), CancelToken())
        runs.append([_video_packets(out) for out in outs])
    assert len(segments) == 8
    assert all(r == runs[0] for r in runs[1:])
