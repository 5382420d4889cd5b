"""CLI: ``storyreel models``, ``generate``, ``jobs``, ``import-take``, ``approve``,
``use-keyframe``, ``takes``. Every write is an operation (``engine.ops.takes``, ``jobs``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from engine.commands.common import UsageError, open_project, print_json
from engine.ops import jobs as job_ops
from engine.ops import takes as take_ops
from engine.ops.addressing import resolve_shot, resolve_shot_ids, resolve_take, shot_labels
from engine.store.codec import to_values


# --------------------------------------------------------------------------- models
def cmd_models_add(args: argparse.Namespace) -> int:
    from engine.generate.registry import add_model

    parts = {role: getattr(args, role) for role in (
        "transformer", "transformer_2", "text_encoder", "vae", "image_encoder", "tokenizer")}
    entry = add_model(args.path, name=args.name, ip_adapter=args.ip_adapter, parts=parts,
                      task=args.task or "")
    adapter = f", IP-Adapter {Path(entry.ip_adapter).name}" if entry.ip_adapter else ""
    if entry.options.get("source") == "single-file":
        formats = entry.options.get("formats", {})
        experts = ", two experts" if "transformer_2" in formats else ""
        adapter += f", transformer {formats.get('transformer', '')}{experts}"
    print(
        f"Registered {entry.name}: {entry.pipeline} ({entry.family}{adapter}), "
        f"hash {entry.content_hash[:12]}, {entry.path}"
    )
    return 0


def cmd_models_list(args: argparse.Namespace) -> int:
    from engine.generate.registry import list_models

    models = list_models()
    if args.json:
        print_json([m.to_dict() for m in models])
        return 0
    if not models:
        print(
            "No models registered; the animatic backend needs none. "
            "Add one with `storyreel models add PATH`."
        )
    for m in models:
        ok = "" if m.folder.exists() else "  (missing)"
        print(f"{m.name}\t{m.family}\t{m.content_hash[:12]}\t{m.path}{ok}")
    return 0


def cmd_models_remove(args: argparse.Namespace) -> int:
    from engine.generate.registry import remove_model

    remove_model(args.name)
    print(f"Removed {args.name} from the registry (its files are untouched).")
    return 0


# --------------------------------------------------------------------------- generate
def parse_size(text: str) -> tuple[int, int]:
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise UsageError(f"--size {text!r} is not WIDTHxHEIGHT, like 480x832.")
    return int(parts[0]), int(parts[1])


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if args.size:
        out["width"], out["height"] = parse_size(args.size)
    for key in ("frames", "steps", "seed"):
        value = getattr(args, key)
        if value is not None:
            if value < (0 if key == "seed" else 1):
                raise UsageError(f"--{key} {value} must be "
                                 f"{'0 or more' if key == 'seed' else 'positive'}.")
            out[key] = value
    if getattr(args, "continue_from_previous", False):
        out["continue_from_previous"] = True
    if getattr(args, "new_seed", False):
        if "seed" in out:
            raise UsageError("--new-seed and --seed both choose the seed; give one of them.")
        import secrets

        out["seed"] = secrets.randbelow(2**31)  # a re-roll: a new take, never a cache hit
    return out


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds + 0.5)
    return f"{seconds // 60}:{seconds % 60:02d}"


class ProgressPrinter:
    """One line per job on stderr: a bar, the step message and an ETA (\\r on a TTY)."""

    def __init__(self, labels: dict[str, str], total: int, stream: Any = None) -> None:
        self.labels = labels
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.index: dict[str, int] = {}
        self.started: dict[str, float] = {}
        self.last_print = 0.0

    def __call__(self, event: str, job: Any) -> None:
        from engine.jobs.progress import Eta

        if job.id not in self.index:
            self.index[job.id] = len(self.index) + 1
        if event == "started":
            self.started[job.id] = time.monotonic()
            return
        label = self.labels.get(job.shot_id or "", (job.shot_id or "")[:8])
        head = f"[{self.index[job.id]}/{self.total}] shot {label}"
        if event == "progress":
            now = time.monotonic()
            if not self.tty and now - self.last_print < 1.0:
                return
            self.last_print = now
            eta = Eta()
            eta.start = self.started.get(job.id, now)
            eta.update(job.progress)
            filled = int(job.progress * 20)
            line = (
                f"{head} [{'#' * filled}{'.' * (20 - filled)}] {job.progress * 100:3.0f}%"
                f"  {job.message}  ETA {_fmt_eta(eta.seconds)}"
            )
            self.stream.write(("\r" + line + "\x1b[K") if self.tty else line + "\n")
        else:
            took = max(0.0, time.monotonic() - self.started.get(job.id, time.monotonic()))
            detail = job.error if event == "failed" else job.message
            end = "\r\x1b[K" if self.tty else ""
            self.stream.write(f"{end}{head} {event}: {detail} ({took:.1f}s)\n")
        self.stream.flush()


def cmd_generate(args: argparse.Namespace) -> int:
    from engine.generate.service import resolve_shots
    from engine.jobs.queue import JobQueue
    from engine.model import JobStatus
    from engine.model import entities as E

    overrides = _overrides(args)
    with open_project(args.dir) as store:
        if not store.shots():
            raise UsageError("The project has no shots yet; import a script and run "
                             "`storyreel plan` first.")
        if args.shots in (["all"], ["stale"]):
            shots = resolve_shots(store, args.shots[0])
        else:
            shots = [store.require(E.Shot, i) for i in resolve_shot_ids(store, args.shots)]
        if not shots:
            print(
                "Nothing to generate: every shot has an up-to-date take "
                "(use --shots all to redo them)."
            )
            return 0
        if args.estimate:
            return _print_estimate(store, [s.id for s in shots], args, overrides)
        queue = JobQueue(store)
        jobs = job_ops.queue_generation(
            store,
            [s.id for s in shots],
            backend=args.backend,
            device=args.device,
            quality=args.quality,
            overrides=overrides,
            memory_profile=args.memory_profile or "",
            variants=getattr(args, "takes", 1),
        )
        labels = {s.id: shot_labels(store)[s.id] for s in shots}
        if store.is_linked:  # a team project: the render nodes run them
            from engine.jobs import nodes

            nodes.dispatch(store, jobs)
        print(f"Queued {len(jobs)} job(s) with {args.backend} ({args.quality}).", file=sys.stderr)
        if args.queue_only:
            return 0
        printer = ProgressPrinter(labels, len(jobs))
        ids = {j.id for j in jobs}
        try:
            _run_or_follow(Path(store.root), queue, ids, printer, linked=store.is_linked)
        except KeyboardInterrupt:
            # Ctrl-C stops this run: its jobs do not linger as queued work for later
            from engine.jobs.queue import JobError

            for job in jobs:
                if store.require(E.Job, job.id).status in (JobStatus.QUEUED, JobStatus.RUNNING):
                    try:
                        job_ops.cancel_job(store, job.id)
                    except JobError:  # it finished meanwhile
                        pass
            raise
        final = [store.require(E.Job, j.id) for j in jobs]
        args.finished_jobs = final  # for --pick (engine.commands.consistency)
    counts: dict[str, int] = {}
    for job in final:
        counts[str(job.status)] = counts.get(str(job.status), 0) + 1
    cached = sum(1 for j in final if j.result.get("cache_hit"))
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    print(f"Finished: {summary}" + (f" ({cached} from cache)" if cached else "") + ".")
    return 0 if counts.get(str(JobStatus.DONE), 0) == len(final) else 1


def _print_estimate(store: Any, shot_ids: list[str], args: argparse.Namespace,
                    overrides: dict[str, Any]) -> int:
    """``generate --estimate``: the predicted time and memory profile, nothing run."""
    from engine.generate.estimate import estimate
    from engine.generate.service import GenerationSpec

    spec = GenerationSpec(backend=args.backend, device=args.device, quality=args.quality,
                          overrides=overrides, memory_profile=args.memory_profile or "")
    batch = estimate(store, shot_ids, spec)
    if args.json:
        print_json(batch.to_dict())
        return 0
    print(f"{batch.backend} on {batch.device}, memory profile {batch.memory_profile}:")
    for shot in batch.shots:
        when = "?" if shot.seconds is None else _fmt_eta(shot.seconds)
        print(f"  {shot.label:>8}  {shot.width}×{shot.height}  {shot.segments} × "
              f"{shot.window} frames × {shot.steps} steps  {when:>7}  ({shot.source})")
    total = batch.seconds
    print(f"Estimated total: {'unknown' if total is None else _fmt_eta(total)} for "
          f"{len(batch.shots)} shot(s).")
    return 0


def _run_or_follow(root: Path, queue: Any, ids: set[str], printer: ProgressPrinter,
                   linked: bool = False) -> None:
    """Run the queue in this process, or follow the rows if a worker (or, on a team
    project, a render node) runs it."""
    from engine.jobs.worker import WorkerBusy, run_worker
    from engine.model import JobStatus

    def only_ours(event: str, job: Any) -> None:
        if job.id in ids:
            printer(event, job)

    if linked:
        print("The team's render nodes run these jobs; following their progress "
              "(Ctrl-C cancels them).", file=sys.stderr)
    else:
        try:
            run_worker(root, once=True, on_event=only_ours)
            return
        except WorkerBusy:
            print(
                "A worker is already running this project's queue; following its progress.",
                file=sys.stderr,
            )
    seen: dict[str, str] = {}
    while True:
        pending = 0
        for job in queue.jobs():
            if job.id not in ids:
                continue
            status = str(job.status)
            if job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
                pending += 1
            if status == "running" and seen.get(job.id) != "running":
                printer("started", job)
            if status == "running":
                printer("progress", job)
            elif status not in ("queued",) and seen.get(job.id) != status:
                printer(status, job)
            seen[job.id] = status
        if not pending:
            return
        time.sleep(0.5)


# --------------------------------------------------------------------------- jobs, takes
def cmd_jobs(args: argparse.Namespace) -> int:
    from engine.jobs.queue import JobQueue

    with open_project(args.dir) as store:
        if args.cancel:
            job = job_ops.cancel_job(store, args.cancel)
            print(f"Job {job.id[:8]} {job.status}.")
            return 0
        if args.retry:
            job = job_ops.retry_job(store, args.retry)
            print(f"Job {job.id[:8]} queued again.")
            return 0
        if args.clear:
            print(f"Removed {job_ops.clear_finished(store)} finished job(s).")
            return 0
        jobs = JobQueue(store).jobs(args.status)
        labels = shot_labels(store)
    if args.json:
        print_json([to_values(j) for j in jobs])
        return 0
    if not jobs:
        print("No jobs.")
    for j in jobs:
        detail = j.error or j.message
        print(
            f"{j.id[:8]}  {j.status:<9} {j.progress * 100:3.0f}%  "
            f"{j.params.get('backend', '')}/{j.params.get('quality', '')}  "
            f"shot {labels.get(j.shot_id or '', str(j.shot_id)[:8])}  {detail}"
        )
    return 0


def cmd_import_take(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        shot = resolve_shot(store, args.shot)
        take = take_ops.import_take(store, shot.id, args.file, note=args.note or "").result
        print(f"Imported {Path(args.file).name} as take {take.id[:8]} of shot "
              f"{shot_labels(store)[shot.id]}.")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        take = take_ops.approve_take(store, resolve_take(store, args.take).id).result
        print(f"Approved take {take.id[:8]} of shot {shot_labels(store)[take.shot_id]}.")
    return 0


def cmd_use_keyframe(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        take = resolve_take(store, args.take)
        take_ops.use_keyframe(store, take.id, last=args.last)
        label = shot_labels(store)[take.shot_id]
        which = "last" if args.last else "first"
        print(f"Shot {label} now starts from that keyframe ({which} keyframe); animate it "
              f"with an image-to-video model: storyreel generate DIR --shots {label} "
              "--backend MODEL.")
    return 0


def cmd_keyframe(args: argparse.Namespace) -> int:
    source, at = args.source, None
    if "@" in source and not Path(source).exists():
        source, _, when = source.rpartition("@")
        try:
            at = float(when)
        except ValueError:
            raise UsageError(f"{args.source!r}: after @ comes a time in seconds, e.g. "
                             "TAKE@1.5.") from None
    with open_project(args.dir) as store:
        shot = resolve_shot(store, args.shot)
        out = take_ops.set_keyframe(store, shot.id, source, at=at, last=args.last)
        label = shot_labels(store)[shot.id]
        origin = out.result
        where = (f"frame at {origin['at']:g} s of take {origin['take'][:8]}" if "take" in origin
                 else origin["file"])
        print(f"Shot {label}: {'last' if args.last else 'first'} keyframe is now {where}.")
    return 0


def cmd_takes(args: argparse.Namespace) -> int:
    with open_project(args.dir) as store:
        shot = resolve_shot(store, args.shot)
        takes = store.takes(shot.id)
        if args.json:
            print_json([to_values(t) for t in takes])
            return 0
        for t in takes:
            mark = "*" if t.approved else " "
            print(
                f"{mark} {t.id[:8]}  {t.kind:<9} {t.record.get('backend', '')}  "
                f"{t.created_at}  {store.root / 'media' / t.media[:2]}"
            )
    return 0


# --------------------------------------------------------------------------- parser
def register(sub: Any) -> None:
    p = sub.add_parser("models", help="register local diffusers models (never downloads)")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", parser_class=type(p))
    a = msub.add_parser(
        "add", help="register a local diffusers folder, single-file checkpoints or a ComfyUI "
                    "models/ folder")
    a.add_argument("path", help="a diffusers model folder, a Wan transformer .safetensors or "
                                ".gguf (original key layout), or a ComfyUI models/ folder")
    for flag, what in (
        ("--transformer", "ComfyUI folder: the diffusion_models/ file to use"),
        ("--transformer-2", "Wan 2.2 A14B: the low-noise expert file"),
        ("--text-encoder", "the UMT5 text encoder .safetensors"),
        ("--vae", "the Wan VAE .safetensors (or a diffusers vae/ folder)"),
        ("--image-encoder", "Wan 2.1 I2V: the CLIP image encoder .safetensors "
                             "(clip_vision_h) or folder"),
        ("--tokenizer", "the UMT5 tokenizer folder (default: beside the text encoder)"),
    ):
        a.add_argument(flag, metavar="PATH", help=what)
    a.add_argument("--task", choices=("t2v", "i2v"),
                   help="Wan 2.2 TI2V-5B: register it as text- or image-to-video (default t2v)")
    a.add_argument("--name", help="the name to use with --backend (default: the folder name)")
    a.add_argument(
        "--ip-adapter",
        metavar="FILE.safetensors",
        help="SDXL: IP-Adapter weights (image_encoder/ beside them)",
    )
    a.set_defaults(func=cmd_models_add)
    ls = msub.add_parser("list", help="list registered models")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_models_list)
    rm = msub.add_parser("remove", help="forget a model (files untouched)")
    rm.add_argument("name", help="the registered model name")
    rm.set_defaults(func=cmd_models_remove)

    g = sub.add_parser("generate", help="make takes of shots (queue + worker, with progress)")
    g.add_argument("dir")
    g.add_argument(
        "--shots",
        nargs="+",
        default=["stale"],
        metavar="all|stale|ID",
        help="all, stale (new or changed shots; default), or shot ids / labels",
    )
    g.add_argument("--backend", default="animatic", help="animatic or a registered model name")
    g.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="auto: the GPU when there is one (default)")
    g.add_argument("--quality", default="draft", choices=["draft", "standard", "final"],
                   help="size, steps and frames preset (default draft)")
    g.add_argument("--size", metavar="WxH", help="frame size, e.g. 480x832 (overrides --quality)")
    g.add_argument("--frames", type=int, help="frames per clip (overrides --quality)")
    g.add_argument("--steps", type=int, help="denoising steps of a model (overrides --quality)")
    g.add_argument("--seed", type=int, help="the same seed for every shot (default: per shot)")
    g.add_argument("--estimate", action="store_true",
                   help="print the predicted time and memory profile; run nothing")
    g.add_argument("--json", action="store_true", help="with --estimate: machine-readable")
    g.add_argument("--continue-from-previous", action="store_true",
                   help="start each shot from the previous shot's last frame (match cuts; "
                        "image-to-video models)")
    g.add_argument("--new-seed", action="store_true",
                   help="re-roll: a fresh random seed, so an up-to-date shot gets a new take")
    g.add_argument(
        "--memory-profile",
        choices=["none", "model-offload", "group-offload"],
        help="default: picked from free VRAM",
    )
    g.add_argument("--queue-only", "--no-wait", action="store_true",
                   help="queue the jobs and return (a team project's nodes run them)")
    g.set_defaults(func=cmd_generate)

    j = sub.add_parser("jobs", help="list, cancel or retry generation jobs")
    j.add_argument("dir")
    j.add_argument("--json", action="store_true")
    j.add_argument("--status", choices=["queued", "running", "done", "failed", "cancelled"],
                   help="list only jobs in this state")
    j.add_argument("--cancel", metavar="JOB_ID", help="cancel this job")
    j.add_argument("--retry", metavar="JOB_ID", help="queue this failed or cancelled job again")
    j.add_argument("--clear", action="store_true", help="remove done and cancelled jobs")
    j.set_defaults(func=cmd_jobs)

    t = sub.add_parser("import-take", help="add a clip made elsewhere as a take of a shot")
    t.add_argument("dir")
    t.add_argument("shot", metavar="SHOT_ID", help="shot label like 1-2, id or id prefix")
    t.add_argument("file", metavar="FILE", help="a video or image made elsewhere")
    t.add_argument("--note", help="a note kept with the take")
    t.set_defaults(func=cmd_import_take)

    ap = sub.add_parser("approve", help="approve one take of a shot")
    ap.add_argument("dir")
    ap.add_argument("take", metavar="TAKE_ID", help="take id or id prefix (see `takes`)")
    ap.set_defaults(func=cmd_approve)

    kf = sub.add_parser("keyframe",
                        help="an image, or a frame of any take, as a shot's first/last keyframe")
    kf.add_argument("dir")
    kf.add_argument("shot", help="shot label like 1-2, id or id prefix")
    kf.add_argument("source", metavar="FILE|TAKE_ID[@SECONDS]",
                    help="an image file, or a take (its first frame, or the one at SECONDS)")
    kf.add_argument("--last", action="store_true",
                    help="set the last keyframe (a take's last frame unless @SECONDS)")
    kf.set_defaults(func=cmd_keyframe)

    uk = sub.add_parser("use-keyframe",
                        help="make a keyframe take's image the shot's first (or last) keyframe")
    uk.add_argument("dir")
    uk.add_argument("take", metavar="TAKE_ID", help="take id or id prefix (see `takes`)")
    uk.add_argument("--last", action="store_true", help="set the last keyframe instead")
    uk.set_defaults(func=cmd_use_keyframe)

    tk = sub.add_parser("takes", help="list a shot's takes")
    tk.add_argument("dir")
    tk.add_argument("shot", metavar="SHOT_ID", help="shot label like 1-2, id or id prefix")
    tk.add_argument("--json", action="store_true")
    tk.set_defaults(func=cmd_takes)
