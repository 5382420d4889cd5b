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
PREVIEW_MIX = "preview-mix"  # the cut's sound for the studio's player, cached in cache/
VOICE_SAMPLE = "voice-sample"  # a voice speaking a sample sentence (the Cast tab)
HANDOFF = "handoff"  # the edit for another editor (engine.interchange.handoff)
LOCAL_KINDS = (VOICE, EXPORT, MIX, PLAN, IMPORT_SCRIPT, PREVIEW_MIX, VOICE_SAMPLE, HANDOFF)
WORKER_KINDS = (GENERATE, SCORE)

Handler = Callable[[Any, dict[str, Any], Progress, CancelToken], dict[str, Any]]


def _voice(store: Any, params: dict[str, Any], progress: Progress,
           cancel: CancelToken) -> dict[str, Any]:
    from engine.audio.voices import synthesize_project

    report = synthesize_project(store, params.get("shot_ids"), progress=progress,
                                cancel=cancel)
    return {"report": plain(report)}


EXPORT_OPTIONS = ("preset", "srt", "otio", "burn_subtitles", "aigc_label", "c2pa", "c2pa_cert",
                  "c2pa_key", "episode")


def _export(store: Any, params: dict[str, Any], progress: Progress,
            cancel: CancelToken) -> dict[str, Any]:
    """``isolated``: in a child process (engine.render.export_process), so a GUI running
    the job keeps its GIL; a cancel that lands after the film was finished removes what
    it wrote, so a cancelled export job never leaves a file."""
    out = Path(params["out_path"])
    options = {k: params[k] for k in EXPORT_OPTIONS if k in params}
    if params.get("isolated"):
        from engine.render.export_process import export_in_subprocess

        report = export_in_subprocess(store, out, progress=progress, cancel=cancel,
                                      **options)
    else:
        from engine.render.export import export_film

        report = export_film(store, out, progress=progress, cancel=cancel,
                             **options).to_dict()
    result = {"out_path": str(out), "report": report}
    if cancel.poll_now():
        discard_result(EXPORT, result)
        cancel.check()
    return result


def discard_result(kind: str, result: dict[str, Any]) -> None:
    """Remove what a job wrote when it was cancelled as it finished (the runner calls this
    when the row turned CANCELLED before the result could be kept): a cancelled export or
    hand-off leaves no file."""
    import shutil

    report = result.get("report") or {}
    if kind == EXPORT:
        for written in (report.get("path"), report.get("srt"), report.get("otio")):
            if written:
                Path(written).unlink(missing_ok=True)
    elif kind == HANDOFF and report.get("folder"):
        shutil.rmtree(report["folder"], ignore_errors=True)  # a folder this job made


def _preview_mix(store: Any, params: dict[str, Any], progress: Progress,
                 cancel: CancelToken) -> dict[str, Any]:
    """The cut's (or one episode's) mix as a cached WAV in cache/preview, with its layout,
    so the player maps it without reading the file on its own thread."""
    from engine.audio.mix import _wav_layout
    from engine.render.audio import preview_mix
    from engine.render.timeline_builder import build_timeline

    timeline = build_timeline(store, params.get("episode"))
    cancel.check()
    path = preview_mix(timeline, store.cache_dir / "preview", progress=progress, cancel=cancel)
    offset, frames, channels, rate = _wav_layout(path)
    return {"path": str(path), "offset": offset, "frames": frames, "channels": channels,
            "rate": rate}


def _voice_sample(store: Any, params: dict[str, Any], progress: Progress,
                  cancel: CancelToken) -> dict[str, Any]:
    from engine.audio import tts
    from engine.model import VoiceProfile

    profile = VoiceProfile.from_dict(params.get("profile"))
    path = tts.preview(profile, str(params.get("language") or "zh"), params.get("text"))
    return {"path": str(path)}


def _handoff(store: Any, params: dict[str, Any], progress: Progress,
             cancel: CancelToken) -> dict[str, Any]:
    from engine.interchange.handoff import handoff
    from engine.render.timeline_builder import build_timeline

    timeline = build_timeline(store, params.get("episode"))
    report = handoff(timeline, Path(params["out"]), str(params["format"]),
                     bundle=bool(params.get("bundle")), progress=progress, cancel=cancel)
    result = {"report": report.to_dict()}
    if cancel.poll_now():
        discard_result(HANDOFF, result)
        cancel.check()
    return result


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
    VOICE: _voice, EXPORT: _export, MIX: _mix, SCORE: _score, PREVIEW_MIX: _preview_mix,
    VOICE_SAMPLE: _voice_sample, HANDOFF: _handoff,
}
# Kinds whose work is an engine operation (a logged, undoable edit): the operations layer
# sits above jobs, so it registers their handlers (``register``) when it is imported;
# ``run_kind`` imports the module named here first when no handler is registered yet.
OPERATION_KINDS = {PLAN: "engine.ops.story", IMPORT_SCRIPT: "engine.ops.story"}


def register(kind: str, handler: Handler) -> None:
    """Run ``kind`` jobs with ``handler`` (the operations layer registers its own)."""
    HANDLERS[kind] = handler


def run_kind(store: Any, job: E.Job, progress: Progress, cancel: CancelToken) -> dict[str, Any]:
    handler = HANDLERS.get(job.kind)
    if handler is None and job.kind in OPERATION_KINDS:
        import importlib

        importlib.import_module(OPERATION_KINDS[job.kind])  # it registers the handler
        handler = HANDLERS.get(job.kind)
    if handler is None:
        raise StoryreelError(f"Storyreel has no job kind {job.kind!r}.")
    return handler(store, dict(job.params), progress, cancel)


def plain(value: Any) -> Any:
    """A report dataclass as JSON-ready data."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
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
