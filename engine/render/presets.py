"""Export presets: output size, frame rate and encoder settings per delivery platform."""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from engine.errors import StoryreelError


@dataclass(frozen=True)
class Preset:
    """How a film is encoded. ``width``/``height``/``fps`` None = the project's own
    (``scale`` multiplies the project size, for drafts)."""

    name: str
    width: int | None = None
    height: int | None = None
    fps: Fraction | None = None
    scale: float = 1.0
    video_codec: str = "libx264"
    x264_preset: str = "veryfast"
    crf: int = 20
    profile: str = "high"
    pix_fmt: str = "yuv420p"
    audio_codec: str = "aac"
    audio_rate: int = 48000
    audio_bitrate: int = 192_000
    gop_seconds: float = 2.0
    description: str = ""

    def resolve(self, project_width: int, project_height: int, project_fps: Fraction) -> Preset:
        """This preset with concrete, even width/height and fps for a project."""
        width = self.width or project_width * self.scale
        height = self.height or project_height * self.scale
        return replace(
            self,
            width=max(2, int(round(width / 2)) * 2),
            height=max(2, int(round(height / 2)) * 2),
            fps=Fraction(self.fps if self.fps is not None else project_fps),
        )


PRESETS: dict[str, Preset] = {
    "douyin": Preset("douyin", 1080, 1920, Fraction(30), description="抖音 9:16 1080×1920 30 fps"),
    "kuaishou": Preset(
        "kuaishou", 1080, 1920, Fraction(30), description="快手 9:16 1080×1920 30 fps"
    ),
    "bilibili": Preset(
        "bilibili", 1920, 1080, Fraction(30), description="哔哩哔哩 16:9 1920×1080 30 fps"
    ),
    "youtube": Preset(
        "youtube", 1920, 1080, Fraction(30), description="YouTube 16:9 1920×1080 30 fps"
    ),
    "square": Preset("square", 1080, 1080, Fraction(30), description="1:1 1080×1080 30 fps"),
    "draft": Preset(
        "draft",
        scale=0.5,
        x264_preset="ultrafast",
        crf=28,
        audio_bitrate=96_000,
        description="half the project size, fastest settings, for review",
    ),
}


def get_preset(name: str | Preset) -> Preset:
    if isinstance(name, Preset):
        return name
    try:
        return PRESETS[name]
    except KeyError:
        raise StoryreelError(
            f"Unknown export preset {name!r}; expected one of {', '.join(PRESETS)}."
        ) from None
