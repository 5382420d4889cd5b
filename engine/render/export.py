"""Export: the timeline streamed into a finished film file.

Pictures: each source decoded once, by timestamp, scaled by libswscale into YUV 4:2:0,
blended only where transitions and overlays need it, encoded with libx264. Sound: mixed
to a WAV on disk first, then fed into AAC in small frames between video frames. Memory
holds a few frames and the cues on screen, whatever the film's length.

Everything is written to ``OUT.part-XXXXXXXX`` next to the target and renamed only when
complete: a cancelled or failed export leaves nothing behind.
"""

from __future__ import annotations

import os
import queue
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from engine.errors import StoryreelError
from engine.jobs.progress import CancelToken, Progress, no_progress, scaled
from engine.model.timeline import SourceKind, Timeline, VideoClip
from engine.render.aigc import AigcOptions
from engine.render.aigc import metadata as aigc_fields
from engine.render.audio import encode_aac, mix_timeline
from engine.render.frames import (
    Fitter,
    StillSource,
    VideoSource,
    Yuv,
    crossfade,
    fade_to_black,
    picture_area,
)
from engine.render.overlays import SubtitleOverlays, aigc_label, slate
from engine.render.presets import Preset, get_preset

LABEL_MODES = ("visible", "metadata", "both", "none")
CONTAINERS = {".mp4": "mp4", ".mov": "mov", ".m4v": "mp4", ".mkv": "matroska"}


@dataclass
class ExportReport:
    path: Path
    preset: str
    width: int
    height: int
    fps: Fraction
    frames: int
    duration: float
    srt: Path | None = None
    otio: Path | None = None
    aigc_label: str = "both"
    c2pa: str | None = None  # the certificate chain that signed the C2PA manifest
    timings: dict[str, float] = field(default_factory=dict)
    loudness: dict[str, float | None] = field(default_factory=dict)  # of the sound track

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "preset": self.preset,
            "width": self.width,
            "height": self.height,
            "fps": str(self.fps),
            "frames": self.frames,
            "duration": round(self.duration, 3),
            "srt": str(self.srt) if self.srt else None,
            "otio": str(self.otio) if self.otio else None,
            "aigc_label": self.aigc_label,
            "c2pa": self.c2pa,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "loudness": self.loudness,
        }


def export_film(
    store: Any,
    out_path: Path | str,
    preset: str | Preset = "douyin",
    srt: bool = False,
    otio: bool = False,
    burn_subtitles: bool = True,
    aigc_label: str = "both",
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    episode: int | None = None,
    c2pa: bool = False,
    c2pa_cert: str | Path | None = None,
    c2pa_key: str | Path | None = None,
) -> ExportReport:
    """Render the project's film (or one ``episode``'s) to ``out_path`` (and OUT.srt /
    OUT.otio sidecars); the AI-content labels follow the project's ``settings["aigc"]``
    (``engine.render.aigc``). ``c2pa`` signs a C2PA manifest into the film
    (``engine.interchange.c2pa_sign``) with the user's PEM certificate and key, or the
    local identity; they are checked first."""
    from engine.render.timeline_builder import build_timeline

    identity = None
    if c2pa or c2pa_cert or c2pa_key:
        from engine.interchange.c2pa_sign import identity_for

        if not c2pa:
            raise StoryreelError("--c2pa-cert and --c2pa-key sign with --c2pa; add it.")
        identity = identity_for(c2pa_cert, c2pa_key)

    started = time.monotonic()
    timeline = build_timeline(store, episode)
    built = time.monotonic() - started
    work_dir = store.cache_dir / "export"
    report = export_timeline(
        timeline,
        Path(out_path),
        preset=preset,
        srt=srt,
        otio=otio,
        burn_subtitles=burn_subtitles,
        aigc_label=aigc_label,
        progress=progress,
        cancel=cancel,
        work_dir=work_dir,
        media_root=store.root,
        aigc=AigcOptions.from_settings(store.project.settings),
    )
    report.timings["timeline"] = built
    if identity is not None:
        from engine.interchange.c2pa_sign import sign_export

        t0 = time.monotonic()
        sign_export(store, report.path, identity)
        report.c2pa = str(identity.cert_chain)
        report.timings["c2pa"] = time.monotonic() - t0
    report.timings["total"] = time.monotonic() - started
    return report


def _check_output(out_path: Path, aigc: str) -> str:
    if aigc not in LABEL_MODES:
        raise StoryreelError(f"--aigc-label {aigc!r} is not one of {', '.join(LABEL_MODES)}.")
    fmt = CONTAINERS.get(out_path.suffix.lower())
    if fmt is None:
        raise StoryreelError(f"{out_path.name}: the output must end in {', '.join(CONTAINERS)}.")
    if not out_path.parent.is_dir():
        raise StoryreelError(f"The folder {out_path.parent} does not exist.")
    if out_path.is_dir():
        raise StoryreelError(f"{out_path} is a folder; give a file name like film.mp4.")
    return fmt


def _part_path(out_path: Path) -> Path:
    return out_path.with_name(f"{out_path.name}.part-{secrets.token_hex(4)}")


def aigc_metadata(timeline: Timeline, export_id: str,
                  options: AigcOptions | None = None) -> dict[str, str]:
    """Implicit AI-content label for the container (GB 45438-2025 "AIGC" field:
    ``engine.render.aigc``)."""
    return aigc_fields(timeline.project_id, export_id, options or AigcOptions())


def export_timeline(
    timeline: Timeline,
    out_path: Path,
    preset: str | Preset = "douyin",
    srt: bool = False,
    otio: bool = False,
    burn_subtitles: bool = True,
    aigc_label: str = "both",
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    work_dir: Path | None = None,
    media_root: Path | None = None,
    aigc: AigcOptions | None = None,
) -> ExportReport:
    """Render a Timeline (see ``export_film``). Temporary files go to ``work_dir``."""
    aigc = aigc or AigcOptions()
    cancel = cancel or CancelToken()
    out_path = Path(out_path)
    fmt = _check_output(out_path, aigc_label)
    if media_root is not None:
        from engine.store.project import check_output_path

        check_output_path(media_root, out_path)
    if timeline.duration_frames <= 0 or not timeline.video:
        raise StoryreelError("The project has no shots to export; add scenes and shots first.")
    resolved = get_preset(preset).resolve(timeline.width, timeline.height, timeline.fps)
    assert resolved.width and resolved.height and resolved.fps
    out_fps = resolved.fps
    n_out = int((Fraction(timeline.duration_frames) / timeline.fps) * out_fps)
    n_out = max(1, n_out)
    timings: dict[str, float] = {}
    work_dir = work_dir or out_path.parent
    made_work_dir = not work_dir.exists()
    work_dir.mkdir(parents=True, exist_ok=True)
    export_id = secrets.token_hex(6)
    part = _part_path(out_path)
    mix_wav = work_dir / f"mix-{export_id}.wav"
    video_tmp = work_dir / f"video-{export_id}.mp4"
    audio_tmp = work_dir / f"audio-{export_id}.m4a"
    sidecars: list[tuple[Path, Path]] = []
    mix_cancel = CancelToken(poll=lambda: cancel.cancelled)
    mixer: _Background | None = None
    try:
        # the sound mixes in a thread while the pictures encode; both land in the final
        # file in one interleaving pass (video packets copied, audio encoded)
        t0 = time.monotonic()

        def sound() -> Any:
            mix = mix_timeline(timeline, mix_wav, resolved.audio_rate, no_progress, mix_cancel)
            encode_aac(mix_wav, audio_tmp, resolved.audio_rate, resolved.audio_bitrate,
                       resolved.audio_codec, mix_cancel)
            return mix

        mixer = _Background(sound)
        frames = _Background.queue(
            _compose_frames(timeline, resolved.width, resolved.height, out_fps, n_out,
                            burn_subtitles, aigc if aigc_label in ("visible", "both") else None,
                            cancel),
            depth=6,
        )
        try:
            _encode_video(resolved, out_fps, n_out, frames, video_tmp,
                          scaled(progress, 0.0, 0.95), cancel)
        finally:
            frames.close()  # stops the producer thread and closes its decoders
        timings["video"] = time.monotonic() - t0
        mix_report = mixer.result()
        timings["mix"] = mixer.elapsed
        cancel.check()
        t0 = time.monotonic()
        options = {"movflags": "+faststart"} if fmt in ("mp4", "mov") else {}
        metadata = {"title": timeline.title} if timeline.title else {}
        if aigc_label in ("metadata", "both"):
            metadata.update(aigc_metadata(timeline, export_id, aigc))
            if fmt in ("mp4", "mov"):
                options["movflags"] += "+use_metadata_tags"
        _mux(video_tmp, audio_tmp, part, fmt, options, metadata,
             scaled(progress, 0.95, 0.999), cancel)
        timings["mux"] = time.monotonic() - t0
        cancel.check()
        t0 = time.monotonic()
        srt_path = out_path.with_suffix(".srt") if srt else None
        otio_path = out_path.with_suffix(".otio") if otio else None
        if srt_path is not None:
            tmp = _part_path(srt_path)
            sidecars.append((tmp, srt_path))
            write_srt(timeline, tmp)
        if otio_path is not None:
            from engine.interchange.otio import write_otio

            tmp = _part_path(otio_path)
            sidecars.append((tmp, otio_path))
            write_otio(timeline, tmp, media_root)
        os.replace(part, out_path)
        for tmp, final in sidecars:
            os.replace(tmp, final)
        timings["finalize"] = time.monotonic() - t0
    except BaseException:
        if mixer is not None:
            mix_cancel.cancel()
            mixer.wait()
        part.unlink(missing_ok=True)
        for tmp, _final in sidecars:
            tmp.unlink(missing_ok=True)
        raise
    finally:
        mix_wav.unlink(missing_ok=True)
        video_tmp.unlink(missing_ok=True)
        audio_tmp.unlink(missing_ok=True)
        if made_work_dir:
            _remove_if_empty(work_dir)
    progress(1.0, f"exported {out_path.name}")
    return ExportReport(
        path=out_path,
        preset=resolved.name,
        width=resolved.width,
        height=resolved.height,
        fps=out_fps,
        frames=n_out,
        duration=float(n_out / out_fps),
        srt=srt_path,
        otio=otio_path,
        aigc_label=aigc_label,
        timings=timings,
        loudness={"integrated_lufs": _finite(mix_report.integrated_lufs),
                  "true_peak_db": _finite(mix_report.true_peak_db)},
    )


def _finite(value: float) -> float | None:
    return round(float(value), 2) if value == value and abs(value) != float("inf") else None


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _srt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def write_srt(timeline: Timeline, path: Path) -> Path:
    """The subtitle track as SubRip (UTF-8), times from the timeline's frames."""
    blocks = []
    for i, cue in enumerate(sorted(timeline.subtitles, key=lambda c: c.record_in), start=1):
        blocks.append(
            f"{i}\n{_srt_time(timeline.seconds(cue.record_in))} --> "
            f"{_srt_time(timeline.seconds(cue.record_out))}\n{cue.text.strip()}\n"
        )
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- video
class _Clips:
    """Opens each clip's source when the clip starts and closes it after it ends."""

    def __init__(self, timeline: Timeline, fitter: Fitter) -> None:
        self.timeline, self.fitter = timeline, fitter
        self.clips = sorted(timeline.video, key=lambda c: c.record_in)
        self.open: dict[int, Any] = {}
        self.next = 0
        self.head: dict[int, int] = {}
        self.tail: dict[int, int] = {}
        from engine.model import TransitionKind

        for i, clip in enumerate(self.clips):
            if i and clip.transition is TransitionKind.DIP_TO_BLACK and clip.transition_frames:
                self.tail[i - 1] = clip.transition_frames // 2
                self.head[i] = clip.transition_frames - clip.transition_frames // 2

    def _open(self, clip: VideoClip) -> Any:
        if clip.kind == SourceKind.VIDEO and clip.path:
            return VideoSource(clip.path, self.fitter, start=clip.source_in)
        if clip.kind == SourceKind.IMAGE and clip.path:
            return StillSource.from_image(clip.path, self.fitter)
        return slate(self.fitter, clip.label, clip.slate_text)

    def active(self, frame: int) -> list[int]:
        while self.next < len(self.clips) and self.clips[self.next].record_in <= frame:
            self.open[self.next] = self._open(self.clips[self.next])
            self.next += 1
        for i in [i for i in self.open if self.clips[i].record_out <= frame]:
            self.open.pop(i).close()
        return sorted(i for i in self.open if self.clips[i].record_in <= frame)

    def picture(self, i: int, frame: int, t: float) -> Yuv:
        clip = self.clips[i]
        local = max(0.0, t - self.timeline.seconds(clip.record_in))
        source_t = min(
            clip.source_in + local * clip.speed, max(clip.source_in, clip.source_out - 1e-3)
        )
        yuv = self.open[i].at(source_t)
        level = 1.0
        if i in self.head and frame - clip.record_in < self.head[i]:
            level = (frame - clip.record_in + 1) / (self.head[i] + 1)
        if i in self.tail and clip.record_out - frame <= self.tail[i]:
            level = min(level, (clip.record_out - frame - 1) / self.tail[i])
        return yuv if level >= 1.0 else fade_to_black(yuv, level)

    def close(self) -> None:
        for source in self.open.values():
            source.close()
        self.open.clear()


class _Background:
    """Runs a function in a daemon thread; ``result()`` joins and re-raises its error."""

    def __init__(self, fn: Any) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self.elapsed = 0.0

        def run() -> None:
            t0 = time.monotonic()
            try:
                self._value = fn()
            except BaseException as exc:  # handed to the caller
                self._error = exc
            self.elapsed = time.monotonic() - t0

        self._thread = threading.Thread(target=run, name="storyreel-export", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        self._thread.join()

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value

    @staticmethod
    def queue(items: Iterator[Any], depth: int) -> Iterator[Any]:
        """Produce ``items`` in a thread, at most ``depth`` ahead of the consumer."""
        q: queue.Queue[Any] = queue.Queue(maxsize=depth)
        done = object()
        stop = threading.Event()

        def produce() -> None:
            try:
                for item in items:
                    while not stop.is_set():
                        try:
                            q.put(item, timeout=0.2)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
                q.put(done)
            except BaseException as exc:
                q.put(_Failure(exc))
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()  # runs the producer's own cleanup (closes its decoders)

        thread = threading.Thread(target=produce, name="storyreel-frames", daemon=True)
        thread.start()
        try:
            while True:
                item = q.get()
                if item is done:
                    return
                if isinstance(item, _Failure):
                    raise item.error
                yield item
        finally:
            stop.set()
            while thread.is_alive():
                try:
                    q.get(timeout=0.05)
                except queue.Empty:
                    pass
            thread.join()


@dataclass
class _Failure:
    error: BaseException


def _compose_frames(
    timeline: Timeline, width: int, height: int, out_fps: Fraction, n_out: int,
    burn_subtitles: bool, visible_label: AigcOptions | None, cancel: CancelToken,
) -> Iterator[Any]:
    """The film's pictures as yuv420p av.VideoFrames, one per output frame."""

    fitter = Fitter(width, height, timeline.fit,
                    picture=picture_area(timeline.width, timeline.height, width, height))
    clips = _Clips(timeline, fitter)
    subs = SubtitleOverlays(width, height)
    cues = sorted(timeline.subtitles, key=lambda c: c.record_in) if burn_subtitles else []
    label = aigc_label(timeline.language, width, height, visible_label.position) \
        if visible_label is not None else None
    film_seconds = timeline.duration
    black = Yuv.black(width, height)
    try:
        for k in range(n_out):
            cancel.check()
            t = float(k / out_fps)
            frame_no = min(timeline.duration_frames - 1, int(k * timeline.fps // out_fps))
            active = clips.active(frame_no)
            if not active:
                picture = black
            elif len(active) == 1:
                picture = clips.picture(active[0], frame_no, t)
            else:
                a, b = active[-2], active[-1]
                incoming = clips.clips[b]
                n = max(1, incoming.transition_frames)
                weight = (frame_no - incoming.record_in + 1) / (n + 1)
                picture = crossfade(
                    clips.picture(a, frame_no, t), clips.picture(b, frame_no, t), weight)
            frame, view = picture.into_frame()
            if cues:
                while cues and cues[0].record_out <= frame_no:
                    cues.pop(0)
                on_screen = []
                for cue in cues:
                    if cue.record_in > frame_no:
                        break
                    if frame_no < cue.record_out:
                        on_screen.append(cue)
                subs.keep_only({(c.text, c.speaker) for c in on_screen})
                for cue in on_screen:
                    overlay = subs.get(cue.text, cue.speaker)
                    if overlay is not None:
                        overlay.apply(view)
            if label is not None and visible_label is not None and \
                    visible_label.shown_at(t, film_seconds):
                label.apply(view)
            frame.pts = k
            frame.time_base = Fraction(1) / out_fps
            yield frame
    finally:
        clips.close()


def _encode_video(
    preset: Preset, out_fps: Fraction, n_out: int, frames: Iterator[Any], path: Path,
    progress: Progress, cancel: CancelToken,
) -> None:
    """Encode the frames with libx264 into a video-only intermediate file."""
    import av

    report_every = max(1, n_out // 200)
    with av.open(str(path), "w", format="mp4") as container:
        vstream = container.add_stream(preset.video_codec, rate=out_fps)
        vstream.width, vstream.height = preset.width, preset.height
        vstream.pix_fmt = preset.pix_fmt
        ctx = vstream.codec_context
        ctx.gop_size = max(1, int(round(preset.gop_seconds * float(out_fps))))
        ctx.thread_count = 0  # x264 picks its thread count
        ctx.thread_type = "FRAME"  # frame threads, as the ffmpeg command line uses
        vstream.options = {"preset": preset.x264_preset, "crf": str(preset.crf),
                           "profile": preset.profile}
        for k, frame in enumerate(frames):
            cancel.check()
            for packet in vstream.encode(frame):
                container.mux(packet)
            if k % report_every == 0:
                progress(k / n_out, f"frame {k + 1}/{n_out}")
        for packet in vstream.encode(None):
            container.mux(packet)


def _mux(
    video: Path, audio: Path, part: Path, fmt: str, options: dict[str, str],
    metadata: dict[str, str], progress: Progress, cancel: CancelToken,
) -> None:
    """Copy the encoded pictures and sound into the final container, interleaved by time
    (no re-encoding: this pass only moves packets)."""
    import av

    with av.open(str(video)) as vsrc, av.open(str(audio)) as asrc, \
            av.open(str(part), "w", format=fmt, options=options) as container:
        container.metadata.update(metadata)
        vin, ain = vsrc.streams.video[0], asrc.streams.audio[0]
        vout = container.add_stream_from_template(vin)
        aout = container.add_stream_from_template(ain)
        sound = (p for p in asrc.demux(ain) if p.dts is not None)
        pending = next(sound, None)
        for i, packet in enumerate(vsrc.demux(vin)):
            if packet.dts is None:
                continue
            t = float(packet.dts * vin.time_base)
            while pending is not None and float(pending.dts * ain.time_base) <= t + 0.5:
                pending.stream = aout
                container.mux(pending)
                pending = next(sound, None)
            packet.stream = vout
            container.mux(packet)
            if i % 200 == 0:
                cancel.check()
        while pending is not None:
            pending.stream = aout
            container.mux(pending)
            pending = next(sound, None)
    progress(1.0, "written")
