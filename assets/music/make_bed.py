"""Synthesizes assets/music/gentle-bed.ogg: the default music bed (CC0, made here).

A 48 s loop at 80 bpm in A minor (Am – F – C – G, four times), a soft detuned pad, a
plucked eighth-note pulse on the chord roots and a quiet arpeggio. Everything is numpy
sine/partials with envelopes; the tail that rings past 48 s is folded back onto the
start, so the file loops without a seam. Encoded as Opus in Ogg with PyAV.

Run: .venv/bin/python assets/music/make_bed.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SR = 48000
BPM = 80.0
BEAT = 60.0 / BPM
BAR = 4 * BEAT  # 3 s
BARS = 16
LENGTH = BARS * BAR  # 48 s
TAIL = 4.0
CHORDS = [  # MIDI notes: Am, F, C, G
    [57, 60, 64, 69],
    [53, 57, 60, 65],
    [48, 55, 60, 64],
    [55, 59, 62, 67],
]


def hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def pad_voice(freq: float, seconds: float, detune: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    out = np.zeros_like(t)
    for k, amp in ((1, 1.0), (2, 0.35), (3, 0.12), (4, 0.05)):
        phase = rng.uniform(0, 2 * np.pi)
        vibrato = 0.0015 * np.sin(2 * np.pi * 0.2 * t + phase)
        out += amp * np.sin(2 * np.pi * freq * k * (1 + detune + vibrato) * t + phase)
    attack, release = 0.9, 1.6
    env = np.minimum(1.0, t / attack) * np.clip((seconds - t) / release, 0.0, 1.0) ** 0.7
    return out * env


def pluck(freq: float, seconds: float, decay: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    tone = np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(2 * np.pi * 2 * freq * t)
    env = np.exp(-t / decay) * np.minimum(1.0, t / 0.004)
    return tone * env


def render() -> np.ndarray:
    rng = np.random.default_rng(7)
    total = int((LENGTH + TAIL) * SR)
    left = np.zeros(total)
    right = np.zeros(total)

    def add(sig: np.ndarray, start: float, pan: float, gain: float) -> None:
        i = int(start * SR)
        n = min(len(sig), total - i)
        left[i : i + n] += sig[:n] * gain * np.cos((pan + 1) * np.pi / 4)
        right[i : i + n] += sig[:n] * gain * np.sin((pan + 1) * np.pi / 4)

    for bar in range(BARS):
        chord = CHORDS[bar % len(CHORDS)]
        start = bar * BAR
        for j, note in enumerate(chord):
            pan = -0.5 + j / (len(chord) - 1)
            for detune in (-0.002, 0.002):
                add(pad_voice(hz(note), BAR + 1.4, detune, rng), start, pan, 0.05)
        root = hz(chord[0] - 12)
        for eighth in range(8):
            accent = 1.0 if eighth % 2 == 0 else 0.6
            add(pluck(root, 1.2, 0.28), start + eighth * BEAT / 2, 0.0, 0.11 * accent)
        arp = [chord[1] + 12, chord[2] + 12, chord[3] + 12, chord[2] + 12]
        if bar >= 4:  # the arpeggio joins after the first phrase
            for k, note in enumerate(arp):
                add(pluck(hz(note), 1.5, 0.45), start + k * BEAT, 0.35 - 0.2 * k, 0.035)
    mix = np.stack([left, right])
    # fold the ringing tail onto the start: a seamless loop of exactly LENGTH seconds
    n = int(LENGTH * SR)
    tail = mix[:, n:]
    mix = mix[:, :n].copy()
    mix[:, : tail.shape[1]] += tail
    # gentle low-pass (one pole) for a warm, unobtrusive bed
    from scipy.signal import lfilter

    a = np.exp(-2 * np.pi * 3500 / SR)
    mix = lfilter([1 - a], [1, -a], mix, axis=1)
    mix *= 0.5 / np.abs(mix).max()
    return mix.astype(np.float32)


def encode(mix: np.ndarray, path: Path) -> None:
    import av

    with av.open(str(path), "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=SR)
        stream.layout = "stereo"
        stream.bit_rate = 112_000
        step = 960
        for i in range(0, mix.shape[1], step):
            part = np.ascontiguousarray(mix[:, i : i + step])
            if part.shape[1] < step:
                part = np.pad(part, ((0, 0), (0, step - part.shape[1])))
            frame = av.AudioFrame.from_ndarray(part, format="fltp", layout="stereo")
            frame.sample_rate = SR
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


if __name__ == "__main__":
    target = Path(__file__).resolve().parent / "gentle-bed.ogg"
    encode(render(), target)
    print(f"wrote {target} ({target.stat().st_size // 1024} KiB)")
