"""Picture sources and compositing in YUV 4:2:0, the encoder's own format.

A frame is a ``Yuv`` (three uint8 planes: Y at full size, U and V at half size). Sources
are decoded with PyAV and scaled by libswscale straight into YUV (``frame.reformat``), so
the common case — a clip scaled to the output size — never touches RGB or Python loops.
Overlays (subtitles, the AI label) are converted to YUV once and blended only into the
rectangle they cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import MediaError

BLACK_Y = 16
BLACK_UV = 128
HD_PIXELS = 1280 * 720  # HD and larger: BT.709; smaller (SD): BT.601


def matrix_for(width: int, height: int) -> str:
    """The YUV matrix a delivery of this size uses: BT.709 for HD and larger (what
    platforms and players assume for HD), BT.601 for SD. Names as libswscale takes them."""
    return "ITU709" if width * height >= HD_PIXELS else "ITU601"


@dataclass
class Yuv:
    y: np.ndarray  # (H, W)
    u: np.ndarray  # (H/2, W/2)
    v: np.ndarray  # (H/2, W/2)
    owner: Any = None  # the av.VideoFrame whose buffers the planes view, kept alive

    @property
    def width(self) -> int:
        return int(self.y.shape[1])

    @property
    def height(self) -> int:
        return int(self.y.shape[0])

    @classmethod
    def black(cls, width: int, height: int) -> Yuv:
        return cls(
            np.full((height, width), BLACK_Y, np.uint8),
            np.full((height // 2, width // 2), BLACK_UV, np.uint8),
            np.full((height // 2, width // 2), BLACK_UV, np.uint8),
        )

    def copy(self) -> Yuv:
        return Yuv(self.y.copy(), self.u.copy(), self.v.copy())

    def packed(self) -> tuple[np.ndarray, Yuv]:
        """A new contiguous yuv420p buffer holding this picture, and a Yuv of views into
        it (draw overlays on the views, then hand the buffer to the encoder)."""
        h, w = self.y.shape
        packed = np.empty((h * 3 // 2, w), np.uint8)
        view = Yuv(
            packed[:h],
            packed[h : h + h // 4].reshape(h // 2, w // 2),
            packed[h + h // 4 :].reshape(h // 2, w // 2),
        )
        view.y[...] = self.y
        view.u[...] = self.u
        view.v[...] = self.v
        return packed, view

    def into_frame(self) -> tuple[Any, Yuv]:
        """A new yuv420p av.VideoFrame holding this picture, and a Yuv of writable views
        into its planes (draw overlays on the views; no further copy before encoding)."""
        import av

        h, w = self.y.shape
        frame = av.VideoFrame(w, h, "yuv420p")
        views = []
        for plane, (ph, pw) in zip(frame.planes, ((h, w), (h // 2, w // 2), (h // 2, w // 2)),
                                   strict=True):
            views.append(np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:ph, :pw])
        view = Yuv(*views)
        view.y[...] = self.y
        view.u[...] = self.u
        view.v[...] = self.v
        return frame, view

    def to_frame(self) -> Any:
        import av

        return av.VideoFrame.from_ndarray(self.packed()[0], format="yuv420p")

    def to_rgb(self) -> np.ndarray:
        """For previews and tests: an (H, W, 3) RGB image."""
        return self.to_frame().to_ndarray(format="rgb24")


def _planes(frame: Any) -> Yuv:
    """An av.VideoFrame in yuv420p (even size) → Yuv viewing the frame's own buffers
    (no copy; the Yuv keeps the frame alive)."""
    h, w = frame.height, frame.width
    planes = []
    for plane, (ph, pw) in zip(
        frame.planes, ((h, w), (h // 2, w // 2), (h // 2, w // 2)), strict=True
    ):
        planes.append(np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[:ph, :pw])
    return Yuv(*planes, owner=frame)


def from_rgb(rgb: np.ndarray, matrix: str = "ITU601") -> Yuv:
    """An (H, W, 3) uint8 RGB image of even size → limited-range Yuv in ``matrix``
    (``matrix_for``: the delivery's)."""
    import av

    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    return _planes(frame.reformat(format="yuv420p", dst_colorspace=matrix, threads=1))


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def picture_area(canvas_w: int, canvas_h: int, width: int, height: int) -> tuple[int, int]:
    """The largest even-sized rectangle of ``canvas_w:canvas_h`` shape inside width×height
    (a 9:16 project in a 16:9 delivery is pillarboxed, not cropped)."""
    scale = min(width / canvas_w, height / canvas_h)
    pw, ph = _even(canvas_w * scale), _even(canvas_h * scale)
    return (width if abs(pw - width) <= 2 else min(pw, width),
            height if abs(ph - height) <= 2 else min(ph, height))


class Fitter:
    """Scales a decoded frame (any size, any pixel format, any rotation) into W×H.

    Sources fill (crop) or fit (pad) the picture area: the whole frame, or with
    ``picture=(w, h)`` a centred rectangle of the project's shape, black around it.
    """

    def __init__(self, width: int, height: int, fit: str = "fill",
                 picture: tuple[int, int] | None = None, matrix: str | None = None) -> None:
        if fit not in ("fill", "fit"):
            raise MediaError(f"Unknown fit mode {fit!r}; expected 'fill' or 'fit'.")
        self.width, self.height, self.fit = width, height, fit
        self.matrix = matrix or matrix_for(width, height)
        self.picture = picture or (width, height)
        self._reformatter: Any = None  # one libswscale context, reused frame after frame

    def scaled_size(self, src_w: int, src_h: int) -> tuple[int, int]:
        pw, ph = self.picture
        scale = (max if self.fit == "fill" else min)(pw / src_w, ph / src_h)
        sw, sh = _even(src_w * scale), _even(src_h * scale)
        # snap to the exact picture size when within a rounding step
        if abs(sw - pw) <= 2:
            sw = pw
        if abs(sh - ph) <= 2:
            sh = ph
        return sw, sh

    def __call__(self, frame: Any, rotation: int = 0) -> Yuv:
        k = (int(round(rotation / 90)) % 4) if rotation else 0
        src_w, src_h = frame.width, frame.height
        if k % 2:
            src_w, src_h = src_h, src_w
        sw, sh = self.scaled_size(src_w, src_h)
        fw, fh = (sh, sw) if k % 2 else (sw, sh)
        if self._reformatter is None:
            from av.video.reformatter import VideoReformatter

            self._reformatter = VideoReformatter()
        # RGB sources (stills, slates) are converted with the delivery's matrix; an
        # untagged YUV source is read as what its size implies (HD: BT.709, SD: BT.601)
        src = None
        if frame.colorspace in (0, 2):  # RGB / unspecified
            src = matrix_for(frame.width, frame.height)
        yuv = _planes(self._reformatter.reformat(frame, fw, fh, "yuv420p",
                                                 src_colorspace=src, dst_colorspace=self.matrix,
                                                 threads=1))  # one thread: same bits always
        if k:
            yuv = Yuv(np.rot90(yuv.y, k), np.rot90(yuv.u, k), np.rot90(yuv.v, k), yuv.owner)
        if sw == self.width and sh == self.height:
            return yuv
        out = Yuv.black(self.width, self.height)
        # the scaled picture and the picture area, both centred (even offsets for chroma);
        # what shows is where they overlap
        pw, ph = self.picture
        ix, iy = (self.width - sw) // 4 * 2, (self.height - sh) // 4 * 2
        px, py = (self.width - pw) // 4 * 2, (self.height - ph) // 4 * 2
        x0, x1 = max(ix, px), min(ix + sw, px + pw)
        y0, y1 = max(iy, py), min(iy + sh, py + ph)
        if x1 <= x0 or y1 <= y0:
            return out
        sx, sy, w, h = x0 - ix, y0 - iy, x1 - x0, y1 - y0
        out.y[y0:y1, x0:x1] = yuv.y[sy : sy + h, sx : sx + w]
        cy, cx, ch, cw = y0 // 2, x0 // 2, h // 2, w // 2
        out.u[cy : cy + ch, cx : cx + cw] = yuv.u[sy // 2 : sy // 2 + ch, sx // 2 : sx // 2 + cw]
        out.v[cy : cy + ch, cx : cx + cw] = yuv.v[sy // 2 : sy // 2 + ch, sx // 2 : sx // 2 + cw]
        return out


class VideoSource:
    """Frames of one video file picked by time (not by index), so variable frame rate,
    16 fps takes and 60 fps phone clips all land on the right timeline frame. Opened when
    its clip starts, closed after; decodes forward only, each source once."""

    def __init__(self, path: str | Path, fitter: Fitter, start: float = 0.0) -> None:
        import av

        self.path = Path(path)
        self.fitter = fitter
        try:
            self.container = av.open(str(self.path))
        except (av.error.FFmpegError, OSError) as exc:
            raise MediaError(f"{self.path.name} cannot be opened ({exc}).") from exc
        if not self.container.streams.video:
            self.container.close()
            raise MediaError(f"{self.path.name} has no video stream.")
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        tb = self.stream.time_base
        self.origin = (
            float(self.stream.start_time * tb) if self.stream.start_time is not None and tb else 0.0
        )
        if start > 2.0:
            self.container.seek(
                int((self.origin + start - 1.0) / tb), stream=self.stream, backward=True
            )
        self._frames = self.container.decode(self.stream)
        self._current: Any = None
        self._current_t = -1.0
        self._next: Any = None
        self._next_t = 0.0
        self._converted: Yuv | None = None
        self._ended = False
        self._advance()
        if self._next is None:
            self.close()
            raise MediaError(f"{self.path.name} contains no decodable video frames.")

    def _advance(self) -> None:
        self._current, self._current_t = self._next, self._next_t
        if self._ended:
            self._next = None
            return
        try:
            frame = next(self._frames)
        except StopIteration:
            self._ended = True
            self._next = None
            return
        except Exception as exc:  # a broken packet mid-file: hold the last good frame
            if type(exc).__module__.startswith("av"):
                self._ended = True
                self._next = None
                return
            raise
        self._next = frame
        t = frame.time
        self._next_t = (t - self.origin) if t is not None else self._current_t + 1 / 30

    def at(self, t: float) -> Yuv:
        """The picture showing at source time ``t`` seconds (the last frame after the end)."""
        changed = False
        while self._next is not None and (self._current is None or self._next_t <= t + 1e-6):
            self._advance()
            changed = True
        if changed or self._converted is None:
            rotation = int(getattr(self._current, "rotation", 0) or 0)
            self._converted = self.fitter(self._current, rotation)
        return self._converted

    def close(self) -> None:
        self._frames = iter(())
        self._current = self._next = None
        self.container.close()


class StillSource:
    """A still picture (an image take or a rendered slate), converted once."""

    def __init__(self, yuv: Yuv) -> None:
        self.yuv = yuv

    @classmethod
    def from_image(cls, path: str | Path, fitter: Fitter) -> StillSource:
        import av
        from PIL import Image, ImageOps, UnidentifiedImageError

        try:
            with Image.open(path) as img:
                rgb = ImageOps.exif_transpose(img).convert("RGB")
        except (UnidentifiedImageError, OSError) as exc:
            raise MediaError(f"{Path(path).name} is not a readable image ({exc}).") from exc
        return cls(fitter(av.VideoFrame.from_image(rgb)))

    def at(self, t: float) -> Yuv:
        return self.yuv

    def close(self) -> None:
        pass


# ----------------------------------------------------------------------------- mixing
def crossfade(a: Yuv, b: Yuv, weight: float) -> Yuv:
    """``a`` → ``b`` with ``weight`` of b in 0..1."""
    w = int(round(max(0.0, min(1.0, weight)) * 256))

    def mix(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        return ((p.astype(np.uint16) * (256 - w) + q.astype(np.uint16) * w + 128) >> 8).astype(
            np.uint8
        )

    return Yuv(mix(a.y, b.y), mix(a.u, b.u), mix(a.v, b.v))


def fade_to_black(a: Yuv, level: float) -> Yuv:
    """``level`` 1 = unchanged, 0 = black."""
    k = max(0.0, min(1.0, level))

    def fade(p: np.ndarray, base: int) -> np.ndarray:
        return (base + (p.astype(np.float32) - base) * k + 0.5).astype(np.uint8)

    return Yuv(fade(a.y, BLACK_Y), fade(a.u, BLACK_UV), fade(a.v, BLACK_UV))


class Overlay:
    """An RGBA image placed at (x, y), pre-converted to YUV with 8-bit alpha per plane.

    ``apply`` blends it into a frame in place, touching only its rectangle.
    """

    def __init__(self, rgba: np.ndarray, x: int, y: int, matrix: str = "ITU601") -> None:
        h, w = rgba.shape[:2]
        # even position and size, so chroma lines up
        x0, y0 = x // 2 * 2, y // 2 * 2
        w2, h2 = (w + (x - x0) + 1) // 2 * 2, (h + (y - y0) + 1) // 2 * 2
        canvas = np.zeros((h2, w2, 4), np.uint8)
        canvas[y - y0 : y - y0 + h, x - x0 : x - x0 + w] = rgba
        self.x, self.y, self.w, self.h = x0, y0, w2, h2
        yuv = from_rgb(canvas[..., :3], matrix)
        alpha = canvas[..., 3].astype(np.uint16)
        alpha_c = (
            alpha[0::2, 0::2] + alpha[1::2, 0::2] + alpha[0::2, 1::2] + alpha[1::2, 1::2] + 2
        ) >> 2
        self._planes = []
        for plane, a in ((yuv.y, alpha), (yuv.u, alpha_c), (yuv.v, alpha_c)):
            self._planes.append((plane.astype(np.uint16) * a, (255 - a)))

    def apply(self, frame: Yuv) -> None:
        fh, fw = frame.height, frame.width
        x0, y0 = max(0, self.x), max(0, self.y)
        x1, y1 = min(fw, self.x + self.w), min(fh, self.y + self.h)
        if x0 >= x1 or y0 >= y1:
            return
        for i, (target, (premul, inv)) in enumerate(
            zip((frame.y, frame.u, frame.v), self._planes, strict=True)
        ):
            s = 1 if i == 0 else 2
            ty0, ty1, tx0, tx1 = y0 // s, y1 // s, x0 // s, x1 // s
            oy, ox = (y0 - self.y) // s, (x0 - self.x) // s
            region = target[ty0:ty1, tx0:tx1]
            p = premul[oy : oy + (ty1 - ty0), ox : ox + (tx1 - tx0)]
            q = inv[oy : oy + (ty1 - ty0), ox : ox + (tx1 - tx0)]
            region[...] = ((region.astype(np.uint16) * q + p + 127) // 255).astype(np.uint8)


def overlay_from_image(image: Any, matrix: str = "ITU601") -> Overlay | None:
    """A full-frame (or any) PIL RGBA image → an Overlay cropped to its visible pixels."""
    rgba = image.convert("RGBA")
    bbox = rgba.getchannel("A").getbbox()
    if bbox is None:
        return None
    x0, y0, x1, y1 = bbox
    return Overlay(np.asarray(rgba.crop(bbox)), x0, y0, matrix)
