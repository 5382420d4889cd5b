"""Pictures for the animatic: a stylized backdrop from the scene, characters as cut-outs.

The backdrop's palette comes from the time of day and interior/exterior read off the
scene heading (Chinese or English); its shapes (skyline, hills, windows, doors...) come
from a seed hashed from the location, so every shot of a scene shares one set. Reference
images become cut-out figures framed by the shot size; characters without one get a
silhouette with their name.
"""

from __future__ import annotations

import colorsys
import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps
from scipy import ndimage

from engine.errors import MediaError
from engine.generate.animatic_text import font
from engine.generate.base import CharacterRef, GenerationRequest
from engine.model import CameraAngle, ShotSize

RGB = tuple[int, int, int]

# ------------------------------------------------------------------ reading the heading
_TIME_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("dawn", ("dawn", "sunrise", "daybreak", "黎明", "清晨", "拂晓", "破晓", "日出", "凌晨")),
    ("dusk", ("dusk", "sunset", "twilight", "evening", "黄昏", "傍晚", "日落", "夕阳", "薄暮")),
    ("night", ("night", "midnight", "夜", "晚上", "深夜", "午夜")),
    ("day", ("day", "morning", "noon", "afternoon", "日", "白天", "早上", "上午", "中午", "下午")),
]
_INTERIOR_WORDS = ("int.", "int ", "int/", "interior", "内景", "内", "室内")
_EXTERIOR_WORDS = ("ext.", "ext ", "exterior", "外景", "外", "室外")
_CITY_WORDS = ("street", "city", "road", "rooftop", "街", "城", "路", "楼", "天台", "广场", "市")
_NATURE_WORDS = (
    "park",
    "field",
    "mountain",
    "forest",
    "village",
    "garden",
    "山",
    "林",
    "村",
    "园",
    "田",
    "野",
)
_WATER_WORDS = ("sea", "beach", "lake", "river", "harbor", "海", "湖", "江", "河", "港", "岸")


@dataclass(frozen=True)
class SceneLook:
    time_of_day: str  # day | night | dawn | dusk
    interior: bool
    terrain: str  # city | nature | water (exteriors)
    seed: int


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def read_scene(heading: str, description: str = "") -> SceneLook:
    """Time of day, interior or exterior and a location seed from the scene's words."""
    head = heading.lower()
    text = f"{head} {description.lower()}"
    time_of_day = "day"
    for name, words in _TIME_WORDS:
        # the heading decides; the description only when the heading says nothing
        if any(w in head for w in words):
            time_of_day = name
            break
    else:
        for name, words in _TIME_WORDS:
            if any(w in text for w in words if len(w) > 1):
                time_of_day = name
                break
    interior = True
    if any(w in head for w in _EXTERIOR_WORDS) and not head.startswith(("int", "内")):
        interior = False
    elif not any(w in head for w in _INTERIOR_WORDS) and any(
        w in text for w in ("outside", "户外", "街头")
    ):
        interior = False
    terrain = "city"
    if any(w in text for w in _WATER_WORDS):
        terrain = "water"
    elif any(w in text for w in _NATURE_WORDS) and not any(w in text for w in _CITY_WORDS[:4]):
        terrain = "nature"
    # the location part of the heading (time words dropped) seeds the shapes
    location = head
    for _, words in _TIME_WORDS:
        for w in words:
            location = location.replace(w, "")
    return SceneLook(time_of_day, interior, terrain, _stable_int(location.strip(" -–—.0123456789")))


# --------------------------------------------------------------------------- palettes
SKY: dict[str, tuple[RGB, RGB]] = {
    "day": ((92, 148, 214), (206, 228, 242)),
    "night": ((8, 12, 36), (38, 50, 92)),
    "dawn": ((88, 108, 170), (250, 192, 160)),
    "dusk": ((58, 46, 108), (246, 140, 82)),
}
GROUND: dict[str, RGB] = {
    "day": (118, 146, 98),
    "night": (22, 28, 42),
    "dawn": (104, 96, 108),
    "dusk": (78, 58, 68),
}
WALL: dict[str, tuple[RGB, RGB]] = {
    "day": ((232, 218, 194), (204, 188, 162)),
    "night": ((46, 52, 80), (30, 34, 56)),
    "dawn": ((226, 200, 196), (190, 166, 168)),
    "dusk": ((214, 170, 136), (160, 118, 98)),
}
FLOOR: dict[str, RGB] = {
    "day": (150, 114, 84),
    "night": (38, 33, 44),
    "dawn": (140, 112, 104),
    "dusk": (112, 76, 60),
}


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _shade(c: RGB, f: float) -> RGB:
    return tuple(max(0, min(255, round(x * f))) for x in c)  # type: ignore[return-value]


def _vertical_gradient(w: int, h: int, top: RGB, bottom: RGB) -> np.ndarray:
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    a = np.asarray(top, np.float32)[None, None, :]
    b = np.asarray(bottom, np.float32)[None, None, :]
    col = a + (b - a) * t
    return np.broadcast_to(col, (h, w, 3))


def draw_background(size: tuple[int, int], look: SceneLook, frame_h: int) -> Image.Image:
    """The backdrop at canvas ``size``; ``frame_h`` (output height) scales the details."""
    w, h = size
    rng = random.Random(look.seed)
    tod = look.time_of_day
    horizon = round(h * (0.66 if look.interior else 0.64))
    if look.interior:
        wall_top, wall_bottom = WALL[tod]
        hue = rng.uniform(-1, 1)  # each location gets its own wall tint
        tint: RGB = (round(10 * hue), round(-6 * abs(hue)), round(-10 * hue))
        wall_top = tuple(max(0, min(255, c + d)) for c, d in zip(wall_top, tint, strict=True))  # type: ignore[assignment]
        arr = _vertical_gradient(w, horizon, wall_top, wall_bottom)
        floor = _vertical_gradient(
            w, h - horizon, _shade(FLOOR[tod], 0.9), _shade(FLOOR[tod], 1.12)
        )
    else:
        arr = _vertical_gradient(w, horizon, *SKY[tod])
        ground = GROUND[tod] if look.terrain != "water" else _mix(SKY[tod][0], (20, 60, 110), 0.5)
        floor = _vertical_gradient(w, h - horizon, _shade(ground, 1.1), _shade(ground, 0.8))
    img = Image.fromarray(np.concatenate([arr, floor], axis=0).astype(np.uint8))
    draw = ImageDraw.Draw(img, "RGBA")
    if look.interior:
        _draw_interior(draw, w, h, horizon, look, rng)
    else:
        _draw_exterior(draw, w, h, horizon, look, rng)
    blur = max(1.0, frame_h / 420)
    img = img.filter(ImageFilter.GaussianBlur(blur))
    return _vignette(img, 0.22 if tod in ("night", "dusk") else 0.14)


def _vignette(img: Image.Image, strength: float) -> Image.Image:
    w, h = img.size
    y = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
    x = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
    factor = 1.0 - strength * np.clip((x * x + y * y) / 2.0, 0, 1) ** 1.5
    arr = np.asarray(img, np.float32) * factor[..., None]
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8))


def _draw_exterior(
    draw: ImageDraw.ImageDraw, w: int, h: int, horizon: int, look: SceneLook, rng: random.Random
) -> None:
    tod = look.time_of_day
    sky_top, sky_bottom = SKY[tod]
    if tod == "night":
        for _ in range(int(w * h / 9000)):
            x, y = rng.uniform(0, w), rng.uniform(0, horizon * 0.8)
            r = rng.uniform(0.6, 1.6) * h / 1400
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 230, rng.randint(120, 230)))
    body_x = rng.uniform(0.15, 0.85) * w
    body_y = {"day": 0.16, "night": 0.15, "dawn": 0.5, "dusk": 0.48}[tod] * horizon
    body_r = h * 0.045
    body = {
        "day": (255, 246, 214),
        "night": (236, 236, 214),
        "dawn": (255, 214, 160),
        "dusk": (255, 176, 110),
    }[tod]
    for k in range(4, 0, -1):  # glow
        r = body_r * (1 + k * 0.6)
        draw.ellipse((body_x - r, body_y - r, body_x + r, body_y + r), fill=body + (18,))
    draw.ellipse(
        (body_x - body_r, body_y - body_r, body_x + body_r, body_y + body_r), fill=body + (255,)
    )
    if tod != "night":
        cloud = _mix(sky_bottom, (255, 255, 255), 0.6)
        for _ in range(rng.randint(3, 6)):
            cx, cy = rng.uniform(0, w), rng.uniform(0.08, 0.5) * horizon
            for _ in range(4):
                rx, ry = rng.uniform(0.04, 0.09) * w, rng.uniform(0.012, 0.025) * h
                ox = rng.uniform(-0.05, 0.05) * w
                draw.ellipse((cx + ox - rx, cy - ry, cx + ox + rx, cy + ry), fill=cloud + (150,))
    far = _mix(sky_bottom, _shade(sky_top, 0.6), 0.55)
    near = _shade(_mix(far, GROUND[tod], 0.6), 0.8)
    if look.terrain == "city":
        for layer, colour in ((0, far), (1, near)):
            x = -rng.uniform(0, 0.05) * w
            while x < w:
                bw = rng.uniform(0.06, 0.14) * w
                bh = rng.uniform(0.12, 0.32 if layer == 0 else 0.24) * h
                top = horizon - bh
                draw.rectangle((x, top, x + bw, horizon), fill=colour + (255,))
                if tod in ("night", "dusk"):
                    win = max(2.0, h / 300)
                    for wy in np.arange(top + 3 * win, horizon - 2 * win, 3.2 * win):
                        for wx in np.arange(x + 2 * win, x + bw - 2 * win, 3 * win):
                            if rng.random() < 0.35:
                                draw.rectangle(
                                    (wx, wy, wx + win * 1.4, wy + win * 1.6),
                                    fill=(255, 214, 130, 220),
                                )
                x += bw + rng.uniform(0, 0.03) * w
    elif look.terrain == "nature":
        for layer, colour in ((0, far), (1, near)):
            pts = [(0.0, float(horizon))]
            steps = 9
            for i in range(steps + 1):
                pts.append(
                    (w * i / steps, horizon - rng.uniform(0.04, 0.16 if layer == 0 else 0.09) * h)
                )
            pts.append((float(w), float(horizon)))
            draw.polygon(pts, fill=colour + (255,))
        for _ in range(rng.randint(4, 9)):
            tx = rng.uniform(0, w)
            th = rng.uniform(0.05, 0.1) * h
            draw.rectangle(
                (tx - th * 0.05, horizon - th * 0.4, tx + th * 0.05, horizon + th * 0.05),
                fill=_shade(near, 0.6) + (255,),
            )
            draw.ellipse(
                (tx - th * 0.3, horizon - th, tx + th * 0.3, horizon - th * 0.3),
                fill=_shade(near, 0.75) + (255,),
            )
    else:  # water: a shoreline and glints
        draw.rectangle((0, horizon - h * 0.01, w, horizon), fill=far + (255,))
        glint = _mix(body, (255, 255, 255), 0.3)
        for _ in range(40):
            gx, gy = rng.uniform(0, w), rng.uniform(horizon, h * 0.9)
            gw = rng.uniform(0.01, 0.04) * w
            draw.line((gx - gw, gy, gx + gw, gy), fill=glint + (90,), width=max(1, round(h / 700)))


def _draw_interior(
    draw: ImageDraw.ImageDraw, w: int, h: int, horizon: int, look: SceneLook, rng: random.Random
) -> None:
    tod = look.time_of_day
    wall_bottom = WALL[tod][1]
    # skirting board and floor boards in perspective
    draw.rectangle((0, horizon - h * 0.012, w, horizon), fill=_shade(wall_bottom, 0.75) + (255,))
    vanish_x = w * rng.uniform(0.4, 0.6)
    line = _shade(FLOOR[tod], 0.8) + (120,)
    for i in range(-6, 15):
        x = w * i / 8
        draw.line(
            (vanish_x + (x - vanish_x) * 0.35, horizon, x, h),
            fill=line,
            width=max(1, round(h / 600)),
        )
    # a window showing the sky, a door, a picture or shelf, a lamp at night
    slots = [0.12, 0.38, 0.64, 0.88]
    rng.shuffle(slots)
    win_x, door_x, deco_x = slots[0] * w, slots[1] * w, slots[2] * w
    ww, wh = w * rng.uniform(0.16, 0.24), h * rng.uniform(0.2, 0.26)
    wy = horizon - h * 0.5
    frame_c = _shade(wall_bottom, 0.55) + (255,)
    draw.rectangle(
        (
            win_x - ww / 2 - h * 0.008,
            wy - h * 0.008,
            win_x + ww / 2 + h * 0.008,
            wy + wh + h * 0.008,
        ),
        fill=frame_c,
    )
    sky_top, sky_bottom = SKY[tod]
    steps = 12
    for i in range(steps):
        c = _mix(sky_top, sky_bottom, i / (steps - 1))
        draw.rectangle(
            (win_x - ww / 2, wy + wh * i / steps, win_x + ww / 2, wy + wh * (i + 1) / steps + 1),
            fill=c + (255,),
        )
    draw.line((win_x, wy, win_x, wy + wh), fill=frame_c, width=max(1, round(h / 250)))
    draw.line(
        (win_x - ww / 2, wy + wh / 2, win_x + ww / 2, wy + wh / 2),
        fill=frame_c,
        width=max(1, round(h / 250)),
    )
    dw, dh = w * 0.14, h * 0.34
    draw.rectangle(
        (door_x - dw / 2, horizon - dh, door_x + dw / 2, horizon),
        fill=_shade(FLOOR[tod], 0.85) + (255,),
    )
    draw.ellipse(
        (
            door_x + dw * 0.3 - h * 0.006,
            horizon - dh * 0.5 - h * 0.006,
            door_x + dw * 0.3 + h * 0.006,
            horizon - dh * 0.5 + h * 0.006,
        ),
        fill=(220, 190, 110, 255),
    )
    if rng.random() < 0.5:  # a picture frame
        pw, ph = w * 0.1, h * 0.08
        py = horizon - h * 0.42
        draw.rectangle((deco_x - pw / 2, py, deco_x + pw / 2, py + ph), fill=frame_c)
        art = (rng.randint(80, 200), rng.randint(80, 200), rng.randint(80, 200))
        draw.rectangle(
            (deco_x - pw * 0.4, py + ph * 0.1, deco_x + pw * 0.4, py + ph * 0.9), fill=art + (255,)
        )
    else:  # a shelf with books
        sy = horizon - h * 0.3
        draw.rectangle((deco_x - w * 0.08, sy, deco_x + w * 0.08, sy + h * 0.008), fill=frame_c)
        bx = deco_x - w * 0.075
        while bx < deco_x + w * 0.07:
            bw = w * rng.uniform(0.008, 0.016)
            bh = h * rng.uniform(0.03, 0.05)
            col = (rng.randint(60, 200), rng.randint(60, 160), rng.randint(60, 160))
            draw.rectangle((bx, sy - bh, bx + bw, sy), fill=col + (255,))
            bx += bw + w * 0.002
    if tod in ("night", "dusk"):
        lx, ly = slots[3] * w, horizon - h * 0.36
        for k in range(6, 0, -1):
            r = h * 0.03 * k
            draw.ellipse((lx - r, ly - r, lx + r, ly + r), fill=(255, 200, 120, 14))
        draw.polygon(
            [
                (lx - h * 0.03, ly),
                (lx + h * 0.03, ly),
                (lx + h * 0.02, ly - h * 0.035),
                (lx - h * 0.02, ly - h * 0.035),
            ],
            fill=(255, 226, 170, 255),
        )
        draw.line((lx, ly, lx, horizon), fill=frame_c, width=max(1, round(h / 300)))


# ------------------------------------------------------------------------- characters
# Where the head is in a reference image, by its shape: (head top, chin) as fractions of
# the image height. Full-body sheets are tall, busts a little taller than wide, headshots
# about square.
def head_span(aspect_hw: float) -> tuple[float, float]:
    if aspect_hw >= 1.6:
        return 0.03, 0.155
    if aspect_hw >= 1.1:
        return 0.1, 0.48
    return 0.14, 0.74


# For each shot size: the span of the body shown, in head units from the head top (the
# chin is 1, the waist about 3.3, the feet about 7.5), and where that span sits in the frame
# (top and bottom as fractions of the frame height).
FRAMING: dict[ShotSize, tuple[float, float, float, float]] = {
    ShotSize.EXTREME_WIDE: (-0.2, 7.6, 0.56, 0.86),
    ShotSize.WIDE: (-0.2, 7.6, 0.22, 0.93),
    ShotSize.MEDIUM: (-0.35, 3.4, 0.16, 1.0),
    ShotSize.MEDIUM_CLOSE_UP: (-0.3, 2.4, 0.15, 1.0),
    ShotSize.CLOSE_UP: (-0.25, 1.55, 0.12, 1.0),
    ShotSize.EXTREME_CLOSE_UP: (0.2, 0.95, -0.05, 1.05),
}


MAX_REFERENCE_SIDE = 1600  # larger pictures are scaled down before keying


def load_reference(path: Path, name: str) -> Image.Image:
    """A character's reference picture, upright (EXIF), RGBA, at most MAX_REFERENCE_SIDE."""
    if not Path(path).is_file():
        raise MediaError(f"The reference image {path} of {name} does not exist.")
    try:
        with Image.open(path) as opened:
            im = ImageOps.exif_transpose(opened)
            im.load()
            im = im.convert("RGBA")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise MediaError(
            f"The reference image {path} of {name} is not a readable picture."
        ) from None
    im.thumbnail((MAX_REFERENCE_SIDE, MAX_REFERENCE_SIDE), Image.Resampling.LANCZOS)
    return im


def choose_reference(paths: list[Path], size: ShotSize, name: str) -> Image.Image | None:
    """The reference whose shape suits the shot: full figures for wide, faces for close."""
    if not paths:
        return None
    images = [load_reference(p, name) for p in paths]
    wants_tall = size in (ShotSize.EXTREME_WIDE, ShotSize.WIDE, ShotSize.MEDIUM)

    def fit(im: Image.Image) -> float:
        hw = im.height / max(1, im.width)
        return -hw if wants_tall else abs(hw - 1.0)

    return min(images, key=fit) if len(images) > 1 else images[0]


def cut_out(im: Image.Image) -> Image.Image:
    """Key out a plain backdrop (the usual character sheet): flood from the border.

    A photo with a busy background keeps it and becomes a card with rounded corners.
    """
    small = im.convert("RGB")
    arr = np.asarray(small, np.int16)
    h, w = arr.shape[:2]
    k = max(2, min(h, w) // 24)
    # the top corners and edges: the figure itself may reach the bottom (busts do)
    corners = np.concatenate([arr[:k, :k].reshape(-1, 3), arr[:k, -k:].reshape(-1, 3)])
    bg = np.median(corners, axis=0)
    if np.abs(corners - bg).max(axis=1).mean() > 18:  # corners disagree: not a plain backdrop
        return _card(im)
    dist = np.abs(arr - bg).max(axis=2)
    upper = 2 * h // 3
    border = np.concatenate([dist[0], dist[:upper, 0], dist[:upper, -1]])
    if (border <= 28).mean() < 0.9:  # the backdrop is busy: keep it, as a card
        return _card(im)
    # backdrop = backdrop-coloured pixels connected to the picture's edge
    labels, _count = ndimage.label(dist <= 28)
    edge_labels = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    mask = ~np.isin(labels, edge_labels[edge_labels > 0])
    mask = ndimage.binary_erosion(mask, iterations=max(1, min(h, w) // 300))  # no halo
    if mask.mean() < 0.05:  # keyed away nearly everything: keep the picture
        return _card(im)
    alpha = Image.fromarray((mask * 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(max(0.6, min(h, w) / 400))
    )
    out = im.copy()
    out.putalpha(Image.fromarray(np.minimum(np.asarray(alpha), np.asarray(im.getchannel("A")))))
    return out


def _card(im: Image.Image) -> Image.Image:
    out = im.copy()
    r = max(2, min(im.size) // 14)
    mask = Image.new("L", im.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, im.width - 1, im.height - 1), radius=r, fill=255)
    out.putalpha(Image.fromarray(np.minimum(np.asarray(mask), np.asarray(im.getchannel("A")))))
    return out


def _fade_bottom(im: Image.Image, fraction: float = 0.12) -> Image.Image:
    """Soften a figure's bottom edge where the picture ends above the frame's bottom."""
    h = im.height
    n = max(1, round(h * fraction))
    ramp = np.ones(h, np.float32)
    ramp[h - n :] = np.linspace(1.0, 0.0, n, dtype=np.float32)
    alpha = np.asarray(im.getchannel("A"), np.float32) * ramp[:, None]
    out = im.copy()
    out.putalpha(Image.fromarray(alpha.astype(np.uint8)))
    return out


def name_colour(name: str) -> RGB:
    v = _stable_int(name)
    hue = (v % 360) / 360.0
    r, g, b = colorsys.hls_to_rgb(hue, 0.32, 0.35)
    return round(r * 255), round(g * 255), round(b * 255)


SILHOUETTE_HEAD = (0.1 / 7.8, 1.1 / 7.8)  # head top and chin in a silhouette's height


def draw_silhouette(
    name: str, head_px: float, colour: RGB | None = None, label: bool = True
) -> Image.Image:
    """A faceless figure 7.6 head units tall (cropped later like a reference), named."""
    hu = max(4.0, head_px)
    w, h = round(hu * 2.6), round(hu * 7.8)
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    col = (colour or name_colour(name)) + (255,)
    cx = w / 2
    top = hu * 0.1
    draw.ellipse((cx - hu * 0.42, top, cx + hu * 0.42, top + hu), fill=col)  # head
    draw.rectangle(
        (cx - hu * 0.14, top + hu * 0.85, cx + hu * 0.14, top + hu * 1.25), fill=col
    )  # neck
    draw.rounded_rectangle(
        (cx - hu * 1.0, top + hu * 1.15, cx + hu * 1.0, top + hu * 4.1), radius=hu * 0.45, fill=col
    )
    draw.polygon(
        [
            (cx - hu * 0.75, top + hu * 3.8),
            (cx + hu * 0.75, top + hu * 3.8),
            (cx + hu * 0.55, top + hu * 7.6),
            (cx + hu * 0.08, top + hu * 7.6),
            (cx, top + hu * 4.6),
            (cx - hu * 0.08, top + hu * 7.6),
            (cx - hu * 0.55, top + hu * 7.6),
        ],
        fill=col,
    )
    if not label:
        return img
    size = max(10, round(hu * 0.36))
    fnt = font(size)
    label = (
        name
        if fnt.getlength(name) <= hu * 1.9
        else name[: max(1, int(len(name) * hu * 1.9 / fnt.getlength(name)))]
    )
    tw = fnt.getlength(label)
    draw.text((cx - tw / 2, top + hu * 1.9), label, font=fnt, fill=(255, 255, 255, 235))
    return img


def clothing_colour(im: Image.Image) -> RGB:
    """Median colour of the visible pixels in the picture's bottom rows."""
    arr = np.asarray(im)
    rows = arr[max(0, arr.shape[0] - max(2, arr.shape[0] // 8)) :].reshape(-1, 4)
    visible = rows[rows[:, 3] > 128]
    if len(visible) == 0:
        return (80, 80, 90)
    r, g, b = np.median(visible[:, :3], axis=0)
    return int(r), int(g), int(b)


def complete_body(source: Image.Image, name: str) -> Image.Image:
    """A bust or a headshot on top of a body silhouette in its clothing colour.

    Wide shots need the whole figure: rather than a floating portrait, the picture keeps
    its place on a body drawn to the same head size. The result is laid out like a
    silhouette (``SILHOUETTE_HEAD``).
    """
    iw, ih = source.size
    head_top, chin = head_span(ih / max(1, iw))
    unit = (chin - head_top) * ih
    body = draw_silhouette(name, unit, colour=_shade(clothing_colour(source), 0.9), label=False)
    width = max(body.width, iw)
    person = Image.new("RGBA", (width, body.height), (0, 0, 0, 0))
    person.alpha_composite(body, ((width - body.width) // 2, 0))
    y = round(SILHOUETTE_HEAD[0] * body.height - head_top * ih)
    x = (width - iw) // 2
    person.alpha_composite(source, _clip_dest(x, y, person), _clip_src(x, y, source, person))
    return person


BODY_WIDTH_UNITS = 2.1  # shoulders, with a little air between neighbours
FACE_WIDTH_UNITS = 0.8  # a face is about 0.8 head heights wide
MAX_FACE_WIDTH = {
    ShotSize.MEDIUM: 0.24,
    ShotSize.MEDIUM_CLOSE_UP: 0.36,
    ShotSize.CLOSE_UP: 0.52,
}


def reaches_down(source: Image.Image, size: ShotSize) -> bool:
    """Whether the picture shows as much of the body as the shot size needs."""
    iw, ih = source.size
    head_top, chin = head_span(ih / max(1, iw))
    units_below = (1 - head_top) / (chin - head_top)
    return units_below >= FRAMING[size][1] - 0.4


@dataclass
class Figure:
    image: Image.Image  # RGBA, already scaled, top-left at (x, y) in frame pixels
    x: float
    y: float


def frame_figure(
    source: Image.Image,
    size: ShotSize,
    frame_w: int,
    frame_h: int,
    centre_x: float,
    scale: float = 1.0,
    is_silhouette: bool = False,
    crowd: int = 1,
) -> Figure:
    """Crop and scale one figure for ``size`` with its face centred on ``centre_x``."""
    span_a, span_b, frame_top, frame_bottom = FRAMING[size]
    iw, ih = source.size
    if is_silhouette:
        head_top, chin = SILHOUETTE_HEAD
    else:
        head_top, chin = head_span(ih / max(1, iw))
    unit_src = (chin - head_top) * ih  # source pixels per head unit
    unit_dst = (frame_bottom - frame_top) * frame_h / (span_b - span_a)
    if size in MAX_FACE_WIDTH:  # tall frames: keep the face from overflowing the width
        unit_dst = min(unit_dst, MAX_FACE_WIDTH[size] * frame_w / FACE_WIDTH_UNITS)
    if crowd > 1 and size in (ShotSize.EXTREME_WIDE, ShotSize.WIDE, ShotSize.MEDIUM):
        # side by side they must fit: a body is about two head heights wide
        unit_dst = min(unit_dst, frame_w * 0.92 / (crowd * BODY_WIDTH_UNITS))
    unit_dst *= scale
    factor = unit_dst / unit_src
    wide = size in (ShotSize.WIDE, ShotSize.EXTREME_WIDE)
    if wide:  # feet on the ground line
        span_top_px = frame_bottom * frame_h - (span_b - span_a) * unit_dst
        visible_units = span_b - span_a
    else:  # head room as framed; the body runs on past the frame's (and canvas') bottom
        span_top_px = frame_top * frame_h
        visible_units = (1.2 * frame_h - span_top_px) / unit_dst
    # crop rows: from span_a (above the head) down as far as the frame needs
    y0 = max(0.0, (head_top * ih) + span_a * unit_src)
    y1 = min(float(ih), (head_top * ih) + (span_a + visible_units) * unit_src)
    crop = source.crop((0, round(y0), iw, max(round(y0) + 1, round(y1))))
    new_w = max(1, round(crop.width * factor))
    new_h = max(1, round(crop.height * factor))
    scaled = crop.resize(
        (new_w, new_h), Image.Resampling.LANCZOS if factor < 1 else Image.Resampling.BICUBIC
    )
    top_px = span_top_px + (y0 - (head_top * ih + span_a * unit_src)) * factor
    if top_px + new_h < frame_bottom * frame_h - 1 and not wide:
        scaled = _fade_bottom(scaled)
    return Figure(scaled, centre_x - new_w / 2, top_px)


def focus_index(request: GenerationRequest) -> int:
    """The character a close shot is about: the first speaker in frame, else the first."""
    names = [c.name for c in request.characters]
    for line in request.dialogue:
        if line.speaker in names:
            return names.index(line.speaker)
    return 0


def layout_positions(n: int, size: ShotSize) -> list[float]:
    """Horizontal face positions as fractions of the frame width."""
    if n <= 0:
        return []
    if n == 1:
        return [0.5]
    if size in (ShotSize.MEDIUM_CLOSE_UP,):
        return [0.28, 0.72][:n]
    spread = 0.8 if size in (ShotSize.WIDE, ShotSize.EXTREME_WIDE) else 0.74
    left = 0.5 - spread / 2
    return [left + spread * (i + 0.5) / n for i in range(n)]


def draw_characters(
    request: GenerationRequest, canvas: tuple[int, int], frame: tuple[int, int]
) -> Image.Image:
    """The character layer: transparent canvas with the framed figures and shadows."""
    cw, ch = canvas
    fw, fh = frame
    ox, oy = (cw - fw) / 2, (ch - fh) / 2
    layer = Image.new("RGBA", canvas, (0, 0, 0, 0))
    size = ShotSize(request.size)
    chars: list[CharacterRef] = list(request.characters)
    if size in (ShotSize.MEDIUM_CLOSE_UP, ShotSize.CLOSE_UP, ShotSize.EXTREME_CLOSE_UP) and chars:
        focus = focus_index(request)
        if size is ShotSize.MEDIUM_CLOSE_UP:
            chars = [chars[focus]] + [c for i, c in enumerate(chars) if i != focus][:1]
        else:
            chars = [chars[focus]]
    positions = layout_positions(len(chars), size)
    angle = CameraAngle(request.angle)
    scale = {CameraAngle.HIGH: 0.9, CameraAngle.OVERHEAD: 0.85, CameraAngle.LOW: 1.06}.get(
        angle, 1.0
    )
    shift_y = {CameraAngle.HIGH: 0.04, CameraAngle.OVERHEAD: 0.06, CameraAngle.LOW: -0.02}.get(
        angle, 0.0
    ) * fh
    # the focus is drawn last (in front): for MCU the second character stands behind
    order = (
        list(range(len(chars)))[::-1]
        if size is ShotSize.MEDIUM_CLOSE_UP
        else list(range(len(chars)))
    )
    for i in order:
        ref = chars[i]
        source = choose_reference(ref.images, size, ref.name)
        silhouette = source is None
        if source is None:
            unit = (
                (FRAMING[size][3] - FRAMING[size][2]) * fh / (FRAMING[size][1] - FRAMING[size][0])
            )
            source = draw_silhouette(ref.name, unit * scale)
        else:
            source = cut_out(source)
            if size is not ShotSize.EXTREME_CLOSE_UP and not reaches_down(source, size):
                source, silhouette = complete_body(source, ref.name), True
        behind = size is ShotSize.MEDIUM_CLOSE_UP and i > 0
        fig = frame_figure(
            source,
            size,
            fw,
            fh,
            positions[i] * fw,
            scale * (0.9 if behind else 1.0),
            silhouette,
            crowd=len(chars),
        )
        x, y = round(ox + fig.x), round(oy + fig.y + shift_y)
        _shadow(layer, fig.image, x, y, fh)
        img = fig.image
        if behind:  # slightly out of focus and darker
            img = img.filter(ImageFilter.GaussianBlur(max(1, fh / 500)))
            img = Image.merge(
                "RGBA",
                (*[c.point(lambda v: v * 0.8) for c in img.split()[:3]], img.getchannel("A")),
            )
        layer.alpha_composite(img, _clip_dest(x, y, layer), _clip_src(x, y, img, layer))
    if angle is CameraAngle.OVER_THE_SHOULDER:
        _shoulder(layer, ox, oy, fw, fh)
    return layer


def _clip_dest(x: int, y: int, layer: Image.Image) -> tuple[int, int]:
    return max(0, x), max(0, y)


def _clip_src(x: int, y: int, img: Image.Image, layer: Image.Image) -> tuple[int, int, int, int]:
    sx, sy = max(0, -x), max(0, -y)
    ex = min(img.width, layer.width - x)
    ey = min(img.height, layer.height - y)
    return sx, sy, max(sx, ex), max(sy, ey)


def _shadow(layer: Image.Image, img: Image.Image, x: int, y: int, fh: int) -> None:
    off = max(1, round(fh / 160))
    alpha = img.getchannel("A").point(lambda v: v * 0.45)
    alpha = alpha.filter(ImageFilter.GaussianBlur(max(1, fh / 120)))
    shadow = Image.new("RGBA", img.size, (0, 0, 0, 0))
    shadow.putalpha(alpha)
    layer.alpha_composite(
        shadow, _clip_dest(x + off, y + off, layer), _clip_src(x + off, y + off, shadow, layer)
    )


def _shoulder(layer: Image.Image, ox: float, oy: float, fw: int, fh: int) -> None:
    """A dark, soft foreground shoulder at the frame's edge for over-the-shoulder shots."""
    shoulder = Image.new("RGBA", layer.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(shoulder)
    cx, cy = ox + fw * 0.02, oy + fh * 1.02
    r = fh * 0.34
    draw.ellipse((cx - r * 0.9, cy - r, cx + r * 0.9, cy + r), fill=(18, 18, 24, 235))
    draw.ellipse(
        (cx - r * 0.25, cy - r * 1.55, cx + r * 0.35, cy - r * 0.65), fill=(18, 18, 24, 235)
    )
    shoulder = shoulder.filter(ImageFilter.GaussianBlur(max(2, fh / 80)))
    layer.alpha_composite(shoulder)


def rotate_for_dutch(img: Image.Image, degrees: float) -> Image.Image:
    fill = (
        (0, 0, 0, 0)
        if img.mode == "RGBA"
        else tuple(int(v) for v in np.asarray(img).reshape(-1, 3).mean(0))
    )
    return img.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=fill)


def dutch_degrees(seed: int) -> float:
    return 7.0 if seed % 2 == 0 else -7.0
