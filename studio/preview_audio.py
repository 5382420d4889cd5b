"""Sound for the preview player, through miniaudio (bundled C library, no system headers).

``AudioOut.start(samples, rate, from_frame)`` streams a (frames, channels) float32 array
from ``from_frame`` on miniaudio's own thread; ``stop()`` silences it at once. The array is
only read, so a read-only memory map of the cut's mix WAV is fed without copying it.

Which device: ``STORYREEL_AUDIO`` = ``null`` (a device that consumes samples in real time
without a sound card: tests and offscreen screenshots), ``default``; offscreen Qt means
``null``. A machine with no usable device plays silently and ``error`` says why.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import numpy as np


def _backends() -> list[Any] | None:
    import miniaudio

    choice = os.environ.get("STORYREEL_AUDIO", "").strip().lower()
    if choice == "null" or (not choice and os.environ.get("QT_QPA_PLATFORM") == "offscreen"):
        return [miniaudio.Backend.NULL]
    return None  # miniaudio's own order for the platform


class AudioOut:
    """One playback device, opened on the first ``start`` and kept for the next ones."""

    def __init__(self) -> None:
        self.error = ""
        self.frames_sent = 0  # frames handed to the device since the last start
        self.playing = False
        self._device: Any = None
        self._key: tuple[int, int] | None = None
        try:
            import miniaudio  # noqa: F401

            self.available = True
        except ImportError:
            self.available = False
            self.error = "miniaudio is not installed"

    @property
    def backend(self) -> str:
        return str(getattr(self._device, "backend", "")) if self._device is not None else ""

    def start(self, samples: np.ndarray, sample_rate: int, from_frame: int = 0) -> bool:
        """Play ``samples`` (frames, channels) from ``from_frame``; False when no device."""
        self.stop()
        if not self.available or samples.ndim != 2 or samples.shape[0] == 0:
            return False
        import miniaudio

        channels = int(samples.shape[1])
        try:
            if self._device is None or self._key != (sample_rate, channels):
                self.close()
                self._device = miniaudio.PlaybackDevice(
                    output_format=miniaudio.SampleFormat.FLOAT32, nchannels=channels,
                    sample_rate=int(sample_rate), buffersize_msec=60, backends=_backends(),
                    app_name="Storyreel")
                self._key = (sample_rate, channels)
            feed = self._feed(samples, max(0, int(from_frame)))
            next(feed)
            self.frames_sent = 0
            self._device.start(feed)
        except Exception as exc:  # noqa: BLE001 - no card, busy device, server gone
            self.error = str(exc) or type(exc).__name__
            self.close()
            return False
        self.error = ""
        self.playing = True
        return True

    def _feed(self, samples: np.ndarray, pos: int) -> Generator[bytes, int, None]:
        channels = samples.shape[1]
        required = yield b""
        while True:
            chunk = np.asarray(samples[pos:pos + required], dtype=np.float32)
            pos += len(chunk)
            self.frames_sent += len(chunk)  # read by the UI thread; an int swap is atomic
            if len(chunk) < required:  # past the end: silence until stopped
                chunk = np.concatenate([chunk, np.zeros((required - len(chunk), channels),
                                                        dtype=np.float32)])
            required = yield np.ascontiguousarray(chunk).tobytes()

    def stop(self) -> None:
        if self._device is not None and self.playing:
            try:
                self._device.stop()
            except Exception:  # noqa: BLE001 - stopping a dead device is not an error
                pass
        self.playing = False

    def close(self) -> None:
        self.stop()
        if self._device is not None:
            try:
                self._device.close()
            except Exception:  # noqa: BLE001
                pass
        self._device = None
        self._key = None
