"""The film's sound: timeline audio items → one mix WAV → AAC, all in chunks.

``engine.audio.mix.mix_timeline`` (the same function ``storyreel mix`` and the studio's
preview use) makes the mix (dialogue ducking, loudness, true-peak limit) into a WAV on
disk. The export encodes it with ``encode_film_sound``: 3.2 s AAC chunks encoded in
threads and kept in the project's ``cache/sound`` (``engine.render.sound_chunks``), so a
re-export encodes only the chunks whose samples changed; the sources are decoded once
into ``cache/sound/sources``. ``encode_aac`` is the one-stream encoder (frame by frame,
measured as it encodes), kept as the reference the chunked sound is tested against.
Memory does not grow with the film's length.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

from engine.jobs.progress import CancelToken, Progress, no_progress
from engine.model.timeline import Timeline

CHANNELS = 2


def mix_segments(timeline: Timeline) -> list[Any]:
    """The timeline's sounds as ``engine.audio.mix.AudioSegment``s (seconds): the one
    conversion, ``engine.audio.mix.timeline_segments``."""
    from engine.audio.mix import timeline_segments

    return timeline_segments(timeline)


def mix_timeline(
    timeline: Timeline,
    out_wav: Path,
    sample_rate: int = 48000,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
    source_cache: Any = None,
) -> Any:
    """Write the film's mixed sound (stereo, ``sample_rate``) to ``out_wav``, exactly as
    ``storyreel mix`` does with its defaults (``engine.audio.mix.mix_timeline``). Returns
    the mixer's MixReport (loudness, peak)."""
    from engine.audio.mix import mix_timeline as mix

    return mix(timeline, out_wav, sample_rate=sample_rate, channels=CHANNELS,
               progress=progress, cancel=cancel or CancelToken(), source_cache=source_cache)


class AudioFeed:
    """Reads the mix WAV frame by frame into an AAC stream, up to a time, so audio and
    video packets interleave as they are made (the muxer buffers nothing long)."""

    def __init__(self, wav: Path, stream: Any, container: Any) -> None:
        import av

        self.stream, self.container = stream, container
        self._input = av.open(str(wav))
        self._frames = self._input.decode(audio=0)
        self._resampler = av.AudioResampler(
            format="fltp", layout="stereo", rate=stream.codec_context.sample_rate
        )
        self.written = 0.0  # seconds encoded
        self._samples = 0  # samples encoded: each frame's pts, so the encoder's priming
        # (its first packet at -initial_padding) is written as an edit list and players
        # drop it — the sound starts with the first picture, not one AAC frame late
        self.done = False
        self.on_packet: Any = None  # called with each packet before it is muxed

    def _encode(self, frame: Any) -> None:
        for packet in self.stream.encode(frame):
            if self.on_packet is not None:
                self.on_packet(packet)
            self.container.mux(packet)

    def feed_until(self, seconds: float) -> None:
        while not self.done and self.written < seconds:
            try:
                frame = next(self._frames)
            except StopIteration:
                self.done = True
                for out in self._resampler.resample(None):
                    self._encode(out)
                break
            for out in self._resampler.resample(frame):
                out.pts = self._samples
                out.time_base = Fraction(1, out.sample_rate)
                self._samples += out.samples
                self._encode(out)
                self.written += out.samples / out.sample_rate

    def finish(self) -> None:
        self.feed_until(float("inf"))
        for packet in self.stream.encode(None):
            if self.on_packet is not None:
                self.on_packet(packet)
            self.container.mux(packet)
        self.close()

    def close(self) -> None:
        self._frames = iter(())
        self._input.close()


def encode_aac(
    wav: Path, out_path: Path, sample_rate: int = 48000, bit_rate: int = 192_000,
    codec: str = "aac", cancel: CancelToken | None = None, coder: str | None = None,
    measure: bool = False,
) -> Any:
    """Encode the mix WAV into an audio-only MP4 (AAC, stereo), in small frames.
    ``coder``: the native AAC encoder's ``aac_coder`` (None: FFmpeg's default).
    Returns ``out_path``; with ``measure``, (integrated LUFS, true peak dBTP) of the
    encoded sound instead: each packet decoded as it is made and measured in a thread
    while the encoder goes on, what a player decodes from the file."""
    import av

    cancel = cancel or CancelToken()
    meter = _EncodedMeter(sample_rate) if measure else None
    try:
        with av.open(str(out_path), "w", format="mp4") as container:
            stream = container.add_stream(codec, rate=sample_rate)
            stream.layout = "stereo"
            stream.bit_rate = bit_rate
            if coder and codec == "aac":
                stream.options = {"aac_coder": coder}
            feed = AudioFeed(wav, stream, container)
            try:
                if meter is not None:
                    feed.on_packet = meter.packet
                while not feed.done:
                    cancel.check()
                    feed.feed_until(feed.written + 10.0)
                feed.finish()
            finally:
                feed.close()
        if meter is None:
            return out_path
        return meter.result(feed._samples)
    finally:
        if meter is not None:
            meter.stop()


class _EncodedMeter:
    """Decodes the encoder's packets (priming dropped, as the file's edit list has players
    do) and measures them in a thread, 5 s at a time."""

    def __init__(self, sample_rate: int) -> None:
        import queue
        import threading

        from engine.audio.loudness import LoudnessMeter, TruePeakMeter

        self.rate = sample_rate
        self.loud, self.peak = LoudnessMeter(CHANNELS), TruePeakMeter(CHANNELS)
        self._decoder: Any = None
        self._parts: list[Any] = []
        self._held = 0
        self._position = 0  # samples decoded, priming included (from the first pts)
        self._start: int | None = None
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="storyreel-measure",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            block = self._queue.get()
            if block is None:
                return
            try:
                if self._error is None:
                    self.loud.add(block)
                    self.peak.add(block)
            except BaseException as exc:  # handed to the caller by result()
                self._error = exc

    def packet(self, packet: Any) -> None:
        import av
        import numpy as np

        if self._decoder is None:
            ctx = packet.stream.codec_context
            self._decoder = av.CodecContext.create(ctx.name, "r")
            self._decoder.extradata = ctx.extradata
            self._decoder.sample_rate, self._decoder.layout = ctx.sample_rate, "stereo"
        if self._start is None and packet.pts is not None:
            self._start = int(packet.pts * packet.time_base * self.rate)  # −priming
            self._position = self._start
        for frame in self._decoder.decode(packet):
            data = frame.to_ndarray().reshape(CHANNELS, -1)
            skip = max(0, -self._position)  # the encoder's priming, before time 0
            self._position += data.shape[1]
            if skip:
                data = data[:, skip:]
            if data.shape[1]:
                self._parts.append(np.asarray(data, dtype=np.float32))
                self._held += data.shape[1]
            if self._held >= 5 * self.rate:
                self._flush()

    def _flush(self) -> None:
        import numpy as np

        if self._parts:
            self._queue.put(np.concatenate(self._parts, axis=1))
        self._parts, self._held = [], 0

    def result(self, samples: int) -> tuple[float, float]:
        """(LUFS, dBTP) of the first ``samples`` decoded (the padding after them dropped)."""
        import numpy as np

        if self._decoder is not None:
            for frame in self._decoder.decode(None):
                data = frame.to_ndarray().reshape(CHANNELS, -1)
                skip = max(0, -self._position)
                self._position += data.shape[1]
                self._parts.append(np.asarray(data[:, skip:], dtype=np.float32))
        over = (self._position - max(0, self._start or 0)) - samples
        if over > 0 and self._parts:  # the last frame's padding past the sound's end
            tail = np.concatenate(self._parts, axis=1)
            self._parts = [tail[:, : max(0, tail.shape[1] - over)]]
        self._flush()
        self.stop()
        if self._error is not None:
            raise self._error
        return self.loud.integrated, self.peak.dbtp

    def stop(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


def preview_mix(
    timeline: Timeline,
    cache_dir: Path,
    sample_rate: int = 48000,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> Path:
    """The cut's mix for the GUI's preview player, cached in ``cache_dir`` by a hash of
    everything that is heard (sources with their size and mtime, placement, gains, fades,
    film length): pressing "Preview cut" again after a picture-only edit costs nothing."""
    import hashlib
    import json

    parts: list[Any] = [timeline.duration, sample_rate, CHANNELS]
    for seg in mix_segments(timeline):
        try:
            st = seg.source.stat()
            stamp = [st.st_size, st.st_mtime_ns]
        except OSError:
            stamp = None
        parts.append([str(seg.source), stamp, seg.start, seg.role, seg.in_point, seg.duration,
                      seg.gain_db, seg.fade_in, seg.fade_out, seg.loop, seg.speed])
    key = hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:20]
    cache_dir.mkdir(parents=True, exist_ok=True)
    out = cache_dir / f"preview-mix-{key}.wav"
    if out.is_file():
        progress(1.0, "cached")
        return out
    for old in cache_dir.glob("preview-mix-*.wav"):  # one preview mix per project
        old.unlink(missing_ok=True)
    tmp = cache_dir / f".preview-mix-{key}.part.wav"
    try:
        mix_timeline(timeline, tmp, sample_rate=sample_rate, progress=progress, cancel=cancel)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def load_mix(path: Path) -> tuple[Any, int]:
    """A mix WAV written here as a read-only (frames, channels) float32 memory map."""
    import numpy as np

    from engine.audio.mix import _wav_layout

    offset, frames, channels, rate = _wav_layout(path)
    if frames == 0:
        return np.zeros((0, channels), dtype=np.float32), rate
    data = np.memmap(path, dtype="<f4", mode="r", offset=offset, shape=(frames, channels))
    return data, rate


def map_mix(layout: dict[str, Any]) -> Any:
    """``load_mix`` from a known layout (a preview-mix job's result: path, offset, frames,
    channels): maps the samples without reading the file's header again."""
    import numpy as np

    frames, channels = int(layout["frames"]), int(layout["channels"])
    if frames == 0:
        return np.zeros((0, channels), dtype=np.float32)
    return np.memmap(layout["path"], dtype="<f4", mode="r", offset=int(layout["offset"]),
                     shape=(frames, channels))


TRUE_PEAK_CEILING = -1.0  # dBTP of the encoded sound, decoded back
LOUDNESS_TOLERANCE = 0.3  # LU off the target the encoded sound may be
RELIMIT_ATTEMPTS = 3


class ExportSound:
    """What ``export_sound`` made: the mixer's report and the encoded file's figures."""

    def __init__(self, mix: Any, lufs: float, true_peak: float, relimited: int,
                 ceiling: float) -> None:
        self.mix, self.lufs, self.true_peak = mix, lufs, true_peak
        self.relimited, self.ceiling = relimited, ceiling
        self.warnings: list[str] = []
        self.chunks: dict[str, int] = {}  # AAC chunks: total, encoded, reused
        if true_peak > TRUE_PEAK_CEILING:
            self.warnings.append(
                f"The encoded sound peaks at {true_peak:.1f} dBTP after {relimited} re-limits "
                f"(over {TRUE_PEAK_CEILING:.1f} dBTP).")

    def figures(self) -> dict[str, Any]:
        def finite(x: float) -> float | None:
            return round(float(x), 2) if x == x and abs(x) != float("inf") else None

        return {"integrated_lufs": finite(self.lufs), "true_peak_db": finite(self.true_peak),
                "measured_on": "encoded", "mix_lufs": finite(self.mix.integrated_lufs),
                "mix_true_peak_db": finite(self.mix.true_peak_db),
                "limiter_ceiling_db": round(self.ceiling, 2), "relimited": self.relimited}


def encode_film_sound(
    wav: Path, out_path: Path, settings: Any, cache: Any = None, use_cache: bool = True,
    cancel: CancelToken | None = None, workers: int | None = None,
) -> tuple[float, float, Any]:
    """The mix WAV encoded in chunks (``engine.render.sound_chunks``: in threads, unchanged
    chunks taken from ``cache``) into an audio-only MP4 at ``out_path``. Returns
    (integrated LUFS, true peak dBTP) of the packets decoded back as a player decodes the
    file, and the ``ChunkedEncode`` (how many chunks were encoded)."""
    from engine.audio.decode import PcmFile
    from engine.audio.mix import _wav_layout
    from engine.render.sound_chunks import encode_chunks, measure_packets, write_packets

    offset, frames, channels, _rate = _wav_layout(wav)
    pcm = PcmFile(wav, offset, frames, channels)  # read by slices: memory stays flat
    try:
        result = encode_chunks(pcm, settings, cache, use_cache, workers, cancel)
    finally:
        pcm.close()
    write_packets(result, settings, out_path)
    lufs, peak = measure_packets(result, settings, cancel, cache, use_cache, workers)
    return lufs, peak, result


def export_sound(
    timeline: Timeline, mix_wav: Path, out_path: Path, sample_rate: int = 48000,
    bit_rate: int = 192_000, codec: str = "aac", cancel: CancelToken | None = None,
    target_lufs: float = -14.0, coder: str | None = None, chunk_cache: Any = None,
    use_cache: bool = True, source_cache: Any = None,
) -> ExportSound:
    """The film's sound for an export: mixed, encoded to ``out_path`` (in chunks, those
    unchanged since an earlier export taken from ``chunk_cache`` when ``use_cache``), then
    decoded back and measured. AAC overshoots the mix's peaks and drops the top of the
    spectrum (more at low bit rates), so while the encoded file is over −1 dBTP or off the
    loudness target by more than 0.3 LU, the mix is levelled and limited again — the
    ceiling lowered by the overshoot, the target moved by the miss — and re-encoded."""
    from engine.audio.mix import AudioSegment, render_mix
    from engine.model import AudioRole
    from engine.render.sound_chunks import AacSettings

    cancel = cancel or CancelToken()
    settings = AacSettings(sample_rate, bit_rate, codec, coder, CHANNELS)
    mix = mix_timeline(timeline, mix_wav, sample_rate, no_progress, cancel, source_cache)
    lufs, peak, chunks = encode_film_sound(mix_wav, out_path, settings, chunk_cache,
                                           use_cache, cancel)
    ceiling, target, relimited = TRUE_PEAK_CEILING, target_lufs, 0
    silent = not math.isfinite(lufs)
    while not silent and relimited < RELIMIT_ATTEMPTS and (
            peak > TRUE_PEAK_CEILING or abs(lufs - target_lufs) > LOUDNESS_TOLERANCE):
        cancel.check()
        if peak > TRUE_PEAK_CEILING:
            ceiling -= (peak - TRUE_PEAK_CEILING) + 0.2
        target = min(-5.0, max(-40.0, target + (target_lufs - lufs)))
        again = mix_wav.with_name(mix_wav.stem + ".levelled.wav")
        try:
            render_mix([AudioSegment(mix_wav, 0.0, AudioRole.EFFECTS)], timeline.duration, again,
                       sample_rate=sample_rate, channels=CHANNELS, duck_db=0.0,
                       target_lufs=target, true_peak_db=max(-20.0, ceiling), cancel=cancel)
            lufs, peak, chunks = encode_film_sound(again, out_path, settings, chunk_cache,
                                                   use_cache, cancel)
        finally:
            again.unlink(missing_ok=True)
        relimited += 1
    sound = ExportSound(mix, lufs, peak, relimited, ceiling)
    sound.chunks = {"total": len(chunks.chunks), "encoded": chunks.encoded,
                    "reused": len(chunks.chunks) - chunks.encoded}  # of the file's pass
    return sound
