"""The film's sound: timeline audio items → one mix WAV → AAC frames, all in chunks.

The mix is made by ``engine.audio.mix.render_mix`` (ducking, loudness) when that module is
present; otherwise by a plain summing mixer here. Either way it is a file on disk read
back in small frames while encoding, so memory does not grow with the film's length.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import MediaError
from engine.jobs.progress import CancelToken, Progress, no_progress
from engine.model.timeline import AudioItem, Timeline

CHANNELS = 2
CHUNK_SECONDS = 1.0


def _mix_module() -> Any | None:
    name = "engine.audio.mix"
    try:
        if importlib.util.find_spec(name) is None:
            return None
        module = importlib.import_module(name)
    except ImportError:
        return None
    return module if hasattr(module, "render_mix") and hasattr(module, "AudioSegment") else None


def _item_seconds(item: AudioItem, timeline: Timeline) -> tuple[float, float | None]:
    start = timeline.seconds(item.record_in)
    duration = None
    if item.record_out is not None:
        duration = max(
            0.0, timeline.seconds(min(item.record_out, timeline.duration_frames)) - start
        )
    return start, duration


def mix_timeline(
    timeline: Timeline,
    out_wav: Path,
    sample_rate: int = 48000,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> Path:
    """Write the film's mixed sound (stereo, ``sample_rate``) to ``out_wav``."""
    cancel = cancel or CancelToken()
    items = [a for a in timeline.audio if a.record_in < timeline.duration_frames]
    module = _mix_module()
    if module is not None and items:
        segments = []
        for item in items:
            start, duration = _item_seconds(item, timeline)
            segments.append(
                module.AudioSegment(
                    source=Path(item.path),
                    start=start,
                    role=item.role,
                    in_point=item.source_in,
                    duration=duration,
                    gain_db=item.gain_db,
                    fade_in=item.fade_in,
                    fade_out=item.fade_out,
                    loop=item.loop,
                )
            )
        module.render_mix(
            segments,
            timeline.duration,
            out_wav,
            sample_rate=sample_rate,
            channels=CHANNELS,
            progress=progress,
            cancel=cancel,
        )
        return out_wav
    return _sum_mix(timeline, items, out_wav, sample_rate, progress, cancel)


# ----------------------------------------------------------------------------- fallback
def decode_chunks(path: str | Path, sample_rate: int, start: float = 0.0) -> Iterator[np.ndarray]:
    """(n, 2) float32 blocks of a file's sound at ``sample_rate``, from ``start`` seconds."""
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"{Path(path).name} cannot be opened ({exc}).") from exc
    with container:
        if not container.streams.audio:
            return
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="stereo", rate=sample_rate)
        skip = int(round(start * sample_rate))
        if start > 2.0:
            tb = stream.time_base
            container.seek(int((start - 1.0) / tb), stream=stream, backward=True)
            skip = None  # decided by the first frame's timestamp
        for frame in container.decode(stream):
            if skip is None:
                t = float(frame.time or 0.0)
                skip = max(0, int(round((start - t) * sample_rate)))
            for out in resampler.resample(frame):
                block = out.to_ndarray().reshape(-1, CHANNELS)
                if skip:
                    cut = min(skip, len(block))
                    block, skip = block[cut:], skip - cut
                if len(block):
                    yield block
        for out in resampler.resample(None):
            block = out.to_ndarray().reshape(-1, CHANNELS)
            if skip:
                cut = min(skip, len(block))
                block, skip = block[cut:], skip - cut
            if len(block):
                yield block


def _envelope(n0: int, count: int, total: int, fade_in: int, fade_out: int) -> np.ndarray | None:
    if fade_in <= 0 and fade_out <= 0:
        return None
    idx = np.arange(n0, n0 + count, dtype=np.float32)
    env = np.ones(count, np.float32)
    if fade_in > 0:
        env = np.minimum(env, idx / fade_in)
    if fade_out > 0:
        env = np.minimum(env, (total - idx) / fade_out)
    return np.clip(env, 0.0, 1.0)


def _sum_mix(
    timeline: Timeline,
    items: list[AudioItem],
    out_wav: Path,
    sample_rate: int,
    progress: Progress,
    cancel: CancelToken,
) -> Path:
    total = int(math.ceil(timeline.duration * sample_rate))
    raw = out_wav.with_suffix(".f32")
    frame_bytes = 4 * CHANNELS
    try:
        with open(raw, "w+b") as acc:
            acc.truncate(total * frame_bytes)  # sparse zeros
            for i, item in enumerate(items):
                cancel.check()
                _add_item(acc, item, timeline, sample_rate, total, cancel)
                progress((i + 1) / (len(items) + 1), f"mixing sound {i + 1}/{len(items)}")
            # pass 2: find the peak, then write 16-bit PCM with headroom (−1 dBFS)
            peak = 0.0
            acc.seek(0)
            block = int(sample_rate * CHUNK_SECONDS) * frame_bytes
            while data := acc.read(block):
                peak = max(peak, float(np.abs(np.frombuffer(data, np.float32)).max(initial=0.0)))
            gain = min(1.0, 0.891 / peak) if peak > 0 else 1.0
            acc.seek(0)
            with wave.open(str(out_wav), "wb") as wf:
                wf.setnchannels(CHANNELS)
                wf.setsampwidth(2)
                wf.setframerate(sample_rate)
                while data := acc.read(block):
                    samples = np.frombuffer(data, np.float32) * (gain * 32767.0)
                    wf.writeframes(np.clip(samples, -32768, 32767).astype("<i2").tobytes())
    finally:
        raw.unlink(missing_ok=True)
    progress(1.0, "sound mixed")
    return out_wav


def _add_item(
    acc: Any,
    item: AudioItem,
    timeline: Timeline,
    sample_rate: int,
    total: int,
    cancel: CancelToken,
) -> None:
    start_s, duration = _item_seconds(item, timeline)
    start = int(round(start_s * sample_rate))
    end = total if duration is None else min(total, start + int(round(duration * sample_rate)))
    if item.record_out is None and not item.loop and item.source_duration:
        end = min(end, start + int(round((item.source_duration - item.source_in) * sample_rate)))
    length = end - start
    if length <= 0:
        return
    gain = 10 ** (item.gain_db / 20)
    fade_in = int(item.fade_in * sample_rate)
    fade_out = int(item.fade_out * sample_rate)
    pos = 0  # samples written of this item
    source_start = item.source_in
    while pos < length:
        got = 0
        for block in decode_chunks(item.path, sample_rate, source_start):
            if pos >= length:
                break
            block = block[: length - pos]
            env = _envelope(pos, len(block), length, fade_in, fade_out)
            scaled = block * gain if env is None else block * (gain * env[:, None])
            offset = (start + pos) * 4 * CHANNELS
            acc.seek(offset)
            current = np.frombuffer(acc.read(scaled.nbytes), np.float32)
            if current.size < scaled.size:
                current = np.pad(current, (0, scaled.size - current.size))
            acc.seek(offset)
            acc.write((current + scaled.reshape(-1)).astype(np.float32).tobytes())
            pos += len(block)
            got += len(block)
            cancel.check()
        if not item.loop or got == 0:
            break
        source_start = 0.0  # loops restart from the top of the source


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
        self.done = False

    def _encode(self, frame: Any) -> None:
        for packet in self.stream.encode(frame):
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
                out.pts = None
                self._encode(out)
                self.written += out.samples / out.sample_rate

    def finish(self) -> None:
        self.feed_until(float("inf"))
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.close()

    def close(self) -> None:
        self._frames = iter(())
        self._input.close()


def encode_aac(
    wav: Path, out_path: Path, sample_rate: int = 48000, bit_rate: int = 192_000,
    codec: str = "aac", cancel: CancelToken | None = None,
) -> Path:
    """Encode the mix WAV into an audio-only MP4 (AAC, stereo), in small frames."""
    import av

    cancel = cancel or CancelToken()
    with av.open(str(out_path), "w", format="mp4") as container:
        stream = container.add_stream(codec, rate=sample_rate)
        stream.layout = "stereo"
        stream.bit_rate = bit_rate
        feed = AudioFeed(wav, stream, container)
        try:
            while not feed.done:
                cancel.check()
                feed.feed_until(feed.written + 10.0)
            feed.finish()
        finally:
            feed.close()
    return out_path
