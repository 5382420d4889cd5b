"""Every long task is a Job: the kinds, what runs each, and its ETA.

A job row (``jobs`` table) carries its kind and plain JSON params; ``run_kind`` runs it
with the engine's Progress and CancelToken and returns a JSON result. The worker process
runs ``generate`` jobs (the GPU, a warm model); the rest run on the CPU in a local
runner (``engine.jobs.runner``) of the process that queued them — the studio or the CLI —
through the same rows, so one jobs list shows progress, ETA and cancel for all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.errors import StoryreelError
from engine.jobs.progress import CancelToken, Progress
from engine.model import JobStatus
from engine.model import entities as E

GENERATE = "generate"
VOICE = "voice"
EXPORT = "export"
MIX = "mix"
PLAN = "plan"
IMPORT_SCRIPT = "import-script"
SCORE = "score"  # identity scores of takes (engine.generate.identity)
LOCAL_KINDS = (VOICE, EXPORT, MIX, PLAN, IMPORT_SCRIPT)
WORKER_KINDS = (GENERATE, SCORE)

Handler = Callable[[Any, dict[str, Any], Progress, CancelToken], dict[str, Any]]


def _voice(store: Any, params: dict[str, Any], progress: Progress,
           cancel: CancelToken) -> dict[str, Any]:
    from engine.audio.voices import synthesize_project

    report = synthesize_project(store, params.get("shot_ids"), progress=progress,
                                cancel=cancel)
    return {"report": _plain(report)}


def _export(store: Any, params: dict[str, Any], progress: Progress,
            cancel: CancelToken) -> dict[str, Any]:
    from engine.render.export import export_film

    options = {k: params[k] for k in ("preset", "srt", "otio", "burn_subtitles", "aigc_label",
                                      "c2pa", "c2pa_cert", "c2pa_key")
               if k in params}
    report = export_film(store, Path(params["out_path"]), progress=progress, cancel=cancel,
                         **options)
    return {"out_path": str(params["out_path"]), "report": _plain(report)}


def _plan(store: Any, params: dict[str, Any], progress: Progress,
          cancel: CancelToken) -> dict[str, Any]:
    from engine.story.planner import plan

    options = {k: params[k] for k in ("idea", "llm", "base_url", "model") if k in params}
    if params.get("model_path"):
        options["model_path"] = Path(params["model_path"])
    report = plan(store, progress=progress, cancel=cancel, **options)
    return {"report": _plain(report)}


def _import_script(store: Any, params: dict[str, Any], progress: Progress,
                   cancel: CancelToken) -> dict[str, Any]:
    from engine.story.importer import import_script

    progress(0.0, "Reading the script")
    report = import_script(store, Path(params["path"]), episode=params.get("episode"),
                           prune=bool(params.get("prune", False)))
    progress(1.0, "Script imported")
    return {"report": _plain(report)}


def _mix(store: Any, params: dict[str, Any], progress: Progress,
         cancel: CancelToken) -> dict[str, Any]:
    from engine.audio.mix import mix_timeline
    from engine.render.timeline_builder import build_timeline

    report = mix_timeline(build_timeline(store), Path(params["out_path"]), progress=progress,
                          cancel=cancel)
    return {"out_path": str(params["out_path"]), "report": report.to_dict()}


def _score(store: Any, params: dict[str, Any], progress: Progress,
           cancel: CancelToken) -> dict[str, Any]:
    from engine.generate.identity import score_take

    take_ids = list(params.get("take_ids") or [])
    scores: dict[str, Any] = {}
    n = max(1, len(take_ids))
    for i, take_id in enumerate(take_ids):
        def sub(fraction: float, message: str = "", _i: int = i) -> None:
            progress((_i + max(0.0, min(1.0, fraction))) / n, message)

        identity = score_take(store, take_id, force=bool(params.get("force")), progress=sub,
                              cancel=cancel)
        scores[take_id] = {"status": identity.get("status"), "score": identity.get("score")}
    return {"scores": scores}


HANDLERS: dict[str, Handler] = {
    VOICE: _voice, EXPORT: _export, PLAN: _plan, IMPORT_SCRIPT: _import_script, MIX: _mix,
    SCORE: _score,
}


def run_kind(store: Any, job: E.Job, progress: Progress, cancel: CancelToken) -> dict[str, Any]:
    handler = HANDLERS.get(job.kind)
    if handler is None:
        raise StoryreelError(f"Storyreel has no job kind {job.kind!r}.")
    return handler(store, dict(job.params), progress, cancel)


def _plain(value: Any) -> Any:
    """A report dataclass as JSON-ready data."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def eta_seconds(job: E.Job, now: datetime | None = None) -> float | None:
    """Seconds left for a running job, from its progress so far (None when unknown)."""
    if job.status is not JobStatus.RUNNING or not job.started_at or job.progress <= 0.02:
        return None
    try:
        started = datetime.fromisoformat(job.started_at)
    except ValueError:
        return None
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    elapsed = ((now or datetime.now(UTC)) - started).total_seconds()
    if elapsed <= 0:
        return None
    return max(0.0, elapsed * (1.0 - job.progress) / job.progress)
