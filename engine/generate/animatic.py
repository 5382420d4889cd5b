"""The ``animatic`` backend: a timed storyboard clip per shot, on the CPU, with no weights.

Each clip is a composed frame (a backdrop from the scene, the characters' reference
images framed by the shot size, and a storyboard note with the shot label, the scene
heading, the action and the line being spoken) moved by a virtual camera that performs
the shot's camera move (pan, tilt, push-in, pull-out, orbit and track with parallax,
handheld shake, a slight drift for static shots). Good enough to judge timing and story
before spending GPU hours. When the shot has keyframes (``first_frame``/``last_frame``),
they are the picture instead, the first dissolving into the last.

Layers are drawn once on a larger canvas; each frame is only a crop + resize of the
layers plus a paste of pre-rendered text, so a 3 s 270×480 clip takes a fraction of a
second. Output: H.264 (yuv420p) mp4, exactly the requested size and frame count, no
audio, identical for identical requests.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from fractions import Fraction
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from engine.errors import MediaError, StoryreelError
from engine.generate.animatic_figures import draw_characters, dutch_degrees, rotate_for_dutch
from engine.generate.animatic_motion import CANVAS_MARGIN, PARALLAX_MOVES, camera_path, ease
from engine.generate.animatic_mouths import draw_open_mouth, is_open, rotate_point
from engine.generate.animatic_scene import draw_background, read_scene
from engine.generate.animatic_text import Overlay, caption_schedule, render_header
from engine.generate.base import GenerationRequest, GenerationResult
from engine.jobs.progress import CancelToken, Progress
from engine.model import CameraAngle, CameraMove, ShotSize

RENDERER_VERSION = 2  # bump whenever the pictures change: cached takes then count as stale
RENDER_THREADS = 3  # frames drawn ahead of the encoder, at most
MIN_SIDE = 16
MAX_SIDE = 4096
MAX_SECONDS = 600.0


class AnimaticError(StoryreelError):
    """The request cannot be rendered as an animatic (bad size, fps or duration)."""


def clip_fps(fps: float | Fraction) -> Fraction:
    """The stream rate: 29.97002997 becomes 30000/1001, 25.0 becomes 25."""
    return Fraction(fps).limit_denominator(1001)


def frame_count(request: GenerationRequest) -> int:
    return round(request.duration * float(request.fps))


def validate(request: GenerationRequest) -> None:
    """Refuse what cannot be encoded, with the reason, rather than silently fixing it."""
    w, h = request.width, request.height
    if (
        not isinstance(w, int)
        or not isinstance(h, int)
        or isinstance(w, bool)
        or isinstance(h, bool)
    ):
        raise AnimaticError(f"The animatic size must be whole pixels, not {w!r}×{h!r}.")
    if w % 2 or h % 2:
        raise AnimaticError(
            f"The animatic size {w}×{h} must be even in both directions for H.264 (yuv420p)."
        )
    if not (MIN_SIDE <= w <= MAX_SIDE and MIN_SIDE <= h <= MAX_SIDE):
        raise AnimaticError(
            f"The animatic size {w}×{h} is outside {MIN_SIDE}–{MAX_SIDE} pixels per side."
        )
    fps = float(request.fps)
    if not (fps > 0 and fps <= 240):
        raise AnimaticError(f"The frame rate {request.fps} is outside 0–240 frames per second.")
    if not (request.duration > 0 and request.duration <= MAX_SECONDS):
        raise AnimaticError(
            f"The shot duration {request.duration} s is outside 0–{MAX_SECONDS:g} seconds."
        )
    if frame_count(request) < 1:
        raise AnimaticError(
            f"A {request.duration} s shot at {fps:g} fps is shorter than one frame."
        )
    for enum, value, what in (
        (ShotSize, request.size, "shot size"),
        (CameraMove, request.camera_move, "camera move"),
        (CameraAngle, request.angle, "camera angle"),
    ):
        try:
            enum(value)
        except ValueError:
            choices = ", ".join(m.value for m in enum)
            raise AnimaticError(f"Unknown {what} {value!r}; use one of {choices}.") from None


def keyframe_canvas(path: Path, canvas: tuple[int, int], which: str) -> Image.Image:
    """A keyframe picture scaled to cover the canvas (cropped to its aspect, centred)."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"The {which} keyframe {path} does not exist.")
    try:
        with Image.open(path) as opened:
            picture = ImageOps.exif_transpose(opened).convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise MediaError(f"The {which} keyframe {path.name} is not a readable picture.") from None
    return ImageOps.fit(picture, canvas, Image.Resampling.LANCZOS)


class Storyboard:
    """Everything drawn once for a clip: layers, overlays, camera path."""

    def __init__(self, request: GenerationRequest) -> None:
        self.width, self.height = request.width, request.height
        frame = (self.width, self.height)
        self.canvas = (round(self.width * CANVAS_MARGIN), round(self.height * CANVAS_MARGIN))
        self.frames = frame_count(request)
        move = CameraMove(request.camera_move)
        self.background_end: Image.Image | None = None
        self.fps = float(request.fps)
        self.talking: list[tuple[tuple[float, float, float], list[tuple[float, float]]]] = []
        self.characters: Image.Image | None = None
        self.characters_box: tuple[int, int, int, int] | None = None
        if request.first_frame is not None:
            # the shot's own keyframes (drawn or generated) replace the composed picture
            self.background = keyframe_canvas(request.first_frame, self.canvas, "first")
            if request.last_frame is not None:
                self.background_end = keyframe_canvas(request.last_frame, self.canvas, "last")
        else:
            self._compose(request, frame, move)
        self.path = camera_path(move, self.frames, float(request.fps), request.seed)
        # one header per spoken line (the line is part of the storyboard note), in turn
        lines = [ln for ln in request.dialogue if ln.text.strip()]
        self.headers: list[Overlay | None] = [
            render_header(request, self.width, self.height, line) for line in lines
        ] or [render_header(request, self.width, self.height)]
        self.header_starts = caption_schedule(lines, self.frames) if lines else [0]

    def _compose(
        self, request: GenerationRequest, frame: tuple[int, int], move: CameraMove
    ) -> None:
        look = read_scene(
            request.scene_heading,
            f"{request.scene_description} {request.action}",
            tuple(c.name for c in request.characters)
            + tuple(ln.speaker for ln in request.dialogue),
        )
        if request.location_image is not None:
            # the location's reference picture is the backdrop; the figures stand in it
            background = keyframe_canvas(request.location_image, self.canvas, "location")
        else:
            background = draw_background(self.canvas, look, self.height)
        mouths: dict[str, tuple[float, float, float]] = {}
        characters = draw_characters(request, self.canvas, frame, mouths)
        if CameraAngle(request.angle) is CameraAngle.DUTCH:
            degrees = dutch_degrees(request.seed)
            background = rotate_for_dutch(background, degrees)
            characters = rotate_for_dutch(characters, degrees)
            mouths = {k: (*rotate_point(x, y, self.canvas, degrees), u)
                      for k, (x, y, u) in mouths.items()}
        # talking figures: each voiced line opens its speaker's mouth on its syllables
        self.talking = [(mouths[ln.speaker], list(ln.mouth)) for ln in request.dialogue
                        if ln.mouth and ln.speaker in mouths]
        if move in PARALLAX_MOVES:
            self.background = background
            # premultiplied, so bilinear resampling does not bleed dark fringes
            self.characters = characters.convert("RGBa")
            self.characters_box = characters.getchannel("A").getbbox()
        else:  # the layers move together: flatten once, one resize per frame
            background.paste(characters, (0, 0), characters)
            self.background = background

    def header_at(self, index: int) -> Overlay | None:
        current = None
        for start, overlay in zip(self.header_starts, self.headers, strict=True):
            if index >= start:
                current = overlay
        return current

    def frame(self, index: int) -> Image.Image:
        size = (self.width, self.height)
        bg_cam, fg_cam = self.path[index]
        image = self.background.resize(
            size, Image.Resampling.BILINEAR, box=bg_cam.box(self.canvas, size)
        )
        if self.background_end is not None:  # first keyframe dissolves into the last
            end = self.background_end.resize(
                size, Image.Resampling.BILINEAR, box=bg_cam.box(self.canvas, size)
            )
            image = Image.blend(image, end, ease(index / max(1, self.frames - 1)))
        if self.characters is not None:
            self._paste_characters(image, fg_cam.box(self.canvas, size))
        t = index / self.fps
        for (x, y, unit), intervals in self.talking:
            if is_open(intervals, t):
                cam = fg_cam if self.characters is not None else bg_cam
                draw_open_mouth(image, (x, y), unit, cam.box(self.canvas, size), self.canvas)
        header = self.header_at(index)
        if header is not None:
            header.paste_onto(image)
        return image

    def frames_ahead(self, cancel: CancelToken) -> Iterator[Image.Image]:
        """Every frame in order, drawn a few frames ahead on helper threads.

        Pillow lets go of the GIL while it resamples, so drawing overlaps encoding on a
        multi-core machine; each frame depends only on its index, so the output is the
        same as drawing them one by one. ``cancel`` is checked before every frame.
        """
        workers = max(1, min(RENDER_THREADS, (os.cpu_count() or 1) - 1))
        if workers == 1 or self.frames < 4:
            for i in range(self.frames):
                cancel.check()
                yield self.frame(i)
            return
        with ThreadPoolExecutor(workers, thread_name_prefix="animatic") as pool:
            pending: deque[Future[Image.Image]] = deque()
            submitted = 0
            try:
                for _ in range(self.frames):
                    cancel.check()
                    while submitted < self.frames and len(pending) < 2 * workers:
                        pending.append(pool.submit(self.frame, submitted))
                        submitted += 1
                    yield pending.popleft().result()
            finally:
                for future in pending:
                    future.cancel()

    def _paste_characters(self, image: Image.Image, box: tuple[float, ...]) -> None:
        """Resample only the part of the character layer that has figures in it.

        The output pixels are the same as resizing the whole camera window (same
        sampling positions), at a fraction of the cost for wide shots.
        """
        if self.characters is None or self.characters_box is None:
            return
        x0, y0, x1, y1 = box
        sx, sy = self.width / (x1 - x0), self.height / (y1 - y0)  # output px per canvas px
        bx0, by0, bx1, by1 = self.characters_box
        # the figures' extent in output pixels, widened to whole pixels plus a margin
        dx0 = max(0, math.floor((bx0 - x0) * sx) - 2)
        dy0 = max(0, math.floor((by0 - y0) * sy) - 2)
        dx1 = min(self.width, math.ceil((bx1 - x0) * sx) + 2)
        dy1 = min(self.height, math.ceil((by1 - y0) * sy) + 2)
        if dx1 <= dx0 or dy1 <= dy0:
            return
        src = (x0 + dx0 / sx, y0 + dy0 / sy, x0 + dx1 / sx, y0 + dy1 / sy)
        patch = self.characters.resize((dx1 - dx0, dy1 - dy0), Image.Resampling.BILINEAR, box=src)
        patch = patch.convert("RGBA")
        image.paste(patch, (dx0, dy0), patch)


class AnimaticBackend:
    """CPU storyboard clips; the default backend, needs no model weights."""

    name = "animatic"

    def generate(
        self,
        request: GenerationRequest,
        out_path: Path,
        progress: Progress,
        cancel: CancelToken,
    ) -> GenerationResult:
        import av

        validate(request)
        out_path = Path(out_path)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        cancel.check()
        progress(0.0, "Drawing the storyboard frame")
        board = Storyboard(request)
        cancel.check()
        fps = clip_fps(request.fps)
        n = board.frames
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{out_path.stem}.", suffix=".partial.mp4", dir=out_path.parent
        )
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            with av.open(
                str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}
            ) as container:
                stream = container.add_stream("libx264", rate=fps)
                stream.width, stream.height, stream.pix_fmt = (
                    request.width,
                    request.height,
                    "yuv420p",
                )
                stream.options = {"crf": "20", "preset": "superfast", "tune": "animation"}
                time_base = Fraction(1) / fps
                for i, picture in enumerate(board.frames_ahead(cancel)):
                    video_frame = av.VideoFrame.from_image(picture)
                    video_frame.pts = i
                    video_frame.time_base = time_base
                    for packet in stream.encode(video_frame):
                        container.mux(packet)
                    if i % 4 == 3 or i == n - 1:
                        progress(0.02 + 0.96 * (i + 1) / n, f"Frame {i + 1}/{n}")
                for packet in stream.encode():
                    container.mux(packet)
            cancel.check()
            os.replace(tmp, out_path)
        except BaseException:
            with suppress(OSError):
                tmp.unlink()
            raise
        progress(1.0, "Animatic done")
        return GenerationResult(video=out_path, record=self.record(request, n, fps))

    @staticmethod
    def record(request: GenerationRequest, frames: int, fps: Fraction) -> dict[str, Any]:
        return {
            "backend": AnimaticBackend.name,
            "renderer_version": RENDERER_VERSION,
            "width": request.width,
            "height": request.height,
            "frames": frames,
            "fps": str(fps),
            "duration": float(frames / fps),
            "seed": request.seed,
            "size": str(ShotSize(request.size)),
            "angle": str(CameraAngle(request.angle)),
            "camera_move": str(CameraMove(request.camera_move)),
            "reference_hashes": request.reference_hashes(),
            # the dialogue is drawn into the picture: an export may skip burning it again
            "keyframes": [
                str(p.name) for p in (request.first_frame, request.last_frame) if p is not None
            ],
            "dialogue_in_note": any(line.text.strip() for line in request.dialogue),
        }


__all__ = ["AnimaticBackend", "AnimaticError", "clip_fps", "frame_count", "validate"]
