"""CLI: ``storyreel export``, ``storyreel timeline`` and ``storyreel clip-edit``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from engine.cli_common import UsageError, open_project, print_json
from engine.model import TransitionKind
from engine.model.timeline import timecode
from engine.render.presets import PRESETS


def _progress_printer() -> Any:
    from engine.jobs.progress import Eta

    eta = Eta()
    state = {"last": 0.0}
    tty = sys.stderr.isatty()

    def report(fraction: float, message: str = "") -> None:
        eta.update(fraction)
        now = time.monotonic()
        if now - state["last"] < (0.2 if tty else 2.0) and fraction < 1.0:
            return
        state["last"] = now
        left = eta.seconds
        left_text = f"  ETA {int(left) // 60}:{int(left) % 60:02d}" if left is not None else ""
        line = f"{fraction * 100:5.1f}%  {message}{left_text}"
        if tty:
            sys.stderr.write("\r" + line.ljust(70))
            if fraction >= 1.0:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    return report


def cmd_export(args: argparse.Namespace) -> int:
    from engine.render.export import export_film

    if getattr(args, "all_episodes", False):
        return _export_all(args)
    with open_project(args.dir) as store:
        report = export_film(
            store, Path(args.out), preset=args.preset, srt=args.srt, otio=args.otio,
            burn_subtitles=not args.no_burn_subtitles, aigc_label=args.aigc_label,
            progress=_progress_printer(), episode=args.episode,
        )
    if args.json:
        print_json(report.to_dict())
        return 0
    print(f"Exported {report.path} ({report.width}×{report.height}, {report.fps} fps, "
          f"{report.duration:.2f} s, {report.frames} frames) in {report.timings['total']:.1f} s.")
    lufs = report.loudness.get("integrated_lufs")
    if lufs is not None:
        print(f"Sound at {lufs:.1f} LUFS, true peak {report.loudness['true_peak_db']:.1f} dBTP.")
    for extra in (report.srt, report.otio):
        if extra is not None:
            print(f"Wrote {extra}.")
    return 0


def _export_all(args: argparse.Namespace) -> int:
    from engine.render.episodes import export_all_episodes

    if args.episode is not None:
        raise UsageError("Give --episode N or --all-episodes, not both.")
    with open_project(args.dir) as store:
        reports = export_all_episodes(
            store, Path(args.out), preset=args.preset, srt=args.srt, otio=args.otio,
            burn_subtitles=not args.no_burn_subtitles, aigc_label=args.aigc_label,
            progress=_progress_printer())
    if args.json:
        print_json([r.to_dict() for r in reports])
        return 0
    for r in reports:
        print(f"Exported {r.path} ({r.duration:.2f} s, {r.frames} frames).")
    return 0


def cmd_timeline(args: argparse.Namespace) -> int:
    from engine.render.timeline_builder import build_timeline

    with open_project(args.dir) as store:
        timeline = build_timeline(store, getattr(args, "episode", None))
    if args.json:
        print_json(timeline.to_dict())
        return 0
    fps = timeline.fps
    print(f"{timeline.title}: {timeline.width}×{timeline.height} {fps} fps, "
          f"{timecode(timeline.duration_frames, fps)} ({timeline.duration_frames} frames)")
    for clip in timeline.video:
        trans = "" if clip.transition is TransitionKind.CUT else \
            f"  ← {clip.transition} {clip.transition_frames}f"
        speed = f"  ×{clip.speed:g}" if abs(clip.speed - 1) > 1e-6 else ""
        print(f"  {clip.label:>6}  {timecode(clip.record_in, fps)} – "
              f"{timecode(clip.record_out, fps)}  {clip.kind:<5}  src "
              f"{clip.source_in:6.2f}–{clip.source_out:6.2f}s{speed}{trans}  {clip.shot_id[:8]}")
    for item in timeline.audio:
        end = timecode(item.record_out, fps) if item.record_out is not None else "end"
        print(f"  {str(item.role):>8}  {timecode(item.record_in, fps)} – {end}  "
              f"{Path(item.path).name[:16]}  {item.gain_db:+.1f} dB")
    for cue in timeline.subtitles:
        print(f"  subtitle  {timecode(cue.record_in, fps)} – {timecode(cue.record_out, fps)}  "
              f"{cue.text}")
    return 0


def cmd_clip_edit(args: argparse.Namespace) -> int:
    from engine.render.timeline_builder import set_clip_edit

    changes: dict[str, Any] = {}
    for name in ("trim_in", "trim_out", "speed", "transition", "transition_frames", "gain_db"):
        value = getattr(args, name)
        if value is not None:
            changes[name] = value
    if not changes:
        raise UsageError("Nothing to change: give --trim-in, --trim-out, --speed, --transition, "
                         "--transition-frames or --gain-db.")
    with open_project(args.dir) as store:
        # found by label or id without building the film: a broken shot elsewhere
        # (or this one's bad trims) must not stop the user from fixing this edit
        from engine.model.shot_rules import match_label, project_shot_labels

        labels = project_shot_labels(store)
        matches = match_label(labels, args.shot) or [
            i for i in labels if i.startswith(args.shot)]
        if len(matches) != 1:
            listed = ", ".join(labels[i] for i in matches[:8])
            which = f" ({listed})" if listed else ""
            raise UsageError(
                f"{args.shot!r} matches {len(matches)} shots{which}; give a shot label like "
                "1-2 (scene-shot; E2 1-2 in a series) or a unique "
                "shot id prefix.")
        edit = set_clip_edit(store, matches[0], **changes)
    print(f"Shot {args.shot}: trim {edit.trim_in}/{edit.trim_out} frames, speed ×{edit.speed:g}, "
          f"{edit.transition} {edit.transition_frames}f, {edit.gain_db:+.1f} dB.")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("export", help="render the film to a video file")
    p.add_argument("dir")
    p.add_argument("out", metavar="OUT.mp4",
                   help="the video file to write (.mp4, .mov, .m4v, .mkv)")
    p.add_argument("--preset", default="douyin", choices=list(PRESETS),
                   help="delivery size and encoder settings (default douyin 1080×1920)")
    p.add_argument("--srt", action="store_true", help="also write OUT.srt subtitles")
    p.add_argument("--otio", action="store_true", help="also write OUT.otio for other editors")
    p.add_argument("--no-burn-subtitles", action="store_true",
                   help="do not draw subtitles into the picture")
    p.add_argument("--aigc-label", default="both", choices=["visible", "metadata", "both", "none"],
                   help="AI-generated content label: visible mark, file metadata, both, none")
    p.add_argument("--episode", metavar="N", help="render episode N of a series alone")
    p.add_argument("--all-episodes", action="store_true",
                   help="OUT is a folder: one film per episode, named E01_TITLE.mp4")
    p.add_argument("--json", action="store_true", help="print the export report as JSON")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("timeline", help="show the film's timeline (clips with in/out points)")
    p.add_argument("dir")
    p.add_argument("--episode", metavar="N", help="the timeline of episode N alone")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_timeline)

    p = sub.add_parser("clip-edit", help="trim, speed up or add a transition to a shot's clip")
    p.add_argument("dir")
    p.add_argument("shot", help="shot label like 1-2 (scene-shot) or shot id prefix")
    p.add_argument("--trim-in", type=int, help="frames cut at the head")
    p.add_argument("--trim-out", type=int, help="frames cut at the tail")
    p.add_argument("--speed", type=float, help="playback speed factor (0.1–10)")
    p.add_argument("--transition", choices=[k.value for k in TransitionKind],
                   help="transition into this clip")
    p.add_argument("--transition-frames", type=int, help="length of the transition in frames")
    p.add_argument("--gain-db", type=float, help="gain of the clip's own sound")
    p.set_defaults(func=cmd_clip_edit)
