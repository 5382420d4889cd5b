from __future__ import annotations

import math
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from engine.audio.loudness import LoudnessMeter, TruePeakMeter
from engine.audio.mix import AudioSegment, measure_loudness, read_mix, render_mix
from engine.errors import StoryreelError
from engine.model import AudioRole
from tests.media_factory import make_wav

SR = 48000


def _encode(path: Path, seconds: float, rate: int, channels: int, codec: str,
            freq: float = 220.0) -> Path:
    """A tone in any codec PyAV can write (mp3, flac...)."""
    import av

    n = int(seconds * rate)
    t = np.arange(n) / rate
    data = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    layout = "mono" if channels == 1 else "stereo"
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = layout
        fmt = stream.codec_context.codec.audio_formats[0].name
        frame_size = 1152 if codec == "libmp3lame" else 4096
        for i in range(0, n, frame_size):
            part = np.tile(data[i : i + frame_size], (channels, 1))
            if fmt.startswith(("s16", "s32")):
                kind, scale = (np.int16, 32767) if fmt.startswith("s16") else (np.int32, 2**31 - 1)
                arr = (part * scale).astype(kind)
                arr = arr if fmt.endswith("p") else arr.T.reshape(1, -1)
            else:
                arr = part if fmt.endswith("p") else part.T.reshape(1, -1).copy()
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(arr), format=fmt,
                                               layout=layout)
            frame.sample_rate = rate
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _all(path: Path) -> np.ndarray:
    return np.concatenate(list(read_mix(path, 40000)), axis=1)


def _rms_db(x: np.ndarray) -> float:
    return 20 * math.log10(float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) + 1e-12)


def test_integrated_loudness_matches_pyloudnorm() -> None:
    import pyloudnorm

    rng = np.random.default_rng(3)
    t = np.arange(int(6.3 * SR)) / SR
    left = 0.2 * np.sin(2 * np.pi * 300 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.7 * t))
    right = 0.05 * rng.standard_normal(len(t))
    right[: SR * 2] *= 0.01  # a quiet stretch that the relative gate drops
    x = np.stack([left, right])
    meter = LoudnessMeter(2)
    for i in range(0, x.shape[1], 7777):  # odd block sizes: filter state must carry over
        meter.add(x[:, i : i + 7777])
    reference = pyloudnorm.Meter(SR).integrated_loudness(x.T)
    assert meter.integrated == pytest.approx(reference, abs=0.1)


def test_true_peak_sees_intersample_peaks() -> None:
    # a sine at fs/4 sampled 45° off its crests: samples read 0.707, the wave reaches 1.0
    n = np.arange(SR)
    x = np.sin(2 * np.pi * 0.25 * n + np.pi / 4)[None, :]
    meter = TruePeakMeter(1)
    for i in range(0, SR, 5000):
        meter.add(x[:, i : i + 5000])
    assert np.abs(x).max() == pytest.approx(0.7071, abs=1e-3)
    assert meter.dbtp == pytest.approx(0.0, abs=0.3)


def test_mix_of_mixed_formats_is_normalized(tmp_path: Path) -> None:
    mono22 = make_wav(tmp_path / "voice.wav", seconds=2.0, sample_rate=22050, freq=500)
    stereo44 = make_wav(tmp_path / "music.wav", seconds=3.0, sample_rate=44100, freq=220,
                        channels=2)
    mp3 = _encode(tmp_path / "fx.mp3", 1.0, 32000, 1, "libmp3lame", 880)
    flac = _encode(tmp_path / "amb.flac", 2.5, 16000, 2, "flac", 150)
    segments = [
        AudioSegment(stereo44, 0.0, AudioRole.MUSIC, loop=True, fade_in=0.5, fade_out=1.0),
        AudioSegment(mono22, 1.0, AudioRole.DIALOGUE),
        AudioSegment(mp3, 4.0, AudioRole.EFFECTS, gain_db=-6),
        AudioSegment(flac, 5.0, AudioRole.EFFECTS, in_point=0.5, duration=1.5),
    ]
    out = tmp_path / "mix.wav"
    report = render_mix(segments, 8.0, out)
    lufs, tp = measure_loudness(out)
    assert lufs == pytest.approx(-14.0, abs=1.0)
    assert tp <= -1.0 + 0.05
    # nothing was limited: the reported loudness is the raw mix's scaled by the gain, and
    # it is the written file's
    assert report.limited_db == 0.0
    assert report.integrated_lufs == pytest.approx(lufs, abs=1e-3)
    audio = _all(out)
    assert audio.shape == (2, 8 * SR)
    # the looping music runs to the end, fading out over its last second
    assert _rms_db(audio[:, int(6.5 * SR) : int(6.9 * SR)]) > -40
    assert _rms_db(audio[:, -200:]) < _rms_db(audio[:, int(6.5 * SR) : int(6.9 * SR)]) - 20


def test_mono_mix_and_hot_source_is_limited(tmp_path: Path) -> None:
    # a spiky source: quiet bed with loud clicks, so -14 LUFS needs peaks above -1 dBTP
    rate = 44100
    n = 4 * rate
    rng = np.random.default_rng(1)
    x = 0.02 * rng.standard_normal(n)
    x[:: rate // 8] = 0.99
    import wave

    src = tmp_path / "clicks.wav"
    with wave.open(str(src), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(rate)
        wf.writeframes((np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes())
    out = tmp_path / "mono.wav"
    report = render_mix([AudioSegment(src, 0.0, AudioRole.EFFECTS)], 4.0, out, channels=1)
    assert report.channels == 1 and report.limited_db < -3.0
    lufs, tp = measure_loudness(out)
    assert tp <= -1.0 + 0.05
    assert lufs == pytest.approx(-14.0, abs=1.0)
    assert report.integrated_lufs == pytest.approx(lufs, abs=1e-3)  # measured on the file


def test_music_ducks_only_during_speech(tmp_path: Path) -> None:
    music = make_wav(tmp_path / "music.wav", seconds=10.0, sample_rate=44100, freq=220,
                     channels=2)
    silence = tmp_path / "line.wav"
    import wave

    with wave.open(str(silence), "wb") as wf:  # a "line" with no sound: music alone is heard
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(22050)
        wf.writeframes(b"\0\0" * 22050 * 2)
    segments = [AudioSegment(music, 0.0, AudioRole.MUSIC),
                AudioSegment(silence, 3.0, AudioRole.DIALOGUE),
                AudioSegment(music, 0.0, AudioRole.EFFECTS, gain_db=-40, duration=0.1)]
    out = tmp_path / "duck.wav"
    render_mix(segments, 10.0, out, duck_db=-12.0)
    audio = _all(out)

    def level(a: float, b: float) -> float:
        return _rms_db(audio[:, int(a * SR) : int(b * SR)])

    before, during, after = level(1.0, 2.8), level(3.1, 4.9), level(5.5, 9.0)
    assert during - before == pytest.approx(-12.0, abs=0.5)
    assert after == pytest.approx(before, abs=0.3)  # released after the line
    # attack starts just before the line, release ends ~0.3 s after it
    assert level(2.5, 2.85) == pytest.approx(before, abs=0.3)
    assert level(5.35, 5.5) == pytest.approx(before, abs=0.3)


def test_memory_does_not_grow_with_length(tmp_path: Path) -> None:
    music = make_wav(tmp_path / "m.wav", seconds=3.0, sample_rate=44100, channels=2)
    line = make_wav(tmp_path / "v.wav", seconds=1.0, sample_rate=22050, freq=600)

    def peak(seconds: float) -> int:
        segs = [AudioSegment(music, 0.0, AudioRole.MUSIC, loop=True)]
        segs += [AudioSegment(line, t, AudioRole.DIALOGUE) for t in np.arange(1, seconds - 2, 3)]
        tracemalloc.start()
        render_mix(segs, seconds, tmp_path / f"{seconds}.wav")
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    short, long = peak(10.0), peak(40.0)
    assert long / short < 1.2


def test_bad_mix_requests(tmp_path: Path) -> None:
    with pytest.raises(StoryreelError, match="longer than zero"):
        render_mix([], 0.0, tmp_path / "x.wav")
    with pytest.raises(StoryreelError, match="does not exist"):
        render_mix([AudioSegment(tmp_path / "nope.wav", 0, AudioRole.MUSIC)], 1.0,
                   tmp_path / "x.wav")
    with pytest.raises(StoryreelError, match="mono or stereo"):
        render_mix([], 1.0, tmp_path / "x.wav", channels=6)
    # silence stays silence: no gain applied to -inf loudness
    report = render_mix([], 1.0, tmp_path / "silent.wav")
    assert report.gain_db == 0.0 and not np.any(_all(tmp_path / "silent.wav"))
