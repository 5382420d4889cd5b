"""EBU R128 / ITU-R BS.1770-4 loudness and true peak, measured block by block.

``LoudnessMeter`` takes audio in any number of blocks (float32, shape (channels, n) at
48 kHz) and keeps only the K-weighting filter state and one mean-square value per 100 ms,
so memory stays flat however long the film is. ``TruePeakMeter`` estimates inter-sample
peaks by 4× polyphase oversampling (BS.1770-4 Annex 2), carrying its filter history.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from scipy.signal import firwin, lfilter

from engine.audio.decode import SourceReader, probe_channels

MEASURE_RATE = 48000
# BS.1770-4 K-weighting at 48 kHz: stage 1 (head shelf) and stage 2 (RLB high-pass)
_SHELF_B = np.array([1.53512485958697, -2.69169618940638, 1.19839281085285])
_SHELF_A = np.array([1.0, -1.69065929318241, 0.73248077421585])
_HP_B = np.array([1.0, -2.0, 1.0])
_HP_A = np.array([1.0, -1.99004745483398, 0.99007225036621])
STEP = MEASURE_RATE // 10  # 100 ms: gating blocks of 400 ms overlap by 75 %
ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0
OVERSAMPLE = 4
_TP_TAPS = 12  # per phase


def _lufs(power: float) -> float:
    return -0.691 + 10.0 * math.log10(power) if power > 0 else -math.inf


class LoudnessMeter:
    """Integrated loudness (LUFS) of audio fed block by block at 48 kHz."""

    def __init__(self, channels: int) -> None:
        self.channels = channels
        self._z1 = np.zeros((channels, 2))
        self._z2 = np.zeros((channels, 2))
        self._sub: list[float] = []  # channel-summed mean square per 100 ms step
        self._acc = 0.0
        self._acc_n = 0

    def add(self, block: np.ndarray) -> None:
        x = np.asarray(block, dtype=np.float64).reshape(self.channels, -1)
        if x.shape[1] == 0:
            return
        y, self._z1 = lfilter(_SHELF_B, _SHELF_A, x, axis=1, zi=self._z1)
        y, self._z2 = lfilter(_HP_B, _HP_A, y, axis=1, zi=self._z2)
        sq = np.sum(y * y, axis=0)  # channel weights are 1.0 for L, R and mono
        pos = 0
        n = len(sq)
        while pos < n:
            take = min(STEP - self._acc_n, n - pos)
            self._acc += float(np.sum(sq[pos : pos + take]))
            self._acc_n += take
            pos += take
            if self._acc_n == STEP:
                self._sub.append(self._acc / STEP)
                self._acc, self._acc_n = 0.0, 0

    def block_powers(self) -> np.ndarray:
        sub = np.array(self._sub)
        if len(sub) < 4:
            return np.zeros(0)
        kernel = np.ones(4) / 4.0
        return np.convolve(sub, kernel, mode="valid")

    @property
    def integrated(self) -> float:
        z = self.block_powers()
        if len(z) == 0:
            return -math.inf
        loud = -0.691 + 10.0 * np.log10(np.maximum(z, 1e-30))
        z = z[loud > ABSOLUTE_GATE]
        if len(z) == 0:
            return -math.inf
        relative = _lufs(float(np.mean(z))) + RELATIVE_GATE
        loud = -0.691 + 10.0 * np.log10(z)
        z = z[loud > relative]
        return _lufs(float(np.mean(z))) if len(z) else -math.inf


def _tp_filter() -> np.ndarray:
    h = firwin(OVERSAMPLE * _TP_TAPS, 1.0 / OVERSAMPLE * 0.92, window=("kaiser", 8.0))
    return (h * OVERSAMPLE).reshape(_TP_TAPS, OVERSAMPLE).T  # (phase, taps)


class TruePeakMeter:
    """Maximum absolute value of the 4× oversampled signal, over blocks."""

    def __init__(self, channels: int) -> None:
        self.channels = channels
        self._phases = _tp_filter()
        self._hist = np.zeros((channels, _TP_TAPS - 1))
        self.peak = 0.0

    def oversampled_peaks(self, block: np.ndarray) -> np.ndarray:
        """Per input sample, the largest |value| among its 4 oversampled points (all
        channels); updates the running peak and the filter history."""
        x = np.asarray(block, dtype=np.float64).reshape(self.channels, -1)
        n = x.shape[1]
        if n == 0:
            return np.zeros(0)
        ext = np.concatenate([self._hist, x], axis=1)
        self._hist = ext[:, -(_TP_TAPS - 1):]
        out = np.abs(x).max(axis=0)
        for c in range(self.channels):
            for h in self._phases:
                y = np.convolve(ext[c], h, mode="valid")  # length n
                np.maximum(out, np.abs(y), out=out)
        if len(out):
            self.peak = max(self.peak, float(out.max()))
        return out

    def add(self, block: np.ndarray) -> None:
        self.oversampled_peaks(block)

    @property
    def dbtp(self) -> float:
        return 20.0 * math.log10(self.peak) if self.peak > 0 else -math.inf


def iter_decoded(path: str | Path, sample_rate: int = MEASURE_RATE, channels: int = 2,
                 block: int = MEASURE_RATE * 5) -> Iterable[np.ndarray]:
    """Decode any audio/video file's first audio stream to float32 (channels, n) blocks."""
    reader = SourceReader(Path(path), sample_rate=sample_rate, channels=channels)
    try:
        while True:
            data = reader.read(block)
            if data.shape[1] == 0:
                return
            yield data
            if reader.exhausted:
                return
    finally:
        reader.close()


def measure_loudness(path: str | Path) -> tuple[float, float]:
    """(integrated loudness in LUFS, true peak in dBTP) of an audio or video file.

    A mono file is measured as mono (BS.1770 weights each channel once).
    """
    channels = min(2, probe_channels(Path(path)))
    meter = LoudnessMeter(channels)
    peak = TruePeakMeter(channels)
    for block in iter_decoded(path, MEASURE_RATE, channels):
        meter.add(block)
        peak.add(block)
    return meter.integrated, peak.dbtp
