"""Sources decoded once into the project's cache, read back as slices; the loudness gain
on a 0.2 dB grid, so a late edit leaves the mix before it bit for bit."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from engine.audio.decode import CachedSourceReader, SourceCache, SourceReader
from engine.audio.mix import GAIN_STEP_DB, AudioSegment, read_mix, render_mix
from engine.model import AudioRole
from tests.media_factory import make_wav

SR = 48000


def _all(path: Path) -> np.ndarray:
    return np.concatenate(list(read_mix(path, 40000)), axis=1)


def _scene(tmp_path: Path) -> list[AudioSegment]:
    music = make_wav(tmp_path / "music.wav", seconds=2.3, sample_rate=44100, freq=220,
                     channels=2)
    voice = make_wav(tmp_path / "voice.wav", seconds=1.2, sample_rate=22050, freq=500)
    return [
        AudioSegment(music, 0.0, AudioRole.MUSIC, loop=True, fade_in=0.3, fade_out=1.0,
                     gain_db=-8),
        AudioSegment(voice, 1.0, AudioRole.DIALOGUE),
        AudioSegment(voice, 4.6, AudioRole.DIALOGUE, in_point=0.2, speed=1.25),
        AudioSegment(voice, 9.0, AudioRole.DIALOGUE),
    ]


def test_a_cached_mix_is_the_decoded_mix(tmp_path: Path) -> None:
    segments = _scene(tmp_path)
    plain = render_mix(segments, 11.0, tmp_path / "plain.wav")
    cache = SourceCache(tmp_path / "cache")
    first = render_mix(segments, 11.0, tmp_path / "first.wav", source_cache=cache)
    assert cache.decoded == 3  # music; voice at 48 kHz; voice at 48 kHz / 1.25
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 3
    again_cache = SourceCache(tmp_path / "cache")
    again = render_mix(segments, 11.0, tmp_path / "again.wav", source_cache=again_cache)
    assert again_cache.decoded == 0  # all read from the cache
    a, b, c = _all(tmp_path / "plain.wav"), _all(tmp_path / "first.wav"), \
        _all(tmp_path / "again.wav")
    assert np.array_equal(b, c)
    # the same sound as decoding each source where it starts (a loop restarts its decode
    # there too), bit for bit — but for the first millisecond of the line read from its
    # in-point, where a decoder that seeks there starts its resampler afresh
    assert a.shape == b.shape
    differs = np.nonzero(np.abs(a - b).max(axis=0) > 0)[0]
    assert len(differs) and differs.min() >= int(4.6 * SR) and differs.max() < int(4.601 * SR)
    assert np.abs(a - b).max() < 0.02
    assert first.integrated_lufs == again.integrated_lufs
    assert abs(plain.integrated_lufs - first.integrated_lufs) < 1e-3


def test_a_changed_source_file_is_decoded_again(tmp_path: Path) -> None:
    voice = make_wav(tmp_path / "voice.wav", seconds=1.0, sample_rate=22050, freq=500)
    cache = SourceCache(tmp_path / "cache")
    before = CachedSourceReader(cache, voice, SR, 1).read(SR)
    key = cache.key(voice, SR, 1)
    make_wav(voice, seconds=1.0, sample_rate=22050, freq=900)  # same size, new content
    st = voice.stat()
    os.utime(voice, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    fresh = SourceCache(tmp_path / "cache")
    assert fresh.key(voice, SR, 1) != key
    after = CachedSourceReader(fresh, voice, SR, 1).read(SR)
    assert fresh.decoded == 1
    direct = SourceReader(voice, SR, 1).read(SR)
    assert np.array_equal(after, direct) and not np.allclose(before, after, atol=1e-2)
    # the stale decode is the least recently used one: pruned first when over the limit
    fresh.limit = 1
    assert fresh.prune() == 1
    assert [p.stem for p in (tmp_path / "cache").glob("*.npy")] == [fresh.key(voice, SR, 1)]


def test_cached_reads_loop_and_start_at_the_in_point(tmp_path: Path) -> None:
    tone = make_wav(tmp_path / "t.wav", seconds=0.5, sample_rate=SR, freq=300)
    cache = SourceCache(tmp_path / "cache")
    whole = SourceReader(tone, SR, 1).read(SR)
    assert whole.shape[1] == SR // 2
    loop = CachedSourceReader(cache, tone, SR, 1, in_point=0.1, loop=True).read(SR)
    skip = int(0.1 * SR)
    expected = np.concatenate([whole[:, skip:], whole[:, skip:], whole[:, skip:]], axis=1)
    assert np.array_equal(loop, expected[:, :SR])
    once = CachedSourceReader(cache, tone, SR, 1, in_point=0.4)
    assert once.read(SR).shape[1] == SR // 2 - int(0.4 * SR) and once.exhausted


def test_the_loudness_gain_is_on_a_grid_and_a_late_edit_keeps_the_mix_before_it(
        tmp_path: Path) -> None:
    segments = _scene(tmp_path)
    cache = SourceCache(tmp_path / "cache")
    before = render_mix(segments, 11.0, tmp_path / "a.wav", source_cache=cache)
    steps = before.gain_db / GAIN_STEP_DB
    assert abs(steps - round(steps)) < 1e-6
    assert abs(before.integrated_lufs + 14.0) <= GAIN_STEP_DB / 2 + 1e-6
    # the last line moved a little later: the measured loudness moves by a hair, the gain
    # not at all, and everything before the line is the same bits
    moved = [*segments[:3], AudioSegment(segments[3].source, 9.2, AudioRole.DIALOGUE)]
    figures = set((tmp_path / "cache").glob("*.figures"))
    assert len(figures) == 3  # one per 5 s block of the raw mix: 0–5, 5–10, 10–11 s
    after = render_mix(moved, 11.0, tmp_path / "b.wav", source_cache=cache)
    # the first block measured before is not measured again; the two after the edit are
    assert len(set((tmp_path / "cache").glob("*.figures")) - figures) == 2
    assert after.measured_lufs != before.measured_lufs
    assert after.gain_db == before.gain_db
    a, b = _all(tmp_path / "a.wav"), _all(tmp_path / "b.wav")
    cut = int((9.0 - 0.1) * SR)  # the music ducks 80 ms before a line
    assert np.array_equal(a[:, :cut], b[:, :cut]) and not np.array_equal(a, b)
