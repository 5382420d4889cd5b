"""Characters for the animatic: reference pictures as cut-out figures, framed by shot size.

A reference picture on a plain (or vertically graded) backdrop is keyed into a cut-out;
one on a busy backdrop becomes a card. The head is found from the cut-out's top edge
(else guessed from the picture's shape) and the figure is scaled so that the span of the
body the shot size calls for (full figure, waist up, face...) fills its part of the frame.
A bust in a wide shot stands on a body drawn in its clothing colour; characters without
a picture get a silhouette with their name.
"""

from __future__ import annotations

import colorsys
import hashlib
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


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def _shade(c: RGB, f: float) -> RGB:
    return tuple(max(0, min(255, round(x * f))) for x in c)  # type: ignore[return-value]


# Where the head is in a reference picture, by its shape, as fractions of its height:
# (head top, head length). Full-body sheets are tall, busts a little taller than wide,
# headshots about square. The head top is measured instead when the backdrop is keyed.
def head_guess(aspect_hw: float) -> tuple[float, float]:
    if aspect_hw >= 1.6:
        return 0.03, 0.125
    if aspect_hw >= 1.1:
        return 0.12, 0.36
    return 0.14, 0.58


@dataclass
class Portrait:
    """A character picture ready to frame: RGBA, with where its head is."""

    image: Image.Image
    head_top: float  # fraction of the height
    chin: float  # fraction of the height
    centre: float = 0.5  # the face's horizontal centre, fraction of the width
    whole: bool = False  # a full figure already (a silhouette, or a bust given a body)

    @property
    def unit(self) -> float:
        """Pixels per head unit (head top to chin)."""
        return (self.chin - self.head_top) * self.image.height


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


KEY_TOLERANCE = 28  # colour distance (max over channels) still counted as backdrop


def _backdrop_model(arr: np.ndarray) -> np.ndarray | None:
    """Per-row backdrop colour (flat or a vertical gradient) from the picture's side edges.

    A robust straight-line fit of colour against height over the edge pixels of the upper
    two thirds (a figure often reaches the bottom or one side: those pixels are outliers).
    None when the edges do not look like a plain backdrop.
    """
    h, w = arr.shape[:2]
    k = max(2, min(h, w) // 40)
    upper = max(2, 2 * h // 3)
    t = np.arange(h, dtype=np.float32) / h
    edge = np.concatenate([arr[:upper, :k], arr[:upper, -k:]], axis=1).astype(np.float32)
    colours = edge.reshape(-1, 3)
    heights = np.repeat(t[:upper], 2 * k)
    design = np.stack([np.ones_like(heights), heights], axis=1)
    start = np.median(np.concatenate([arr[:k, :k], arr[:k, -k:]], axis=1).reshape(-1, 3), axis=0)
    inliers = np.abs(colours - start).max(axis=1) <= 3 * KEY_TOLERANCE
    for _ in range(3):
        if inliers.sum() < 8:
            return None
        coef, *_ = np.linalg.lstsq(design[inliers], colours[inliers], rcond=None)
        predicted = design @ coef
        inliers = np.abs(colours - predicted).max(axis=1) <= KEY_TOLERANCE
    model = coef[0][None, :] + t[:, None] * coef[1][None, :]  # (h, 3)
    top = np.abs(arr[0].astype(np.float32) - model[0]).max(axis=1)
    if inliers.mean() < 0.75 or (top <= KEY_TOLERANCE).mean() < 0.9:
        return None
    return model


def cut_out(im: Image.Image) -> Portrait:
    """Key out a plain or graded backdrop (the usual character sheet) and find the head.

    The backdrop is what matches the edge colours and is connected to the edge. A picture
    with a busy background keeps it and becomes a card with rounded corners.
    """
    arr = np.asarray(im.convert("RGB"), np.int16)
    h, w = arr.shape[:2]
    guess_top, head_len = head_guess(h / max(1, w))
    card = Portrait(_card(im), guess_top, guess_top + head_len)
    model = _backdrop_model(arr)
    if model is None:
        return card
    dist = np.abs(arr - model[:, None, :]).max(axis=2)
    labels, _count = ndimage.label(dist <= KEY_TOLERANCE)
    edge_labels = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    mask = ~np.isin(labels, edge_labels[edge_labels > 0])
    mask = ndimage.binary_erosion(mask, iterations=max(1, min(h, w) // 300))  # no halo
    if mask.mean() < 0.05:  # keyed away nearly everything: keep the picture
        return card
    alpha = Image.fromarray((mask * 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(max(0.6, min(h, w) / 400))
    )
    out = im.copy()
    out.putalpha(Image.fromarray(np.minimum(np.asarray(alpha), np.asarray(im.getchannel("A")))))
    rows = np.nonzero(mask.mean(axis=1) > 0.02)[0]
    top = int(rows[0]) if len(rows) else round(guess_top * h)
    head_rows = mask[top : top + max(3, round(head_len * h * 0.6))]
    cols = np.nonzero(head_rows.any(axis=0))[0]
    centre = (cols[0] + cols[-1] + 1) / 2 / w if len(cols) else 0.5
    return Portrait(out, top / h, top / h + head_len, float(centre))


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
    """A muted colour of its own for each name (16 hues × 2 shades), the same in every shot."""
    v = _stable_int(name)
    hue = (v % 16) / 16
    lightness = 0.3 if (v >> 8) % 2 else 0.4
    r, g, b = colorsys.hls_to_rgb(hue, lightness, 0.4)
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
    room = hu * 1.9  # the chest's width
    fnt = font(size)
    while fnt.getlength(name) > room and size > 8:  # long names get a smaller font first
        size -= 1
        fnt = font(size)
    label = name
    while len(label) > 1 and fnt.getlength(label + "…") > room:
        label = label[:-1]
    if label != name:
        label += "…"
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


def silhouette_portrait(name: str, head_px: float) -> Portrait:
    image = draw_silhouette(name, head_px)
    return Portrait(image, *SILHOUETTE_HEAD, whole=True)


def complete_body(portrait: Portrait, name: str) -> Portrait:
    """A bust or a headshot on top of a body silhouette in its clothing colour.

    Wide shots need the whole figure: rather than a floating portrait, the picture keeps
    its place on a body drawn to the same head size.
    """
    source = portrait.image
    iw, ih = source.size
    colour = _shade(clothing_colour(source), 0.9)
    body = draw_silhouette(name, portrait.unit, colour=colour, label=False)
    # the face's centre goes over the body's centre line
    shift = round((0.5 - portrait.centre) * iw)
    width = max(body.width, iw + 2 * abs(shift))
    person = Image.new("RGBA", (width, body.height), (0, 0, 0, 0))
    person.alpha_composite(body, ((width - body.width) // 2, 0))
    y = round(SILHOUETTE_HEAD[0] * body.height - portrait.head_top * ih)
    x = (width - iw) // 2 + shift
    person.alpha_composite(source, _clip_dest(x, y, person), _clip_src(x, y, source, person))
    return Portrait(person, *SILHOUETTE_HEAD, whole=True)


MOUTH_AT = 0.78  # the mouth, in head units below the head top (the chin is 1)
BODY_WIDTH_UNITS = 2.1  # shoulders, with a little air between neighbours
FACE_WIDTH_UNITS = 0.8  # a face is about 0.8 head heights wide
MAX_FACE_WIDTH = {
    ShotSize.MEDIUM: 0.24,
    ShotSize.MEDIUM_CLOSE_UP: 0.36,
    ShotSize.CLOSE_UP: 0.52,
    ShotSize.EXTREME_CLOSE_UP: 1.1,  # eyes to mouth, both eyes still in frame
}


@dataclass
class Figure:
    image: Image.Image  # RGBA, already scaled, top-left at (x, y) in frame pixels
    x: float
    y: float
    head_y: float  # where the top of the head is, in frame pixels
    portrait: Portrait  # what was framed (a bust may have been given a body)
    unit: float = 0.0  # frame pixels per head unit (head top to chin)
    face_x: float = 0.0  # the face's horizontal centre, frame pixels


def frame_figure(
    portrait: Portrait,
    size: ShotSize,
    frame_w: int,
    frame_h: int,
    centre_x: float,
    scale: float = 1.0,
    crowd: int = 1,
) -> Figure:
    """Crop and scale one figure for ``size`` with its face centred on ``centre_x``."""
    span_a, span_b, frame_top, frame_bottom = FRAMING[size]
    source = portrait.image
    iw, ih = source.size
    head_top = portrait.head_top
    unit_src = portrait.unit  # source pixels per head unit
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
    elif size is ShotSize.EXTREME_CLOSE_UP:  # eyes to mouth, centred
        span_top_px = 0.42 * frame_h - (span_b - span_a) / 2 * unit_dst
        visible_units = (1.2 * frame_h - span_top_px) / unit_dst
    else:  # head room as framed; the body runs on past the frame's (and canvas') bottom
        span_top_px = frame_top * frame_h
        visible_units = (1.2 * frame_h - span_top_px) / unit_dst
    # crop rows: from span_a (above the head) down as far as the frame needs
    y0 = max(0.0, (head_top * ih) + min(span_a, -0.3) * unit_src)  # hair and headroom too
    y1 = min(float(ih), (head_top * ih) + (span_a + visible_units) * unit_src)
    crop = source.crop((0, round(y0), iw, max(round(y0) + 1, round(y1))))
    new_w = max(1, round(crop.width * factor))
    new_h = max(1, round(crop.height * factor))
    scaled = crop.resize(
        (new_w, new_h), Image.Resampling.LANCZOS if factor < 1 else Image.Resampling.BICUBIC
    )
    top_px = span_top_px + (y0 - (head_top * ih + span_a * unit_src)) * factor
    if top_px + new_h < frame_bottom * frame_h - 1:  # the picture ends too soon
        if not portrait.whole and size is not ShotSize.EXTREME_CLOSE_UP:
            whole = complete_body(portrait, "")
            return frame_figure(whole, size, frame_w, frame_h, centre_x, scale, crowd)
        if not wide and not portrait.whole:
            scaled = _fade_bottom(scaled)
    gap = frame_bottom * frame_h - (top_px + new_h)
    if portrait.whole and not wide and gap > 0:
        # a small whole figure in a closer shot (a crowd in a tall frame): stand it on the
        # frame's bottom edge rather than leave it floating
        top_px += gap
        span_top_px += gap
    head_y = span_top_px - span_a * unit_dst
    return Figure(scaled, centre_x - portrait.centre * new_w, top_px, head_y, portrait,
                  unit=unit_dst, face_x=centre_x)


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
    request: GenerationRequest, canvas: tuple[int, int], frame: tuple[int, int],
    mouths: dict[str, tuple[float, float, float]] | None = None,
) -> Image.Image:
    """The character layer: transparent canvas with the framed figures and shadows.

    ``mouths``, when given, is filled with each drawn character's mouth: name → (x, y,
    head unit) in canvas pixels, for the talking mouths drawn per frame."""
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
        picture = choose_reference(ref.images, size, ref.name)
        if picture is None:
            span_a, span_b, top, bottom = FRAMING[size]
            portrait = silhouette_portrait(ref.name, (bottom - top) * fh / (span_b - span_a))
        else:
            portrait = cut_out(picture)
        behind = size is ShotSize.MEDIUM_CLOSE_UP and i > 0
        fig = frame_figure(
            portrait,
            size,
            fw,
            fh,
            positions[i] * fw,
            scale * (0.9 if behind else 1.0),
            crowd=len(chars),
        )
        x, y = round(ox + fig.x), round(oy + fig.y + shift_y)
        if mouths is not None and not behind:
            mouths[ref.name] = (ox + fig.face_x, oy + shift_y + fig.head_y + MOUTH_AT * fig.unit,
                                fig.unit)
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
