"""A shot's keyframe exported as a still (PNG or JPEG) carrying the AI-content label.

``export_still(store, shot_id, out)`` writes the shot's first keyframe (its last with
``last=True``, or a keyframe take's image with ``take_id``) to ``out``. Like a film, the
still carries GB 45438-2025's implicit label (隐式标识): the same seven ``AIGC`` fields as
the video's container tag, in an XMP packet (``engine.render.aigc.xmp_packet``; PNG in an
``iTXt`` chunk ``XML:com.adobe.xmp``, JPEG in its APP1 segment), with the project's
producer and propagator. It is written to a temporary file and renamed, so a failure
leaves nothing half-written; the project is not changed.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import StoryreelError
from engine.model import entities as E
from engine.render.aigc import AigcOptions, fields, xmp_packet

FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


class StillError(StoryreelError):
    """The still could not be exported."""


@dataclass
class StillReport:
    path: Path
    width: int
    height: int
    source: str  # first keyframe, last keyframe, or take <id>
    aigc: dict[str, str] | None

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "width": self.width, "height": self.height,
                "source": self.source, "aigc": self.aigc}


def _source(store: Any, shot: E.Shot, label: str, last: bool,
            take_id: str | None) -> tuple[str, str]:
    if take_id is not None:
        take = store.get(E.Take, take_id)
        if take is None or take.shot_id != shot.id:
            raise StillError(f"Shot {label} has no take {take_id}.")
        sha = take.record.get("keyframe")
        if not sha:
            raise StillError(f"Take {take.id[:8]} of shot {label} has no keyframe image; "
                             "only keyframe models (SDXL) make one.")
        return str(sha), f"take {take.id[:8]}"
    sha = shot.last_keyframe if last else shot.first_keyframe
    which = "last" if last else "first"
    if not sha:
        raise StillError(f"Shot {label} has no {which} keyframe; set one with `storyreel "
                         f"keyframe` or `use-keyframe`.")
    return sha, f"{which} keyframe"


def export_still(store: Any, shot_id: str, out: Path | str, *, last: bool = False,
                 take_id: str | None = None, label: bool = True) -> StillReport:
    """Write the shot's keyframe to ``out`` (.png, .jpg); with ``label`` (the default) it
    carries the implicit AI-content label in XMP."""
    from PIL import Image

    from engine.model.shot_rules import project_shot_labels

    out = Path(out)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise StillError(f"{out.name}: a still is written as .png or .jpg, not "
                         f"{out.suffix or 'a file without a suffix'!r}.")
    if out.is_dir():
        raise StillError(f"{out} is a folder; give the still's file name.")
    if not out.parent.is_dir():
        raise StillError(f"The folder {out.parent} does not exist.")
    shot = store.require(E.Shot, shot_id)
    name = project_shot_labels(store).get(shot.id, shot.id[:8])
    sha, source = _source(store, shot, name, last, take_id)
    path = store.media.require_intact(sha, f"Shot {name}: its {source}")
    try:
        with Image.open(path) as image:
            image.load()
            picture = image.convert("RGB") if fmt == "JPEG" or image.mode not in (
                "RGB", "RGBA", "L") else image.copy()
    except OSError as exc:
        raise StillError(f"The {source} of shot {name} cannot be read as a picture "
                         f"({exc}).") from None
    options = AigcOptions.from_settings(store.project.settings)
    export_id = uuid.uuid4().hex[:12]
    packet = xmp_packet(store.project.id, export_id, options)
    kwargs: dict[str, Any] = {}
    if label and fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_itxt("XML:com.adobe.xmp", packet)
        kwargs["pnginfo"] = info
    elif label:
        kwargs["xmp"] = packet.encode("utf-8")
    if fmt == "JPEG":
        kwargs.update(quality=95, subsampling=0)  # 4:4:4: no colour bleeding at edges
    tmp = out.with_name(f".{out.name}.part")
    try:
        picture.save(tmp, format=fmt, **kwargs)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    aigc = fields(store.project.id, export_id, options) if label else None
    return StillReport(out, picture.width, picture.height, source, aigc)


def read_still_label(path: Path | str) -> dict[str, str] | None:
    """The AIGC fields in a PNG's or JPEG's XMP packet (None when it carries none)."""
    from PIL import Image

    from engine.render.aigc import read_xmp_label

    try:
        with Image.open(path) as image:
            packet = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    except OSError as exc:
        raise StillError(f"{Path(path).name} cannot be read as a picture ({exc}).") from None
    return read_xmp_label(packet) if packet else None
