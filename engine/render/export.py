"""Export: the timeline rendered into a finished film file, shot by shot.

Pictures: the film is cut into per-shot segments (``engine.render.segments``), each
composed (``engine.render.compose``: sources decoded once by timestamp, scaled by
libswscale into YUV 4:2:0 in the delivery's matrix — BT.709 for HD, BT.601 for SD —
blended where transitions and overlays need it) and encoded as its own closed-GOP H.264
stream, in a process pool. Encoded segments are cached in the project's ``cache/`` under
a key of everything that affects their frames; a re-export encodes only the segments
whose key changed and joins the rest by stream copy. Sound: mixed for the whole film to
a WAV on disk, encoded to AAC (``aac_coder`` fast) in 3.2 s chunks in threads
(``engine.render.sound_chunks``; chunks whose samples did not change are taken from
``cache/sound``), decoded back to measure loudness and true peak (re-limited and
re-encoded when the encoder pushed it over −1 dBTP).

Everything is written to ``OUT.part-XXXXXXXX`` next to the target and renamed only when
complete: a cancelled or failed export leaves nothing behind (cached segments stay).
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from engine.audio.decode import SourceCache
from engine.errors import StoryreelError
from engine.jobs.progress import CancelToken, Progress, no_progress, scaled
from engine.model.timeline import Timeline
from engine.render.aigc import AigcOptions
from engine.render.aigc import metadata as aigc_fields
from engine.render.audio import export_sound
from engine.render.background import Background
from engine.render.compose import Geometry
from engine.render.frames import matrix_for
from engine.render.presets import Preset, get_preset
from engine.render.segments import (
    DEFAULT_CACHE_BYTES,
    Encoder,
    SegmentCache,
    SegmentJob,
    check_encoder,
    encode_all,
    plan_segments,
    segment_packets,
    x264_threads,
)
from engine.render.sound_chunks import ChunkCache

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
    # of the encoded sound, decoded back: integrated LUFS, true peak dBTP, re-limits
    loudness: dict[str, Any] = field(default_factory=dict)
    segments: dict[str, int] = field(default_factory=dict)  # total / rendered / reused
    video: dict[str, Any] = field(default_factory=dict)  # codec, level, bitrate, colour
    audio: dict[str, Any] = field(default_factory=dict)  # codec, coder, rate, bitrate
    warnings: list[str] = field(default_factory=list)

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
            "segments": self.segments,
            "video": self.video,
            "audio": self.audio,
            "warnings": self.warnings,
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
    use_cache: bool = True,
    jobs: int | None = None,
    encoder: str = "x264",
) -> ExportReport:
    """Render the project's film (or one ``episode``'s) to ``out_path`` (and OUT.srt /
    OUT.otio sidecars); the AI-content labels follow the project's ``settings["aigc"]``
    (``engine.render.aigc``). ``c2pa`` signs a C2PA manifest into the film
    (``engine.interchange.c2pa_sign``) with the user's PEM certificate and key, or the
    local identity; they are checked first.

    Segments whose frames did not change since an earlier export are reused from
    ``cache/segments`` (``use_cache=False``: everything is rendered again, and cached)."""
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
        work_dir=store.cache_dir / "export",
        media_root=store.root,
        aigc=AigcOptions.from_settings(store.project.settings),
        cache_dir=store.cache_dir / "segments",
        sound_cache_dir=store.cache_dir / "sound",
        use_cache=use_cache,
        jobs=jobs,
        encoder=encoder,
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
    cache_dir: Path | None = None,
    use_cache: bool = True,
    jobs: int | None = None,
    encoder: str = "x264",
    cache_limit: int = DEFAULT_CACHE_BYTES,
    sound_cache_dir: Path | None = None,
) -> ExportReport:
    """Render a Timeline (see ``export_film``). Temporary files go to ``work_dir``;
    encoded segments are kept in ``cache_dir`` (None: none kept) and reused when
    ``use_cache``; ``jobs`` processes encode them (None: one per core)."""
    aigc = aigc or AigcOptions()
    cancel = cancel or CancelToken()
    out_path = Path(out_path)
    fmt = _check_output(out_path, aigc_label)
    if media_root is not None:
        from engine.store.project import check_output_path

        check_output_path(media_root, out_path)
    if timeline.duration_frames <= 0 or not timeline.video:
        raise StoryreelError("The project has no shots to export; add scenes and shots first.")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise StoryreelError(f"--jobs must be a whole number of processes ≥ 1, not {jobs!r}.")
    codec = check_encoder(encoder)
    resolved = get_preset(preset).resolve(timeline.width, timeline.height, timeline.fps)
    assert resolved.width and resolved.height and resolved.fps
    out_fps = resolved.fps
    n_out = max(1, int((Fraction(timeline.duration_frames) / timeline.fps) * out_fps))
    matrix = matrix_for(resolved.width, resolved.height)
    geometry = Geometry(resolved.width, resolved.height, out_fps, matrix, burn_subtitles,
                        aigc_label in ("visible", "both"), label_position=aigc.position,
                        label_span=aigc.span, label_at_end=aigc.at_end,
                        film_seconds=float(timeline.duration))
    enc = Encoder(codec, resolved.width, resolved.height, out_fps, resolved.crf,
                  resolved.x264_preset, resolved.profile, resolved.level,
                  max(1, int(round(resolved.gop_seconds * float(out_fps)))), resolved.bframes,
                  resolved.pix_fmt, matrix, x264_threads())
    timings: dict[str, float] = {}
    t_start = time.monotonic()
    work_dir = work_dir or out_path.parent
    made_out_dir = _make_folder(out_path.parent)
    made_work_dir = _make_folder(work_dir)
    export_id = secrets.token_hex(6)
    part = _part_path(out_path)
    mix_wav = work_dir / f"mix-{export_id}.wav"
    audio_tmp = work_dir / f"audio-{export_id}.m4a"
    scratch = work_dir / f"segments-{export_id}"
    cache = SegmentCache(cache_dir, cache_limit) if cache_dir is not None else None
    chunk_cache = ChunkCache(sound_cache_dir) if sound_cache_dir is not None else None
    # sources decoded whole once, read as slices (--no-cache decodes them again)
    source_cache = SourceCache(sound_cache_dir / "sources", refresh=not use_cache) \
        if sound_cache_dir is not None else None
    sidecars: list[tuple[Path, Path]] = []
    mix_cancel = CancelToken(poll=lambda: cancel.cancelled)
    mixer: Background | None = None
    try:
        segments = plan_segments(timeline, geometry, enc, n_out)
        timings["plan"] = time.monotonic() - t_start
        # the sound mixes (and is checked after AAC) in a thread while the pictures encode
        mixer = Background(lambda: export_sound(
            timeline, mix_wav, audio_tmp, resolved.audio_rate, resolved.audio_bitrate,
            resolved.audio_codec, mix_cancel, coder=resolved.aac_coder,
            chunk_cache=chunk_cache, use_cache=use_cache, source_cache=source_cache))
        t0 = time.monotonic()
        paths: list[Path] = []
        todo: list[SegmentJob] = []
        for seg in segments:
            hit = cache.get(seg.key) if cache is not None and use_cache else None
            if hit is not None:
                paths.append(hit)
                continue
            target = cache.path(seg.key) if cache is not None else scratch / f"{seg.index}.mp4"
            paths.append(target)
            todo.append(SegmentJob(seg, geometry, enc, target))
        to_render = sum(job.segment.frames for job in todo) or 1
        video_progress = scaled(progress, 0.0, 0.95)
        every = max(1, to_render // 200)
        last = {"n": -every}

        def frames_done(n: int) -> None:
            if n - last["n"] >= every or n == to_render:
                last["n"] = n
                video_progress(n / to_render, f"frame {n}/{to_render}")

        encode_all(todo, jobs or os.cpu_count() or 1, cancel, frames_done)
        timings["video"] = time.monotonic() - t0
        sound = mixer.result()
        timings["mix"] = mixer.elapsed
        cancel.check()
        t0 = time.monotonic()
        # negative composition offsets: the first picture is at time 0 in the samples
        # themselves (B-frames or not), so the video track needs no edit list
        options = {"movflags": "+faststart+write_colr+negative_cts_offsets"} \
            if fmt in ("mp4", "mov") else {}
        metadata = {"title": timeline.title} if timeline.title else {}
        if aigc_label in ("metadata", "both"):
            metadata.update(aigc_metadata(timeline, export_id, aigc))
            if fmt in ("mp4", "mov"):
                options["movflags"] += "+use_metadata_tags"
        video_bytes = _mux(paths, [s.k0 for s in segments], out_fps, audio_tmp, part, fmt,
                           options, metadata, scaled(progress, 0.95, 0.999), cancel)
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
        if cache is not None:
            cache.prune({s.key for s in segments})
        if source_cache is not None:
            source_cache.prune()
        timings["finalize"] = time.monotonic() - t0
    except BaseException:
        if mixer is not None:
            mix_cancel.cancel()
            mixer.wait()
        part.unlink(missing_ok=True)
        for tmp, _final in sidecars:
            tmp.unlink(missing_ok=True)
        if made_out_dir:
            _remove_if_empty(out_path.parent)
        raise
    finally:
        mix_wav.unlink(missing_ok=True)
        audio_tmp.unlink(missing_ok=True)
        if scratch.exists():
            for stray in scratch.iterdir():
                stray.unlink(missing_ok=True)
            _remove_if_empty(scratch)
        if made_work_dir:
            _remove_if_empty(work_dir)
    progress(1.0, f"exported {out_path.name}")
    duration = float(n_out / out_fps)
    bitrate = int(video_bytes * 8 / duration) if duration > 0 else 0
    warnings = list(sound.warnings)
    if resolved.min_bitrate and bitrate < resolved.min_bitrate:
        warnings.append(
            f"The picture needed {bitrate / 1e6:.1f} Mbit/s at CRF {resolved.crf}, under the "
            f"{resolved.min_bitrate / 1e6:.0f} Mbit/s {resolved.name} recommends for uploads "
            "(simple pictures compress well; detailed ones will reach it).")
    return ExportReport(
        path=out_path,
        preset=resolved.name,
        width=resolved.width,
        height=resolved.height,
        fps=out_fps,
        frames=n_out,
        duration=duration,
        srt=srt_path,
        otio=otio_path,
        aigc_label=aigc_label,
        timings=timings,
        loudness=sound.figures(),
        segments={"total": len(segments), "rendered": len(todo),
                  "reused": len(segments) - len(todo)},
        video={"codec": codec, "profile": resolved.profile, "level": resolved.level,
               "bitrate": bitrate, "min_bitrate": resolved.min_bitrate,
               "gop_frames": enc.gop, "bframes": enc.bframes,
               "color": "bt709" if matrix == "ITU709" else "smpte170m", "range": "tv"},
        audio={"codec": resolved.audio_codec, "rate": resolved.audio_rate,
               "bitrate": resolved.audio_bitrate,
               "coder": resolved.aac_coder if resolved.audio_codec == "aac" else None,
               "chunks": sound.chunks},
        warnings=warnings,
    )


def _make_folder(folder: Path) -> bool:
    """Create ``folder`` (and its parents) if missing; True when it was made here."""
    if folder.is_dir():
        return False
    if folder.exists():
        raise StoryreelError(f"{folder} is a file, not a folder.")
    try:
        folder.mkdir(parents=True)
    except OSError as exc:
        raise StoryreelError(f"The folder {folder} cannot be created ({exc.strerror}).") from None
    return True


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


def _mux(
    segments: list[Path], starts: list[int], fps: Fraction, audio: Path, part: Path, fmt: str,
    options: dict[str, str], metadata: dict[str, str], progress: Progress, cancel: CancelToken,
) -> int:
    """Join the encoded segments (stream copy, retimed) and the sound into the final
    container, interleaved by time: this pass only moves packets. Returns video bytes."""
    import av

    video_bytes = 0
    packets = segment_packets(segments, starts, fps)
    first = next(packets, None)
    if first is None:
        raise StoryreelError("No pictures were encoded.")
    with av.open(str(audio)) as asrc, \
            av.open(str(part), "w", format=fmt, options=options) as container:
        container.metadata.update(metadata)
        ain = asrc.streams.audio[0]
        vout = container.add_stream_from_template(first[1])
        aout = container.add_stream_from_template(ain)
        sound = (p for p in asrc.demux(ain) if p.dts is not None)
        pending = next(sound, None)
        item: Any = first
        i = 0
        while item is not None:
            packet, vin = item
            t = float(packet.dts * vin.time_base)
            while pending is not None and float(pending.dts * ain.time_base) <= t + 0.5:
                pending.stream = aout
                container.mux(pending)
                pending = next(sound, None)
            video_bytes += packet.size
            packet.stream = vout
            container.mux(packet)
            i += 1
            if i % 200 == 0:
                cancel.check()
            item = next(packets, None)
        while pending is not None:
            pending.stream = aout
            container.mux(pending)
            pending = next(sound, None)
    progress(1.0, "written")
    return video_bytes
