"""Bundled assets (fonts, sample project, music), found next to the packages."""

from __future__ import annotations

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"


def asset_path(*parts: str) -> Path:
    return ASSETS_DIR.joinpath(*parts)


def cjk_font_path() -> Path:
    """The bundled CJK font (Noto Sans CJK SC subset, SIL OFL 1.1): Chinese and Latin."""
    return asset_path("fonts", "NotoSansSC-Storyreel.otf")


def load_font(size: int):  # -> PIL.ImageFont.FreeTypeFont
    """The bundled CJK font at ``size`` pixels, for captions, labels and subtitles."""
    from PIL import ImageFont

    return ImageFont.truetype(str(cjk_font_path()), size)
