"""The animatic's backdrop: a stylized picture of the scene's place and time of day.

The backdrop's palette comes from the time of day and interior/exterior read off the
scene heading (Chinese or English); its shapes (skyline, hills, windows, doors...) come
from a seed hashed from the location, so every shot of a scene shares one set.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from engine.generate.animatic_props import draw_prop, draw_weather, scene_prop, scene_weather

RGB = tuple[int, int, int]

# ------------------------------------------------------------------ reading the heading
_TIME_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("dawn", ("dawn", "sunrise", "daybreak", "黎明", "清晨", "拂晓", "破晓", "日出", "凌晨")),
    ("dusk", ("dusk", "sunset", "twilight", "evening", "黄昏", "傍晚", "日落", "夕阳", "薄暮")),
    ("night", ("night", "midnight", "夜", "晚", "夜晚", "晚上", "深夜", "午夜", "夜里")),
    ("day", ("day", "morning", "noon", "afternoon", "日", "白天", "早上", "上午", "中午", "下午")),
]
_INTERIOR_TOKENS = {"int", "interior", "内", "内景", "室内"}
_EXTERIOR_TOKENS = {"ext", "exterior", "外", "外景", "室外"}
_OUTDOOR_HINTS = ("outside", "outdoors", "户外", "街头", "街上", "露天")
_TERRAIN_WORDS: list[tuple[str, tuple[str, ...]]] = [
    (
        "water",
        (
            "sea",
            "beach",
            "lake",
            "river",
            "harbor",
            "harbour",
            "shore",
            "海",
            "湖",
            "江",
            "河",
            "港",
            "岸",
        ),
    ),
    (
        "nature",
        (
            "park",
            "field",
            "mountain",
            "forest",
            "village",
            "garden",
            "countryside",
            "山",
            "林",
            "村",
            "园",
            "田",
            "野",
            "郊",
        ),
    ),
]
_SPLIT = re.compile(r"[\s\-–—.,，。、;；:：/|()（）\[\]【】]+")


@dataclass(frozen=True)
class SceneLook:
    time_of_day: str  # day | night | dawn | dusk
    interior: bool
    terrain: str  # city | nature | water (exteriors)
    seed: int
    prop: str = ""  # counter | desk | bed | board | sofa | "" (interiors)
    weather: str = ""  # rain | snow | ""


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def _mentions(text: str, tokens: set[str], word: str) -> bool:
    """A Latin word must be a whole token ("day" is not in "birthday"); Chinese may be inside."""
    if word.isascii():
        return word in tokens
    return word in tokens or (len(word) > 1 and word in text)


def _time_of_day(text: str) -> str | None:
    tokens = {t for t in _SPLIT.split(text) if t}
    for name, words in _TIME_WORDS:
        if any(_mentions(text, tokens, w) for w in words):
            return name
    return None


def read_scene(heading: str, description: str = "", names: tuple[str, ...] = ()) -> SceneLook:
    """Time of day, interior or exterior and a location seed from the scene's words.

    Reads English (``INT. CAFE - NIGHT``) and Chinese (``第1场 夜 内 咖啡馆``, ``内景 咖啡馆
    - 夜``) headings; the description is consulted only where the heading is silent.
    ``names`` (the characters') are not read as weather: 林雨 does not make it rain.
    """
    head = heading.lower().strip()
    desc = description.lower()
    time_of_day = _time_of_day(head) or _time_of_day(desc) or "day"
    tokens = [t for t in _SPLIT.split(head) if t]
    inside = any(t in _INTERIOR_TOKENS for t in tokens) or "内景" in head
    outside = any(t in _EXTERIOR_TOKENS for t in tokens) or "外景" in head
    if inside or outside:
        interior = inside and not outside  # INT./EXT. (a car, a doorway): show the outside
    else:
        interior = not any(h in f"{head} {desc}" for h in _OUTDOOR_HINTS)
    text = f"{head} {desc}"
    text_tokens = {t for t in _SPLIT.split(text) if t}
    terrain = "city"
    for name, words in _TERRAIN_WORDS:
        if any(_mentions(text, text_tokens, w) if len(w) > 1 else w in head for w in words):
            terrain = name
            break
    # the location words of the heading (no scene number, no time, no INT/EXT) seed the shapes
    time_words = {w for _, words in _TIME_WORDS for w in words}
    place = [
        t
        for t in tokens
        if t not in time_words
        and t not in _INTERIOR_TOKENS
        and t not in _EXTERIOR_TOKENS
        and not re.fullmatch(r"(第?\d+[场場]?|scene|\d+)", t)
    ]
    return SceneLook(
        time_of_day,
        interior,
        terrain,
        _stable_int(" ".join(place)),
        prop=scene_prop(head) if interior else "",
        weather=scene_weather(f"{head} {desc}", names),
    )


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
        window = _draw_interior(draw, w, h, horizon, look, rng)
        draw_weather(draw, look.weather, window, h, rng)
    else:
        _draw_exterior(draw, w, h, horizon, look, rng)
        draw_weather(draw, look.weather, (0, 0, w, h), h, rng)
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
) -> tuple[float, float, float, float]:
    """Walls, floor, window, door, decoration and the place's prop; returns the window."""
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
    if look.prop == "board":  # the blackboard takes the wall
        pass
    elif rng.random() < 0.5:  # a picture frame
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
    if look.prop:
        draw_prop(draw, look.prop, deco_x, horizon, h, _shade(FLOOR[tod], 1.1))
    return win_x - ww / 2, wy, win_x + ww / 2, wy + wh
