"""The film's sound in AAC chunks: clean splices, reused chunks after an edit, figures
measured on what a player decodes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.audio.loudness import measure_loudness
from engine.audio.mix import WavWriter
from engine.model import AudioPlacement, AudioRole
from engine.render import sound_chunks
from engine.render.audio import encode_aac, encode_film_sound
from engine.render.export import export_film
from engine.render.sound_chunks import CHUNK, POST_ROLL, AacSettings, ChunkCache, plan_chunks
from engine.render.timeline_builder import set_clip_edit
from tests.engine.render.conftest import TEST_PRESET, add_take, solid_png
from tests.media_factory import make_wav

SR = 48000
SETTINGS = AacSettings(SR, 128_000, "aac", "fast")


def _sound(seconds: float, seed: int = 3) -> np.ndarray:
    """(channels, n): a tone with a slow swell and some noise (so the encoder works)."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    rng = np.random.default_rng(seed)
    left = 0.3 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t))
    right = 0.2 * np.sin(2 * np.pi * 330 * t + 1.0)
    x = np.stack([left, right]) + 0.003 * rng.standard_normal((2, n))
    return x.astype(np.float32)


def _wav(path: Path, x: np.ndarray) -> Path:
    writer = WavWriter(path, SR, 2)
    writer.write(x)
    writer.close()
    return path


def _decoded(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        frames = [f.to_ndarray().reshape(2, -1) for f in c.decode(s)]
        n = int(s.duration * s.time_base * SR)  # the edit list's length: padding dropped
    return np.concatenate(frames, axis=1)[:, :n]


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def test_chunks_join_into_the_sound_of_one_continuous_encode(tmp_path: Path) -> None:
    x = _sound(8.3)  # 3 chunks, the last one short
    wav = _wav(tmp_path / "mix.wav", x)
    lufs, peak, result = encode_film_sound(wav, tmp_path / "chunked.m4a", SETTINGS,
                                           workers=2)
    assert [c.end - c.start for c in result.chunks] == [CHUNK, CHUNK, x.shape[1] - 2 * CHUNK]
    assert result.encoded == 3
    encode_aac(wav, tmp_path / "one.m4a", SR, SETTINGS.bit_rate, coder="fast")
    chunked, one = _decoded(tmp_path / "chunked.m4a"), _decoded(tmp_path / "one.m4a")
    assert chunked.shape == one.shape == x.shape  # priming and padding dropped alike
    assert _corr(chunked, x) >= 0.999 and _corr(chunked, one) >= 0.999
    # the splices are no worse than any other frame: the error around each cut is of
    # the size of the coding noise elsewhere
    err = np.abs(chunked - x).max(axis=0)
    typical = float(np.percentile(err, 99.9))
    for chunk in result.chunks[1:]:
        assert err[chunk.start - 2048: chunk.start + 2048].max() <= 2 * typical
    # the figures are those of the file, decoded as a player does
    file_lufs, file_peak = measure_loudness(tmp_path / "chunked.m4a")
    assert lufs == pytest.approx(file_lufs, abs=1e-6)
    assert peak == pytest.approx(file_peak, abs=1e-6)


def test_a_change_late_in_the_mix_re_encodes_only_the_chunks_from_it(tmp_path: Path) -> None:
    cache = ChunkCache(tmp_path / "cache")
    x = _sound(13.0)  # 5 chunks
    first = encode_film_sound(_wav(tmp_path / "a.wav", x), tmp_path / "a.m4a", SETTINGS, cache)
    assert first[2].encoded == 5
    # the sound changes 8.0 s in (chunk 2 of 0…4); chunk 1's encoder reads past its end
    # (post-roll) but not that far, so chunks 0 and 1 are taken from the cache
    changed_at = int(8.0 * SR)
    assert 2 * CHUNK + POST_ROLL < changed_at < 3 * CHUNK
    y = x.copy()
    y[:, changed_at:] *= 0.5
    again = encode_film_sound(_wav(tmp_path / "b.wav", y), tmp_path / "b.m4a", SETTINGS, cache)
    assert again[2].encoded == 3
    # the same bits as encoding it all afresh, and the same figures as measuring it all
    fresh = encode_film_sound(tmp_path / "b.wav", tmp_path / "c.m4a", SETTINGS, cache,
                              use_cache=False)
    assert fresh[2].encoded == 5
    assert again[2].packets == fresh[2].packets
    assert again[:2] == fresh[:2]
    assert np.array_equal(_decoded(tmp_path / "b.m4a"), _decoded(tmp_path / "c.m4a"))
    lufs, peak = measure_loudness(tmp_path / "b.m4a")
    assert again[0] == pytest.approx(lufs, abs=1e-6) and again[1] == pytest.approx(peak, abs=1e-6)
    # and the first export's prefix is what the re-export holds
    assert first[2].packets[:2] == again[2].packets[:2]
    assert first[2].packets[3:] != again[2].packets[3:]


def test_a_damaged_cache_entry_is_encoded_again(tmp_path: Path) -> None:
    cache = ChunkCache(tmp_path / "cache")
    wav = _wav(tmp_path / "a.wav", _sound(4.0))
    first = encode_film_sound(wav, tmp_path / "a.m4a", SETTINGS, cache)
    cache.path(first[2].keys[1]).write_bytes(b"SRAAC1\n\0garbage")
    again = encode_film_sound(wav, tmp_path / "b.m4a", SETTINGS, cache)
    assert again[2].encoded == 1 and again[2].packets == first[2].packets
    assert again[:2] == first[:2]


def test_the_chunk_cache_is_bounded_oldest_out(tmp_path: Path) -> None:
    cache = ChunkCache(tmp_path / "cache", limit_bytes=1)
    wav = _wav(tmp_path / "a.wav", _sound(7.0))
    result = encode_film_sound(wav, tmp_path / "a.m4a", SETTINGS, cache)[2]
    kept = {p.stem for p in (tmp_path / "cache").iterdir()}
    assert set(result.keys) <= kept  # what this export uses stays
    other = encode_film_sound(_wav(tmp_path / "b.wav", _sound(7.0, seed=9)),
                              tmp_path / "b.m4a", SETTINGS, cache)[2]
    left = {p.stem for p in (tmp_path / "cache").iterdir()}
    assert set(other.keys) <= left and not set(result.keys) & left


def test_plan_covers_the_mix_on_aac_frames_and_loudness_steps() -> None:
    chunks = plan_chunks(10 * SR + 5)
    assert chunks[0].start == 0 and chunks[-1].end == 10 * SR + 5
    assert all(a.end == b.start for a, b in zip(chunks, chunks[1:], strict=False))
    assert all(c.start % 1024 == 0 and c.start % 4800 == 0 for c in chunks)
    assert chunks[0].first_pts == -1024 and chunks[1].first_pts == CHUNK
    assert sound_chunks.plan_chunks(1)[0].end == 1


def test_a_re_export_after_a_trim_reuses_the_sound_before_it(film, tmp_path: Path) -> None:
    store = film(4, duration=3.0)
    shots = store.shots()
    for i, shot in enumerate(shots):
        add_take(store, shot.id, solid_png(tmp_path / f"s{i}.png", (40 * i, 90, 160)))
    bed = store.media.import_file(make_wav(tmp_path / "bed.wav", seconds=2.5, freq=180,
                                           channels=2, sample_rate=44100))
    store.add(AudioPlacement(role=AudioRole.MUSIC, media=bed.sha256, gain_db=-10, loop=True,
                             fade_in=0.5, fade_out=1.0))
    export_film(store, tmp_path / "first.mp4", preset=TEST_PRESET)
    set_clip_edit(store, shots[3].id, trim_out=12)  # the last shot: half a second shorter
    smart = export_film(store, tmp_path / "smart.mp4", preset=TEST_PRESET)
    full = export_film(store, tmp_path / "full.mp4", preset=TEST_PRESET, use_cache=False)
    assert full.audio["chunks"]["encoded"] == full.audio["chunks"]["total"] == 4
    # 11.5 s now: the music fades out over the last second, from 10.5 s instead of 11 s,
    # so only the last chunk (9.6 s on) sounds different; the loudness gain (a multiple
    # of 0.2 dB) stays, and the chunks before are the first export's
    assert smart.audio["chunks"] == {"total": 4, "encoded": 1, "reused": 3}
    assert np.array_equal(_decoded(tmp_path / "smart.mp4"), _decoded(tmp_path / "full.mp4"))
    assert smart.loudness == full.loudness
    lufs, peak = measure_loudness(tmp_path / "smart.mp4")
    assert smart.loudness["integrated_lufs"] == pytest.approx(lufs, abs=0.01)
    assert smart.loudness["true_peak_db"] == pytest.approx(peak, abs=0.01)
    assert abs(smart.loudness["integrated_lufs"] + 14.0) <= 0.5
