"""Kokoro backend: a tiny random model built in the session (tests/conftest.py) through the
same loading code as the packaged int8 model; real weights opt in with ``-m realweights``."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

from engine.audio import kokoro, kokoro_g2p, tts
from engine.model import VoiceProfile
from tests.engine.audio import kokoro_tiny

ZH = "你好，我等了你三个小时。你为什么不来？"
EN = "Where were you last night? I waited for hours."


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise OSError("network blocked in this test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def _gaps(clip: tts.SpeechClip) -> list[tuple[float, float]]:
    """(start, length) of silent stretches ≥ 80 ms, seconds."""
    sr = clip.sample_rate
    frame = sr // 100
    n = len(clip.samples) // frame
    rms = np.sqrt(np.mean(clip.samples[: n * frame].reshape(n, frame) ** 2, axis=1))
    quiet = rms < 0.005
    out, i = [], 0
    while i < n:
        if quiet[i]:
            j = i
            while j < n and quiet[j]:
                j += 1
            if j - i >= 8:
                out.append((i / 100, (j - i) / 100))
            i = j
        else:
            i += 1
    return out


def test_parts_are_joined_and_the_duration_tensor_exposed(tmp_path: Path) -> None:
    parts = kokoro_tiny.write_parts(tmp_path / "parts")
    sess = kokoro.load_session(parts)
    assert [o.name for o in sess.get_outputs()] == ["audio", kokoro.DURATION_OUTPUT]
    audio, dur = sess.run(None, {"tokens": np.array([[0, 50, 60, 0]], dtype=np.int64),
                                 "style": np.zeros((1, 256), np.float32),
                                 "speed": np.array([1.0], np.float32)})
    assert len(dur) == 4 and len(audio) == int(dur.sum()) * kokoro.FRAME
    # not a model / not Kokoro / no durations: one sentence each
    (tmp_path / "junk.onnx").write_bytes(b"\x00\x01not onnx")
    with pytest.raises(kokoro.KokoroError, match="not a readable ONNX"):
        kokoro.load_session([tmp_path / "junk.onnx"])
    model = kokoro_tiny.build()
    for node in model.graph.node:
        node.output[:] = [o.replace(kokoro.DURATION_OUTPUT, "d") for o in node.output]
        node.input[:] = [i.replace(kokoro.DURATION_OUTPUT, "d") for i in node.input]
    (tmp_path / "old.onnx").write_bytes(model.SerializeToString())
    with pytest.raises(kokoro.KokoroError, match="cannot report timings"):
        kokoro.load_session([tmp_path / "old.onnx"])


def test_packaged_model_parts_are_found() -> None:
    import os

    saved = os.environ.pop(kokoro.MODEL_ENV)
    try:
        parts = kokoro.model_parts()
    finally:
        os.environ[kokoro.MODEL_ENV] = saved
    assert len(parts) == 4 and sum(p.stat().st_size for p in parts) > 80_000_000


def test_mandarin_speaks_offline_with_a_timing_for_every_character(offline: None) -> None:
    clip = tts.synthesize(ZH, VoiceProfile(backend="kokoro", voice="zf_xiaobei"), "zh")
    assert clip.backend == "kokoro" and clip.sample_rate == 24000
    chars = [c for c in ZH if "\u4e00" <= c <= "\u9fff"]
    assert [t["text"] for t in clip.timings] == chars
    assert [ZH[t["pos"]] for t in clip.timings] == chars
    ends = [t["end"] for t in clip.timings]
    for t in clip.timings:
        assert 0.0 <= t["start"] < t["end"] <= clip.duration + 1e-6
    assert [t["start"] for t in clip.timings] == sorted(t["start"] for t in clip.timings)
    assert ends == sorted(ends)
    # real pauses at the marks: ≥ 0.35 s after 。, ≥ 0.15 s after ，
    by_char = {t["pos"]: t for t in clip.timings}
    after_comma = by_char[ZH.index("我")]["start"] - by_char[ZH.index("好")]["end"]
    after_stop = by_char[ZH.index("。") + 1]["start"] - by_char[ZH.index("。") - 1]["end"]
    assert after_comma >= 0.15 - 1e-3 and after_stop >= 0.35 - 1e-3
    gaps = _gaps(clip)
    assert any(abs(s - by_char[ZH.index("时")]["end"]) < 0.05 and n >= 0.3 for s, n in gaps)


def test_english_speaks_with_word_timings(offline: None) -> None:
    clip = tts.synthesize(EN, VoiceProfile(backend="kokoro", voice="af_heart"), "en")
    assert [t["text"] for t in clip.timings] == [w.strip("?.") for w in EN.split()]
    slow = tts.synthesize(EN, VoiceProfile(backend="kokoro", voice="af_heart", rate=0.5), "en")
    assert slow.duration > clip.duration * 1.5


def test_g2p_tone_sandhi_and_marks() -> None:
    chars = list("一个不是第一看一看不好")
    pys = ["yi1", "ge4", "bu4", "shi4", "di4", "yi1", "kan4", "yi1", "kan4", "bu4", "hao3"]
    out = kokoro_g2p.sandhi_yi_bu(chars, pys)
    assert out == ["yi2", "ge4", "bu2", "shi4", "di4", "yi1", "kan4", "yi5", "kan4", "bu4",
                   "hao3"]
    units = kokoro_g2p.zh_units("我有3个，好吗？")
    assert [u.text for u in units if u.spoken] == ["我", "有", "3", "个"] + ["好", "吗"]
    assert "sa" in next(u for u in units if u.text == "3").phonemes  # 三
    marks = [u for u in units if u.text and u.text in "，？"]
    assert [u.pause for u in marks] == [0.15, 0.35]


def test_bad_voice_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(tts.TTSError, match="no Kokoro voice"):
        tts.synthesize("你好", VoiceProfile(backend="kokoro", voice="zf_nobody"), "zh")
    bad = tmp_path / "v.bin"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(tts.TTSError, match="not a Kokoro voice"):
        tts.synthesize("你好", VoiceProfile(backend="kokoro", voice=str(bad)), "zh")


@pytest.mark.realweights
def test_real_kokoro_sounds_like_speech(monkeypatch: pytest.MonkeyPatch, offline: None) -> None:
    monkeypatch.delenv(kokoro.MODEL_ENV)
    from tests.engine.audio.test_tts import _pitch_hz

    her = tts.synthesize(ZH, VoiceProfile(backend="kokoro", voice="zf_xiaobei"), "zh")
    him = tts.synthesize(ZH, VoiceProfile(backend="kokoro", voice="zm_yunxi"), "zh")
    chars = sum(1 for c in ZH if "\u4e00" <= c <= "\u9fff")
    assert 2.0 <= chars / her.duration <= 7.0  # Mandarin speech pace
    assert _pitch_hz(her) > _pitch_hz(him) * 1.3
    en = tts.synthesize(EN, VoiceProfile(backend="kokoro", voice="af_heart"), "en")
    assert 1.5 <= len(EN.split()) / en.duration <= 5.0
    # speech energy sits in the voice band
    spec = np.abs(np.fft.rfft(her.samples)) ** 2
    freqs = np.fft.rfftfreq(len(her.samples), 1 / her.sample_rate)
    assert spec[(freqs > 80) & (freqs < 4000)].sum() > 0.8 * spec.sum()
