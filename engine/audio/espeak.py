"""espeak-ng through its C API (ctypes), from the ``espeakng-loader`` wheel.

The wheel ships ``libespeak-ng`` and its data (Mandarin ``cmn`` and English ``en`` among
many), so nothing is downloaded. We synthesize synchronously into memory
(AUDIO_OUTPUT_SYNCHRONOUS) and collect the samples and the WORD events the library emits;
each event gives the word's character position in the text and its audio position, which
become word (or, for Chinese, character group) timings.

espeak-ng keeps global state, so every call holds one process-wide lock.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.errors import StoryreelError

AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_INITIALIZE_DONT_EXIT = 0x8000
EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1
EVENT_END = 5
EVENT_MSG_TERMINATED = 6
POS_CHARACTER = 1
CHARS_UTF8 = 1
PARAM_RATE = 1
PARAM_VOLUME = 2
PARAM_PITCH = 3
PARAM_RANGE = 4
EE_OK = 0

DEFAULT_RATE_WPM = 175  # espeak's own default words per minute
DEFAULT_PITCH = 50  # espeak's 0..100 base pitch


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass
class WordEvent:
    text_position: int  # 0-based character index into the synthesized text
    length: int  # characters
    sample: int  # sample index where the word starts


class _Engine:
    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise StoryreelError("The espeak-ng voice is not installed (espeakng-loader).") from exc
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data = espeakng_loader.get_data_path().encode()
        # espeak wants the folder that *contains* espeak-ng-data, or the data folder itself
        lib = self.lib
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.POINTER(ctypes.c_uint), ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_Synchronize.restype = ctypes.c_int
        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data, ESPEAK_INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise StoryreelError("espeak-ng could not start (its voice data is missing).")
        self.sample_rate = int(rate)
        self._chunks: list[np.ndarray] = []
        self._events: list[WordEvent] = []
        self._count = 0
        self._callback = _CALLBACK(self._on_audio)  # keep a reference: C holds the pointer
        lib.espeak_SetSynthCallback(self._callback)

    def _on_audio(self, wav: Any, numsamples: int, events: Any) -> int:
        if numsamples > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(numsamples,)).copy())
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            ev = events[i]
            if ev.type == EVENT_WORD:
                # audio_position is in ms from the start of this message
                sample = int(round(ev.audio_position * self.sample_rate / 1000.0))
                self._events.append(WordEvent(ev.text_position - 1, ev.length, sample))
            i += 1
        self._count += max(0, numsamples)
        return 0  # 0 = continue

    def synth(
        self, text: str, voice: str, rate_wpm: int, pitch: int, range_: int = 50
    ) -> tuple[np.ndarray, list[WordEvent]]:
        lib = self.lib
        if lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
            raise StoryreelError(f"espeak-ng has no voice named {voice!r}.")
        lib.espeak_SetParameter(PARAM_RATE, int(rate_wpm), 0)
        lib.espeak_SetParameter(PARAM_PITCH, int(pitch), 0)
        lib.espeak_SetParameter(PARAM_RANGE, int(range_), 0)
        lib.espeak_SetParameter(PARAM_VOLUME, 100, 0)
        self._chunks, self._events, self._count = [], [], 0
        data = text.encode("utf-8")
        buf = ctypes.create_string_buffer(data)
        err = lib.espeak_Synth(buf, len(data) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8, None, None)
        if err != EE_OK:
            raise StoryreelError(f"espeak-ng could not speak the text (error {err}).")
        lib.espeak_Synchronize()
        samples = (
            np.concatenate(self._chunks).astype(np.float32) / 32768.0
            if self._chunks else np.zeros(0, np.float32)
        )
        return samples, list(self._events)


_ENGINE: _Engine | None = None
_LOCK = threading.Lock()


def synthesize(
    text: str, voice: str, rate_wpm: int = DEFAULT_RATE_WPM, pitch: int = DEFAULT_PITCH,
    range_: int = 50,
) -> tuple[np.ndarray, int, list[WordEvent]]:
    """Speak ``text`` with espeak voice ``voice`` ("cmn", "en-us+f3"...).

    Returns (float32 mono samples, sample rate, word events).
    """
    global _ENGINE
    with _LOCK:
        if _ENGINE is None:
            _ENGINE = _Engine()
        samples, events = _ENGINE.synth(text, voice, rate_wpm, pitch, range_)
        return samples, _ENGINE.sample_rate, events


def available() -> bool:
    try:
        import espeakng_loader  # noqa: F401
    except ImportError:
        return False
    return True
