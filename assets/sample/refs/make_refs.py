"""Draws the sample characters' reference sheets (self-made, CC0). Run to regenerate:

    python assets/sample/refs/make_refs.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent


def portrait(path: Path, *, hair: tuple[int, int, int], long_hair: bool,
             coat: tuple[int, int, int], accent: tuple[int, int, int],
             backdrop: tuple[int, int, int], skin: tuple[int, int, int]) -> None:
    w, h = 512, 768
    img = Image.new("RGB", (w, h), backdrop)
    d = ImageDraw.Draw(img)
    for y in range(h):  # soft vertical backdrop gradient
        t = y / h
        c = tuple(int(b * (1 - 0.35 * t)) for b in backdrop)
        d.line([(0, y), (w, y)], fill=c)
    cx = w // 2
    if long_hair:  # hair behind the shoulders
        d.rounded_rectangle([cx - 120, 150, cx + 120, 520], radius=90, fill=hair)
    # body and coat
    d.rounded_rectangle([cx - 190, 470, cx + 190, h + 40], radius=120, fill=coat)
    d.polygon([(cx - 60, 470), (cx, 600), (cx + 60, 470)], fill=accent)  # collar / shirt
    d.rectangle([cx - 38, 400, cx + 38, 490], fill=skin)  # neck
    # head
    d.ellipse([cx - 105, 170, cx + 105, 430], fill=skin)
    # hair on top
    if long_hair:
        d.chord([cx - 115, 150, cx + 115, 360], 180, 360, fill=hair)
        d.polygon([(cx - 112, 260), (cx - 60, 200), (cx - 20, 250)], fill=hair)
    else:
        d.chord([cx - 112, 155, cx + 112, 330], 180, 360, fill=hair)
        d.rectangle([cx - 112, 240, cx - 92, 300], fill=hair)
        d.rectangle([cx + 92, 240, cx + 112, 300], fill=hair)
    # eyes, brows, mouth
    for dx in (-45, 45):
        d.ellipse([cx + dx - 14, 300, cx + dx + 14, 318], fill=(40, 30, 30))
        d.line([(cx + dx - 22, 282), (cx + dx + 22, 280)], fill=hair, width=6)
    d.arc([cx - 30, 345, cx + 30, 380], 20, 160, fill=(150, 60, 60), width=5)
    img = img.filter(ImageFilter.SMOOTH_MORE)
    img.save(path, optimize=True)


if __name__ == "__main__":
    portrait(HERE / "linyu.png", hair=(25, 20, 22), long_hair=True, coat=(235, 232, 225),
             accent=(170, 40, 50), backdrop=(120, 150, 190), skin=(245, 215, 190))
    portrait(HERE / "chenmo.png", hair=(30, 28, 30), long_hair=False, coat=(45, 50, 62),
             accent=(200, 200, 205), backdrop=(150, 120, 95), skin=(225, 190, 160))
