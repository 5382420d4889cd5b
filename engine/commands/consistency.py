"""CLI: ``storyreel consistency`` (identity scores of takes, drift flags) and the
best-of-N options of ``generate`` (``--takes N --pick identity``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine.commands.common import UsageError, open_project, print_json


def _printer(stream: Any = None) -> Any:
    stream = stream or sys.stderr
    last = [""]

    def progress(fraction: float, message: str = "") -> None:
        if message and message != last[0] and message not in ("cached", "Identity scored") \
                and not message.startswith("Scoring faces"):
            last[0] = message
            stream.write(f"  {message}\n")
            stream.flush()

    return progress


def _threshold(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        x = float(value)
    except ValueError:
        raise UsageError(f"--threshold {value!r} is not a number between 0 and 1.") from None
    if not 0.0 <= x <= 1.0:
        raise UsageError(f"--threshold {value} is outside 0–1.")
    return x


def _face_model(value: str) -> str:
    """``dlib`` (the default metric) or a folder with one ArcFace-class .onnx model,
    checked by loading it before it is saved."""
    from pathlib import Path

    from engine.generate.faces import FaceModelMissing, shared_embedder

    if value.strip().lower() == "dlib":
        return ""
    folder = str(Path(value).expanduser().resolve())
    try:
        shared_embedder(folder)
    except FaceModelMissing as exc:
        raise UsageError(f"--face-model: {exc}") from None
    return folder


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def cmd_consistency(args: argparse.Namespace) -> int:
    from engine.generate import identity
    from engine.generate.requests import shot_label
    from engine.generate.service import resolve_shots
    from engine.ops.project import set_project_fields
    from engine.ops.takes import score_takes

    threshold = _threshold(args.threshold)
    with open_project(args.dir) as store:
        if args.save_threshold or args.auto_score or args.face_model:
            settings: dict[str, Any] = {}
            if args.face_model:
                settings[identity.FACE_MODEL_SETTING] = _face_model(args.face_model)
            if args.save_threshold:
                if threshold is None:
                    raise UsageError("--save-threshold needs --threshold X.")
                settings[identity.THRESHOLD_SETTING] = threshold
            if args.auto_score:
                settings[identity.AUTO_SCORE_SETTING] = args.auto_score == "on"
            set_project_fields(store, settings=settings)
        limit = identity.threshold_for(store, threshold)
        metric = identity.metric_version(identity.embedder_for(store))
        if args.shots in (["all"], ["stale"]):
            shots = resolve_shots(store, args.shots[0])
        else:  # labels (2-3, E2 1-3), ids, id prefixes: the one address syntax
            from engine.model import Shot
            from engine.ops.addressing import resolve_shot_ids

            shots = [store.require(Shot, i) for i in resolve_shot_ids(store, args.shots)]
        takes = [t for s in shots for t in store.takes(s.id)]
        todo = [t.id for t in takes if identity.not_applicable_reason(store, t) is None]
        if todo and not args.no_score:
            print(f"Scoring {len(todo)} take(s) (cached scores are reused)…", file=sys.stderr)
            score_takes(store, todo, force=args.rescore, progress=_printer())
        labels = {s.id: shot_label(store, s) for s in shots}
        rows = []
        for take in takes:
            take = store.require(type(take), take.id)
            take.identity = identity.identity_of(store, take)
            rows += identity.rows(store, take, limit, labels.get(take.shot_id, ""))
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("No takes in these shots yet; generate some first.")
        return 0
    print(f"Identity threshold {limit:.2f} (metric {metric}).")
    print(f"{'shot':>6}  {'take':8}  {'character':14} {'score':>6} {'temporal':>8}  "
          f"{'worst':>14}  {'no face':>7}  flag")
    drifted = 0
    for r in rows:
        mark = "*" if r["approved"] else " "
        if r["character"] is None:
            why = r["status"] + (f": {r['reason']}" if r.get("reason") else "")
            print(f"{r['shot_label']:>6} {mark}{r['take'][:8]}  {why}")
            continue
        worst = r.get("worst") or {}
        worst_text = (f"{worst['score']:.3f} @{worst['time']:.2f}s" if worst else "-")
        temporal = (r.get("temporal") or {}).get("mean")
        flag = "DRIFT" if r["drifted"] else ("no face" if r["score"] is None else "ok")
        drifted += bool(r["drifted"])
        print(f"{r['shot_label']:>6} {mark}{r['take'][:8]}  {str(r['character'])[:14]:14} "
              f"{_fmt(r['score']):>6} {_fmt(temporal):>8}  {worst_text:>14}  "
              f"{r['no_face_frames']:>3}/{r['frames']:<3}  {flag}")
    if drifted:
        print(f"{drifted} take/character pair(s) drifted below {limit:.2f}.")
    return 0


# --------------------------------------------------------------------------- generate
def _generate_with_pick(inner: Any) -> Any:
    """``generate`` with ``--takes N`` and ``--pick identity``: after the jobs ran, the
    best take of each shot's group is approved (an operation, logged and undoable)."""

    def run(args: argparse.Namespace) -> int:
        takes = args.takes
        if takes < 1 or takes > 64:
            raise UsageError(f"--takes {takes} must be between 1 and 64.")
        if args.pick and takes < 2:
            raise UsageError("--pick needs several takes to choose from: add --takes N.")
        if takes > 1 and args.backend == "animatic":
            raise UsageError("The animatic draws the same storyboard whatever the seed: "
                             "--takes N needs a model backend (see `storyreel models list`).")
        if args.pick and args.queue_only:
            raise UsageError("--pick waits for the takes to be made: drop --queue-only.")
        if args.backend != "animatic" and not args.queue_only and not getattr(
                args, "estimate", False):
            _say_scoring(args.dir, args.backend)
        code = int(inner(args) or 0)
        if not args.pick:
            return code
        return _pick_groups(args, getattr(args, "finished_jobs", None) or [])

    return run


def _say_scoring(project_dir: str, backend: str) -> None:
    """Tell the user why a generation run goes on after its last take (stderr); nothing
    when the run is refused anyway (an unknown model, a bad project: one sentence)."""
    from engine.errors import StoryreelError
    from engine.generate.identity import auto_score
    from engine.generate.service import family_of

    try:
        family_of(backend)
        with open_project(project_dir) as store:
            on = auto_score(store)
    except StoryreelError:
        return  # the generate command reports a bad project in its own words
    if on:
        print("New takes are scored for identity after they are made (turn it off with "
              "`storyreel consistency DIR --auto-score off`).", file=sys.stderr)


def _pick_groups(args: argparse.Namespace, jobs: list[Any]) -> int:
    from engine.generate.identity import rank_key
    from engine.ops import OpError
    from engine.ops.takes import pick_best_take

    groups: dict[str, list[str]] = {}
    for job in jobs:
        take_id = job.result.get("take_id")
        if job.params.get("group") and take_id and take_id not in groups.get(
                job.params["group"], []):
            groups.setdefault(job.params["group"], []).append(take_id)
    failed = 0
    with open_project(args.dir) as store:
        for take_ids in groups.values():
            try:
                changes = pick_best_take(store, take_ids, by=args.pick)
            except OpError as exc:
                print(f"storyreel: {exc}", file=sys.stderr)
                failed += 1
                continue
            best = changes.result
            scores = sorted((rank_key(store.require(type(best), t).identity), t)
                            for t in take_ids)
            listed = ", ".join(f"{t[:8]} {s[0]:.3f}" if s[0] >= 0 else f"{t[:8]} -"
                               for s, t in reversed(scores))
            print(f"Picked take {best.id[:8]} of shot {best.shot_id[:8]} by identity "
                  f"({listed}).")
    return 1 if failed else 0


def register(sub: Any) -> None:
    p = sub.add_parser("consistency",
                       help="identity scores of takes against the cast's reference images")
    p.add_argument("dir")
    p.add_argument("--shots", nargs="+", default=["all"], metavar="all|ID",
                   help="all (default) or shot ids / labels like 2-3")
    p.add_argument("--json", action="store_true",
                   help="one row per take and character, machine-readable")
    p.add_argument("--threshold", metavar="X",
                   help="flag scores below X (0-1; default: the project's, else 0.5)")
    p.add_argument("--save-threshold", action="store_true",
                   help="keep --threshold as this project's threshold")
    p.add_argument("--auto-score", choices=["on", "off"],
                   help="score every new generated take (default on)")
    p.add_argument("--face-model", metavar="FOLDER|dlib",
                   help="score with an ArcFace-class ONNX model in FOLDER (kept for the "
                        "project; cosine similarity, default threshold 0.3), or dlib again")
    p.add_argument("--rescore", action="store_true", help="score again, ignoring the cache")
    p.add_argument("--no-score", action="store_true",
                   help="only list the scores already kept (no scoring)")
    p.set_defaults(func=cmd_consistency)

    generate = sub.choices.get("generate")
    if generate is not None:  # registered after the generate command module
        generate.add_argument("--takes", type=int, default=1, metavar="N",
                              help="make N takes of each shot (different seeds)")
        generate.add_argument("--pick", choices=["identity"],
                              help="approve the take with the best identity score")
        generate.set_defaults(func=_generate_with_pick(generate.get_default("func")))
