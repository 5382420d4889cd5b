"""EBU R128 / ITU-R BS.1770-4 loudness and true peak, measured block by block.

``LoudnessMeter`` takes audio in any number of blocks (float32, shape (channels, n) at
48 kHz) and keeps only the K-weighting filter's input history and one mean-square value
per 100 ms, so memory stays flat however long the film is. The K-weighting (two biquads)
is applied as its impulse response, long enough that what is cut off is below double
precision, by FFT convolution: numpy alone, no scipy.signal to import on every export.
``TruePeakMeter`` estimates inter-sample peaks by 4× polyphase oversampling (BS.1770-4
Annex 2), carrying its filter history.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

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


_K_TAPS = 8192  # the slowest pole (radius 0.99504) has decayed to ~1e-18 by then


def _biquad_impulse(b: np.ndarray, a: np.ndarray, x: np.ndarray) -> np.ndarray:
    y = np.zeros_like(x)
    x1 = x2 = y1 = y2 = 0.0
    for n, xn in enumerate(x.tolist()):
        yn = b[0] * xn + b[1] * x1 + b[2] * x2 - a[1] * y1 - a[2] * y2
        x2, x1, y2, y1 = x1, xn, y1, yn
        y[n] = yn
    return y


_k_response: np.ndarray | None = None


def k_weighting_response() -> np.ndarray:
    """The K-weighting filter's impulse response (``_K_TAPS`` samples at 48 kHz)."""
    global _k_response
    if _k_response is None:
        impulse = np.zeros(_K_TAPS)
        impulse[0] = 1.0
        _k_response = _biquad_impulse(_HP_B, _HP_A,
                                      _biquad_impulse(_SHELF_B, _SHELF_A, impulse))
    return _k_response


_k_spectra: dict[int, np.ndarray] = {}


def _k_spectrum(size: int) -> np.ndarray:
    """The K-weighting response's spectrum at FFT ``size`` (computed once per size)."""
    spectrum = _k_spectra.get(size)
    if spectrum is None:
        spectrum = _k_spectra[size] = np.fft.rfft(k_weighting_response(), size)
    return spectrum


class LoudnessMeter:
    """Integrated loudness (LUFS) of audio fed block by block at 48 kHz."""

    def __init__(self, channels: int) -> None:
        self.channels = channels
        self._hist = np.zeros((channels, _K_TAPS - 1))  # the last inputs, for the filter
        self._sub: list[float] = []  # channel-summed mean square per 100 ms step
        self._acc = 0.0
        self._acc_n = 0

    HISTORY = _K_TAPS - 1  # samples before a block that its measure depends on

    def prime(self, history: np.ndarray) -> None:
        """Start as if ``history`` (channels, ≤ HISTORY; the samples just before the next
        block) had been fed: the next block's 100 ms steps are then those of a meter fed
        everything, provided the blocks start on a 100 ms step."""
        h = np.asarray(history, dtype=np.float64).reshape(self.channels, -1)
        self._hist = np.zeros((self.channels, _K_TAPS - 1))
        n = min(h.shape[1], _K_TAPS - 1)
        if n:
            self._hist[:, -n:] = h[:, -n:]

    @property
    def steps(self) -> list[float]:
        """The channel-summed mean square of each whole 100 ms step fed so far."""
        return list(self._sub)

    @classmethod
    def from_steps(cls, channels: int, steps: Iterable[float]) -> LoudnessMeter:
        """A meter holding these 100 ms steps (for ``integrated``)."""
        meter = cls(channels)
        meter._sub = [float(x) for x in steps]
        return meter

    def _k_weighted(self, x: np.ndarray) -> np.ndarray:
        ext = np.concatenate([self._hist, x], axis=1)
        self._hist = ext[:, -(_K_TAPS - 1):]
        size = 1 << int(ext.shape[1] + _K_TAPS - 1).bit_length()
        spectrum = np.fft.rfft(ext, size, axis=1) * _k_spectrum(size)[None, :]
        full = np.fft.irfft(spectrum, size, axis=1)
        return full[:, _K_TAPS - 1 : ext.shape[1]]

    def add(self, block: np.ndarray) -> None:
        x = np.asarray(block, dtype=np.float64).reshape(self.channels, -1)
        if x.shape[1] == 0:
            return
        y = self._k_weighted(x)
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
        return self.integrated_scaled(1.0)

    def integrated_scaled(self, gain: float) -> float:
        """The integrated loudness of what was fed, multiplied by the linear ``gain``
        (the filter is linear: each block's power scales by gain², gated again)."""
        z = self.block_powers() * (gain * gain)
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
    """The 4× interpolation filter (a Kaiser-windowed sinc, β = 8, cut at 0.92 of the
    original Nyquist), split into its phases: (phase, taps)."""
    taps = OVERSAMPLE * _TP_TAPS
    cutoff = 1.0 / OVERSAMPLE * 0.92
    m = np.arange(taps) - 0.5 * (taps - 1)
    h = cutoff * np.sinc(cutoff * m) * np.kaiser(taps, 8.0)
    h /= h.sum()
    return (h * OVERSAMPLE).reshape(_TP_TAPS, OVERSAMPLE).T  # (phase, taps)


class TruePeakMeter:
    """Maximum absolute value of the 4× oversampled signal, over blocks."""

    def __init__(self, channels: int) -> None:
        self.channels = channels
        self._phases = _tp_filter()
        # row j: tap j of each phase, applied to the input j samples into the window
        self._matrix = np.ascontiguousarray(self._phases[:, ::-1].T)  # (taps, phase)
        self._hist = np.zeros((channels, _TP_TAPS - 1))
        self.peak = 0.0

    def prime(self, history: np.ndarray) -> None:
        """Start as if ``history`` (the samples just before the next block) had been fed."""
        h = np.asarray(history, dtype=np.float64).reshape(self.channels, -1)
        self._hist = np.zeros((self.channels, _TP_TAPS - 1))
        n = min(h.shape[1], _TP_TAPS - 1)
        if n:
            self._hist[:, -n:] = h[:, -n:]

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
        acc = np.empty(n)
        for c in range(self.channels):
            for phase in self._matrix.T:  # each phase's points: taps × shifted inputs
                acc[:] = 0.0
                for j, tap in enumerate(phase.tolist()):
                    acc += tap * ext[c, j : j + n]
                np.abs(acc, out=acc)
                np.maximum(out, acc, out=out)
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
