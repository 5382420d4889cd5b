"""The edit comes back: a timeline changed in another editor becomes clip edits and shot
moves, applied as one undoable operation.

Clips are matched to shots by the shot id they carry (OTIO metadata, the id in a 剪映
material name), else by the shot label in their name (``Shot 1-2``). For each matched
clip its source in becomes the trim in, its length the trim out (or a longer shot where
the clip outgrew the shot's planned length), its speed (where the format has one) the
speed, and the transition into it the transition. Shots follow the order of their clips:
within a scene they are renumbered; a shot that landed among another scene's shots
moves into that scene (the fewest moves: shots outside the longest run that keeps the
scene order). Clips that match no shot and shots missing from the edit are listed and
left alone. A file that cannot be read, or an edit the project refuses (a trim longer
than the take), changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.interchange.edit_read import EditedClip, EditedTimeline, read_edit
from engine.model import ClipEdit, TransitionKind
from engine.model import entities as E
from engine.model.shot_rules import shot_labels
from engine.model.timeline import SourceKind, seconds_to_frames
from engine.ops import derived
from engine.ops.base import Changes, OpError, operation, with_result
from engine.ops.shots import MAX_DURATION, _renumber
from engine.render import timeline_builder
from engine.store.project import ProjectStore


@dataclass
class EditPlan:
    """What an imported edit changes, before (or after) it is applied."""

    format: str
    matched: int = 0
    clip_edits: dict[str, dict[str, Any]] = field(default_factory=dict)  # shot id → fields
    durations: dict[str, float] = field(default_factory=dict)  # shot id → seconds
    order: dict[str, list[str]] = field(default_factory=dict)  # scene id → shot ids
    moved: list[str] = field(default_factory=list)  # shot labels that changed place
    unmatched: list[str] = field(default_factory=list)  # clip names
    missing: list[str] = field(default_factory=list)  # shot labels
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.clip_edits or self.durations or self.moved)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format, "matched": self.matched,
            "clip_edits": {self.labels.get(k, k): v for k, v in self.clip_edits.items()},
            "durations": {self.labels.get(k, k): v for k, v in self.durations.items()},
            "moved": self.moved, "unmatched": self.unmatched, "missing": self.missing,
        }


def _match(store: ProjectStore, edited: EditedTimeline, plan: EditPlan,
           labels: dict[str, str]) -> list[tuple[EditedClip, str]]:
    by_label = {label: sid for sid, label in labels.items()}
    matched: list[tuple[EditedClip, str]] = []
    seen: set[str] = set()
    for clip in sorted(edited.clips, key=lambda c: (c.record_in + c.reach, c.record_in)):
        sid = clip.shot_id if clip.shot_id in labels else None
        if sid is None:
            sid = by_label.get(clip.label)
        if sid is None or sid in seen:
            plan.unmatched.append(clip.name + (" (a second clip of that shot)" if sid else ""))
            continue
        seen.add(sid)
        matched.append((clip, sid))
    plan.missing = [labels[sid] for sid in labels if sid not in seen]
    return matched


def _clip_fields(store: ProjectStore, clip: EditedClip, shot: E.Shot, current: Any,
                 edit: ClipEdit, first: bool, plan: EditPlan) -> None:
    fps = store.project.fps
    planned = max(1, seconds_to_frames(shot.duration, fps))
    speed = round(clip.speed, 4) if clip.speed else edit.speed
    fields: dict[str, Any] = {}
    length = max(1, clip.length)
    if current.kind == SourceKind.VIDEO:
        trim_in = max(0, round(clip.source_in(edit.speed)))
        available = round((current.source_duration or 0) * float(fps))
        if length > planned:
            plan.durations[shot.id] = min(MAX_DURATION, float(length / fps))
            trim_out = 0
        else:
            trim_out = max(0, available - trim_in - round(length * speed))
            if length == planned and available - trim_in - edit.trim_out >= planned * speed:
                trim_out = edit.trim_out  # still the full shot: keep the user's tail trim
        fields.update(trim_in=trim_in, trim_out=trim_out, speed=speed)
    else:  # a still or a slate lasts the shot less its trims
        if length > planned:
            plan.durations[shot.id] = min(MAX_DURATION, float(length / fps))
            fields.update(trim_in=0, trim_out=0)
        else:
            fields.update(trim_in=0, trim_out=planned - length)
    kind = TransitionKind.CUT if first else clip.transition
    frames = 0 if kind is TransitionKind.CUT else max(0, clip.transition_frames)
    fields.update(transition=kind.value, transition_frames=frames)
    changed = {k: v for k, v in fields.items()
               if (getattr(edit, k).value if k == "transition" else getattr(edit, k)) != v}
    if changed:
        plan.clip_edits[shot.id] = changed


def _scene_runs(seq: list[str], scene_index: dict[str, int]) -> set[int]:
    """Positions in ``seq`` that keep the scene order: the longest run whose scene
    numbers never go down (the other shots move)."""
    n = len(seq)
    best = [1] * n
    prev = [-1] * n
    for i in range(n):
        for j in range(i):
            if scene_index[seq[j]] <= scene_index[seq[i]] and best[j] + 1 > best[i]:
                best[i], prev[i] = best[j] + 1, j
    keep: set[int] = set()
    i = max(range(n), key=lambda k: best[k]) if n else -1
    while i >= 0:
        keep.add(i)
        i = prev[i]
    return keep


def _plan_order(store: ProjectStore, seq: list[str], plan: EditPlan,
                labels: dict[str, str]) -> None:
    shots = {s.id: s for s in store.shots()}
    scenes = [s.id for s in store.scenes()]
    scene_index = {sid: scenes.index(shots[sid].scene_id) for sid in seq}
    keep = _scene_runs(seq, scene_index)
    target = {sid: shots[sid].scene_id for sid in seq}
    for i, sid in enumerate(seq):
        if i in keep:
            continue
        # join the scene of the nearest kept shot before it (else after it)
        before = [seq[j] for j in range(i - 1, -1, -1) if j in keep]
        after = [seq[j] for j in range(i + 1, len(seq)) if j in keep]
        anchor = (before or after or [sid])[0]
        target[sid] = shots[anchor].scene_id
    for scene_id in scenes:
        current = [s.id for s in store.shots(scene_id)]
        incoming = [sid for sid in seq if target[sid] == scene_id]
        order = list(incoming)
        # shots missing from the edit keep their place in their scene
        for pos, sid in enumerate(current):
            if sid not in target:
                order.insert(min(pos, len(order)), sid)
        if order != current:
            plan.order[scene_id] = order
    old = [s.id for s in store.shots()]
    new = [sid for scene_id in scenes
           for sid in plan.order.get(scene_id, [s.id for s in store.shots(scene_id)])]
    plan.moved = [labels[sid] for sid in new if new.index(sid) != old.index(sid)
                  or target.get(sid, shots[sid].scene_id) != shots[sid].scene_id]


def plan_edit(store: ProjectStore, edited: EditedTimeline) -> EditPlan:
    """What importing ``edited`` would change (nothing is written)."""
    plan = EditPlan(edited.format)
    labels = shot_labels(store.scenes(), store.shots())
    plan.labels = labels
    matched = _match(store, edited, plan, labels)
    plan.matched = len(matched)
    if not matched:
        return plan
    timeline = timeline_builder.build_timeline(store)
    clips = {c.shot_id: c for c in timeline.video}
    edits = {e.shot_id: e for e in store.all(ClipEdit)}
    for k, (clip, sid) in enumerate(matched):
        shot = store.require(E.Shot, sid)
        _clip_fields(store, clip, shot, clips[sid], edits.get(sid) or ClipEdit(shot_id=sid),
                     k == 0, plan)
    _plan_order(store, [sid for _, sid in matched], plan, labels)
    return plan


def import_edit(store: ProjectStore, path: str | Path, *, author: str | None = None,
                dry_run: bool = False) -> Changes:
    """Read an edit file and apply what changed as one undoable operation; the Changes'
    result is the EditPlan (also when nothing changed or ``dry_run``)."""
    path = Path(path)
    edited = read_edit(path, store.project.fps)
    plan = plan_edit(store, edited)
    if plan.matched == 0:
        raise OpError(f"No clip in {path.name} matches a shot of this project (clips are "
                      "matched by shot id, or by names like 'Shot 1-2').")
    if dry_run or plan.empty:
        return with_result(Changes(None, []), plan)
    with operation(store, f"Import edit {path.name}", author) as out:
        for sid, seconds in plan.durations.items():
            store.set_fields(E.Shot, sid, duration=seconds)
        for sid, fields in plan.clip_edits.items():
            timeline_builder.set_clip_edit(store, sid, **fields)
        moved_scene = []
        for scene_id, order in plan.order.items():
            for sid in order:
                if store.require(E.Shot, sid).scene_id != scene_id:
                    moved_scene.append(sid)
            _renumber(store, scene_id, order)
        derived.refresh(store, [*plan.durations, *moved_scene])
    return with_result(out[0], plan)
