"""How a line is delivered: emotion → prosody, and where it is heard (phone, off screen).

Prosody: a line's emotion (the parenthetical, e.g. （强忍哽咽）, or the inspector's emotion
field) is matched against a table of cues; each cue changes rate, pitch (semitones),
energy (dB) and pauses (a factor on the pauses at marks). A project can edit the table:
``project.settings["prosody"] = {"哽咽": {"rate": 0.8, ...}, "耳语": {...}}`` adds or
overrides cues. Several matching cues combine (rates and pause factors multiply, pitch and
energy add).

Placement: a line heard through a phone (电话/手机/phone in its emotion, or in the shot's
or scene's action) gets a telephone band (300–3400 Hz, steep Butterworth band-pass),
light saturation and a small room; an off-screen line (画外音/OS/V.O.) is softer and
further away; the narrator stays dry and close. Effects come from ``pedalboard`` (GPL-3.0)
and scipy's filters.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from engine.errors import StoryreelError
from engine.model import VoiceProfile

PHONE_BAND = (300.0, 3400.0)
EFFECTS_VERSION = 1  # bump when the phone/off-screen sound changes: those lines are redone
OFFSCREEN_DB = -5.0  # an off-screen line sits this far behind the others


@dataclass(frozen=True)
class Prosody:
    rate: float = 1.0
    pitch: float = 0.0  # semitones
    energy: float = 0.0  # dB
    pause: float = 1.0  # factor on pauses at marks

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


DEFAULT_TABLE: dict[str, Prosody] = {
    "冷笑": Prosody(rate=0.92, pitch=-1.0, energy=-1.0, pause=1.3),
    "哽咽": Prosody(rate=0.8, pitch=1.0, energy=-4.0, pause=1.8),
    "愤怒": Prosody(rate=1.15, pitch=2.5, energy=4.0, pause=0.7),
    "低声": Prosody(rate=0.88, pitch=-1.5, energy=-7.0, pause=1.2),
    "喘气": Prosody(rate=1.05, pitch=0.5, energy=-2.0, pause=1.6),
    "笑": Prosody(rate=1.08, pitch=2.0, energy=1.5, pause=0.9),
    "惊讶": Prosody(rate=1.1, pitch=3.0, energy=2.0, pause=0.9),
    "严肃": Prosody(rate=0.9, pitch=-1.5, energy=0.0, pause=1.2),
}
SYNONYMS: dict[str, str] = {
    "怒": "愤怒", "吼": "愤怒", "angry": "愤怒", "anger": "愤怒", "shout": "愤怒",
    "冷哼": "冷笑", "sneer": "冷笑", "scoff": "冷笑",
    "哭": "哽咽", "抽泣": "哽咽", "choked": "哽咽", "sob": "哽咽", "tearful": "哽咽",
    "轻声": "低声", "小声": "低声", "耳语": "低声", "whisper": "低声", "quietly": "低声",
    "喘": "喘气", "panting": "喘气", "breathless": "喘气",
    "laugh": "笑", "smil": "笑", "giggl": "笑",
    "震惊": "惊讶", "吃惊": "惊讶", "surprise": "惊讶", "shock": "惊讶",
    "正色": "严肃", "serious": "严肃", "stern": "严肃",
}
PHONE_WORDS = ("电话", "手机", "听筒", "phone", "telephone", "on the line")
OFFSCREEN_WORDS = ("画外音", "画外", "o.s.", "v.o.", "os", "vo", "off-screen", "offscreen")


class DeliveryError(StoryreelError):
    """A project's prosody table is not usable."""


def table_for(settings: dict[str, Any] | None) -> dict[str, Prosody]:
    """The default cues with the project's own (``settings["prosody"]``) over them."""
    table = dict(DEFAULT_TABLE)
    raw = (settings or {}).get("prosody") or {}
    if not isinstance(raw, dict):
        raise DeliveryError("The project's prosody table must map emotion words to settings.")
    for word, values in raw.items():
        if not isinstance(values, dict):
            raise DeliveryError(f"Prosody for {word!r} must be a set of rate/pitch/energy/pause.")
        unknown = set(values) - {"rate", "pitch", "energy", "pause"}
        if unknown:
            raise DeliveryError(f"Prosody for {word!r} has unknown setting {sorted(unknown)[0]!r}"
                                "; use rate, pitch, energy, pause.")
        try:
            p = Prosody(**{k: float(v) for k, v in values.items()})
        except (TypeError, ValueError) as exc:
            raise DeliveryError(f"Prosody for {word!r} must be numbers.") from exc
        if not (0.5 <= p.rate <= 2.0 and -12 <= p.pitch <= 12 and -20 <= p.energy <= 12
                and 0.0 <= p.pause <= 4.0):
            raise DeliveryError(f"Prosody for {word!r} is out of range (rate 0.5–2, pitch ±12, "
                                "energy −20…+12 dB, pause 0–4).")
        table[str(word)] = p
    return table


def prosody_for(emotion: str, table: dict[str, Prosody]) -> tuple[Prosody, list[str]]:
    """The combined prosody of every cue found in ``emotion``, and the cues' names."""
    text = emotion.lower()
    found: list[str] = []
    for word in sorted(table, key=len, reverse=True):  # 冷笑 before 笑
        if word.lower() in text and not any(word in f for f in found):
            found.append(word)
    for alias, word in SYNONYMS.items():
        if alias in text and word in table and word not in found \
                and not any(alias in f for f in found):
            found.append(word)
    rate, pitch, energy, pause = 1.0, 0.0, 0.0, 1.0
    for word in found:
        p = table[word]
        rate, pitch, energy, pause = rate * p.rate, pitch + p.pitch, energy + p.energy, \
            pause * p.pause
    return Prosody(round(rate, 4), round(pitch, 3), round(energy, 3), round(pause, 4)), found


def _has(words: tuple[str, ...], text: str) -> bool:
    low = text.lower()
    for w in words:
        if w.isascii():
            if re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", low):
                return True
        elif w in text:
            return True
    return False


def placement_for(emotion: str, context: str = "", narrator: bool = False) -> str:
    """"phone", "offscreen" or "" (in the room) for a line; the narrator is always ""."""
    if narrator:
        return ""
    if _has(PHONE_WORDS, emotion) or _has(PHONE_WORDS, context):
        return "phone"
    if _has(OFFSCREEN_WORDS, emotion):
        return "offscreen"
    return ""


def apply_prosody(profile: VoiceProfile, prosody: Prosody) -> VoiceProfile:
    return VoiceProfile(backend=profile.backend, voice=profile.voice,
                        rate=max(0.25, min(4.0, profile.rate * prosody.rate)),
                        pitch=max(-24.0, min(24.0, profile.pitch + prosody.pitch)),
                        volume=profile.volume + prosody.energy)


def place(samples: np.ndarray, sample_rate: int, placement: str) -> np.ndarray:
    """The line as heard on a phone or from off screen ("" returns it unchanged)."""
    if not placement:
        return samples
    from pedalboard import Distortion, LowpassFilter, Pedalboard, Reverb
    from scipy.signal import butter, sosfilt

    x = samples.astype(np.float32)
    if placement == "phone":
        lo, hi = PHONE_BAND
        hi = min(hi, sample_rate * 0.45)
        sos = butter(8, [lo, hi], btype="bandpass", fs=sample_rate, output="sos")
        x = sosfilt(sos, x).astype(np.float32)
        board = Pedalboard([Distortion(drive_db=8.0),
                            Reverb(room_size=0.08, damping=0.7, wet_level=0.08, dry_level=0.95,
                                   width=0.0)])
        y = board(x[None, :], sample_rate)[0]
        # the saturation and room add a little out-of-band energy: band-limit once more
        y = sosfilt(sos, y).astype(np.float32)
    elif placement == "offscreen":
        board = Pedalboard([LowpassFilter(cutoff_frequency_hz=4500.0),
                            Reverb(room_size=0.45, damping=0.5, wet_level=0.22, dry_level=0.8,
                                   width=0.0)])
        y = board(x[None, :], sample_rate)[0]
    else:
        raise DeliveryError(f"Unknown placement {placement!r}; use phone or offscreen.")
    # the phone keeps the line's level (it must stay clear); off screen sits 5 dB back
    rms_in = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0
    rms_out = float(np.sqrt(np.mean(y.astype(np.float64) ** 2))) if len(y) else 0.0
    if rms_out > 1e-9:
        y = y * (rms_in / rms_out) * (10 ** (OFFSCREEN_DB / 20.0) if placement == "offscreen"
                                       else 1.0)
    peak = float(np.abs(y).max()) if len(y) else 0.0
    if peak > 0.95:
        y = y * (0.95 / peak)
    return y.astype(np.float32)
