"""Set dressing for the animatic's backdrop: a prop that says where we are, and weather.

A café gets a counter, an office a desk, a bedroom or a ward a bed, a classroom a
blackboard, a home a sofa; rain and snow fall outside (or on the window). Everything is
a few flat shapes, drawn before the backdrop is softened.
"""

from __future__ import annotations

import random
import re

from PIL import ImageDraw

RGB = tuple[int, int, int]

_PROP_WORDS: list[tuple[str, tuple[str, ...]]] = [
    (
        "counter",
        (
            "咖啡",
            "酒吧",
            "餐厅",
            "饭店",
            "小店",
            "面馆",
            "茶馆",
            "cafe",
            "café",
            "coffee",
            "bar",
            "restaurant",
            "diner",
            "shop",
            "pub",
        ),
    ),
    ("desk", ("办公", "会议", "书房", "公司", "前台", "office", "study", "meeting", "studio")),
    (
        "bed",
        (
            "卧室",
            "病房",
            "医院",
            "宿舍",
            "酒店房间",
            "bedroom",
            "hospital",
            "ward",
            "dorm",
            "hotel room",
        ),
    ),
    ("board", ("教室", "学校", "课堂", "classroom", "school", "lecture")),
    ("sofa", ("客厅", "家中", "公寓", "living room", "apartment", "home", "flat")),
]
_RAIN_WORDS = ("雨", "rain", "storm", "drizzle", "downpour")
_SNOW_WORDS = ("雪", "snow", "blizzard")


def _has(text: str, word: str) -> bool:
    if word.isascii():
        return re.search(rf"\b{re.escape(word)}\b", text) is not None
    return word in text


def scene_prop(heading: str) -> str:
    """The interior's telling prop from the heading's place words, or ""."""
    text = heading.lower()
    for prop, words in _PROP_WORDS:
        if any(_has(text, w) for w in words):
            return prop
    return ""


def scene_weather(text: str, names: tuple[str, ...] = ()) -> str:
    """ "rain", "snow" or "" from the scene's words (characters' names taken out first:
    林雨 is a person, not the weather)."""
    text = text.lower()
    for name in names:
        if name:
            text = text.replace(name.lower(), " ")
    if any(_has(text, w) for w in _SNOW_WORDS):
        return "snow"
    if any(_has(text, w) for w in _RAIN_WORDS):
        return "rain"
    return ""


def _shade(c: RGB, f: float) -> RGB:
    return tuple(max(0, min(255, round(x * f))) for x in c)  # type: ignore[return-value]


def draw_prop(
    draw: ImageDraw.ImageDraw, prop: str, x: float, horizon: float, h: int, wood: RGB
) -> None:
    """One prop standing on the floor line, centred on ``x``; sizes follow the height."""
    dark = _shade(wood, 0.7) + (255,)
    mid = _shade(wood, 0.95) + (255,)
    light = _shade(wood, 1.25) + (255,)
    u = h / 100  # one percent of the canvas height
    if prop == "counter":
        draw.rectangle((x - 22 * u, horizon - 14 * u, x + 22 * u, horizon + 3 * u), fill=mid)
        draw.rectangle((x - 23 * u, horizon - 15.5 * u, x + 23 * u, horizon - 13.5 * u), fill=light)
        draw.rectangle(
            (x + 8 * u, horizon - 24 * u, x + 16 * u, horizon - 15.5 * u), fill=(70, 72, 80, 255)
        )  # the coffee machine
        for i in range(3):
            cx = x - 16 * u + i * 5 * u
            draw.rounded_rectangle(
                (cx, horizon - 18 * u, cx + 3 * u, horizon - 15.5 * u),
                radius=u * 0.6,
                fill=(235, 232, 225, 255),
            )
    elif prop == "desk":
        draw.rectangle((x - 16 * u, horizon - 12 * u, x + 16 * u, horizon - 10.5 * u), fill=light)
        for leg in (x - 15 * u, x + 13.5 * u):
            draw.rectangle((leg, horizon - 10.5 * u, leg + 1.5 * u, horizon + 2 * u), fill=dark)
        draw.rectangle(
            (x - 6 * u, horizon - 22 * u, x + 7 * u, horizon - 14 * u), fill=(40, 44, 52, 255)
        )  # a monitor
        draw.rectangle(
            (x - 5 * u, horizon - 21 * u, x + 6 * u, horizon - 15 * u), fill=(110, 150, 190, 255)
        )
        draw.rectangle((x, horizon - 14 * u, x + 1 * u, horizon - 12 * u), fill=(40, 44, 52, 255))
    elif prop == "bed":
        draw.rectangle((x - 20 * u, horizon - 16 * u, x - 17 * u, horizon + 3 * u), fill=dark)
        draw.rectangle(
            (x - 18 * u, horizon - 6 * u, x + 20 * u, horizon + 3 * u), fill=(225, 228, 235, 255)
        )
        draw.rectangle(
            (x - 5 * u, horizon - 6.5 * u, x + 20 * u, horizon + 1 * u), fill=(120, 150, 190, 255)
        )  # the blanket
        draw.ellipse(
            (x - 16 * u, horizon - 9 * u, x - 7 * u, horizon - 4.5 * u), fill=(245, 245, 248, 255)
        )
    elif prop == "board":
        draw.rectangle((x - 20 * u, horizon - 42 * u, x + 20 * u, horizon - 22 * u), fill=dark)
        draw.rectangle(
            (x - 19 * u, horizon - 41 * u, x + 19 * u, horizon - 23 * u), fill=(40, 78, 60, 255)
        )
        for i in range(3):
            y = horizon - 37 * u + i * 4.5 * u
            draw.line(
                (x - 15 * u, y, x + (4 - 5 * i) * u, y),
                fill=(225, 230, 220, 200),
                width=max(1, round(0.5 * u)),
            )
    elif prop == "sofa":
        body = (150, 96, 84, 255)
        draw.rounded_rectangle(
            (x - 20 * u, horizon - 14 * u, x + 20 * u, horizon - 4 * u),
            radius=3 * u,
            fill=_shade(body[:3], 0.85) + (255,),
        )
        draw.rounded_rectangle(
            (x - 20 * u, horizon - 7 * u, x + 20 * u, horizon + 2 * u), radius=2 * u, fill=body
        )
        for arm in (x - 22 * u, x + 17 * u):
            draw.rounded_rectangle(
                (arm, horizon - 10 * u, arm + 5 * u, horizon + 2 * u),
                radius=2 * u,
                fill=_shade(body[:3], 0.75) + (255,),
            )


def draw_weather(
    draw: ImageDraw.ImageDraw,
    weather: str,
    box: tuple[float, float, float, float],
    h: int,
    rng: random.Random,
) -> None:
    """Rain streaks or snowflakes inside ``box`` (the sky, or a window)."""
    x0, y0, x1, y1 = box
    area = max(1.0, (x1 - x0) * (y1 - y0))
    if weather == "rain":
        length = h * 0.035
        width = max(1, round(h / 900))
        for _ in range(int(area / (h * h) * 900)):
            x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
            end_x = min(x1, x + length * 0.25)
            end_y = min(y1, y + length)
            draw.line((x, y, end_x, end_y), fill=(210, 225, 245, 110), width=width)
    elif weather == "snow":
        for _ in range(int(area / (h * h) * 500)):
            x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
            r = rng.uniform(0.002, 0.005) * h
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(250, 250, 255, 200))
