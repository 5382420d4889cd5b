"""Platform-grade output: colour matrix and tags, loudness and true peak of the encoded
sound measured with ffmpeg's own ebur128 filter."""

from __future__ import annotations

import re
import struct
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np

from engine.model import AudioPlacement, AudioRole
from engine.render.export import export_film
from tests.engine.render.conftest import TEST_PRESET, add_take, solid_png

OPTIONS = {"burn_subtitles": False, "aigc_label": "none"}


def _colr(path: Path) -> tuple[int, int, int, bool] | None:
    """The mp4 'colr' nclx box of the video track: (primaries, transfer, matrix, full)."""
    data = path.read_bytes()
    at = data.find(b"colrnclx")
    if at < 0:
        return None
    primaries, transfer, matrix = struct.unpack(">HHH", data[at + 8: at + 14])
    return primaries, transfer, matrix, bool(data[at + 14] & 0x80)


def _first_y(path: Path) -> tuple[float, dict]:
    import av

    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        ctx = stream.codec_context
        tags = {"primaries": int(ctx.color_primaries), "trc": int(ctx.color_trc),
                "matrix": int(ctx.colorspace), "range": int(ctx.color_range)}
        frame = next(c.decode(stream))
        y = np.frombuffer(frame.planes[0], np.uint8).reshape(-1, frame.planes[0].line_size)
        tags["frame_matrix"] = int(frame.colorspace)
        return float(np.median(y[: frame.height, : frame.width])), tags


def test_hd_is_bt709_tagged_and_sd_is_bt601(film, tmp_path: Path) -> None:
    store = film(1, duration=0.25)
    add_take(store, store.shots()[0].id, solid_png(tmp_path / "red.png", (255, 0, 0)))
    hd = replace(TEST_PRESET, name="hd", width=720, height=1280, x264_preset="ultrafast")
    export_film(store, tmp_path / "hd.mp4", preset=hd, **OPTIONS)
    luma, tags = _first_y(tmp_path / "hd.mp4")
    assert abs(luma - 63) <= 2  # BT.709: 16 + 219 × 0.2126; BT.601 would be ~81
    assert tags == {"primaries": 1, "trc": 1, "matrix": 1, "range": 1, "frame_matrix": 1}
    assert _colr(tmp_path / "hd.mp4") == (1, 1, 1, False)  # in the container too
    # SD (the test project's own 64×112): BT.601 matrix and SMPTE 170M tags
    export_film(store, tmp_path / "sd.mp4", preset=TEST_PRESET, **OPTIONS)
    luma, tags = _first_y(tmp_path / "sd.mp4")
    assert abs(luma - 81) <= 2
    assert (tags["primaries"], tags["trc"], tags["matrix"], tags["range"]) == (6, 6, 6, 1)
    assert _colr(tmp_path / "sd.mp4") == (6, 6, 6, False)


def _ebur128(path: Path) -> tuple[float, float]:
    import imageio_ffmpeg

    proc = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(path),
         "-map", "0:a", "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True)
    summary = proc.stderr[proc.stderr.rfind("Summary:"):]
    lufs = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))
    return lufs, peak


def _loud_bed(path: Path, seconds: float = 6.0, rate: int = 48000) -> Path:
    """Hard clicks (a full-scale 1.5 kHz square, 2 ms, four a second) over quiet noise:
    a bed the limiter must hold at its ceiling, whose edges AAC rings over."""
    import av

    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * rate)) / rate
    clicks = np.where(t % 0.25 < 0.002, 0.9 * np.sign(np.sin(2 * np.pi * 1500 * t)), 0.0)
    x = (0.03 * rng.normal(0, 1, t.size) + clicks).clip(-1, 1).astype(np.float32)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=rate)
        stream.layout = "stereo"
        resampler = av.AudioResampler(format="s16", layout="stereo", rate=rate)
        for i in range(0, t.size, 4096):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(np.tile(x[i:i + 4096], (2, 1))),
                                               format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = rate, i
            for f in resampler.resample(frame):
                for packet in stream.encode(f):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_a_loud_bed_is_at_minus_14_lufs_and_under_minus_1_dbtp_once_encoded(
        film, tmp_path: Path) -> None:
    store = film(2, duration=3.0)
    media = store.media.import_file(_loud_bed(tmp_path / "bed.wav"))
    store.add(AudioPlacement(role=AudioRole.MUSIC, media=media.sha256))
    out = tmp_path / "loud.mp4"
    report = export_film(store, out, preset="draft", **OPTIONS)  # 96 kbit/s AAC
    lufs, peak = _ebur128(out)  # ffmpeg's own meter, on the file as delivered
    assert abs(lufs + 14.0) <= 0.5, lufs
    assert peak <= -1.0, peak
    loudness = report.loudness
    assert loudness["measured_on"] == "encoded" and loudness["relimited"] >= 1
    assert abs(loudness["integrated_lufs"] - lufs) <= 0.3
    assert loudness["true_peak_db"] <= -1.0
    # the native AAC encoder's fast quantiser search, as the preset says and the report
    assert report.audio == {"codec": "aac", "rate": 48000, "bitrate": 96_000, "coder": "fast",
                            "chunks": {"total": 2, "encoded": 2, "reused": 0}}
    import av

    with av.open(str(out)) as c:
        sound = c.streams.audio[0].codec_context
        assert (sound.name, sound.profile, sound.sample_rate, sound.channels) == \
            ("aac", "LC", 48000, 2)


def test_the_sound_measured_while_it_encodes_is_the_file_decoded(tmp_path: Path) -> None:
    from engine.audio.loudness import measure_loudness
    from engine.render.audio import encode_aac

    wav = _loud_bed(tmp_path / "bed.wav")
    out = tmp_path / "bed.m4a"
    lufs, peak = encode_aac(wav, out, bit_rate=96_000, coder="fast", measure=True)
    file_lufs, file_peak = measure_loudness(out)  # decoded back from the file, as before
    assert np.isfinite(lufs) and np.isfinite(peak)
    assert abs(lufs - file_lufs) < 1e-6 and abs(peak - file_peak) < 1e-6
