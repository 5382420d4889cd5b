"""Smart render: the film's pictures as segments, each cached under a key of everything
that affects its frames, re-encoded only when that changed.

A segment runs from the output frame where a shot starts to the one where the next shot
starts, cut further every few seconds on the keyframe grid (``segment_starts``): a trim of
a shot's tail encodes only its last stretch again. A crossfade belongs to the incoming
shot's segment, which therefore holds the outgoing shot's tail too. Each is its own
closed-GOP H.264 stream with the film's encoder settings, starting on an IDR frame, so
segments join by stream copy into one valid stream. The key (``Segment.key``) hashes what
each of its frames shows (``_frame_recipe``: take media hash and the source time shown,
slate words, dip-to-black fade and crossfade weight, subtitle cues on screen, the visible
label), the delivery size, rate, matrix and encoder settings, the font and the drawing
code's own bytes (``RENDERER_VERSION`` for deliberate changes) — never where the segment
sits in the film. A full render (``--no-cache``) renders the same segments the same way,
so a smart re-export is bit-for-bit the same file.

Segments encode in a process pool (``jobs`` processes, the machine's cores by default);
the cache is bounded (``SegmentCache.prune``: oldest out) and lives in the project's
``cache/``, which ``storyreel pack`` never includes."""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from engine.errors import Cancelled, StoryreelError
from engine.jobs.progress import CancelToken
from engine.model.timeline import SourceKind, Timeline, VideoClip
from engine.render.aigc import AigcOptions
from engine.render.allocator import WARM_FRAMES, new_memory_filled
from engine.render.compose import (
    Geometry,
    compose_frames,
    crossfade_weight,
    fade_level,
    fades,
    first_output_frame,
    frame_at,
    source_time,
)
from engine.store.cache_files import prune_oldest

RENDERER_VERSION = "5"
CHUNK_SECONDS = 4  # a segment within a shot: at least this long, in whole GOPs
DEFAULT_CACHE_BYTES = 4 * 1024**3
# at most this much to encode (pixels × frames: 150 frames of 1080×1920) goes to threads
# of this process, not to worker processes
THREADED_WORK = 150 * 1080 * 1920
ENCODERS = {"x264": "libx264", "nvenc": "h264_nvenc"}
# the colour tags written on the stream (VUI) and in the container (colr): ITU-T H.273 codes
COLOR_TAGS = {"ITU709": (1, 1, 1), "ITU601": (6, 6, 6)}  # primaries, transfer, matrix
_CODE = ("compose.py", "frames.py", "overlays.py")


@dataclass(frozen=True)
class Encoder:
    """How every segment is encoded (all of it is in the segment key)."""

    codec: str  # libx264 / h264_nvenc
    width: int
    height: int
    fps: Fraction
    crf: int
    x264_preset: str
    profile: str
    level: str | None
    gop: int  # frames between keyframes
    bframes: int | None
    pix_fmt: str
    matrix: str
    threads: int  # x264 threads per segment: output depends on it, so it is fixed

    def to_key(self) -> list[Any]:
        return [self.codec, self.width, self.height, str(self.fps), self.crf, self.x264_preset,
                self.profile, self.level, self.gop, self.bframes, self.pix_fmt, self.matrix,
                self.threads]


def x264_threads() -> int:
    """Threads each segment's encoder uses: one. x264's output depends on its thread count
    and a segment must encode to the same bits every time, on every machine (the segments
    themselves are encoded in parallel, one process each)."""
    return 1


def check_encoder(name: str) -> str:
    """The FFmpeg encoder for ``--encoder NAME``, or one sentence why it cannot be used."""
    if name not in ENCODERS:
        raise StoryreelError(f"Unknown encoder {name!r}; expected one of {', '.join(ENCODERS)}.")
    codec = ENCODERS[name]
    if codec == "libx264":
        return codec
    import av

    try:
        ctx = av.CodecContext.create(codec, "w")
        ctx.width, ctx.height, ctx.pix_fmt = 256, 256, "yuv420p"
        ctx.time_base = Fraction(1, 30)
        ctx.open()
    except Exception as exc:  # no NVIDIA GPU, no driver, or an FFmpeg build without it
        raise StoryreelError(
            f"The NVENC encoder (h264_nvenc) is not available on this machine ({exc}); "
            "export with --encoder x264."
        ) from None
    return codec


# ----------------------------------------------------------------------------- planning
@dataclass
class Segment:
    index: int
    k0: int  # first output frame
    k1: int  # exclusive
    key: str
    timeline: Timeline  # just what this segment shows (its clips and cues)

    @property
    def frames(self) -> int:
        return self.k1 - self.k0


_code_hash: str | None = None


def _drawing_code_hash() -> str:
    """The bytes of the code that draws frames and of the font it draws with."""
    global _code_hash
    if _code_hash is None:
        from engine.assets import cjk_font_path
        from engine.interchange import subtitles

        digest = hashlib.sha256()
        here = Path(__file__).resolve().parent
        for path in [*(here / name for name in _CODE), Path(subtitles.__file__), cjk_font_path()]:
            digest.update(path.read_bytes())
        _code_hash = digest.hexdigest()
    return _code_hash


def segment_starts(timeline: Timeline, fps: Fraction, gop: int, n_out: int) -> list[int]:
    """Where the segments start: at each shot's first output frame, and within a shot
    every ``chunk_frames(gop)`` frames after it (on its keyframe grid), so an edit that
    changes a shot's tail (a trim) encodes only the last stretch of it again."""
    clips = sorted(timeline.video, key=lambda c: c.record_in)
    cuts = sorted({0, *(first_output_frame(timeline, fps, c.record_in) for c in clips)})
    cuts = [k for k in cuts if k < n_out]
    step = chunk_frames(gop, fps)
    starts = []
    for index, k0 in enumerate(cuts):
        k1 = cuts[index + 1] if index + 1 < len(cuts) else n_out
        starts.extend(range(k0, k1, step))
    return starts


def chunk_frames(gop: int, fps: Fraction) -> int:
    """The longest segment: whole GOPs, at least ``CHUNK_SECONDS`` long."""
    return gop * max(1, math.ceil(CHUNK_SECONDS * fps / gop))


def plan_segments(timeline: Timeline, geometry: Geometry, encoder: Encoder,
                  n_out: int) -> list[Segment]:
    """The film's output frames ``0 … n_out-1`` in segments (``segment_starts``), each
    with the key of what its frames show: per frame, each visible source (its media and
    the source time shown, or a slate's words), its fade, the crossfade's weight, the
    subtitles on screen and whether the label is; plus everything film-wide (sizes,
    encoder settings, drawing code, font). Where the segment sits in the film is not in
    the key, so a shot that only moved is reused."""
    clips = sorted(timeline.video, key=lambda c: c.record_in)
    head, tail = fades(clips)
    starts = segment_starts(timeline, geometry.fps, encoder.gop, n_out)
    common = [RENDERER_VERSION, _drawing_code_hash(), encoder.to_key(), geometry.width,
              geometry.height, str(geometry.fps), geometry.matrix, geometry.visible_label,
              timeline.language if geometry.visible_label else "", timeline.width,
              timeline.height, timeline.fit, geometry.label_position]
    shown_label = AigcOptions(position=geometry.label_position, span=geometry.label_span,
                              at_end=geometry.label_at_end)
    cues_sorted = sorted(timeline.subtitles, key=lambda c: c.record_in) \
        if geometry.burn_subtitles else []
    segments = []
    for index, k0 in enumerate(starts):
        k1 = starts[index + 1] if index + 1 < len(starts) else n_out
        f0, f_last = frame_at(timeline, geometry.fps, k0), frame_at(timeline, geometry.fps, k1 - 1)
        shown = [(i, c) for i, c in enumerate(clips)
                 if c.record_in <= f_last and c.record_out > f0]
        cues = [c for c in cues_sorted if c.record_in <= f_last and c.record_out > f0]
        digest = hashlib.sha256(json.dumps(common).encode())
        for k in range(k0, k1):
            digest.update(json.dumps(_frame_recipe(timeline, geometry, shown, cues, head,
                                                   tail, shown_label, k),
                                     ensure_ascii=False).encode())
            digest.update(b"\n")
        key = digest.hexdigest()[:32]
        # the neighbours too (never shown here): a dip to black into the next shot fades
        # this one's tail, one from the previous shot fades this one's head
        lo = max(0, shown[0][0] - 1) if shown else 0
        hi = shown[-1][0] + 2 if shown else 0
        part_tl = replace(timeline, video=clips[lo:hi], audio=[], subtitles=cues)
        segments.append(Segment(index, k0, k1, key, part_tl))
    return segments


def _frame_recipe(timeline: Timeline, geometry: Geometry, shown: list[tuple[int, VideoClip]],
                  cues: list[Any], head: dict[int, int], tail: dict[int, int],
                  label: AigcOptions, k: int) -> list[Any]:
    """What output frame ``k`` shows, as ``compose_frames`` draws it."""
    frame = frame_at(timeline, geometry.fps, k)
    active = [(i, c) for i, c in shown if c.record_in <= frame < c.record_out][-2:]
    pictures = []
    for i, clip in active:
        if clip.media is None:
            what: list[Any] = [clip.kind, clip.label, clip.slate_text]
        elif clip.kind == SourceKind.VIDEO:
            what = [clip.kind, clip.media,
                    repr(source_time(clip, k, geometry.fps, timeline.fps))]
        else:
            what = [clip.kind, clip.media]
        pictures.append([*what, repr(fade_level(i, clip, frame, head, tail))])
    weight = repr(crossfade_weight(active[-1][1], frame)) if len(active) == 2 else None
    on_screen = [[c.text, c.speaker] for c in cues if c.record_in <= frame < c.record_out]
    visible = geometry.visible_label and label.shown_at(float(k / geometry.fps),
                                                        geometry.film_seconds)
    return [pictures, weight, on_screen, visible]


# ----------------------------------------------------------------------------- cache
class SegmentCache:
    """Encoded segments in a folder, by key; bounded in bytes, least recently used out."""

    def __init__(self, folder: Path, limit_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.folder, self.limit = folder, limit_bytes

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.mp4"

    def get(self, key: str) -> Path | None:
        path = self.path(key)
        if not path.is_file():
            return None
        os.utime(path)  # used now: last out
        return path

    def prune(self, keep: set[str]) -> int:
        """Remove the least recently used segments (never those in ``keep``) until the
        folder holds at most ``limit`` bytes. Returns how many were removed."""
        return prune_oldest(self.folder, ("*.mp4",), self.limit, keep)


# ----------------------------------------------------------------------------- encoding
@dataclass
class SegmentJob:
    segment: Segment
    geometry: Geometry
    encoder: Encoder
    out: Path  # final path; written as a .part file first


@dataclass
class _Shared:
    cancel: Any = None  # multiprocessing Event (workers) or None
    counts: Any = None  # multiprocessing Array of frames done per job
    slot: dict[str, int] = field(default_factory=dict)


_WORKER = _Shared()


def _init_worker(cancel: Any, counts: Any) -> None:
    _WORKER.cancel, _WORKER.counts = cancel, counts


def _worker_encode(job: SegmentJob, slot: int) -> int:
    token = CancelToken(poll=lambda: _WORKER.cancel.is_set())

    def done(n: int) -> None:
        _WORKER.counts[slot] = n

    return encode_segment(job, token, done)


def encode_segment(job: SegmentJob, cancel: CancelToken,
                   on_frames: Callable[[int], None] = lambda n: None) -> int:
    """Render and encode one segment into ``job.out`` (via a part file). Returns bytes."""
    import av

    enc, seg = job.encoder, job.segment
    job.out.parent.mkdir(parents=True, exist_ok=True)
    part = job.out.with_name(f"{job.out.stem}.part-{secrets.token_hex(4)}.mp4")
    frames = compose_frames(seg.timeline, job.geometry, seg.k0, seg.k1, cancel)
    try:
        with av.open(str(part), "w", format="mp4", options={"movflags": "+write_colr"}) as out:
            stream = out.add_stream(enc.codec, rate=enc.fps)
            stream.width, stream.height, stream.pix_fmt = enc.width, enc.height, enc.pix_fmt
            ctx = stream.codec_context
            ctx.gop_size = enc.gop
            if enc.bframes is not None:
                ctx.max_b_frames = enc.bframes
            primaries, trc, matrix = COLOR_TAGS[enc.matrix]
            ctx.color_primaries, ctx.color_trc, ctx.colorspace = primaries, trc, matrix
            ctx.color_range = 1  # limited ("tv") range
            options = {"profile": enc.profile}
            if enc.codec == "libx264":
                ctx.thread_count, ctx.thread_type = enc.threads, "FRAME"
                # keyframes on the preset's GOP grid, not at scene cuts; the thread counts
                # said to x264 itself too: the codec context's alone did not always reach
                # it, and a second segment encoded in one process came out different
                params = f"open-gop=0:scenecut=0:threads={enc.threads}:lookahead-threads=1"
                options.update({"preset": enc.x264_preset, "crf": str(enc.crf),
                                "x264-params": params})
                if enc.level:
                    options["level"] = enc.level
            else:  # h264_nvenc: constant quality like CRF
                options.update({"preset": "p4", "rc": "vbr", "cq": str(enc.crf), "b": "0"})
                if enc.level:
                    options["level"] = enc.level
            stream.options = options
            with ExitStack() as warming:
                warming.enter_context(new_memory_filled())
                for n, frame in enumerate(frames, start=1):
                    for packet in stream.encode(frame):
                        out.mux(packet)
                    on_frames(n)
                    if n == WARM_FRAMES:
                        warming.close()
                for packet in stream.encode(None):
                    out.mux(packet)
        cancel.check()
        os.replace(part, job.out)
    finally:
        frames.close()
        part.unlink(missing_ok=True)
    return job.out.stat().st_size


def encode_all(jobs: list[SegmentJob], workers: int, cancel: CancelToken,
               progress: Callable[[int], None]) -> None:
    """Encode ``jobs`` in a pool of ``workers`` processes (in this process when
    ``workers`` is 1). ``progress(frames_done)`` is called as they advance. Up to
    ``THREADED_WORK`` pixels × frames in all (a re-export after an edit) encode in threads of
    this process instead: starting a process and importing the renderer in it costs more
    than those frames, and x264, libswscale and numpy let go of the interpreter lock
    while they work (the sound mixes in another thread meanwhile)."""
    if not jobs:
        return
    if workers <= 1:
        done = 0
        for job in jobs:
            encode_segment(job, cancel, lambda n, base=done: progress(base + n))
            done += job.segment.frames
        return
    work = sum(job.segment.frames * job.encoder.width * job.encoder.height for job in jobs)
    if work <= THREADED_WORK:
        _encode_in_threads(jobs, workers, cancel, progress)
        return
    import multiprocessing as mp

    ctx = mp.get_context("spawn")  # no fork of a process with threads (the sound mixer)
    stop = ctx.Event()
    counts = ctx.Array("q", len(jobs), lock=False)
    # the longest first, so the pool's last jobs are short
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i].segment.frames)
    pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx,
                               initializer=_init_worker, initargs=(stop, counts))
    try:
        with _main_not_rerun():  # the workers start while the jobs are submitted
            pending: set[Future[int]] = {pool.submit(_worker_encode, jobs[i], i) for i in order}
        while pending:
            finished, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            for future in finished:
                future.result()  # re-raises a worker's error here
            progress(sum(counts))
            if cancel.cancelled:
                stop.set()
                raise Cancelled("Cancelled by the user.")
    except BaseException:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        for job in jobs:  # a worker stopped mid-way removed its part file itself
            for stray in job.out.parent.glob(f"{job.out.stem}.part-*"):
                stray.unlink(missing_ok=True)
        raise
    pool.shutdown(wait=True)


def _encode_in_threads(jobs: list[SegmentJob], workers: int, cancel: CancelToken,
                       progress: Callable[[int], None]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    counts = [0] * len(jobs)
    stop = CancelToken(poll=lambda: cancel.cancelled)

    def run(i: int) -> int:
        def done(n: int) -> None:
            counts[i] = n

        return encode_segment(jobs[i], stop, done)

    order = sorted(range(len(jobs)), key=lambda i: -jobs[i].segment.frames)
    with ThreadPoolExecutor(max_workers=min(workers, len(jobs)),
                            thread_name_prefix="storyreel-segment") as pool:
        pending: set[Future[int]] = {pool.submit(run, i) for i in order}
        try:
            while pending:
                finished, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()  # re-raises a thread's error here
                progress(sum(counts))
                if cancel.cancelled:
                    raise Cancelled("Cancelled by the user.")
        except BaseException:
            stop.cancel()
            for future in pending:
                future.cancel()
            raise


@contextmanager
def _main_not_rerun() -> Iterator[None]:
    """Start spawned workers without running the caller's main script again in each (a
    script calling ``export_film`` needs no ``if __name__ == "__main__"`` guard): the
    workers need only engine modules."""
    main = sys.modules.get("__main__")
    saved = {name: getattr(main, name) for name in ("__file__", "__spec__")
             if main is not None and hasattr(main, name)}
    try:
        if main is not None:
            main.__spec__ = None
            if "__file__" in saved:
                del main.__file__
        yield
    finally:
        for name, value in saved.items():
            setattr(main, name, value)


# ----------------------------------------------------------------------------- joining
def segment_packets(paths: list[Path], starts: list[int], fps: Fraction) -> Any:
    """The video packets of each segment file in turn, retimed to the film: a generator
    of (packet, the input stream). Every segment must share one codec configuration."""
    import av

    extradata = None
    for path, k0 in zip(paths, starts, strict=True):
        with av.open(str(path)) as src:
            stream = src.streams.video[0]
            if extradata is None:
                extradata = stream.codec_context.extradata
            elif stream.codec_context.extradata != extradata:
                raise StoryreelError(
                    f"Segment {path.name} was encoded differently from the others; "
                    "export again with --no-cache.")
            shift = Fraction(k0) / fps / stream.time_base
            offset = int(round(shift))
            for packet in src.demux(stream):
                if packet.dts is None:
                    continue
                packet.pts = (packet.pts if packet.pts is not None else packet.dts) + offset
                packet.dts += offset
                yield packet, stream
