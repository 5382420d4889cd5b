"""Story operations: import a script, plan shots, recompose prompts.

Each subsystem function already writes in one transaction of its own (planning holds
none while the language model thinks); these are the one door the CLI and the studio
call, returning the subsystem's report as ``Changes.result``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.ops.base import Changes, operation, with_result
from engine.store.project import ProjectStore
from engine.story import composer, importer, planner


def import_script(store: ProjectStore, path: str | Path, *, episode: int | None = None,
                  prune: bool = False, progress: Any = None, cancel: Any = None,
                  author: str | None = None) -> Changes:
    """Characters, scenes and shots of a script file (one undoable step); ``episode``
    files it under that episode of a series, ``prune`` removes what the script dropped."""
    with operation(store, "Import script", author) as out:
        report = importer.import_script(store, Path(path), episode=episode, prune=prune,
                                        progress=progress or (lambda f, m="": None),
                                        cancel=cancel)
    return with_result(out[0], report)


def plan(store: ProjectStore, *, author: str | None = None, **options: Any) -> Changes:
    """Plan the shots (``engine.story.planner.plan`` options); the model is asked before
    the one transaction that saves the plan, so the project is not locked meanwhile."""
    mark = store.commit_mark()
    previous, store.author = store.author, author or store.author
    try:
        report = planner.plan(store, **options)
    finally:
        store.author = previous
    entry = store.entry_since(mark)
    return with_result(Changes(None, []) if entry is None else Changes(
        entry.seq, list(dict.fromkeys((c.entity, c.key) for c in entry.changes))), report)


def recompose(store: ProjectStore, shot_ids: list[str] | None = None, *,
              author: str | None = None) -> Changes:
    """Compose the prompts of these shots (all when None) again; result: how many changed."""
    with operation(store, "Recompose prompts", author, undoable=False) as out:
        changed = composer.recompose(store, shot_ids)
    return with_result(out[0], changed)
