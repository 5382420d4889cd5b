"""Frames (numpy) → H.264 mp4 with PyAV; a still image → a clip. No torch needed."""

from __future__ import annotations

from contextlib import ExitStack
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from engine.render.allocator import WARM_FRAMES, new_memory_filled


def to_uint8(frames: Any) -> np.ndarray:
    """(T, H, W, 3) uint8 from float frames in 0..1 (diffusers ``output_type="np"``) or uint8."""
    arr = np.asarray(frames)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] not in (3, 4):
        raise ValueError(f"expected frames shaped (T, H, W, 3), got {arr.shape}")
    arr = arr[..., :3]
    if arr.dtype != np.uint8:
        arr = (np.clip(arr.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return arr


TAKE_THREADS = 2  # x264's output depends on its thread count: fixed, not the machine's


def write_video(frames: Any, path: Path, fps: float | Fraction, crf: int = 18) -> Path:
    """Encode frames to an H.264 (yuv420p) mp4; odd sizes are padded by one pixel."""
    import av

    arr = to_uint8(frames)
    t, h, w, _ = arr.shape
    if h % 2 or w % 2:
        arr = np.pad(arr, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        h, w = h + h % 2, w + w % 2
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        # the same bits for the same frames on every machine and after anything the
        # process did before (a seed reproduces its take): a fixed thread count, said to
        # x264 itself, and new memory filled while the encoder starts (engine.render.allocator)
        stream.codec_context.thread_count = TAKE_THREADS
        stream.codec_context.thread_type = "FRAME"
        stream.options = {"crf": str(crf), "preset": "veryfast",
                          "x264-params": f"threads={TAKE_THREADS}:lookahead-threads=1"}
        with ExitStack() as warming:
            warming.enter_context(new_memory_filled())
            for i in range(t):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr[i]), format="rgb24")
                for packet in stream.encode(frame):
                    out.mux(packet)
                if i + 1 == WARM_FRAMES:
                    warming.close()
            for packet in stream.encode():
                out.mux(packet)
    return path


def still_clip(image: Any, path: Path, frames: int, fps: float | Fraction,
               push_in: float = 0.0) -> Path:
    """A clip of ``frames`` frames holding one image, optionally with a slow centred push-in."""
    from PIL import Image

    img = image if isinstance(image, Image.Image) else Image.fromarray(to_uint8(image)[0])
    img = img.convert("RGB")
    w, h = img.size
    out = []
    for i in range(max(1, frames)):
        if push_in > 0 and frames > 1:
            zoom = 1.0 + push_in * i / (frames - 1)
            cw, ch = w / zoom, h / zoom
            box = ((w - cw) / 2, (h - ch) / 2, (w + cw) / 2, (h + ch) / 2)
            out.append(np.asarray(img.resize((w, h), Image.Resampling.BICUBIC, box=box)))
        else:
            out.append(np.asarray(img))
    return write_video(np.stack(out), path, fps)


def read_frames(path: Path, limit: int | None = None) -> np.ndarray:
    """Decode a clip to (T, H, W, 3) uint8 (tests and thumbnails)."""
    import av

    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if limit is not None and len(frames) >= limit:
                break
    return np.stack(frames)


def retime(frames: Any, src_fps: float, dst_fps: float) -> np.ndarray:
    """Frames at ``src_fps`` → the same span at ``dst_fps`` by motion-compensated
    interpolation (ffmpeg's minterpolate through PyAV's filter graph): new in-between
    pictures, never repeated frames. (T, H, W, 3) uint8 out."""
    # a seed must reproduce its take: without new memory filled (engine.render.allocator)
    # the same frames gave other in-between pictures now and then (in a process that had
    # encoded takes in threads before: 8 of 100 runs at load 6, 0 of 120 with the fill)
    with new_memory_filled():
        return _retime(frames, src_fps, dst_fps)


def _retime(frames: Any, src_fps: float, dst_fps: float) -> np.ndarray:
    import av

    arr = to_uint8(frames)
    t, h, w, _ = arr.shape
    if h % 2 or w % 2:
        arr = np.pad(arr, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    src = Fraction(src_fps).limit_denominator(1001)
    dst = Fraction(dst_fps).limit_denominator(1001)
    graph = av.filter.Graph()
    # one thread for the graph and the conversions: the same bits on every machine
    graph.threads = 1
    buffer = graph.add_buffer(width=arr.shape[2], height=arr.shape[1], format="yuv420p",
                              time_base=1 / src)
    chain = [buffer,
             graph.add("minterpolate", f"fps={dst.numerator}/{dst.denominator}:mi_mode=mci:"
                                       "mc_mode=aobmc:me_mode=bidir:vsbmc=1"),
             graph.add("format", "rgb24"), graph.add("buffersink")]
    for a, b in zip(chain, chain[1:], strict=False):
        a.link_to(b)
    graph.configure()
    out: list[np.ndarray] = []

    def drain() -> None:
        while True:
            try:
                frame = graph.pull()
            except (BlockingIOError, av.error.EOFError, EOFError):
                return
            out.append(frame.to_ndarray(format="rgb24"))

    # the filter looks one frame ahead: the last picture is given twice so that the
    # interval after it (which belongs to the clip's span) is filled too
    for i in range(t + 1):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr[min(i, t - 1)]),
                                           format="rgb24")
        frame = frame.reformat(format="yuv420p", threads=1)
        frame.pts = i
        frame.time_base = 1 / src
        graph.push(frame)
        drain()
    graph.push(None)
    drain()
    want = max(1, round(t * float(dst) / float(src)))
    result = np.stack(out[:want])[:, :h, :w]
    if len(result) < want:  # the filter holds back the last frames at the very end
        result = np.concatenate([result, np.repeat(result[-1:], want - len(result), axis=0)])
    return result


def frame_at(path: Path, seconds: float | None, *, last: bool = False,
             out: Path) -> float:
    """Save the picture showing ``seconds`` into a clip (its first, or with ``last`` its
    final frame) as a PNG; returns the time of the frame saved."""
    import av
    from PIL import Image

    from engine.errors import MediaError

    chosen = None
    chosen_t = 0.0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        duration = float(stream.duration * stream.time_base) if stream.duration else None
        if seconds is not None and (seconds < 0 or (duration and seconds > duration + 1e-3)):
            raise MediaError(f"@{seconds:g} s is outside the take (0–{duration or 0:.2f} s).")
        for frame in container.decode(stream):
            t = float(frame.time or 0.0)
            if seconds is not None and t > seconds + 1e-6 and chosen is not None:
                break
            chosen, chosen_t = frame, t
            if seconds is None and not last:
                break
    if chosen is None:
        raise MediaError(f"{path.name} has no decodable frame.")
    Image.fromarray(chosen.to_ndarray(format="rgb24")).save(out)
    return chosen_t
