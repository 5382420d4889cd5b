"""CLI: ``storyreel handoff`` (the edit to 剪映, Premiere, Resolve, Final Cut) and
``storyreel import-edit`` (the edit back, one undoable operation)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine.commands.common import UsageError, open_project, print_json
from engine.interchange.handoff import FORMAT_NAMES, FORMATS


def cmd_handoff(args: argparse.Namespace) -> int:
    from engine.interchange.handoff import handoff
    from engine.render.timeline_builder import build_timeline

    if args.all_episodes:
        return _handoff_all(args)
    with open_project(args.dir) as store:
        # the same selection as ``export --episode N``: that episode's film alone
        timeline = build_timeline(store, args.episode)
    report = handoff(timeline, Path(args.out), args.format, bundle=args.bundle)
    if args.json:
        print_json(report.to_dict())
        return 0
    _print_report(report, args.format)
    return 0


def _print_report(report: Any, fmt: str) -> None:
    print(f"Wrote the edit ({FORMAT_NAMES[fmt]}, {report.clips} clips) to {report.edit}"
          f"{' with its media beside it' if report.bundled else ''}.")
    if report.srt is not None:
        print(f"Subtitles: {report.srt}.")
    for note in report.notes:
        print(f"Note: {note}")


def _handoff_all(args: argparse.Namespace) -> int:
    """One edit per episode with shots, each in its own folder ``OUT/E01_标题``."""
    from engine.interchange.handoff import HandoffError, handoff
    from engine.render.episodes import episode_file_name
    from engine.render.timeline_builder import build_timeline

    if args.episode is not None:
        raise UsageError("Give --episode N or --all-episodes, not both.")
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise HandoffError(f"{out} already exists and is not an empty folder.")
    with open_project(args.dir) as store:
        episodes = [e for e in store.episodes()
                    if any(store.shots(sc.id) for sc in store.scenes(e.id))]
        if not episodes:
            raise HandoffError("No episode has shots yet; import a script first.")
        timelines = [(e.number, e.title, build_timeline(store, e.number)) for e in episodes]
    reports = []
    try:
        for number, title, timeline in timelines:
            folder = out / episode_file_name(number, title, suffix="")
            reports.append((number, handoff(timeline, folder, args.format,
                                            bundle=args.bundle)))
    except Exception:
        # nothing half-written: the episodes already handed off go with the failure
        import shutil

        shutil.rmtree(out, ignore_errors=True)
        raise
    if args.json:
        print_json([{"episode": n, **r.to_dict()} for n, r in reports])
        return 0
    for number, report in reports:
        print(f"Episode {number}: ", end="")
        _print_report(report, args.format)
    return 0


def cmd_import_edit(args: argparse.Namespace) -> int:
    from engine.interchange.edit_read import EditReadError
    from engine.ops.edit_import import import_edit

    with open_project(args.dir) as store:
        try:
            changes = import_edit(store, Path(args.file), dry_run=args.dry_run)
        except EditReadError as exc:
            raise UsageError(str(exc)) from None
        plan = changes.result
    if args.json:
        print_json({**plan.to_dict(), "seq": changes.seq})
        return 0
    if plan.empty:
        print(f"{Path(args.file).name}: {plan.matched} clips match, nothing changed.")
    else:
        verb = "Would change" if args.dry_run else "Changed"
        print(f"{verb} {len(plan.clip_edits)} clip edit(s), {len(plan.durations)} shot "
              f"length(s), {len(plan.moved)} shot place(s) from {Path(args.file).name}"
              + ("" if args.dry_run else f" as one undoable step (history entry {changes.seq})")
              + ".")
        for label, fields in plan.to_dict()["clip_edits"].items():
            print(f"  {label}: " + ", ".join(f"{k} {v}" for k, v in fields.items()))
    if plan.unmatched:
        print("Clips that match no shot: " + ", ".join(plan.unmatched))
    if plan.missing:
        print("Shots missing from the edit (left as they are): " + ", ".join(plan.missing))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from engine.interchange.c2pa_sign import verify_file

    result = verify_file(Path(args.file))
    if args.json:
        print_json(result.to_dict())
    elif not result.present:
        print(f"{args.file}: no C2PA manifest.")
    else:
        made = result.manifest.get("claim_generator_info") or [{}]
        print(f"{args.file}: C2PA manifest {'valid' if result.valid else 'INVALID'} "
              f"({result.state}), made by {made[0].get('name', '?')} "
              f"{made[0].get('version', '')}.")
        for assertion in result.manifest.get("assertions", []):
            if assertion.get("label") == "org.storyreel.models":
                for m in assertion["data"]["models"]:
                    print(f"  model: {m['backend']} {m['model']} {m['version']}".rstrip())
        for error in result.errors:
            print(f"  {error}")
    return 0 if result.valid else 1


def cmd_aigc(args: argparse.Namespace) -> int:
    """Show or set the project's AI-content label settings (GB 45438-2025)."""
    from engine.ops.project import set_project_fields
    from engine.render.aigc import AigcOptions

    changes = {k: v for k in ("producer", "propagator", "propagate_id", "position", "span",
                              "at_end") if (v := getattr(args, k)) is not None}
    with open_project(args.dir) as store:
        current = dict(store.project.settings.get("aigc") or {})
        if changes:
            merged = {**current, **changes}
            AigcOptions.from_settings({"aigc": merged})  # one sentence for a bad value
            set_project_fields(store, settings={"aigc": merged})
        options = AigcOptions.from_settings(store.project.settings)
    data = {k: getattr(options, k) for k in ("producer", "propagator", "propagate_id",
                                             "position", "span", "at_end")}
    if args.json:
        print_json(data)
    else:
        print(f"AI label: producer {data['producer']!r}, propagator {data['propagator']!r} "
              f"({data['propagate_id'] or 'no id'}), mark at {data['position']}, over the "
              f"{'whole film' if data['span'] == 'whole' else 'opening'}"
              f"{' and the end' if data['at_end'] and data['span'] != 'whole' else ''}.")
    return 0


def cmd_still(args: argparse.Namespace) -> int:
    """A shot's keyframe as a PNG/JPEG still with the AI label in its XMP."""
    from engine.ops.addressing import resolve_shot, resolve_take
    from engine.render.still import export_still

    with open_project(args.dir) as store:
        shot = resolve_shot(store, args.shot)
        take = resolve_take(store, args.take) if args.take else None
        report = export_still(store, shot.id, Path(args.out), last=args.last,
                              take_id=take.id if take else None,
                              label=not args.no_aigc_label)
    if args.json:
        print_json(report.to_dict())
        return 0
    print(f"Wrote {report.path} ({report.width}×{report.height}, the shot's {report.source})"
          + (", labelled AI-generated in its XMP (GB 45438-2025)." if report.aigc else "."))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("handoff", help="write the edit for 剪映, Premiere, Resolve or Final Cut")
    p.add_argument("dir")
    p.add_argument("out", metavar="OUT", help="the new folder to write the edit into")
    p.add_argument("--format", required=True, choices=list(FORMATS),
                   help="jianying (剪映 draft), xmeml (Premiere, Resolve), fcpxml (Final Cut), "
                        "edl (CMX 3600) or otio. No CapCut (international) draft: "
                        "pyJianYingDraft 0.3.1 writes 剪映 drafts only (app source lv, "
                        "剪映's effect ids)")
    p.add_argument("--episode", metavar="N", help="hand off episode N of a series alone")
    p.add_argument("--all-episodes", action="store_true",
                   help="one edit per episode, each in its own folder OUT/E01_TITLE")
    p.add_argument("--bundle", action="store_true",
                   help="copy the media next to the edit so the folder can move")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_handoff)

    p = sub.add_parser("import-edit", help="bring back an edit made in another editor")
    p.add_argument("dir")
    p.add_argument("file", metavar="FILE",
                   help="an .otio, .xml (FCP7), .fcpxml, .edl file or a 剪映 draft folder")
    p.add_argument("--dry-run", action="store_true", help="list the changes, apply nothing")
    p.add_argument("--json", action="store_true", help="print the changes as JSON")
    p.set_defaults(func=cmd_import_edit)

    from engine.render.aigc import POSITIONS, SPANS

    p = sub.add_parser("aigc", help="show or set the AI-content label (GB 45438-2025)")
    p.add_argument("dir")
    p.add_argument("--producer", help="ContentProducer: who made the content")
    p.add_argument("--propagator", help="ContentPropagator: the platform that spreads it")
    p.add_argument("--propagate-id", help="PropagateID: the platform's id of the content")
    p.add_argument("--position", choices=POSITIONS, help="corner of the visible mark")
    p.add_argument("--span", choices=SPANS,
                   help="visible mark over the whole film, or the opening (≥ 2 s) only")
    p.add_argument("--at-end", action=argparse.BooleanOptionalAction, default=None,
                   help="with --span opening: show the mark at the end too")
    p.add_argument("--json", action="store_true", help="print the settings as JSON")
    p.set_defaults(func=cmd_aigc)

    p = sub.add_parser("still", help="export a shot's keyframe as a still, AI label in XMP")
    p.add_argument("dir")
    p.add_argument("shot", metavar="SHOT", help="the shot's label (2-3) or id")
    p.add_argument("out", metavar="OUT.png", help="the still to write (.png or .jpg)")
    p.add_argument("--last", action="store_true", help="the last keyframe, not the first")
    p.add_argument("--take", metavar="TAKE", help="a keyframe take's image instead")
    p.add_argument("--no-aigc-label", action="store_true",
                   help="leave out the AI-content label (GB 45438-2025 requires it)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_still)

    p = sub.add_parser("verify", help="show a file's C2PA manifest and whether it is valid")
    p.add_argument("file", metavar="FILE", help="an exported film or still")
    p.add_argument("--json", action="store_true", help="print the manifest as JSON")
    p.set_defaults(func=cmd_verify)

