"""Hand the edit to the editors creators finish in: 剪映, Premiere, Resolve, Final Cut.

``handoff(store, out, fmt)`` writes a folder ``out`` holding the edit in one format and,
where the format has no subtitle track, the subtitles as an SRT beside it:

- ``jianying``: a 剪映 draft folder (``engine.interchange.jianying``, pyJianYingDraft);
- ``xmeml``: FCP7 XML (Premiere Pro, DaVinci Resolve) through ``otio-fcp-adapter``;
- ``fcpxml``: FCPXML for Final Cut Pro through ``otio-fcpx-xml-adapter`` (it drops
  transitions: the film's crossfades are listed in the report);
- ``edl``: CMX 3600 through ``otio-cmx3600-adapter`` (picture only: one video track);
- ``otio``: OpenTimelineIO JSON, everything (speed, transitions, shot ids).

Media references are file:// URLs of the project's files; with ``bundle=True`` the media
is copied into ``out/media/`` and referenced relatively (剪映 drafts need absolute paths:
theirs point at the copies), so the folder can move to another machine. Slates (shots
with no take yet) are written as still cards in ``out/slates/``. The folder is built
beside ``out`` and renamed into place, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import StoryreelError
from engine.interchange.otio import build_otio, file_url
from engine.jobs.progress import CancelToken, Progress, no_progress
from engine.model import TransitionKind
from engine.model.timeline import SourceKind, Timeline

# format → (OTIO adapter, file suffix); jianying is a folder written by pyJianYingDraft
FORMATS: dict[str, tuple[str, str]] = {
    "jianying": ("", ""),
    "xmeml": ("fcp_xml", ".xml"),
    "fcpxml": ("fcpx_xml", ".fcpxml"),
    "edl": ("cmx_3600", ".edl"),
    "otio": ("otio_json", ".otio"),
}
FORMAT_NAMES = {"jianying": "剪映 draft", "xmeml": "FCP7 XML (Premiere, Resolve)",
                "fcpxml": "FCPXML (Final Cut Pro)", "edl": "CMX 3600 EDL",
                "otio": "OpenTimelineIO"}


class HandoffError(StoryreelError):
    """The hand-off could not be written."""


@dataclass
class HandoffReport:
    format: str
    folder: Path
    edit: Path  # the edit file (or the draft folder for 剪映)
    srt: Path | None
    clips: int
    duration_frames: int
    media: list[Path] = field(default_factory=list)
    bundled: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format, "folder": str(self.folder), "edit": str(self.edit),
            "srt": str(self.srt) if self.srt else None, "clips": self.clips,
            "duration_frames": self.duration_frames, "media": [str(m) for m in self.media],
            "bundled": self.bundled, "notes": self.notes,
        }


def safe_name(title: str) -> str:
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", title).strip(" ._")
    return name[:80] or "film"


def _write_slates(timeline: Timeline, folder: Path) -> dict[str, str]:
    from engine.render.overlays import slate_image

    stills: dict[str, str] = {}
    for clip in timeline.video:
        if clip.kind != SourceKind.SLATE:
            continue
        (folder / "slates").mkdir(exist_ok=True)
        path = folder / "slates" / f"shot-{safe_name(clip.label or clip.shot_id)}.png"
        slate_image(clip.label, clip.slate_text, timeline.width, timeline.height).save(path)
        stills[clip.shot_id] = str(path)
    return stills


def _srt(timeline: Timeline, path: Path) -> Path:
    from engine.interchange.subtitles import Cue, write_srt

    cues = [Cue(timeline.seconds(c.record_in), timeline.seconds(c.record_out), c.text,
                c.speaker) for c in sorted(timeline.subtitles, key=lambda c: c.record_in)]
    return write_srt(cues, path)


def _media_paths(timeline: Timeline) -> list[str]:
    seen: list[str] = []
    for path in [c.path for c in timeline.video if c.kind != SourceKind.SLATE] + \
            [a.path for a in timeline.audio]:
        if path and path not in seen:
            seen.append(path)
    return seen


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise HandoffError(f"Format {fmt!r} is not one of: {', '.join(FORMATS)}.")
    return fmt


def handoff(timeline: Timeline, out: Path, fmt: str, *, bundle: bool = False,
            progress: Progress = no_progress, cancel: CancelToken | None = None
            ) -> HandoffReport:
    """Write the film's edit for another editor into the new folder ``out``; it is written
    in a hidden folder beside it and renamed when complete, so a cancel (``cancel``, seen
    between media copies) or an error leaves nothing at ``out``."""
    cancel = cancel or CancelToken()
    check_format(fmt)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise HandoffError(f"{out} already exists and is not an empty folder.")
    if not timeline.video:
        raise HandoffError("The film has no shots to hand off.")
    missing = [p for p in _media_paths(timeline) if not Path(p).is_file()]
    if missing:
        raise HandoffError(f"Media file {missing[0]} is missing from the project.")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.part-"))
    staging = work / out.name  # 剪映's draft name is its folder's name
    try:
        if fmt != "jianying":  # pyJianYingDraft makes the draft folder itself
            staging.mkdir()
        report = _write(timeline, staging, out, fmt, bundle, progress, cancel)
        cancel.check()
        if out.exists():
            out.rmdir()
        os.replace(staging, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report


def _write(timeline: Timeline, staging: Path, out: Path, fmt: str, bundle: bool,
           progress: Progress = no_progress, cancel: CancelToken | None = None
           ) -> HandoffReport:
    cancel = cancel or CancelToken()
    name = safe_name(timeline.title)
    if fmt == "jianying":
        from engine.interchange.jianying import create_draft

        script = create_draft(timeline, staging)
    slates = _write_slates(timeline, staging)
    copies: dict[str, Path] = {}
    if bundle:
        (staging / "media").mkdir()
        paths = _media_paths(timeline)
        for index, path in enumerate(paths):
            cancel.check()
            progress(index / max(1, len(paths)), "copying media")
            dest = staging / "media" / Path(path).name
            shutil.copy2(path, dest)
            copies[path] = dest
    media = [out / "media" / p.name for p in copies.values()] if bundle else \
        [Path(p) for p in _media_paths(timeline)]
    notes: list[str] = []
    if fmt == "jianying":
        from engine.interchange.jianying import write_draft

        def resolve(path: str) -> str:
            # pyJianYingDraft probes the file now; _fix_staging_paths then names the
            # copies where they will be once the folder is in place
            return str(copies.get(path, Path(path)).resolve())

        draft = write_draft(timeline, script, staging, resolve=resolve, slates=slates)
        _fix_staging_paths(staging, out)
        return HandoffReport(fmt, out, out, None, draft.video_segments,
                             timeline.duration_frames, media, bundle, notes)

    import opentimelineio as otio

    def media_url(path: str) -> str:
        if path in copies:
            return copies[path].relative_to(staging).as_posix()
        if path.startswith(str(staging)):
            rel = Path(path).relative_to(staging)
            return rel.as_posix() if bundle else (out.resolve() / rel).as_uri()
        return file_url(path)

    tl = build_otio(timeline, media_url=media_url, slates=slates)
    adapter, suffix = FORMATS[fmt]
    if fmt == "edl":
        # CMX 3600 carries one picture track; sound and subtitles go beside it
        for track in [t for t in tl.tracks if t.kind != otio.schema.TrackKind.Video]:
            tl.tracks.remove(track)
        tl.tracks.markers.clear()
        notes.append("EDL holds the picture only; the sound stays in the project, the "
                     "subtitles are in the SRT.")
    if fmt in ("edl", "fcpxml", "xmeml"):
        _dips_as_cuts(otio, tl, notes)
    if fmt == "fcpxml":
        n = sum(1 for c in timeline.video if c.transition is TransitionKind.CROSSFADE
                and c.transition_frames)
        if n:
            notes.append(f"FCPXML drops transitions: add the film's {n} crossfade(s) again "
                         "in Final Cut.")
    if any(abs(c.speed - 1) > 1e-6 for c in timeline.video) and fmt != "otio":
        notes.append("This format's adapter does not carry speed changes: hand off as otio "
                     "or jianying to keep them.")
    edit = staging / f"{name}{suffix}"
    kwargs: dict[str, Any] = {}
    if fmt == "edl":
        kwargs["rate"] = float(timeline.fps)
    try:
        otio.adapters.write_to_file(tl, str(edit), adapter_name=adapter, **kwargs)
    except Exception as exc:  # the adapters raise their own error types
        raise HandoffError(f"The {FORMAT_NAMES[fmt]} adapter could not write the edit: "
                           f"{exc}") from exc
    srt = _srt(timeline, staging / f"{name}.srt") if timeline.subtitles else None
    clips = len(list(tl.video_tracks()[0].find_clips()))
    return HandoffReport(fmt, out, out / edit.name, out / srt.name if srt else None, clips,
                         timeline.duration_frames, media, bundle, notes)


def _dips_as_cuts(otio: Any, tl: Any, notes: list[str]) -> None:
    """The FCP7, FCPXML and EDL adapters know dissolves only, and lose a fade to a black
    gap on the way back (the clips after it move): a dip to black is written as a cut
    there, named in the notes, so every clip stays where it is."""
    cut: list[str] = []
    for track in tl.video_tracks():
        for index in range(len(track) - 1, -1, -1):
            item = track[index]
            if isinstance(item, otio.schema.Transition) and \
                    item.transition_type == otio.schema.TransitionTypes.Custom:
                cut.append(track[index + 1].name)
                track.remove(item)
    if cut:
        notes.append(f"Dips to black are cuts in this format (into {', '.join(reversed(cut))}): "
                     "add them again in the editor, or hand off as otio or jianying.")


def _fix_staging_paths(staging: Path, out: Path) -> None:
    """pyJianYingDraft records the folder it wrote in; name the final one instead."""
    from engine.interchange.jianying import CONTENT

    path = staging / CONTENT
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(str(staging.resolve()), str(out.resolve())), encoding="utf-8")
