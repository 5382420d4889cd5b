"""Story operations: import a script, plan shots, recompose prompts.

Each is one validated, logged, undoable step: the script is read, parsed and broken into
shots (``engine.story.importer.prepare_import``), or planned by the language model
(``engine.story.planner.prepare``, which holds no transaction while the model thinks),
before the one transaction that merges it into the project
(``engine.ops.script_import.apply_script``). Bad input is one sentence, nothing changed.
The CLI, the studio and the local job runner call these, returning the subsystem's report
as ``Changes.result``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from engine.jobs import kinds
from engine.jobs.progress import CancelToken, Progress, no_progress
from engine.model import entities as E
from engine.ops.base import Changes, operation, with_result
from engine.ops.script_import import apply_script
from engine.store.project import ProjectStore
from engine.story import composer, importer, planner
from engine.story.importer import ImportReport, PreparedImport


def _apply_import(store: ProjectStore, prepared: PreparedImport, prune: bool,
                  progress: Progress, cancel: CancelToken | None,
                  author: str | None) -> Changes:
    report = ImportReport(format=prepared.script.format)
    with operation(store, "Import script", author) as out:
        apply_script(store, prepared.script, prepared.plans, report,
                     script_text=prepared.text, episode=prepared.episode, prune=prune,
                     progress=progress, cancel=cancel)
    progress(1.0, f"Imported {report.scenes} scenes")
    return with_result(out[0], report)


def import_script(store: ProjectStore, path: str | Path, *, episode: int | None = None,
                  prune: bool = False, progress: Progress | None = None,
                  cancel: CancelToken | None = None, author: str | None = None) -> Changes:
    """Characters, scenes and shots of a script file (one undoable step); ``episode``
    files it under that episode of a series, ``prune`` removes what the script dropped.
    Re-importing the same text changes nothing; an edited one rewrites (and marks stale)
    only the shots whose lines changed. Result: the ImportReport."""
    progress = progress or no_progress
    progress(0.0, "Reading the script")
    prepared = importer.prepare_import_file(Path(path), episode=episode)
    return _apply_import(store, prepared, bool(prune), progress, cancel, author)


def import_script_text(store: ProjectStore, text: str, fmt: str = "auto", *,
                       episode: int | None = None, prune: bool = False,
                       progress: Progress | None = None, cancel: CancelToken | None = None,
                       author: str | None = None) -> Changes:
    """``import_script`` of script text (the studio's script editor)."""
    progress = progress or no_progress
    progress(0.0, "Reading the script")
    prepared = importer.prepare_import(text, fmt, episode=episode)
    return _apply_import(store, prepared, bool(prune), progress, cancel, author)


def _merge_draft_characters(store: ProjectStore, draft: Any) -> None:
    existing = {c.name: c for c in store.all(E.Character)}
    for c in draft.characters:
        found = existing.get(c.name)
        if found is not None and found.locked:
            continue
        values = planner.draft_character_values(c)
        if found is None:
            store.add(E.Character(name=c.name, **values), label=f"Add character {c.name}")
        elif any(v and getattr(found, k) != v for k, v in values.items()):
            store.set_fields(E.Character, found.id, **{k: v for k, v in values.items() if v})


def _save_looks(store: ProjectStore, looks: Any) -> None:
    """The model's English looks, into the fields that are still empty."""
    for character_id, fields in looks.characters.items():
        row = store.get(E.Character, character_id)
        if row is None:
            continue
        empty = {k: v for k, v in fields.items() if v and not getattr(row, k).strip()}
        if empty:
            store.set_fields(E.Character, row.id, **empty)
    for costume_id, text_en in looks.costumes.items():
        row = store.get(E.Costume, costume_id)
        if row is not None and text_en and not row.text_en.strip():
            store.set_fields(E.Costume, row.id, text_en=text_en)


def plan(store: ProjectStore, *, author: str | None = None, **options: Any) -> Changes:
    """Plan the shots (``engine.story.planner.prepare`` options); the model is asked before
    the one transaction that saves the plan, so the project is not locked meanwhile, and a
    malformed answer changes nothing. Result: the PlanReport."""
    progress: Progress = options.get("progress") or no_progress
    prepared = planner.prepare(store, **options)
    progress(0.96, "Saving the plan")
    imported = ImportReport(format=prepared.script.format)
    label = "Plan from idea" if prepared.idea else "Plan shots"
    with operation(store, label, author) as out:
        if prepared.draft is not None:
            _merge_draft_characters(store, prepared.draft)
            project = store.project
            project.logline = prepared.draft.logline
            if project.title in ("", "Untitled"):
                project.title = prepared.draft.title
            store.update(project, label="Set logline")
        _save_looks(store, prepared.looks)  # before the prompts are composed
        apply_script(store, prepared.script, prepared.plans, imported,
                     script_text=prepared.text)
        project = store.project
        project.settings = {**project.settings, "planner": {
            "backend": prepared.report.backend, "idea": prepared.idea or "",
            "planned_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}}
        store.update(project, label="Record planner")
    report = planner.finish_report(prepared, imported, len(store.characters()))
    progress(1.0, f"Planned {report.shots} shots in {report.scenes} scenes")
    return with_result(out[0], report)


def recompose(store: ProjectStore, shot_ids: list[str] | None = None, *,
              author: str | None = None) -> Changes:
    """Compose the prompts of these shots (all when None) again; result: how many changed."""
    with operation(store, "Recompose prompts", author, undoable=False) as out:
        changed = composer.recompose(store, shot_ids)
    return with_result(out[0], changed)


# ----------------------------------------------------------------------------- jobs
def _import_job(store: Any, params: dict[str, Any], progress: Progress,
                cancel: CancelToken) -> dict[str, Any]:
    """``path`` (a script file) or ``text`` (the studio's script editor)."""
    options = {"episode": params.get("episode"), "prune": bool(params.get("prune", False)),
               "progress": progress, "cancel": cancel}
    if "text" in params:
        changes = import_script_text(store, str(params["text"]), **options)
    else:
        changes = import_script(store, Path(params["path"]), **options)
    return {"report": kinds.plain(changes.result), "seq": changes.seq}


def _plan_job(store: Any, params: dict[str, Any], progress: Progress,
              cancel: CancelToken) -> dict[str, Any]:
    options = {k: params[k] for k in ("idea", "llm", "base_url", "model") if k in params}
    if params.get("model_path"):
        options["model_path"] = Path(params["model_path"])
    changes = plan(store, progress=progress, cancel=cancel, **options)
    return {"report": kinds.plain(changes.result), "seq": changes.seq}


kinds.register(kinds.IMPORT_SCRIPT, _import_job)
kinds.register(kinds.PLAN, _plan_job)
