"""Local voice servers with an OpenAI-compatible speech endpoint (backend ``server``).

GPT-SoVITS, CosyVoice and IndexTTS wrappers (and many others) expose
``POST /v1/audio/speech`` with ``{"model", "input", "voice", "response_format", "speed"}``,
so a user's own cloned voices can speak their lines. A profile's ``voice`` is the endpoint
and the server's voice name after ``#``, optionally ``?model=NAME``:

    http://127.0.0.1:9880/v1/audio/speech#my_clone
    http://localhost:8000/v1#alice?model=cosyvoice2

(a URL ending in ``/v1`` gets ``/audio/speech`` added). Lines are sent one sentence at a
time; each answer is trimmed of its silence, and the sentence's characters (words in
English) are spread over its voiced span: timings come from silence detection, cue starts
and ends are the audio's own. A server that does not answer, or answers with an error or
with something that is not audio, is one sentence; nothing is stored from a failed line.
"""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import wave
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.errors import StoryreelError

TIMEOUT = 120.0  # seconds for one sentence
SENTENCE = re.compile(r"[^。！？!?…]+[。！？!?…]*[”」』\"]?|[。！？!?…]+")
PAUSE = 0.35


class ServerError(StoryreelError):
    """A voice server cannot be used."""


@dataclass(frozen=True)
class Endpoint:
    url: str
    voice: str
    model: str


def parse(voice: str) -> Endpoint:
    raw = voice.strip()
    model = "tts-1"
    if "?model=" in raw:
        raw, model = raw.split("?model=", 1)
    url, _, name = raw.partition("#")
    parts = urllib.parse.urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ServerError(f"{voice!r} is not a voice server address; use e.g. "
                          "http://127.0.0.1:9880/v1/audio/speech#voice_name.")
    if url.rstrip("/").endswith("/v1"):
        url = url.rstrip("/") + "/audio/speech"
    if not name:
        raise ServerError(f"{voice!r} names no voice; add #VOICE after the address.")
    return Endpoint(url, name, model or "tts-1")


def _decode(data: bytes, where: str) -> tuple[np.ndarray, int]:
    if data[:4] == b"RIFF":
        try:
            with wave.open(io.BytesIO(data)) as wf:
                sr, ch, width = wf.getframerate(), wf.getnchannels(), wf.getsampwidth()
                frames = wf.readframes(wf.getnframes())
        except (wave.Error, EOFError) as exc:
            raise ServerError(f"The voice server at {where} sent a broken WAV ({exc}).") from exc
        if width == 2:
            x = np.frombuffer(frames, "<i2").astype(np.float32) / 32768.0
        elif width == 4:
            x = np.frombuffer(frames, "<i4").astype(np.float32) / 2147483648.0
        elif width == 1:
            x = (np.frombuffer(frames, np.uint8).astype(np.float32) - 128.0) / 128.0
        else:
            raise ServerError(f"The voice server at {where} sent {8 * width}-bit audio.")
        return x.reshape(-1, ch).mean(axis=1), sr
    try:  # mp3, flac, ogg…: PyAV reads them
        import av

        with av.open(io.BytesIO(data)) as container:
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono")
            chunks = [f.to_ndarray().reshape(-1) for frame in container.decode(stream)
                      for f in resampler.resample(frame)]
            sr = int(stream.rate)
        if not chunks:
            raise ServerError(f"The voice server at {where} sent no audio.")
        return np.concatenate(chunks).astype(np.float32), sr
    except (av.error.FFmpegError, IndexError) as exc:
        raise ServerError(f"The voice server at {where} did not send audio.") from exc


def request_speech(ep: Endpoint, text: str, speed: float) -> tuple[np.ndarray, int]:
    body = json.dumps({"model": ep.model, "input": text, "voice": ep.voice,
                       "response_format": "wav", "speed": float(speed)}).encode("utf-8")
    req = urllib.request.Request(ep.url, data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:  # noqa: S310 - user's server
            data = resp.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:200].decode("utf-8", "replace").strip()
        raise ServerError(f"The voice server at {ep.url} refused the line (HTTP {exc.code}"
                          f"{': ' + detail if detail else ''}).") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServerError(f"The voice server at {ep.url} does not answer ({reason}); start it "
                          "or choose another voice.") from exc
    return _decode(data, ep.url)


def _voiced_span(x: np.ndarray, sr: int) -> tuple[int, int]:
    frame = max(1, sr // 100)
    n = len(x) // frame
    if n == 0:
        return 0, len(x)
    rms = np.sqrt(np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1))
    loud = np.nonzero(rms > max(1e-4, rms.max() * 0.03))[0]
    if len(loud) == 0:
        return 0, len(x)
    return int(loud[0]) * frame, min(len(x), int(loud[-1] + 1) * frame)


_UNITS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[A-Za-z0-9][A-Za-z0-9'’\-]*")


def speak(text: str, voice: str, speed: float = 1.0
          ) -> tuple[np.ndarray, int, list[dict[str, Any]]]:
    """Speak ``text`` sentence by sentence: (samples, sample rate, timings)."""
    ep = parse(voice)
    pieces: list[np.ndarray] = []
    timings: list[dict[str, Any]] = []
    sr_all = 0
    at = 0
    for m in SENTENCE.finditer(text):
        sentence = m.group().strip()
        if not _UNITS.search(sentence):
            continue
        x, sr = request_speech(ep, sentence, speed)
        if sr_all and sr != sr_all:
            from scipy.signal import resample_poly

            x = resample_poly(x, sr_all, sr).astype(np.float32)
        sr_all = sr_all or sr
        a, b = _voiced_span(x, sr_all)
        head = int(0.05 * sr_all)
        a0 = max(0, a - head)
        units = [(u.group(), m.start() + m.group().index(sentence) + u.start())
                 for u in _UNITS.finditer(sentence)]
        letters = sum(len(u) for u, _ in units) or 1
        acc = 0
        for unit, pos in units:
            s = a + (b - a) * acc / letters
            acc += len(unit)
            e = a + (b - a) * acc / letters
            timings.append({"text": unit, "pos": pos, "start": (at + s - a0) / sr_all,
                            "end": (at + e - a0) / sr_all})
        piece = x[a0:b]
        pieces.append(piece)
        at += len(piece)
        gap = np.zeros(int(PAUSE * sr_all), dtype=np.float32)
        pieces.append(gap)
        at += len(gap)
    if not pieces:
        raise ServerError(f"There is nothing to say in {text[:30]!r}.")
    samples = np.concatenate(pieces).astype(np.float32)
    for t in timings:
        t["start"], t["end"] = round(t["start"], 4), round(t["end"], 4)
    return samples, sr_all, timings
