"""No widget writes rows: every studio edit goes through an engine operation (engine.ops).

An AST scan of studio/*.py: a call that writes through the store (``store.update``,
``self.store.add``, ``store.transaction``, ``store.media.import_file``, ...), calls an
engine writer past the operations (``set_clip_edit`` of the timeline builder,
``composer.recompose``, ``importer.approve_take``, ...) or changes job rows past
``engine.ops.jobs`` is reported with its file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

STUDIO = Path(__file__).resolve().parents[2] / "studio"

# methods of ProjectStore (and its MediaStore) that write
STORE_WRITES = frozenset({"update", "add", "delete", "set_fields", "update_derived", "upsert",
                          "transaction", "deriving", "undo", "redo", "import_file",
                          "import_bytes", "mark_stale"})
# engine functions that write rows themselves; the studio calls the operation instead
ENGINE_WRITERS = frozenset({"set_clip_edit", "add_music", "add_sfx", "approve_take",
                            "import_take", "recompose", "apply_script", "refresh_status",
                            "synthesize_project"})
# JobQueue methods that change job rows (engine.ops.jobs has the user's ones)
QUEUE_WRITES = frozenset({"enqueue_generation", "submit", "cancel", "retry",
                          "clear_finished", "claim", "claim_next", "report", "finish",
                          "requeue_orphans"})


def _chain(node: ast.AST) -> list[str]:
    """``self.store.media`` → ["self", "store", "media"] (calls in between are kept as
    their function's name, e.g. ``JobQueue(store).cancel`` → ["JobQueue()", "cancel"])."""
    parts: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            break
        elif isinstance(node, ast.Call):
            inner = _chain(node.func)
            parts.append((inner[-1] if inner else "?") + "()")
            break
        else:
            break
    return list(reversed(parts))


def row_writes(source: str, filename: str = "<string>") -> list[str]:
    """Every place in ``source`` that writes rows past the operations layer."""
    tree = ast.parse(source, filename)
    found: list[str] = []
    engine_names: set[str] = set()  # writer functions imported from engine (not engine.ops)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
                "engine") and not node.module.startswith("engine.ops"):
            for alias in node.names:
                if alias.name in ENGINE_WRITERS:
                    engine_names.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        where = f"{filename}:{node.lineno}"
        func = node.func
        if isinstance(func, ast.Name) and func.id in engine_names:
            found.append(f"{where} {func.id}()")
            continue
        if not isinstance(func, ast.Attribute):
            continue
        chain = _chain(func)
        receiver, method = chain[:-1], chain[-1]
        if method in STORE_WRITES and any("store" in part.lower() for part in receiver):
            found.append(f"{where} {'.'.join(chain)}()")
        elif method in QUEUE_WRITES and any(p.startswith("JobQueue") for p in receiver):
            found.append(f"{where} {'.'.join(chain)}()")
        elif (method in ENGINE_WRITERS and receiver
              and receiver[-1] in {"composer", "importer", "music", "timeline_builder",
                                   "staleness", "voices"}):
            found.append(f"{where} {'.'.join(chain)}()")
    return sorted(found, key=lambda hit: int(hit.split()[0].rsplit(":", 1)[1]))


def test_the_scanner_finds_planted_row_writes() -> None:
    planted = '''
from engine.render.timeline_builder import set_clip_edit
from engine.ops import shots as shot_ops

class View:
    def edit(self, shot):
        self.store.update(shot, label="Edit")
        store.add(shot)
        with self.store.transaction("Two steps"):
            pass
        self._store.delete(shot)
        self.store.set_fields(type(shot), shot.id, size="CU")
        self.store.media.import_file("a.png")
        set_clip_edit(self.store, shot.id, trim_in=2)
        composer.recompose(self.store, [shot.id])
        JobQueue(self.store).cancel("job")
        self.store.undo()
'''
    hits = row_writes(planted, "planted.py")
    assert [h.split()[0] for h in hits] == [f"planted.py:{n}" for n in
                                            (7, 8, 9, 11, 12, 13, 14, 15, 16, 17)]
    assert "self.store.update()" in hits[0]
    clean = '''
from engine.ops import shots as shot_ops, audio as audio_ops

class View:
    def edit(self, shot):
        shot_ops.set_shot_fields(self.store, shot.id, size="CU")
        audio_ops.set_clip_edit(self.store, shot.id, trim_in=2)
        self.scene.update()
        self.timer.add(3)
        layout.addWidget(self)
        seen.add(shot.id)
        shots = self.store.shots()
        self.view.viewport().update()
'''
    assert row_writes(clean, "clean.py") == []


def test_no_studio_module_writes_rows() -> None:
    files = sorted(STUDIO.glob("*.py"))
    assert len(files) > 15
    found: list[str] = []
    for path in files:
        found += row_writes(path.read_text(encoding="utf-8"), path.name)
    assert found == []
