from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from engine.cli import main
from engine.errors import Cancelled, MediaError
from engine.jobs.progress import CancelToken
from engine.model import AudioPlacement, AudioRole, MediaAsset, VoiceClip
from engine.render.export import export_film
from engine.render.presets import PRESETS, Preset, get_preset
from engine.render.timeline_builder import build_timeline, set_clip_edit
from tests.engine.render.conftest import FPS, TEST_PRESET, H, W, add_take, decode_frames, solid_png
from tests.engine.render.sources import (
    make_audio,
    make_odd_video,
    make_vfr_video,
    rotate_metadata,
)
from tests.media_factory import make_video, make_wav


def _probe(path: Path) -> dict:
    import av

    with av.open(str(path)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(a)])
        return {
            "vcodec": v.codec_context.name, "profile": v.codec_context.profile,
            "size": (v.codec_context.width, v.codec_context.height),
            "fps": v.average_rate, "frames": v.frames, "vdur": float(v.duration * v.time_base),
            "acodec": a.codec_context.name, "rate": a.codec_context.sample_rate,
            "channels": a.codec_context.channels, "samples": samples,
            "metadata": dict(c.metadata),
        }


def _leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_export_matches_the_timeline(film, tmp_path: Path) -> None:
    store = film(3, duration=1.0)
    shots = store.shots()
    add_take(store, shots[0].id, solid_png(tmp_path / "red.png", (220, 30, 30)))
    add_take(store, shots[1].id, make_video(tmp_path / "b.mp4", frames=24, size=(64, 48),
                                            fps=24, audio=True, sample_rate=22050))
    voice = store.media.import_file(make_wav(tmp_path / "v.wav", seconds=0.5))
    store.add(VoiceClip(shot_id=shots[0].id, line_index=0, text="第1句台词",
                        media=voice.sha256, duration=0.5))
    music = store.media.import_file(make_audio(tmp_path / "bed.mp3", "libmp3lame", 1.0))
    store.add(AudioPlacement(role=AudioRole.MUSIC, media=music.sha256, gain_db=-12, loop=True))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "film.mp4"
    seen: list[float] = []
    report = export_film(store, out, preset=TEST_PRESET, srt=True,
                         progress=lambda f, m: seen.append(f))
    tl = build_timeline(store)
    info = _probe(out)
    assert info["vcodec"] == "h264" and info["profile"] == "High"
    assert info["size"] == (W, H) and info["fps"] == FPS
    assert info["frames"] == tl.duration_frames == report.frames == 72
    assert abs(info["vdur"] - tl.duration) <= 1 / 24
    assert info["acodec"] == "aac" and info["rate"] == 48000 and info["channels"] == 2
    # sound is there: music throughout, louder where the voice speaks
    assert np.sqrt(np.mean(info["samples"] ** 2)) > 0.01
    aigc = json.loads(info["metadata"]["AIGC"])
    assert aigc["Label"] == "1" and aigc["ContentProducer"] == "Storyreel"
    assert aigc["ProduceID"].startswith(store.project.id)
    srt = (out_dir / "film.srt").read_text(encoding="utf-8")
    assert srt.count("-->") == 3 and "第3句台词" in srt
    assert seen[-1] == 1.0 and seen == sorted(seen)
    assert report.loudness["integrated_lufs"] == pytest.approx(-14.0, abs=1.5)
    assert report.loudness["true_peak_db"] <= -0.9
    assert _leftovers(out_dir, {"film.mp4", "film.srt"}) == []
    assert not (store.cache_dir / "export").exists()


def test_subtitles_and_label_are_burned_where_they_belong(film, tmp_path: Path) -> None:
    store = film(1, duration=2.0)
    shot = store.shots()[0]
    add_take(store, shot.id, solid_png(tmp_path / "grey.png", (90, 110, 130)))
    voice = store.media.import_file(make_wav(tmp_path / "v.wav", seconds=0.5))
    store.add(VoiceClip(shot_id=shot.id, line_index=0, text="第1句台词",
                        media=voice.sha256, duration=0.5))
    cue = build_timeline(store).subtitles[0]
    assert cue.record_out < 40
    burned = tmp_path / "burned.mp4"
    plain = tmp_path / "plain.mp4"
    export_film(store, burned, preset=TEST_PRESET)
    export_film(store, plain, preset=TEST_PRESET, burn_subtitles=False, aigc_label="none")
    inside, outside = (cue.record_in + cue.record_out) // 2, 44
    frames = decode_frames(burned)
    bottom = slice(int(H * 0.55), H)
    diff = np.abs(frames[inside][bottom].astype(int) - frames[outside][bottom].astype(int))
    assert diff.max() > 100  # white text on grey inside the cue only
    assert np.abs(frames[outside][bottom].astype(int) - [90, 110, 130]).max() < 12
    # the AI label sits top-left on every frame; the plain export has neither
    corner = (slice(0, 14), slice(0, 30))
    assert np.abs(frames[outside][corner].astype(int) - [90, 110, 130]).max() > 60
    plain_frames = decode_frames(plain)
    assert np.abs(plain_frames[inside].astype(int) - [90, 110, 130]).max() < 12
    assert "AIGC" not in _probe(plain)["metadata"]


def test_cancel_leaves_nothing_behind(film, tmp_path: Path) -> None:
    store = film(3, duration=1.0)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    cancel = CancelToken()

    def progress(fraction: float, message: str) -> None:
        if fraction > 0.4:
            cancel.cancel()

    with pytest.raises(Cancelled):
        export_film(store, out_dir / "film.mp4", preset=TEST_PRESET, srt=True, otio=True,
                    progress=progress, cancel=cancel)
    assert _leftovers(out_dir, set()) == []
    assert not (store.cache_dir / "export").exists()


def test_failed_export_leaves_nothing_and_keeps_old_file(film, tmp_path: Path) -> None:
    store = film(2, duration=1.0)
    shots = store.shots()
    take = add_take(store, shots[1].id, make_video(tmp_path / "b.mp4", frames=24))
    out = tmp_path / "film.mp4"
    out.write_bytes(b"previous export")
    # the take's file is damaged after it was imported
    store.media.path(take.media).write_bytes(b"not a video at all")
    with pytest.raises(MediaError, match="cannot be opened|no video|decodable"):
        export_film(store, out, preset=TEST_PRESET)
    assert out.read_bytes() == b"previous export"
    assert _leftovers(tmp_path, {"film.mp4", "b.mp4", "film.storyreel"}) == []


def test_odd_sources_render(film, tmp_path: Path) -> None:
    store = film(5, duration=1.0)
    shots = store.shots()
    colors = [(250, 0, 0), (0, 250, 0), (0, 0, 250), (250, 250, 0), (0, 250, 250), (0, 0, 0)]
    vfr = make_vfr_video(tmp_path / "vfr.mp4", [0.0, 0.1, 0.5, 0.55, 0.9, 1.2], colors=colors)
    add_take(store, shots[0].id, vfr)
    add_take(store, shots[1].id, make_odd_video(tmp_path / "odd.mp4", (63, 47), frames=12))
    rotated = rotate_metadata(make_video(tmp_path / "land.mp4", frames=24, size=(64, 48)),
                              tmp_path / "rot.mp4", 90)
    if rotated is not None:
        add_take(store, shots[2].id, rotated)
    add_take(store, shots[3].id, make_video(tmp_path / "mono.mp4", frames=24, audio=True,
                                            sample_rate=22050, audio_channels=1))
    for i, (codec, ext) in enumerate((("aac", ".m4a"), ("flac", ".flac"))):
        media = store.media.import_file(make_audio(tmp_path / f"m{i}{ext}", codec, 0.7,
                                                   rate=22050, layout="mono"))
        store.add(AudioPlacement(role=AudioRole.MUSIC, media=media.sha256,
                                 from_shot=shots[i * 2].id, loop=True, fade_in=0.2))
    out = tmp_path / "odd.mp4"
    export_film(store, out, preset=TEST_PRESET, burn_subtitles=False, aigc_label="none")
    tl = build_timeline(store)
    info = _probe(out)
    assert info["frames"] == tl.duration_frames and info["size"] == (W, H)
    frames = decode_frames(out)
    # VFR: frames picked by timestamp (frame 7 = 0.29 s shows the 0.1 s picture, ...)
    expected = {0: 0, 2: 0, 3: 1, 11: 1, 12: 2, 13: 2, 14: 3, 21: 3, 22: 4}
    for frame_no, color in expected.items():
        got = frames[frame_no][H // 2, W // 2].astype(int)
        assert np.abs(got - colors[color]).max() < 40, (frame_no, got.tolist())
    # odd size fills the frame (no black border)
    odd = frames[tl.video[1].record_in + 3]
    assert odd[:, :, 1].min() > 40
    if rotated is not None:
        # the landscape gradient (red grows to the right) shows rotated 90° CCW: red
        # grows upwards, and the portrait picture fills the portrait frame
        rot = frames[tl.video[2].record_in].astype(int)
        assert rot[4, W // 2, 0] > rot[H - 5, W // 2, 0] + 100
        assert abs(rot[H // 2, 4, 0] - rot[H // 2, W - 5, 0]) < 40
    assert np.sqrt(np.mean(info["samples"] ** 2)) > 0.01


def test_transitions_blend_pictures(film, tmp_path: Path) -> None:
    store = film(3, duration=1.0)
    shots = store.shots()
    for shot, (name, color) in zip(shots, [("r", (240, 0, 0)), ("b", (0, 0, 240)),
                                           ("g", (0, 240, 0))], strict=True):
        add_take(store, shot.id, solid_png(tmp_path / f"{name}.png", color))
    set_clip_edit(store, shots[1].id, transition="crossfade", transition_frames=8)
    set_clip_edit(store, shots[2].id, transition="dip-to-black", transition_frames=8)
    out = tmp_path / "t.mp4"
    export_film(store, out, preset=TEST_PRESET, burn_subtitles=False, aigc_label="none")
    frames = decode_frames(out)
    tl = build_timeline(store)
    assert len(frames) == tl.duration_frames == 64
    mid = frames[16 + 4][H // 2, W // 2].astype(int)  # halfway through the crossfade
    assert 60 < mid[0] < 190 and 60 < mid[2] < 190
    cut = tl.video[2].record_in
    assert frames[cut - 1][H // 2, W // 2].max() < 40  # dipped to black at the cut
    assert frames[cut][H // 2, W // 2].max() < 90
    assert frames[cut + 8][H // 2, W // 2][1] > 200


def test_fit_pads_and_fill_crops(film, tmp_path: Path) -> None:
    store = film(1, duration=0.5)
    # a landscape picture in a portrait project
    add_take(store, store.shots()[0].id, solid_png(tmp_path / "w.png", (200, 200, 200), (112, 64)))
    out = tmp_path / "fill.mp4"
    options = {"preset": TEST_PRESET, "burn_subtitles": False, "aigc_label": "none"}
    export_film(store, out, **options)
    assert decode_frames(out)[0].min() > 150  # fill (default): cropped, no bars
    project = store.project
    project.settings = {**project.settings, "fit": "fit"}
    store.update(project)
    export_film(store, out, **options)
    frame = decode_frames(out)[0]
    assert frame[2].max() < 30 and frame[H - 3].max() < 30  # fit: black bars top and bottom
    assert frame[H // 2].min() > 150


def test_portrait_film_in_a_landscape_delivery_is_pillarboxed(film, tmp_path: Path) -> None:
    store = film(2, duration=0.5)
    add_take(store, store.shots()[0].id, solid_png(tmp_path / "w.png", (200, 200, 200)))
    landscape = Preset("landscape", width=224, height=128, x264_preset="ultrafast")
    out = tmp_path / "wide.mp4"
    export_film(store, out, preset=landscape, burn_subtitles=False, aigc_label="none")
    frames = decode_frames(out)
    picture = 128 * W // H  # the 9:16 picture, 72 px wide, centred
    left = (224 - picture) // 2
    assert frames[0][:, : left - 2].max() < 30 and frames[0][:, left + picture + 2 :].max() < 30
    assert frames[0][:, left + 2 : left + picture - 2].min() > 150
    slate_frame = frames[-1]  # the second shot has no take: its slate is pillarboxed too
    assert slate_frame[:, : left - 2].max() < 30
    assert slate_frame[:, left + 2 : left + picture - 2].mean() > 20


def test_presets() -> None:
    douyin = get_preset("douyin").resolve(720, 1280, FPS)
    assert (douyin.width, douyin.height, douyin.fps) == (1080, 1920, 30)
    assert douyin.profile == "high" and douyin.audio_rate == 48000
    assert get_preset("kuaishou").width == 1080
    assert (get_preset("bilibili").width, get_preset("youtube").height) == (1920, 1080)
    assert (get_preset("square").width, get_preset("square").height) == (1080, 1080)
    draft = get_preset("draft").resolve(1080, 1920, FPS)
    assert (draft.width, draft.height, draft.fps) == (540, 960, FPS)
    assert draft.x264_preset == "ultrafast"
    assert set(PRESETS) == {"douyin", "kuaishou", "bilibili", "youtube", "square", "draft"}


def test_export_cli(film, tmp_path: Path, capsys) -> None:
    store = film(2, duration=0.5)
    root = str(store.root)
    out = tmp_path / "cli.mp4"
    code = main(["export", root, str(out), "--preset", "draft", "--srt", "--otio", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["width"], report["height"]) == (W // 2, H // 2)
    assert out.is_file() and out.with_suffix(".srt").is_file()
    assert out.with_suffix(".otio").is_file()
    assert main(["export", root, str(tmp_path / "film.avi")]) == 2
    assert "must end in" in capsys.readouterr().err
    assert main(["export", root, str(tmp_path / "x.mp4"), "--preset", "tiktok"]) == 2
    # a missing output folder is made (and the export lands in it)
    assert main(["export", root, str(tmp_path / "new" / "deeper" / "x.mp4"),
                 "--preset", "draft"]) == 0
    assert (tmp_path / "new" / "deeper" / "x.mp4").is_file()
    (tmp_path / "blocked").write_text("a file where a folder should be")
    assert main(["export", root, str(tmp_path / "blocked" / "x.mp4")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_media_row_missing_is_a_clear_error(film, tmp_path: Path) -> None:
    store = film(1)
    take = add_take(store, store.shots()[0].id, make_video(tmp_path / "a.mp4", frames=6))
    store.media.path(take.media).unlink()
    with pytest.raises(MediaError, match="missing from the project folder"):
        export_film(store, tmp_path / "x.mp4", preset=TEST_PRESET)
    assert store.get(MediaAsset, take.media) is not None


def test_platform_fps_differs_from_project_fps(film, tmp_path: Path) -> None:
    store = film(2, duration=1.0)  # 24 fps project, 48 frames
    add_take(store, store.shots()[0].id, make_video(tmp_path / "a.mp4", frames=24, fps=24))
    ntsc = Preset("ntsc", fps=Fraction(30000, 1001), x264_preset="veryfast")
    out = tmp_path / "ntsc.mp4"
    report = export_film(store, out, preset=ntsc, burn_subtitles=False, aigc_label="none")
    info = _probe(out)
    assert info["fps"] == Fraction(30000, 1001)
    assert info["frames"] == report.frames == int(2 * Fraction(30000, 1001))
    assert abs(info["vdur"] - 2.0) <= 1001 / 30000


def test_trim_in_past_a_seek_point_starts_at_the_right_picture(film, tmp_path: Path) -> None:
    store = film(1, duration=1.0)
    colors = [(250, 0, 0), (0, 250, 0), (0, 0, 250), (250, 250, 0), (0, 250, 250)]
    clip = make_vfr_video(tmp_path / "long.mp4", [0.0, 1.0, 2.0, 2.5, 3.0, 4.0],
                          colors=[*colors, (0, 0, 0)])
    add_take(store, store.shots()[0].id, clip)
    set_clip_edit(store, store.shots()[0].id, trim_in=60)  # 2.5 s at 24 fps
    out = tmp_path / "trim.mp4"
    export_film(store, out, preset=TEST_PRESET, burn_subtitles=False, aigc_label="none")
    frames = decode_frames(out)
    assert len(frames) == 24
    assert np.abs(frames[0][H // 2, W // 2].astype(int) - colors[3]).max() < 40
    assert np.abs(frames[13][H // 2, W // 2].astype(int) - colors[4]).max() < 40
