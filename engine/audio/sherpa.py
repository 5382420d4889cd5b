"""sherpa-onnx voice folders picked by path (backend ``sherpa``).

A profile's ``voice`` is the folder the user unpacked (``vits-piper-en_US-…``,
``vits-melo-tts-zh_en``, ``vits-zh-aishell3``, ``vits-icefall-zh-…``), or its ``.onnx`` file,
optionally followed by ``#N`` to pick speaker N of a multi-speaker model
(``~/voices/vits-zh-aishell3#42``).

What is read from the folder:
- the model: ``model.onnx``, else the one ``*.onnx`` that is not a vocoder;
- ``tokens.txt`` (required), ``lexicon.txt`` (Chinese and MeloTTS voices), ``dict/`` (jieba
  dictionary) and ``*.fst``/``*.far`` rule files (numbers, dates, phones) when present;
- the model's ONNX metadata (read without loading the weights): ``model_type`` must be
  ``vits``; ``sample_rate``, ``n_speakers``, ``language`` and ``comment`` (and MeloTTS's
  version, jieba's dictionary) are checked before the native library sees the model,
  because sherpa-onnx exits the whole process on a model without them.

Voices that phonemize with espeak (piper conversions: ``has_espeak`` = 1, no lexicon) get
their phonemes from piper's espeak-ng bridge, since sherpa-onnx 2.x no longer bundles
espeak. sherpa-onnx gives no word timings, so a line's words are spread over the measured
clip in proportion to their letters (Chinese: per character); cue start and end times are
the clip's own and exact either way.
"""

from __future__ import annotations

import mmap
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import StoryreelError

VOCODER_WORDS = ("vocoder", "vocos", "hifigan")
MAX_METADATA_SCAN = 1 << 31  # ONNX files are protobuf; refuse to walk more than 2 GiB


class SherpaError(StoryreelError):
    """A sherpa-onnx voice folder cannot be used."""


@dataclass(frozen=True)
class SherpaVoice:
    model: Path
    tokens: Path
    lexicon: Path | None
    dict_dir: Path | None
    rule_fsts: tuple[Path, ...]
    rule_fars: tuple[Path, ...]
    metadata: dict[str, str]
    speaker: int

    @property
    def sample_rate(self) -> int:
        return int(self.metadata["sample_rate"])

    @property
    def speakers(self) -> int:
        return int(self.metadata["n_speakers"])  # checked by resolve()

    @property
    def espeak_voice(self) -> str | None:
        """espeak voice to phonemize with, for espeak-based models without a lexicon."""
        if self.lexicon is not None:
            return None
        if self.metadata.get("has_espeak") == "1" or self.metadata.get("comment") == "piper":
            return self.metadata.get("voice") or "en-us"
        return None


def split_voice(voice: str) -> tuple[str, int]:
    """``"path#3"`` → (``"path"``, 3); no suffix → speaker 0."""
    m = re.fullmatch(r"(.*?)#(\d+)", voice.strip())
    if m:
        return m.group(1), int(m.group(2))
    return voice.strip(), 0


def onnx_metadata(path: Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX model, read from the protobuf without loading it.

    A ModelProto's top-level fields are walked: length-delimited ones (the graph, strings)
    are skipped by their length, field 14 entries are decoded. Not an ONNX file → error.
    """
    try:
        size = path.stat().st_size
        if not 0 < size < MAX_METADATA_SCAN:
            raise SherpaError(f"The voice model {path.name} is empty or too large to be a voice.")
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _metadata_props(data, path)
    except OSError as exc:
        raise SherpaError(f"The voice model {path} cannot be read ({exc.strerror}).") from exc


def _metadata_props(data: Any, path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    n = len(data)
    try:
        while pos < n:
            key, pos = _varint(data, pos)
            field_no, wire = key >> 3, key & 7
            if wire == 0:
                _, pos = _varint(data, pos)
            elif wire == 2:
                length, pos = _varint(data, pos)
                if pos + length > n:
                    raise ValueError("truncated")
                if field_no == 14:
                    k, v = _entry(data[pos:pos + length])
                    out[k] = v
                pos += length
            elif wire == 5:
                pos += 4
            elif wire == 1:
                pos += 8
            else:
                raise ValueError(f"wire type {wire}")
            if field_no == 0:
                raise ValueError("field 0")
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise SherpaError(f"{path.name} is not a readable ONNX model ({exc}).") from exc
    return out


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = 0
    value = 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _entry(data: bytes) -> tuple[str, str]:
    fields: dict[int, str] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        length, pos = _varint(data, pos)
        fields[key >> 3] = data[pos:pos + length].decode("utf-8")
        pos += length
    return fields.get(1, ""), fields.get(2, "")


def resolve(voice: str) -> SherpaVoice:
    """Find and check everything a voice folder needs; one clear sentence when it can't."""
    raw, speaker = split_voice(voice)
    if not raw:
        raise SherpaError("A sherpa-onnx voice needs the path of its folder as the voice.")
    path = Path(raw).expanduser()
    if not path.exists():
        raise SherpaError(f"The sherpa-onnx voice {raw} does not exist.")
    folder = path if path.is_dir() else path.parent
    if path.is_dir():
        models = sorted(p for p in folder.glob("*.onnx")
                        if not any(w in p.name.lower() for w in VOCODER_WORDS))
        if not models:
            raise SherpaError(f"The voice folder {folder} has no .onnx model in it.")
        preferred = [p for p in models if p.name == "model.onnx"] or \
            [p for p in models if ".int8." not in p.name] or models
        model = preferred[0]
    else:
        model = path
    tokens = folder / "tokens.txt"
    if not tokens.is_file():
        if (model.with_name(model.name + ".json")).is_file():
            raise SherpaError(f"{model.name} is a piper voice, not a sherpa-onnx one; "
                              "set the voice's engine to piper.")
        raise SherpaError(f"The voice folder {folder} has no tokens.txt, so it is not a "
                          "sherpa-onnx voice.")
    meta = onnx_metadata(model)
    if not meta:
        raise SherpaError(f"{model.name} has no sherpa-onnx metadata (model_type, sample_rate); "
                          "use a converted sherpa-onnx voice folder.")
    kind = meta.get("model_type", "")
    if kind != "vits":
        raise SherpaError(f"sherpa-onnx {kind or 'unknown'} voices are not supported yet; "
                          "use a VITS voice (vits-piper-…, vits-melo-tts-zh_en, "
                          "vits-zh-aishell3, …).")
    for key in ("sample_rate", "n_speakers", "language", "comment"):
        if key not in meta:  # sherpa-onnx exits the process on these: check them first
            raise SherpaError(f"{model.name} lacks the {key!r} metadata sherpa-onnx needs.")
    if not meta["sample_rate"].isdigit() or not 8000 <= int(meta["sample_rate"]) <= 96000:
        raise SherpaError(f"{model.name} declares an impossible sample rate "
                          f"{meta['sample_rate']!r}.")
    if not meta["n_speakers"].isdigit():
        raise SherpaError(f"{model.name} declares {meta['n_speakers']!r} speakers.")
    if "melo" in meta["comment"] and not (meta.get("version", "0").isdigit()
                                          and int(meta.get("version", "0")) >= 2):
        raise SherpaError(f"{model.name} is an old MeloTTS export; sherpa-onnx needs "
                          "version 2 or newer of the voice.")
    lexicons = sorted(folder.glob("lexicon*.txt"))
    lexicon = folder / "lexicon.txt" if (folder / "lexicon.txt").is_file() else \
        (lexicons[0] if lexicons else None)
    dict_dir = folder / "dict" if (folder / "dict").is_dir() else None
    if meta.get("jieba") == "1" and dict_dir is None:
        raise SherpaError(f"{folder.name} needs its dict/ folder (jieba) next to the model.")
    fsts = tuple(sorted(folder.glob("*.fst")))
    fars = tuple(sorted(folder.glob("*.far")))
    result = SherpaVoice(model, tokens, lexicon, dict_dir, fsts, fars, meta, speaker)
    if not 0 <= speaker < max(1, result.speakers):
        raise SherpaError(f"{folder.name} has {result.speakers} speaker(s); "
                          f"#{speaker} does not exist.")
    if result.lexicon is None and result.espeak_voice is None:
        raise SherpaError(f"{folder.name} has no lexicon.txt and does not phonemize with "
                          "espeak, so its text cannot be turned into tokens.")
    return result


_CACHE: dict[tuple[str, int, int], Any] = {}
_LOCK = threading.Lock()


def _engine(v: SherpaVoice) -> Any:
    import sherpa_onnx

    st = v.model.stat()
    key = (str(v.model.resolve()), st.st_size, int(st.st_mtime_ns))
    with _LOCK:
        if key not in _CACHE:
            vits = sherpa_onnx.OfflineTtsVitsModelConfig(
                model=str(v.model), tokens=str(v.tokens),
                lexicon=str(v.lexicon) if v.lexicon else "",
                dict_dir=str(v.dict_dir) if v.dict_dir else "")
            config = sherpa_onnx.OfflineTtsConfig(
                model=sherpa_onnx.OfflineTtsModelConfig(vits=vits, num_threads=2),
                rule_fsts=",".join(str(p) for p in v.rule_fsts),
                rule_fars=",".join(str(p) for p in v.rule_fars), max_num_sentences=1)
            if not config.validate():
                raise SherpaError(f"sherpa-onnx refuses the voice folder {v.model.parent.name}.")
            _CACHE.clear()  # one neural voice in memory at a time
            try:
                _CACHE[key] = sherpa_onnx.OfflineTts(config)
            except Exception as exc:  # noqa: BLE001 - native loader errors vary
                raise SherpaError(f"The voice {v.model.name} cannot be loaded ({exc}).") from exc
        return _CACHE[key]


_PHONEMIZER: Any = None  # piper's espeak-ng bridge, initialised once


def _espeak_phonemes(voice: str, text: str) -> list[list[int]]:
    from piper.phonemize_espeak import EspeakPhonemizer

    global _PHONEMIZER
    if _PHONEMIZER is None:
        _PHONEMIZER = EspeakPhonemizer()
    try:
        sentences = _PHONEMIZER.phonemize(voice, text)
    except Exception as exc:  # noqa: BLE001 - espeak reports unknown voices as RuntimeError
        raise SherpaError(f"espeak cannot phonemize for the voice language {voice!r} "
                          f"({exc}).") from exc
    return [[ord(c) for c in s] for s in sentences if s]


def version() -> str:
    try:
        from importlib.metadata import version as dist_version

        return dist_version("sherpa-onnx")
    except Exception:  # noqa: BLE001
        return "missing"


def cache_tag(voice: str) -> str:
    v = resolve(voice)
    st = v.model.stat()
    return f"sherpa-onnx:{version()}:{v.model.name}:{st.st_size}:{v.speaker}"


def generate(text: str, voice: str, speed: float) -> tuple[np.ndarray, int]:
    """Speak ``text``: float32 mono samples and their sample rate."""
    try:
        import sherpa_onnx
    except ImportError as exc:
        raise SherpaError("sherpa-onnx is not installed (pip install sherpa-onnx).") from exc
    v = resolve(voice)
    tts = _engine(v)
    config = sherpa_onnx.GenerationConfig()
    config.sid = v.speaker
    config.speed = float(speed)
    if v.espeak_voice is not None:
        config.phoneme_codepoints = _espeak_phonemes(v.espeak_voice, text)
    audio = tts.generate(text, config)
    samples = np.asarray(audio.samples, dtype=np.float32)
    if samples.size == 0:
        raise SherpaError(f"The voice {v.model.parent.name} produced no audio for "
                          f"{text[:30]!r}; its tokens may not cover this language.")
    return samples, int(audio.sample_rate)
