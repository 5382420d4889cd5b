"""AI-content labels required in China from 2025-09-01 (GB 45438-2025, 《网络安全技术
人工智能生成合成内容标识方法》), configurable per project.

What we implement, by the standard's requirements for video:

- Explicit label (显式标识), video: a text prompt containing "AI" / "人工智能" and "生成" /
  "合成" in the opening frames, shown for at least 2 s, text height at least 5 % of the
  shorter side of the frame; it may also be shown at the end and elsewhere. Storyreel
  draws it over the whole film by default (``span="whole"``), or over the opening
  ``OPENING_SECONDS`` only (``span="opening"``, plus the end when ``at_end``), at a
  configurable corner.
- Implicit label (隐式标识) in file metadata: a field named ``AIGC`` whose value is JSON with
  ``Label`` (1 = AI-generated), ``ContentProducer``, ``ProduceID``, ``ReservedCode1``,
  ``ContentPropagator``, ``PropagateID``, ``ReservedCode2`` (the standard's metadata
  annex). MP4/MOV write it as a container tag with ``movflags=use_metadata_tags`` so
  ffprobe and PyAV read it back.

Stills (PNG, JPEG) exported from keyframes carry the same implicit label as an XMP packet:
the element ``TC260:AIGC`` in the namespace ``http://www.tc260.org.cn/ns/AIGC/1.0/`` (the
TC260 XMP namespace for images), its value the same JSON as the video's ``AIGC`` tag
(``xmp_packet``; PNG: an ``iTXt`` chunk ``XML:com.adobe.xmp``, JPEG: an APP1 segment).

Project settings (``project.settings["aigc"]``): ``producer`` (default "Storyreel"),
``propagator``, ``propagate_id``, ``position`` (top-left, top-right, bottom-left,
bottom-right), ``span`` (whole, opening), ``at_end`` (bool).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from engine import __version__
from engine.errors import StoryreelError

POSITIONS = ("top-left", "top-right", "bottom-left", "bottom-right")
SPANS = ("whole", "opening")
OPENING_SECONDS = 3.0  # ≥ 2 s required; a second more so a fade-in never eats into it
MIN_TEXT_HEIGHT = 0.05  # of the frame's shorter side


@dataclass(frozen=True)
class AigcOptions:
    producer: str = "Storyreel"
    propagator: str = ""
    propagate_id: str = ""
    position: str = "top-left"
    span: str = "whole"
    at_end: bool = False

    @classmethod
    def from_settings(cls, settings: dict[str, Any] | None) -> AigcOptions:
        raw = dict((settings or {}).get("aigc") or {})
        options = cls(
            producer=str(raw.get("producer") or "Storyreel"),
            propagator=str(raw.get("propagator") or ""),
            propagate_id=str(raw.get("propagate_id") or ""),
            position=str(raw.get("position") or "top-left"),
            span=str(raw.get("span") or "whole"),
            at_end=bool(raw.get("at_end", False)),
        )
        if options.position not in POSITIONS:
            raise StoryreelError(f"AI label position {options.position!r} is not one of: "
                                 f"{', '.join(POSITIONS)}.")
        if options.span not in SPANS:
            raise StoryreelError(f"AI label span {options.span!r} is not one of: "
                                 f"{', '.join(SPANS)}.")
        return options

    def shown_at(self, seconds: float, duration: float) -> bool:
        """Whether the visible label is on screen ``seconds`` into a film this long."""
        if self.span == "whole" or seconds < OPENING_SECONDS:
            return True
        return self.at_end and seconds >= duration - OPENING_SECONDS


def fields(project_id: str, export_id: str, options: AigcOptions) -> dict[str, str]:
    """The seven fields of the implicit label (GB 45438-2025 metadata field ``AIGC``)."""
    return {
        "Label": "1",  # 1: the content is generated/synthesised by AI
        "ContentProducer": options.producer,
        "ProduceID": f"{project_id}/{export_id}",
        "ReservedCode1": f"storyreel {__version__}",
        "ContentPropagator": options.propagator,
        "PropagateID": options.propagate_id,
        "ReservedCode2": "",
    }


def aigc_json(project_id: str, export_id: str, options: AigcOptions) -> str:
    return json.dumps(fields(project_id, export_id, options), ensure_ascii=False,
                      separators=(",", ":"))


def metadata(project_id: str, export_id: str, options: AigcOptions) -> dict[str, str]:
    """The implicit label (GB 45438-2025 metadata field ``AIGC``) and plain tags."""
    return {
        "AIGC": aigc_json(project_id, export_id, options),
        "comment": "AI-generated content (AI生成) made with Storyreel",
        "description": f"AIGC=1; generator=Storyreel {__version__}; project={project_id}",
        "generator": "Storyreel",
        "project_id": project_id,
    }


def label_font_size(text: str, short_side: int) -> int:
    """The smallest font size whose drawn text is at least 5 % of the shorter side tall
    (measured on the glyphs, not the nominal size)."""
    from PIL import Image, ImageDraw

    from engine.assets import load_font

    want = max(1.0, MIN_TEXT_HEIGHT * short_side)
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    size = max(9, int(want))
    while True:
        left, top, right, bottom = probe.textbbox((0, 0), text, font=load_font(size))
        if bottom - top >= want or size > short_side:
            return size
        size += 1


def place(position: str, width: int, height: int, chip_w: int, chip_h: int) -> tuple[int, int]:
    margin = max(4, int(min(width, height) * 0.03))
    x = margin if position.endswith("left") else width - chip_w - margin
    y = margin if position.startswith("top") else height - chip_h - margin
    return max(0, x), max(0, y)


XMP_NAMESPACE = "http://www.tc260.org.cn/ns/AIGC/1.0/"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def xmp_packet(project_id: str, export_id: str, options: AigcOptions) -> str:
    """An XMP packet holding the implicit label (``TC260:AIGC``, the video tag's JSON),
    with the generator as ``xmp:CreatorTool``."""
    from xml.sax.saxutils import escape

    value = escape(aigc_json(project_id, export_id, options))
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        f'<rdf:RDF xmlns:rdf="{_RDF}">'
        f'<rdf:Description rdf:about="" xmlns:TC260="{XMP_NAMESPACE}" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/">'
        f"<TC260:AIGC>{value}</TC260:AIGC>"
        f"<xmp:CreatorTool>Storyreel {escape(__version__)}</xmp:CreatorTool>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    )


def read_xmp_label(packet: str | bytes) -> dict[str, str] | None:
    """The AIGC fields in an XMP packet, None when it holds no ``TC260:AIGC``."""
    import xml.etree.ElementTree as ET

    if isinstance(packet, bytes):
        packet = packet.decode("utf-8", errors="replace")
    start = packet.find("<x:xmpmeta")
    end = packet.rfind("</x:xmpmeta>")
    if start < 0 or end < 0:
        return None
    try:
        root = ET.fromstring(packet[start:end + len("</x:xmpmeta>")])
    except ET.ParseError:
        return None
    node = root.find(f".//{{{XMP_NAMESPACE}}}AIGC")
    if node is None:  # the short form: an attribute of rdf:Description
        for desc in root.iter(f"{{{_RDF}}}Description"):
            if (raw := desc.get(f"{{{XMP_NAMESPACE}}}AIGC")) is not None:
                return _parse_fields(raw)
        return None
    return _parse_fields(node.text or "")


def _parse_fields(raw: str) -> dict[str, str] | None:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return None
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else None
