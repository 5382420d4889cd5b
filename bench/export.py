"""Export benchmark: Storyreel's streamed export against moviepy and a single ffmpeg command.

Builds a 60-second 9:16 film (12 clips of 5 s, one voiced line and its subtitle per clip,
a looping music bed, the visible AI label) and prints, measured in this run:

- full export wall time (``--no-cache``: every shot segment rendered, on all cores)
  / moviepy at its defaults doing the same composite (target ≤ 0.5)
- full export wall time / one ffmpeg filtergraph command doing the same composite with
  the same x264 settings (target ≤ 1.0)
- re-export after trimming one shot / the full export of the same film (smart render:
  only that shot's segment is encoded again; target ≤ 0.10), for the 1-minute film and,
  with ``--three-minutes``, a 3-minute one
- peak memory (max RSS of the export process and of its largest worker) of a 5-minute
  film's export / a 1-minute film's (target ≤ 1.2)

Each Storyreel export runs in its own subprocess so its max RSS is its own.

    .venv/bin/python bench/export.py [--preset douyin] [--work DIR] [--skip-moviepy]
                                     [--three-minutes] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLIPS = 12
CLIP_SECONDS = 5.0
SRC_W, SRC_H, SRC_FPS = 540, 960, 30
LINES = [
    "你终于回来了，我等了你整整三年。", "这件事，我必须亲口告诉你。", "别走，听我把话说完好吗？",
    "原来当年的真相是这样的……", "我不需要你的同情。", "公司已经不是你说了算了。",
    "你以为我真的不知道吗？", "今天，我要拿回属于我的一切。", "对不起，我来晚了。",
    "这一次，我不会再放手。", "所有人都在骗我！", "从今以后，我们两不相欠。",
]


# ----------------------------------------------------------------------------- sources
def make_clip(path: Path, index: int) -> Path:
    import av

    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=SRC_FPS)
        vs.width, vs.height, vs.pix_fmt = SRC_W, SRC_H, "yuv420p"
        vs.options = {"preset": "ultrafast", "crf": "23"}
        yy, xx = np.mgrid[0:SRC_H, 0:SRC_W].astype(np.float32)
        base = np.array([(index * 53) % 256, (index * 97) % 256, (index * 151) % 256], np.float32)
        for i in range(int(CLIP_SECONDS * SRC_FPS)):
            wave = 0.5 + 0.5 * np.sin((xx + yy * 0.5 + i * 6) / 40.0)
            img = (base[None, None, :] * 0.6 + wave[..., None] * 100).clip(0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
    return path


def make_tone(path: Path, seconds: float, rate: int, freq: float, channels: int,
              codec: str = "pcm_s16le") -> Path:
    import av

    layout = "stereo" if channels == 2 else "mono"
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = layout
        fmt = stream.codec_context.codec.audio_formats[0].name
        resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate)
        n = int(seconds * rate)
        t = np.arange(n) / rate
        tone = 0.25 * np.sin(2 * np.pi * freq * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
        data = np.tile(tone.astype(np.float32), (channels, 1))
        for start in range(0, n, 4096):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data[:, start:start + 4096]),
                                               format="fltp", layout=layout)
            frame.sample_rate = rate
            frame.pts = start
            for f in resampler.resample(frame):
                for packet in stream.encode(f):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def make_sources(folder: Path) -> dict[str, list[Path]]:
    folder.mkdir(parents=True, exist_ok=True)
    clips, voices = [], []
    for i in range(CLIPS):
        clip = folder / f"clip{i:02d}.mp4"
        if not clip.exists():
            make_clip(clip, i)
        clips.append(clip)
        voice = folder / f"voice{i:02d}.wav"
        if not voice.exists():
            make_tone(voice, 2.4, 22050, 180 + 20 * i, 1)
        voices.append(voice)
    music = folder / "music.mp3"
    if not music.exists():
        make_tone(music, 20.0, 44100, 110, 2, codec="libmp3lame")
    return {"clips": clips, "voices": voices, "music": [music]}


def build_project(root: Path, minutes: int, sources: dict[str, list[Path]]) -> Path:
    from engine.model import (
        AudioPlacement,
        AudioRole,
        Character,
        DialogueLine,
        Project,
        Scene,
        Shot,
        Take,
        TakeKind,
        VoiceClip,
    )
    from engine.store import ProjectStore

    if root.exists():
        shutil.rmtree(root)
    store = ProjectStore.create(root, Project(title=f"基准测试 {minutes} 分钟", width=1080,
                                              height=1920, fps=Fraction(30)))
    with store.transaction("bench"):
        hero = store.add(Character(name="林晓"))
        clip_assets = [store.media.import_file(p) for p in sources["clips"]]
        voice_assets = [store.media.import_file(p) for p in sources["voices"]]
        music = store.media.import_file(sources["music"][0])
        scene = store.add(Scene(number=1, heading="内景 总裁办公室 日"))
        for i in range(int(60 * minutes / CLIP_SECONDS)):
            k = i % CLIPS
            shot = store.add(Shot(scene_id=scene.id, order=i, duration=CLIP_SECONDS,
                                  dialogue=[DialogueLine(text=LINES[k], character_id=hero.id)]))
            store.add(Take(shot_id=shot.id, kind=TakeKind.GENERATED, media=clip_assets[k].sha256))
            store.add(VoiceClip(shot_id=shot.id, line_index=0, text=LINES[k],
                                media=voice_assets[k].sha256, duration=2.4))
        store.add(AudioPlacement(role=AudioRole.MUSIC, media=music.sha256, gain_db=-14,
                                 fade_in=1.0, fade_out=2.0, loop=True))
    store.close()
    return root


# ----------------------------------------------------------------------------- runs
def child(project: str, out: str, preset: str, mode: str) -> None:
    """Export in this process; print wall time and max RSS (this process and its
    largest worker) as JSON. ``mode``: full (no cache), cached, or trim (trim one shot's
    tail by 10 frames first, then export reusing the cache)."""
    from engine.render.export import export_film
    from engine.render.timeline_builder import set_clip_edit
    from engine.store import ProjectStore

    with ProjectStore.open(project) as store:
        if mode == "trim":
            shots = store.shots()
            set_clip_edit(store, shots[len(shots) // 2].id, trim_out=10)
        start = time.perf_counter()
        report = export_film(store, Path(out), preset=preset, use_cache=mode != "full")
        wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"wall": wall, "maxrss_mb": max(usage.ru_maxrss, workers.ru_maxrss) / 1024,
                      "cpu": usage.ru_utime + usage.ru_stime + workers.ru_utime
                      + workers.ru_stime, "frames": report.frames,
                      "segments": report.segments, "timings": report.timings,
                      "audio_chunks": report.audio.get("chunks")}))


def run_child(project: Path, out: Path, preset: str, mode: str = "full") -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(project), str(out), preset, mode],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"export failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def smart(project: Path, work: Path, preset: str, minutes: int,
          full: dict | None = None) -> tuple[dict, dict]:
    """A full export (unless given), then a re-export after trimming one shot."""
    full = full or run_child(project, work / f"full-{minutes}min.mp4", preset, "full")
    trim = run_child(project, work / f"trim-{minutes}min.mp4", preset, "trim")
    print(f"storyreel {minutes} min: full {full['wall']:6.1f} s ({full['segments']})  "
          f"re-export after a trim {trim['wall']:6.1f} s ({trim['segments']}, AAC chunks "
          f"{trim['audio_chunks']})   load {os.getloadavg()[0]:.1f}")
    stages = {k: round(v, 2) for k, v in trim["timings"].items()}
    print(f"  re-export stage timings: {json.dumps(stages)}")
    return full, trim


def composite_plan(project: Path, preset_name: str) -> dict:
    """What the baselines must draw: clip cuts, voices, cue sprites, label, music."""
    from engine.interchange.subtitles import cue_sprite
    from engine.model import AudioRole
    from engine.render.overlays import aigc_label_image
    from engine.render.presets import get_preset
    from engine.render.timeline_builder import build_timeline
    from engine.store import ProjectStore

    with ProjectStore.open(project) as store:
        tl = build_timeline(store)
    preset = get_preset(preset_name).resolve(tl.width, tl.height, tl.fps)
    folder = project / "cache" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    cues = []
    for i, cue in enumerate(tl.subtitles):
        sprite, (x, y) = cue_sprite(cue.text, preset.width, preset.height)
        png = folder / f"cue{i:03d}.png"
        sprite.convert("RGBA").save(png)
        cues.append({"png": png, "x": x, "y": y, "start": tl.seconds(cue.record_in),
                     "end": tl.seconds(cue.record_out)})
    chip, (lx, ly) = aigc_label_image(tl.language, preset.width, preset.height)
    label = folder / "label.png"
    chip.save(label)
    return {
        "preset": preset, "duration": tl.duration,
        "clips": [{"path": c.path, "start": tl.seconds(c.record_in),
                   "length": tl.seconds(c.record_out) - tl.seconds(c.record_in)} for c in tl.video],
        "voices": [{"path": a.path, "start": tl.seconds(a.record_in)} for a in tl.audio
                   if a.role is AudioRole.DIALOGUE],
        "music": [{"path": a.path, "gain_db": a.gain_db} for a in tl.audio
                  if a.role is AudioRole.MUSIC],
        "cues": cues, "label": {"png": label, "x": lx, "y": ly},
    }


def ffmpeg_command(plan: dict, out: Path) -> list[str]:
    import imageio_ffmpeg

    p = plan["preset"]
    w, h = p.width, p.height
    args = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error"]
    filters = []
    n = 0
    for clip in plan["clips"]:
        args += ["-i", clip["path"]]
        filters.append(
            f"[{n}:v]scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},setsar=1,"
            f"fps={p.fps},trim=duration={clip['length']:.4f},setpts=PTS-STARTPTS[v{n}]")
        n += 1
    filters.append("".join(f"[v{i}]" for i in range(n)) + f"concat=n={n}:v=1:a=0[base0]")
    last = "base0"
    overlays = [*plan["cues"], {**plan["label"], "start": 0.0, "end": plan["duration"]}]
    for k, item in enumerate(overlays):
        args += ["-i", str(item["png"])]
        enable = f":enable='between(t,{item['start']:.3f},{item['end']:.3f})'"
        filters.append(f"[{last}][{n}:v]overlay={item['x']}:{item['y']}{enable}[o{k}]")
        last = f"o{k}"
        n += 1
    audio = []
    for voice in plan["voices"]:
        args += ["-i", voice["path"]]
        ms = int(round(voice["start"] * 1000))
        filters.append(f"[{n}:a]aresample=48000,adelay={ms}|{ms}[a{n}]")
        audio.append(f"[a{n}]")
        n += 1
    for bed in plan["music"]:
        args += ["-stream_loop", "-1", "-i", bed["path"]]
        filters.append(f"[{n}:a]aresample=48000,atrim=duration={plan['duration']:.3f},"
                       f"volume={bed['gain_db']}dB[a{n}]")
        audio.append(f"[a{n}]")
        n += 1
    filters.append("".join(audio) + f"amix=inputs={len(audio)}:normalize=0:duration=longest,"
                   f"atrim=duration={plan['duration']:.3f}[aout]")
    gop = int(round(p.gop_seconds * float(p.fps)))
    args += [
        "-filter_complex", ";".join(filters), "-map", f"[{last}]", "-map", "[aout]",
        "-c:v", "libx264", "-preset", p.x264_preset, "-crf", str(p.crf), "-profile:v", p.profile,
        "-pix_fmt", "yuv420p", "-g", str(gop), "-r", str(p.fps),
        "-c:a", "aac", "-aac_coder", p.aac_coder, "-b:a", str(p.audio_bitrate),
        "-ar", str(p.audio_rate), "-ac", "2",
        "-movflags", "+faststart", str(out),
    ]
    return args


def moviepy_export(plan: dict, out: Path) -> None:
    from moviepy import (
        AudioFileClip,
        CompositeAudioClip,
        CompositeVideoClip,
        ImageClip,
        VideoFileClip,
        afx,
        concatenate_videoclips,
    )

    p = plan["preset"]
    clips = [VideoFileClip(c["path"], audio=False).subclipped(0, c["length"])
             .resized((p.width, p.height)) for c in plan["clips"]]
    base = concatenate_videoclips(clips)
    layers = [base]
    for cue in plan["cues"]:
        layers.append(ImageClip(str(cue["png"])).with_start(cue["start"])
                      .with_duration(cue["end"] - cue["start"]).with_position((cue["x"], cue["y"])))
    label = plan["label"]
    layers.append(ImageClip(str(label["png"])).with_duration(plan["duration"])
                  .with_position((label["x"], label["y"])))
    sounds = [AudioFileClip(v["path"]).with_start(v["start"]) for v in plan["voices"]]
    for bed in plan["music"]:
        gain = 10 ** (bed["gain_db"] / 20)
        music = AudioFileClip(bed["path"]).with_effects(
            [afx.AudioLoop(duration=plan["duration"]), afx.MultiplyVolume(gain)])
        sounds.append(music)
    film = CompositeVideoClip(layers, size=(p.width, p.height)).with_audio(
        CompositeAudioClip(sounds).with_duration(plan["duration"]))
    film.write_videofile(str(out), fps=float(p.fps), codec="libx264", audio_codec="aac",
                         logger=None)
    film.close()
    for clip in clips:
        clip.close()


def cpu_seconds() -> float:
    """CPU time of this process and its finished children so far."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def probe(path: Path) -> str:
    import av

    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return (f"{v.codec_context.width}×{v.codec_context.height} {v.average_rate} fps "
                f"{v.frames} frames {c.duration / 1e6:.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="douyin")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--skip-moviepy", action="store_true")
    parser.add_argument("--long-minutes", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=2,
                        help="alternate Storyreel and ffmpeg runs this many times, keep the best")
    parser.add_argument("--skip-memory", action="store_true",
                        help="skip the long film's export (the memory ratio)")
    parser.add_argument("--three-minutes", action="store_true",
                        help="also measure the re-export ratio on a 3-minute film")
    parser.add_argument("--child", nargs=4, metavar=("PROJECT", "OUT", "PRESET", "MODE"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = args.work or Path(tempfile.mkdtemp(prefix="storyreel-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"work folder: {work}  ({os.cpu_count()} CPUs, preset {args.preset})")
    t0 = time.perf_counter()
    sources = make_sources(work / "sources")
    one = build_project(work / "one.storyreel", 1, sources)
    five = None if args.skip_memory else \
        build_project(work / "five.storyreel", args.long_minutes, sources)
    print(f"sources and projects built in {time.perf_counter() - t0:.1f} s")

    # Storyreel and ffmpeg run alternately ``--repeat`` times; each keeps its best wall
    # time, so a burst of load from other processes does not decide the ratio
    plan = composite_plan(one, args.preset)
    ours: dict = {}
    ffmpeg_wall = ffmpeg_cpu = float("inf")
    for round_no in range(1, args.repeat + 1):
        run = run_child(one, work / "storyreel-1min.mp4", args.preset)
        print(f"[{round_no}] storyreel export, 1 min:  {run['wall']:6.1f} s wall  "
              f"{run['cpu']:6.1f} s CPU   peak RSS {run['maxrss_mb']:.0f} MB   "
              f"load {os.getloadavg()[0]:.1f}")
        if not ours or run["wall"] < ours["wall"]:
            ours = run
        start, cpu0 = time.perf_counter(), cpu_seconds()
        subprocess.run(ffmpeg_command(plan, work / "ffmpeg.mp4"), check=True)
        wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu0
        print(f"[{round_no}] ffmpeg filtergraph:       {wall:6.1f} s wall  {cpu:6.1f} s CPU   "
              f"load {os.getloadavg()[0]:.1f}")
        if wall < ffmpeg_wall:
            ffmpeg_wall, ffmpeg_cpu = wall, cpu
    print(f"outputs: storyreel {probe(work / 'storyreel-1min.mp4')}; "
          f"ffmpeg {probe(work / 'ffmpeg.mp4')}")
    moviepy_wall = moviepy_cpu = None
    if not args.skip_moviepy:
        start, cpu0 = time.perf_counter(), cpu_seconds()
        moviepy_export(plan, work / "moviepy.mp4")
        moviepy_wall, moviepy_cpu = time.perf_counter() - start, cpu_seconds() - cpu0
        print(f"moviepy (defaults):       {moviepy_wall:6.1f} s wall  {moviepy_cpu:6.1f} s CPU   "
              f"({probe(work / 'moviepy.mp4')})")
    smart_runs = {1: smart(one, work, args.preset, 1, full=ours)}
    if args.three_minutes:
        three = build_project(work / "three.storyreel", 3, sources)
        smart_runs[3] = smart(three, work, args.preset, 3)
    long = None
    if not args.skip_memory:
        assert five is not None
        long = run_child(five, work / f"storyreel-{args.long_minutes}min.mp4", args.preset)
        print(f"storyreel export, {args.long_minutes} min:  {long['wall']:6.1f} s wall  "
              f"{long['cpu']:6.1f} s CPU   peak RSS {long['maxrss_mb']:.0f} MB")
    print(f"load average now: {os.getloadavg()[0]:.1f} (other processes share these CPUs)")
    print()

    def verdict(name: str, ratio: float, target: float, cpu_ratio: float | None = None) -> None:
        extra = f"   CPU-time ratio {cpu_ratio:.2f}" if cpu_ratio is not None else ""
        print(f"{name:<42} {ratio:5.2f}  (target ≤ {target})  "
              f"{'PASS' if ratio <= target else 'MISS'}{extra}")

    if moviepy_wall and moviepy_cpu:
        verdict("export time / moviepy at its defaults", ours["wall"] / moviepy_wall, 0.5,
                ours["cpu"] / moviepy_cpu)
    verdict("full export time / one ffmpeg filtergraph", ours["wall"] / ffmpeg_wall, 1.0,
            ours["cpu"] / ffmpeg_cpu)
    for minutes, (full, trim) in sorted(smart_runs.items()):
        verdict(f"re-export after one trim / full, {minutes} min", trim["wall"] / full["wall"],
                0.10)
    if long is not None:
        verdict(f"peak memory {args.long_minutes}-min film / 1-min film",
                long["maxrss_mb"] / ours["maxrss_mb"], 1.2)
    print(f"storyreel stage timings (1 min): {json.dumps(ours['timings'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
