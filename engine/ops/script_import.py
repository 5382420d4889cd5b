"""The import operation's writing half: a parsed script (and its shot plans) merged into
the project.

``apply_script`` runs inside the caller's operation (``engine.ops.story.import_script``
and ``engine.ops.story.plan``: one validated, logged, undoable step). Episodes merge by
number, characters by name (a locked character is never overwritten), scenes by episode
and scene number, shots by what they say and show (``sync_scene_shots``): importing the
same text twice changes nothing; re-planning keeps locked shots where they are and reuses
the other shots' ids (so their takes survive, marked stale when what they show changed).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from engine.jobs.progress import CancelToken, Progress, no_progress
from engine.model import (
    Character,
    ClipEdit,
    DialogueLine,
    Episode,
    Location,
    Scene,
    Shot,
    ShotStatus,
    TransitionKind,
)
from engine.model.shot_rules import scene_label
from engine.store.project import ProjectStore
from engine.story.breakdown import ShotPlan
from engine.story.composer import PromptContext, english_look_warning
from engine.story.importer import ImportReport, base_parse
from engine.story.script import ParsedScript

CHARACTER_FIELDS = ("age", "gender", "appearance", "costume", "personality", "description",
                    "role")
SCENE_FIELDS = ("heading", "location", "setting", "time_of_day", "description")


def _merge_characters(store: ProjectStore, script: ParsedScript, report: ImportReport,
                      refresh: bool = True, base: ParsedScript | None = None) -> dict[str, str]:
    """Add the script's new characters; with ``refresh``, update unlocked ones with what the
    script changed since ``base`` (the text imported before), so a user's own edit of a field
    the script did not change stays."""
    existing = {c.name: c for c in store.all(Character)}
    for parsed in script.characters:
        found = existing.get(parsed.name)
        values = {k: getattr(parsed, k) for k in CHARACTER_FIELDS}
        if found is None:
            character = Character(name=parsed.name, **values)
            store.add(character, label=f"Add character {parsed.name}")
            existing[parsed.name] = character
            report.characters_added += 1
        elif found.locked:
            report.characters_kept_locked += 1
        elif refresh:
            before = base.character(parsed.name) if base is not None else None
            changed = False
            for key, value in values.items():
                if before is not None and getattr(before, key) == value:
                    continue  # the script did not change it: the project's value stands
                if value and getattr(found, key) != value:
                    setattr(found, key, value)
                    changed = True
            if changed:
                store.update(found, label=f"Update character {parsed.name}")
                report.characters_updated += 1
    return {name: c.id for name, c in existing.items()}


def _lines_of(plan: ShotPlan, ids: dict[str, str]) -> list[DialogueLine]:
    return [DialogueLine(text=ln.text, character_id=ids.get(ln.speaker) if ln.speaker else None,
                         emotion=ln.emotion, kind=ln.kind) for ln in plan.lines]


def _fill(shot: Shot, plan: ShotPlan, ids: dict[str, str]) -> bool:
    """Write a plan into a shot; True when what the shot shows or says changed."""
    new = {
        "size": plan.size, "angle": plan.angle, "camera_move": plan.camera_move,
        "duration": plan.duration, "action": plan.action,
        "characters": [ids[n] for n in plan.characters if n in ids],
        "dialogue": _lines_of(plan, ids), "narration": plan.narration,
    }
    changed = any(getattr(shot, k) != v for k, v in new.items())
    for key, value in new.items():
        setattr(shot, key, value)
    return changed


def _covered_by_locked(plan: ShotPlan, locked: list[Shot]) -> bool:
    spoken = {d.text for s in locked for d in s.dialogue} | {s.narration for s in locked}
    if plan.lines or plan.narration:
        texts = [ln.text for ln in plan.lines] + ([plan.narration] if plan.narration else [])
        return all(t in spoken for t in texts)
    return bool(plan.action) and any(s.action == plan.action for s in locked)


def _scene_shots(store: ProjectStore, scene_id: str) -> list[Shot]:
    return sorted(store.all(Shot, scene_id=scene_id), key=lambda s: s.order)


def _plan_key(plan: ShotPlan, ids: dict[str, str]) -> tuple[Any, ...]:
    """What a shot says and shows, from the script: the same key means the same beat."""
    return (plan.action.strip(), tuple((ln.text, ids.get(ln.speaker or "")) for ln in plan.lines),
            plan.narration.strip())


def _shot_key(shot: Shot) -> tuple[Any, ...]:
    return (shot.action.strip(), tuple((d.text, d.character_id) for d in shot.dialogue),
            shot.narration.strip())


def _match(plans: list[ShotPlan], shots: list[Shot], ids: dict[str, str]
           ) -> tuple[list[Shot | None], set[int]]:
    """Which existing shot each plan re-uses: first those that say and show the same (in
    order), then, between two such anchors, the shots in the same positions (an edited
    line keeps its shot and takes). Returns the shot per plan and the exact matches."""
    matched: list[Shot | None] = [None] * len(plans)
    exact: set[int] = set()
    keys = [_shot_key(s) for s in shots]
    anchor_of: list[int] = [-1] * len(plans)
    j = 0
    for i, plan in enumerate(plans):
        key = _plan_key(plan, ids)
        k = next((k for k in range(j, len(shots)) if keys[k] == key), None)
        if k is not None:
            matched[i] = shots[k]
            anchor_of[i] = k
            exact.add(i)
            j = k + 1
    # the unmatched plans between anchors take the unmatched shots between them, in order
    i = 0
    while i < len(plans):
        if matched[i] is not None:
            i += 1
            continue
        gap_end = i
        while gap_end < len(plans) and matched[gap_end] is None:
            gap_end += 1
        lo = anchor_of[i - 1] + 1 if i > 0 else 0
        hi = anchor_of[gap_end] if gap_end < len(plans) else len(shots)
        free = list(shots[lo:hi])
        for p in range(i, gap_end):
            if free:
                matched[p] = free.pop(0)
        i = gap_end
    return matched, exact


def sync_scene_shots(store: ProjectStore, scene: Scene, plans: list[ShotPlan],
                     ids: dict[str, str], report: ImportReport,
                     prompts: PromptContext, *, old: list[Shot] | None = None,
                     new_shots: list[Shot] | None = None,
                     transitions: list[tuple[str, str]] | None = None) -> list[str]:
    """Merge ``plans`` into a scene's shots; locked shots keep their place.

    A shot that says and shows what its plan does is kept as it is (id, takes, approval,
    the user's edits); one in the same place whose lines changed is rewritten and marked
    stale (its takes kept); the rest are added or removed. Returns the ids written.

    With ``new_shots`` (and ``transitions``) the new shots (and their script transitions)
    are collected for the caller to add in one batch; ``old`` is the scene's shots when
    the caller read them all at once.
    """
    scene_id = scene.id
    old = _scene_shots(store, scene_id) if old is None else sorted(old, key=lambda s: s.order)
    locked_at = {i: s for i, s in enumerate(old) if s.locked}
    reusable = [s for s in old if not s.locked]
    plans = [p for p in plans if not _covered_by_locked(p, list(locked_at.values()))]
    report.shots_kept_locked += len(locked_at)
    matched, exact = _match(plans, reusable, ids)
    used = {s.id for s in matched if s is not None}
    final: list[Shot | int] = []
    queue = list(range(len(plans)))
    position = 0
    while queue or any(i >= position for i in locked_at):
        if position in locked_at:
            final.append(locked_at[position])
        elif queue:
            final.append(queue.pop(0))
        position += 1
    written: list[str] = []
    for order, item in enumerate(final):
        if isinstance(item, Shot):  # locked: only its place in the order may move
            if item.order != order:
                item.order = order
                store.update(item, label="Reorder shot")
            continue
        plan, shot = plans[item], matched[item]
        if shot is not None and item in exact:
            kept = dataclasses.replace(shot)
            shot.order = order
            prompts.apply(shot, scene)
            if shot != kept:  # an unchanged shot is not written again
                store.update(shot, label="Keep shot")
            report.shots_kept += 1
        elif shot is not None:
            changed = _fill(shot, plan, ids)
            if changed and store.takes(shot.id) and shot.status in (
                    ShotStatus.GENERATED, ShotStatus.APPROVED, ShotStatus.READY):
                shot.status = ShotStatus.STALE
            shot.order = order
            prompts.apply(shot, scene)
            store.update(shot, label="Re-plan shot")
            report.shots_changed += 1 if changed else 0
            report.shots_kept += 0 if changed else 1
        else:
            shot = Shot(scene_id=scene_id, order=order)
            _fill(shot, plan, ids)
            prompts.apply(shot, scene)
            if new_shots is None:
                store.add(shot, label="Add shot")
            else:
                new_shots.append(shot)
            report.shots_added += 1
            if transitions is not None:  # after the batch that adds the shot
                if plan.transition:
                    transitions.append((shot.id, plan.transition))
                written.append(shot.id)
                continue
        _apply_transition(store, shot.id, plan.transition, prompts.project.fps)
        written.append(shot.id)
    for leftover in reusable:
        if leftover.id not in used:
            store.delete(leftover, label="Remove shot")
            report.shots_removed += 1
    return written


TRANSITION_SECONDS = 0.5


def _apply_transition(store: ProjectStore, shot_id: str, kind: str, fps: Any) -> None:
    """A script's CROSSFADE TO / FADE OUT becomes the clip edit into the shot, unless the
    user already chose a transition there."""
    if not kind:
        return
    edit = store.get(ClipEdit, shot_id)
    if edit is not None and (edit.transition is not TransitionKind.CUT
                             or edit.transition_frames):
        return
    frames = max(1, round(float(fps) * TRANSITION_SECONDS))
    if edit is None:
        store.add(ClipEdit(shot_id=shot_id, transition=TransitionKind(kind),
                           transition_frames=frames), label="Transition from the script")
    else:
        edit.transition, edit.transition_frames = TransitionKind(kind), frames
        store.update(edit, label="Transition from the script")


def _location(store: ProjectStore, name: str, report: ImportReport) -> str | None:
    """The id of the location called ``name`` (made when new): one place, one location."""
    name = name.strip()
    if not name:
        return None
    found = store.all(Location, name=name)
    if found:
        return found[0].id
    location = Location(name=name)
    store.add(location, label=f"Add location {name}")
    report.locations_added += 1
    return location.id


def _episodes(store: ProjectStore, script: ParsedScript, report: ImportReport,
              base: ParsedScript | None) -> dict[int, Episode]:
    """The project's episode per episode number of the script (made when new); a title the
    script changed since the last import is written, one the user gave is kept."""
    out: dict[int, Episode] = {}
    for parsed in script.episodes:
        episode = store.episode_by_number(parsed.number)
        if episode is None:
            episode = Episode(number=parsed.number, title=parsed.title)
            store.add(episode, label=f"Add episode {parsed.number}")
            report.episodes_added += 1
        else:
            before = next((e.title for e in (base.episodes if base else [])
                           if e.number == parsed.number), None)
            if parsed.title and parsed.title != before and parsed.title != episode.title:
                episode.title = parsed.title
                store.update(episode, label=f"Title episode {parsed.number}")
        out[parsed.number] = episode
    return out


def _label(scene: Scene, numbers: dict[str, int], series: bool) -> str:
    return scene_label(scene.number, numbers.get(scene.episode_id or "") if series else None)


def apply_script(store: ProjectStore, script: ParsedScript, plans: list[list[ShotPlan]],
                 report: ImportReport, script_text: str | None = None, *,
                 episode: int | None = None, prune: bool = False,
                 progress: Progress = no_progress, cancel: CancelToken | None = None) -> None:
    """Store episodes, characters, scenes and shots of a parsed script, inside the caller's
    operation (its one transaction). Reports progress per scene; a cancel raises, so the
    operation rolls everything back (nothing is changed). ``script`` was scoped to its
    episode by ``engine.story.importer.scope_to_episode``.

    Scenes merge by episode and scene number, shots by what they say and show (see
    ``sync_scene_shots``): importing the same text twice changes nothing. ``episode``
    files the whole script under that episode (one episode's file of a series); scenes
    of the project (of that episode) the text no longer has are reported, and deleted only
    with ``prune``.
    """
    project = store.project
    target = store.episode_by_number(episode) if episode is not None else None
    old_text = (target.script_text if target is not None else "") if episode is not None \
        else project.script_text
    # a new script text refreshes scenes and unlocked characters from it; re-planning
    # the same text leaves what the user edited since (scene details, looks) alone
    refresh = script_text is not None
    base = base_parse(old_text) if refresh else None
    changed = False
    if script_text is not None and episode is None and project.script_text != script_text:
        project.script_text = script_text
        changed = True
    if script.title and project.settings.get("script_title") != script.title \
            and episode is None:
        project.settings = {**project.settings, "script_title": script.title}
        changed = True
    if changed:
        store.update(project, label="Set script")
    episodes = _episodes(store, script, report, base)
    if episode is not None and script_text is not None:
        ep = episodes[episode]
        if ep.script_text != script_text:
            ep.script_text = script_text
            store.update(ep, label=f"Set script of episode {episode}")
    ids = _merge_characters(store, script, report, refresh, base)
    location_ids = {p.location.strip(): _location(store, p.location, report)
                    for p in script.scenes if p.location.strip()}
    prompts = PromptContext(store)  # after characters and locations, before the shots
    numbers = {e.id: e.number for e in store.episodes()}
    existing = {(numbers.get(s.episode_id or "", 0), s.number): s for s in store.scenes()}
    base_scenes = {(s.episode, s.number): s for s in (base.scenes if base else [])}
    names = [c.name for c in store.all(Character)]
    written: list[str] = []
    seen: set[str] = set()
    # one read of every shot, and new scenes and shots added in batches (a 10,000-scene
    # script is one flush per kind, not one statement per row)
    shots_of: dict[str, list[Shot]] = {}
    for existing_shot in store.all(Shot):
        shots_of.setdefault(existing_shot.scene_id, []).append(existing_shot)
    new_scenes: list[Scene] = []
    new_shots: list[Shot] = []
    transitions: list[tuple[str, str]] = []
    total = max(1, len(script.scenes))
    every = max(1, total // 100)
    for order, (parsed, scene_plans) in enumerate(zip(script.scenes, plans, strict=True)):
        if order % every == 0:
            if cancel is not None:
                cancel.check()
            progress(0.1 + 0.8 * order / total, f"Importing scene {order + 1}/{total}")
        values: dict[str, Any] = {
            "heading": parsed.heading, "location": parsed.location,
            "setting": parsed.setting, "time_of_day": parsed.time_of_day,
            "description": parsed.description, "order": order,
            "weather": parsed.weather(names),
            "location_id": location_ids.get(parsed.location.strip()),
            "episode_id": episodes[parsed.episode].id}
        scene = existing.get((parsed.episode, parsed.number))
        if scene is not None and scene.id not in seen:
            before = base_scenes.get((parsed.episode, parsed.number))
            if scene.weather:
                del values["weather"]  # the user's (or an earlier) weather stays
            if not refresh:
                values = {"order": order}
            elif before is not None:  # what the script did not change, the user's stands
                for key in SCENE_FIELDS:
                    if getattr(before, key if key != "description" else "description") \
                            == values[key]:
                        del values[key]
                if "location" not in values:
                    del values["location_id"]
            if any(getattr(scene, k) != v for k, v in values.items()):
                for key, value in values.items():
                    setattr(scene, key, value)
                store.update(scene, label="Update scene")
                report.scenes_changed += 1
        else:
            scene = Scene(number=parsed.number, **values)
            new_scenes.append(scene)
            report.scenes_added += 1
        seen.add(scene.id)
        written += sync_scene_shots(store, scene, scene_plans, ids, report, prompts,
                                    old=shots_of.get(scene.id, []), new_shots=new_shots,
                                    transitions=transitions)
    progress(0.9, f"Saving {total} scenes")
    store.add_many(new_scenes, label="Add scenes")
    store.add_many(new_shots, label="Add shots")
    for shot_id, kind in transitions:
        _apply_transition(store, shot_id, kind, prompts.project.fps)
    series = len(store.episodes()) > 1
    scope = {episodes[episode].id} if episode is not None else None
    for scene in existing.values():
        if scene.id in seen or (scope is not None and scene.episode_id not in scope):
            continue
        label = _label(scene, numbers, series)
        if not prune:
            report.scenes_missing.append(label)
        elif any(s.locked for s in _scene_shots(store, scene.id)):
            report.warnings.append(
                f"Scene {label} is no longer in the script but has locked shots; "
                "it was kept.")
        else:
            store.delete(scene, label="Remove scene")
            report.scenes_pruned.append(label)
    if report.scenes_missing:
        report.warnings.append(
            f"{len(report.scenes_missing)} scene(s) of the project are not in this script "
            f"({', '.join(report.scenes_missing[:8])}); they were kept (--prune removes them).")
    report.title = script.title
    report.episodes = len(script.episodes)
    report.scenes = len(script.scenes)
    report.characters = len(script.characters)
    report.shots = sum(1 for shot in store.all(Shot) if shot.scene_id in seen)
    report.warnings.extend(script.warnings)
    look = english_look_warning(store.project, store.characters())
    if look:
        report.warnings.append(look)
    language = store.project.language
    if script.language is not language:
        report.warnings.append(
            f"The script reads as {script.language.name.lower()} but the project language is "
            f"{language.name.lower()}; voices and subtitles follow the project language.")

