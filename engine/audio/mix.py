"""Mix dialogue, music and effects into one normalized track, in constant memory.

``render_mix`` works in blocks (5 s). Pass 1 decodes each source incrementally with PyAV
(resampled to the mix rate and layout), applies gain, fades and the dialogue ducking of
music, sums, measures loudness (BS.1770-4) and writes the raw mix to a temp file. Pass 2
reads it back block by block with a little look-ahead, applies the loudness gain and a
true-peak limiter, and writes the final WAV (32-bit float). Peak memory depends on the
block size and on how many sources overlap, not on the film's length.

What the film sounds like comes from one place: ``timeline_segments(timeline)`` turns the
film's Timeline (``engine.render.timeline_builder.build_timeline``) into segments, and
``mix_timeline`` mixes them; ``storyreel mix``, the studio's preview and the export all
call it, so trims, speed and transitions are heard the same everywhere.

Reading the result in chunks: ``read_mix(path, block_frames)`` yields float32 arrays of
shape (channels, n); or open the WAV with PyAV like any audio file.
"""

from __future__ import annotations

import math
import os
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from engine.audio import loudness
from engine.audio.decode import CachedSourceReader, SourceCache, SourceReader, probe_duration
from engine.audio.loudness import LoudnessMeter, TruePeakMeter
from engine.errors import MediaError, StoryreelError
from engine.jobs.progress import CancelToken, Progress, no_progress
from engine.model import AudioRole
from engine.model.timeline import Timeline

BLOCK_SECONDS = 5.0
DUCK_ATTACK = 0.08  # seconds for music to go down before a line starts
DUCK_RELEASE = 0.3  # seconds for it to come back after the line
DUCK_BRIDGE = 0.6  # lines closer than this keep the music down between them
LIMITER_LOOKAHEAD = 0.005  # seconds: gain ramps down over this before a peak
LIMITER_HOLD = 0.03  # seconds the reduced gain is held around a peak (no fast flutter)
WAVE_FORMAT_IEEE_FLOAT = 3
# the loudness gain is a multiple of this: a small edit (a trim) moves the measured
# loudness by hundredths of a dB, so the gain — and every sample before the edit — mostly
# stays the same, and an export reuses the sound it already encoded
# (engine.render.sound_chunks); an edit that moves the loudness across a step changes the
# gain by one step, and the whole sound is encoded again. The mix lands at most half a
# step (0.1 LU) off its target; platforms ask for ±1 LU, the export checks ±0.3 LU
GAIN_STEP_DB = 0.2
MIX_FIGURES_VERSION = "1"  # bump when a block's loudness steps or true peak change


def quantized_gain(gain_db: float) -> float:
    """``gain_db`` rounded to a multiple of ``GAIN_STEP_DB``."""
    return round(round(gain_db / GAIN_STEP_DB) * GAIN_STEP_DB, 6)


@dataclass
class AudioSegment:
    """One source placed on the mix timeline (all times in seconds)."""

    source: Path
    start: float
    role: AudioRole
    in_point: float = 0.0
    duration: float | None = None  # None: to the end of the source (or of the film if loop)
    gain_db: float = 0.0
    fade_in: float = 0.0
    fade_out: float = 0.0
    loop: bool = False
    speed: float = 1.0  # source seconds per mix second (pitch follows, like tape)


@dataclass
class MixReport:
    path: Path
    duration: float
    sample_rate: int
    channels: int
    measured_lufs: float  # before normalization
    gain_db: float  # applied to reach the target
    integrated_lufs: float  # of the output
    true_peak_db: float  # of the output
    limited_db: float  # deepest limiter gain reduction (0 = never limited)
    segments: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path), "duration": round(self.duration, 3),
            "sample_rate": self.sample_rate, "channels": self.channels,
            "measured_lufs": _r(self.measured_lufs), "gain_db": _r(self.gain_db),
            "integrated_lufs": _r(self.integrated_lufs), "true_peak_db": _r(self.true_peak_db),
            "limited_db": _r(self.limited_db), "segments": self.segments,
            "warnings": self.warnings,
        }


def _r(x: float) -> float | None:
    return None if not math.isfinite(x) else round(x, 2)


# --------------------------------------------------------------------------- envelopes
Interval = tuple[float, float]


def _merge_intervals(intervals: list[Interval], bridge: float) -> list[Interval]:
    merged: list[Interval] = []
    for s, e in sorted(intervals):
        if merged and s - merged[-1][1] <= bridge:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def duck_envelope(t: np.ndarray, speech: list[tuple[float, float]], duck_db: float) -> np.ndarray:
    """Linear gain for music at times ``t``: ``duck_db`` during speech, ramps around it
    (attack before the line starts so the first word is clear, release after it ends)."""
    depth = np.zeros_like(t)
    if duck_db == 0.0 or len(t) == 0:
        return np.ones_like(t)
    t0, t1 = float(t[0]), float(t[-1])
    for s, e in speech:
        if e + DUCK_RELEASE < t0 or s - DUCK_ATTACK > t1:
            continue
        up = np.clip((t - (s - DUCK_ATTACK)) / DUCK_ATTACK, 0.0, 1.0)
        down = np.clip(((e + DUCK_RELEASE) - t) / DUCK_RELEASE, 0.0, 1.0)
        np.maximum(depth, np.minimum(up, down), out=depth)
    return (10.0 ** (duck_db * depth / 20.0)).astype(np.float32)


def _fade(t_local: np.ndarray, length: float, fade_in: float, fade_out: float) -> np.ndarray:
    g = np.ones_like(t_local)
    if fade_in > 0:
        g = np.minimum(g, np.clip(t_local / fade_in, 0.0, 1.0))
    if fade_out > 0 and math.isfinite(length):
        g = np.minimum(g, np.clip((length - t_local) / fade_out, 0.0, 1.0))
    return np.sin(g * (math.pi / 2)) ** 2  # smooth S-curve


# --------------------------------------------------------------------------- wav io
class WavWriter:
    """Streams a 32-bit float WAV; sizes are patched in on close."""

    def __init__(self, path: Path, sample_rate: int, channels: int) -> None:
        self.path = path
        self.sample_rate = sample_rate
        self.channels = channels
        self.frames = 0
        self._fh = open(path, "wb")
        self._fh.write(self._header(0))

    def _header(self, data_bytes: int) -> bytes:
        block_align = 4 * self.channels
        fmt = struct.pack("<HHIIHH", WAVE_FORMAT_IEEE_FLOAT, self.channels, self.sample_rate,
                          self.sample_rate * block_align, block_align, 32)
        fact = struct.pack("<4sII", b"fact", 4, self.frames)
        return (b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + len(fact) + 8 + data_bytes)
                + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + fact
                + b"data" + struct.pack("<I", data_bytes))

    def write(self, block: np.ndarray) -> None:
        data = np.ascontiguousarray(block.T, dtype="<f4")
        self._fh.write(data.tobytes())
        self.frames += block.shape[1]

    def close(self) -> None:
        self._fh.seek(0)
        self._fh.write(self._header(self.frames * 4 * self.channels))
        self._fh.close()


def _wav_layout(path: Path) -> tuple[int, int, int, int]:
    """(data offset, frames, channels, sample rate) of a float32 WAV written here."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise MediaError(f"{path.name} is not a WAV file.")
        channels = rate = 0
        fmt_tag = 0
        while True:
            chunk = fh.read(8)
            if len(chunk) < 8:
                raise MediaError(f"{path.name} has no audio data.")
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt ":
                body = fh.read(size)
                fmt_tag, channels, rate = struct.unpack("<HHI", body[:8])
            elif cid == b"data":
                if fmt_tag != WAVE_FORMAT_IEEE_FLOAT:
                    raise MediaError(f"{path.name} is not a 32-bit float WAV; decode it with PyAV.")
                return fh.tell(), size // (4 * channels), channels, rate
            else:
                fh.seek(size + (size & 1), 1)


def read_mix(path: str | Path, block_frames: int = 48000) -> Iterator[np.ndarray]:
    """Yield the mix written by ``render_mix`` as float32 (channels, n) blocks."""
    path = Path(path)
    offset, frames, channels, _ = _wav_layout(path)
    with open(path, "rb") as fh:
        fh.seek(offset)
        left = frames
        while left > 0:
            n = min(block_frames, left)
            data = np.frombuffer(fh.read(n * 4 * channels), dtype="<f4")
            left -= n
            yield data.reshape(-1, channels).T.copy()


# --------------------------------------------------------------------------- mixing
@dataclass
class _Active:
    seg: AudioSegment
    start: int  # sample on the timeline
    end: int  # exclusive
    length: float  # seconds (inf when looping to the end)
    reader: SourceReader | CachedSourceReader | None = None


def _prepare(segments: list[AudioSegment], total: int, sr: int) -> list[_Active]:
    out = []
    for seg in segments:
        try:
            seg.role = AudioRole(seg.role)
        except ValueError:
            raise StoryreelError(f"Audio role {seg.role!r} is not one of "
                                 f"{', '.join(r.value for r in AudioRole)}.") from None
        src = Path(seg.source)
        if not src.is_file():
            raise MediaError(f"Audio source {src} does not exist.")
        if seg.duration is not None and seg.duration <= 0:
            continue
        if seg.duration is not None:
            length = seg.duration
        elif seg.loop:
            length = max(0.0, total / sr - seg.start)
        else:
            length = max(0.0, probe_duration(src) - seg.in_point) / (seg.speed or 1.0)
        start = int(round(seg.start * sr))
        end = min(total, start + int(round(length * sr)))
        if end <= max(0, start):
            continue
        out.append(_Active(seg, start, end, length))
    return sorted(out, key=lambda a: a.start)


def render_mix(
    segments: list[AudioSegment],
    duration: float,
    out_path: Path,
    sample_rate: int = 48000,
    channels: int = 2,
    duck_db: float = -12.0,
    target_lufs: float = -14.0,
    true_peak_db: float = -1.0,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    source_cache: SourceCache | None = None,
) -> MixReport:
    """Mix ``segments`` into a ``duration``-second float WAV at ``out_path``. With
    ``source_cache`` each source is decoded whole once (and kept) and read as slices of
    that decode, so a block sounds the same whichever block a source starts in."""
    if duration <= 0:
        raise StoryreelError("The mix must be longer than zero seconds.")
    if channels not in (1, 2):
        raise StoryreelError(f"The mix can be mono or stereo, not {channels} channels.")
    if sample_rate != 48000 and target_lufs is not None:
        raise StoryreelError("The mix is measured and written at 48000 Hz; use sample_rate=48000.")
    if not (math.isfinite(duck_db) and -60.0 <= duck_db <= 0.0):
        raise StoryreelError(f"Ducking of {duck_db} dB is outside -60…0 dB.")
    if target_lufs is not None and not (math.isfinite(target_lufs)
                                        and -40.0 <= target_lufs <= -5.0):
        raise StoryreelError(f"A loudness target of {target_lufs} LUFS is outside -40…-5 LUFS "
                             "(streaming platforms use -14).")
    if not (math.isfinite(true_peak_db) and -20.0 <= true_peak_db <= 0.0):
        raise StoryreelError(f"A true-peak ceiling of {true_peak_db} dBTP is outside -20…0.")
    out_path = Path(out_path)
    total = int(round(duration * sample_rate))
    items = _prepare(segments, total, sample_rate)
    speech = _merge_intervals(
        [(a.start / sample_rate, a.end / sample_rate) for a in items
         if a.seg.role is AudioRole.DIALOGUE], DUCK_BRIDGE)
    block = int(BLOCK_SECONDS * sample_rate)
    steps: list[float] = []  # the raw mix's 100 ms loudness steps
    raw_peak = 0.0  # and its true peak (linear)
    history = np.zeros((channels, 0), np.float32)  # the raw mix before the block
    tmp_dir = out_path.parent
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, raw_name = tempfile.mkstemp(dir=tmp_dir, suffix=".mixraw")
    os.close(fd)
    raw = Path(raw_name)
    report = MixReport(out_path, duration, sample_rate, channels, -math.inf, 0.0,
                       -math.inf, -math.inf, 0.0, segments=len(items))
    try:
        # ---- pass 1: mix, measure, spill to disk
        with open(raw, "wb") as fh:
            for b0 in range(0, total, block):
                if cancel is not None:
                    cancel.check()
                b1 = min(total, b0 + block)
                mix = np.zeros((channels, b1 - b0), np.float32)
                for a in items:
                    if a.end <= b0 or a.start >= b1:
                        if a.reader is not None and a.end <= b0:
                            a.reader.close()
                            a.reader = None
                        continue
                    s0, s1 = max(a.start, b0), min(a.end, b1)
                    if a.reader is None:
                        reader = SourceReader if source_cache is None else partial(
                            CachedSourceReader, source_cache)
                        a.reader = reader(
                            Path(a.seg.source), sample_rate, channels,
                            in_point=a.seg.in_point
                            + max(0, b0 - a.start) / sample_rate * a.seg.speed,
                            loop=a.seg.loop, speed=a.seg.speed,
                        )
                    data = a.reader.read(s1 - s0)
                    n = data.shape[1]
                    if n == 0:
                        continue
                    idx = np.arange(s0, s0 + n)
                    t_local = (idx - a.start) / sample_rate
                    gain = _fade(t_local, a.length, a.seg.fade_in, a.seg.fade_out)
                    gain = gain * (10.0 ** (a.seg.gain_db / 20.0))
                    if a.seg.role is AudioRole.MUSIC and speech:
                        gain = gain * duck_envelope(idx / sample_rate, speech, duck_db)
                    mix[:, s0 - b0 : s0 - b0 + n] += data * gain.astype(np.float32)
                values = _block_figures(history, mix, channels, source_cache)
                raw_peak = max(raw_peak, float(values[0]))
                steps.extend(values[1:].tolist())
                history = np.concatenate([history, mix], axis=1)[:, -LoudnessMeter.HISTORY:]
                fh.write(np.ascontiguousarray(mix.T, dtype="<f4").tobytes())
                progress(0.7 * b1 / total, "Mixing audio")
        for a in items:
            if a.reader is not None:
                a.reader.close()
        meter = LoudnessMeter.from_steps(channels, steps)
        measured = meter.integrated
        report.measured_lufs = measured
        gain_db = quantized_gain(target_lufs - measured) if math.isfinite(measured) else 0.0
        report.gain_db = gain_db
        # ---- pass 2: gain + true-peak limiter → final file
        for _attempt in range(3):
            _normalize(raw, out_path, total, sample_rate, channels, gain_db, true_peak_db,
                       report, progress, cancel, meter, raw_peak)
            miss = target_lufs - report.integrated_lufs
            # limiting took loudness away: push the gain up and limit again
            if not math.isfinite(miss) or abs(miss) <= 0.3 or report.limited_db > -0.1:
                break
            gain_db = quantized_gain(gain_db + miss)
            report.gain_db = gain_db
    finally:
        raw.unlink(missing_ok=True)
    progress(1.0, f"Mix at {report.integrated_lufs:.1f} LUFS")
    return report


def _limiter_gain(peaks: np.ndarray, ceiling: float, look: int, hold: int) -> np.ndarray:
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    if need.min() >= 1.0:
        return np.ones_like(need)
    from scipy.ndimage import minimum_filter1d, uniform_filter1d  # imported when it limits

    held = minimum_filter1d(need, size=2 * (look + hold) + 1, mode="nearest")
    smooth = uniform_filter1d(held, size=2 * look + 1, mode="nearest")
    return np.minimum(smooth, held)


def _normalize(raw: Path, out_path: Path, total: int, sr: int, channels: int, gain_db: float,
               true_peak_db: float, report: MixReport, progress: Progress,
               cancel: CancelToken | None, measured: LoudnessMeter,
               raw_peak: float) -> None:
    """Write ``raw`` × the gain, true-peak limited, to ``out_path``. Where the limiter
    never acted the output is the raw mix scaled, so its loudness is the raw mix's
    (``measured``) scaled; otherwise the written file is measured. When the raw mix's
    true peak (``raw_peak``) × the gain is under the ceiling nothing can limit: the raw
    mix is scaled, and its peak is ``raw_peak`` × the gain (the oversampling is linear)."""
    gain = 10.0 ** (gain_db / 20.0)
    ceiling = 10.0 ** ((true_peak_db - 0.2) / 20.0)  # 0.2 dB for the estimate's error
    if raw_peak * gain <= ceiling:
        _scale(raw, out_path, total, sr, channels, gain, progress, cancel)
        report.integrated_lufs = measured.integrated_scaled(gain)
        out_peak = raw_peak * gain
        report.true_peak_db = 20.0 * math.log10(out_peak) if out_peak > 0 else -math.inf
        report.limited_db = 0.0
        return
    look = max(1, int(LIMITER_LOOKAHEAD * sr))
    hold = int(LIMITER_HOLD * sr)
    ctx = 2 * (look + hold) + look  # samples of context read on each side of a block
    block = int(BLOCK_SECONDS * sr)
    frame_bytes = 4 * channels
    out_peak = 0.0  # oversampled peaks scale with the (slowly varying) gain
    tp = TruePeakMeter(channels)
    tmp_out = out_path.with_name(out_path.name + ".part")
    writer = WavWriter(tmp_out, sr, channels)
    deepest = 1.0
    try:
        with open(raw, "rb") as fh:
            # peaks of [b0 - ctx, b1 + ctx) are needed; the meter runs ahead by ctx samples
            pending = np.zeros(0)  # oversampled peaks from (b0 - ctx) onward
            fed = 0  # samples fed to the peak meter so far
            for b0 in range(0, total, block):
                if cancel is not None:
                    cancel.check()
                b1 = min(total, b0 + block)
                want = min(total, b1 + ctx)
                if want > fed:
                    fh.seek(fed * frame_bytes)
                    x = np.frombuffer(fh.read((want - fed) * frame_bytes), dtype="<f4")
                    x = x.reshape(-1, channels).T.astype(np.float64) * gain
                    pending = np.concatenate([pending, tp.oversampled_peaks(x)])
                    fed = want
                # pending starts at sample max(0, b0 - ctx)
                p0 = max(0, b0 - ctx)
                g = _limiter_gain(pending, ceiling, look, hold)
                g_block = g[b0 - p0 : b1 - p0]
                deepest = min(deepest, float(g_block.min()) if len(g_block) else 1.0)
                fh.seek(b0 * frame_bytes)
                y = np.frombuffer(fh.read((b1 - b0) * frame_bytes), dtype="<f4")
                y = (y.reshape(-1, channels).T.astype(np.float64) * gain * g_block)
                y = np.clip(y, -1.0, 1.0).astype(np.float32)
                writer.write(y)
                if len(g_block):
                    peaks = pending[b0 - p0 : b1 - p0] * g_block
                    out_peak = max(out_peak, float(peaks.max()))
                keep_from = max(0, b1 - ctx)
                pending = pending[keep_from - p0 :]
                progress(0.7 + 0.3 * b1 / total, "Normalizing loudness")
        writer.close()
        os.replace(tmp_out, out_path)
    finally:
        if not writer._fh.closed:
            writer._fh.close()
        tmp_out.unlink(missing_ok=True)
    if deepest < 1.0:
        out_meter = LoudnessMeter(channels)
        for block in read_mix(out_path, int(BLOCK_SECONDS * sr)):
            out_meter.add(block)
        report.integrated_lufs = out_meter.integrated
    else:  # nothing limited: every sample is raw × gain (under the ceiling, not clipped)
        report.integrated_lufs = measured.integrated_scaled(gain)
    report.true_peak_db = 20.0 * math.log10(out_peak) if out_peak > 0 else -math.inf
    report.limited_db = 20.0 * math.log10(max(deepest, 1e-9))


def _block_figures(history: np.ndarray, block: np.ndarray, channels: int,
                   cache: SourceCache | None) -> np.ndarray:
    """[true peak (linear), 100 ms loudness steps …] of one block of the raw mix, the
    meters primed with the raw mix before it (``history``); blocks start on a 100 ms
    step, so the steps are those of one meter fed everything. The figures depend only on
    those samples, so ``cache`` keeps them by a hash of them: a re-mix after a late edit
    measures only the blocks from the edit on."""
    import hashlib

    key = None
    if cache is not None:
        h = hashlib.sha256(f"mix-block|{MIX_FIGURES_VERSION}|{channels}|"
                           f"{history.shape[1]}|{block.shape[1]}".encode())
        h.update(np.ascontiguousarray(history, dtype="<f4").data)
        h.update(np.ascontiguousarray(block, dtype="<f4").data)
        key = h.hexdigest()[:32]
        hit = cache.get_figures(key)
        if hit is not None:
            return hit
    loud, peak = LoudnessMeter(channels), TruePeakMeter(channels)
    loud.prime(history)
    peak.prime(history)
    loud.add(block)
    peak.add(block)
    values = np.array([peak.peak, *loud.steps], dtype="<f8")
    if cache is not None and key is not None:
        cache.put_figures(key, values)
    return values


def _scale(raw: Path, out_path: Path, total: int, sr: int, channels: int, gain: float,
           progress: Progress, cancel: CancelToken | None) -> None:
    """``raw`` × ``gain`` to ``out_path`` (float WAV), block by block."""
    block = int(BLOCK_SECONDS * sr)
    frame_bytes = 4 * channels
    tmp_out = out_path.with_name(out_path.name + ".part")
    writer = WavWriter(tmp_out, sr, channels)
    try:
        with open(raw, "rb") as fh:
            for b0 in range(0, total, block):
                if cancel is not None:
                    cancel.check()
                b1 = min(total, b0 + block)
                y = np.frombuffer(fh.read((b1 - b0) * frame_bytes), dtype="<f4")
                y = y.reshape(-1, channels).T.astype(np.float64) * gain
                writer.write(np.clip(y, -1.0, 1.0).astype(np.float32))
                progress(0.7 + 0.3 * b1 / total, "Normalizing loudness")
        writer.close()
        os.replace(tmp_out, out_path)
    finally:
        if not writer._fh.closed:
            writer._fh.close()
        tmp_out.unlink(missing_ok=True)


# --------------------------------------------------------------------------- the film
def timeline_segments(timeline: Timeline) -> list[AudioSegment]:
    """The film's sounds, as its Timeline places them, as segments (seconds).

    The Timeline already says where everything is heard (``build_timeline`` places each
    voice line where its moment of the picture is shown — after trims, at the clip's
    speed, overlapping the previous clip in a crossfade — and bounds it by its clip; a
    clip's own sound follows its picture's speed and fades with its transitions). This
    only converts frames to seconds and drops what lies past the film's end.
    """
    segments: list[AudioSegment] = []
    end = timeline.duration_frames
    for item in timeline.audio:
        if item.record_in >= end:
            continue
        start = timeline.seconds(item.record_in)
        duration = None
        if item.record_out is not None:
            duration = max(0.0, timeline.seconds(min(item.record_out, end)) - start)
        segments.append(AudioSegment(
            source=Path(item.path), start=start, role=item.role, in_point=item.source_in,
            duration=duration, gain_db=item.gain_db, fade_in=item.fade_in,
            fade_out=item.fade_out, loop=item.loop, speed=item.speed,
        ))
    return segments


def mix_timeline(
    timeline: Timeline,
    out_path: Path,
    sample_rate: int = 48000,
    channels: int = 2,
    duck_db: float = -12.0,
    target_lufs: float = -14.0,
    true_peak_db: float = -1.0,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    source_cache: SourceCache | None = None,
) -> MixReport:
    """The film's sound: ``timeline``'s segments mixed into a float WAV at ``out_path``
    as long as the film (a film without any sound gets silence)."""
    if timeline.duration_frames <= 0:
        raise StoryreelError("The film has no shots to mix.")
    return render_mix(timeline_segments(timeline), timeline.duration, out_path,
                      sample_rate=sample_rate, channels=channels, duck_db=duck_db,
                      target_lufs=target_lufs, true_peak_db=true_peak_db,
                      progress=progress, cancel=cancel, source_cache=source_cache)


def measure_loudness(path: str | Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of any audio or video file."""
    return loudness.measure_loudness(path)
