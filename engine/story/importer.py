"""Script import: a Fountain or Chinese script file → scenes, characters and shots.

``import_script(store, path)`` reads the file, parses it, stores the text as
``Project.script_text``, merges characters by name (a locked character is never
overwritten), syncs scenes by number and lays down the rule-based shots with composed
prompts, all in one undoable transaction. ``apply_script`` is shared with the planner:
re-planning keeps locked shots where they are and reuses the other shots' ids (so their
takes survive, marked stale when what they show changed).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import StoryreelError
from engine.jobs.progress import CancelToken, Progress, no_progress
from engine.model import Character, DialogueLine, Scene, Shot, ShotStatus
from engine.story.breakdown import ShotPlan, breakdown
from engine.story.chinese import parse_chinese
from engine.story.composer import PromptContext
from engine.story.fountain import looks_like_fountain, parse_fountain
from engine.story.script import ParsedScript

if TYPE_CHECKING:
    from engine.store.project import ProjectStore

FOUNTAIN_EXTENSIONS = {".fountain", ".spmd"}
TEXT_EXTENSIONS = {".txt", ".md", ".markdown", ".text", ""}
FORMATS = ("auto", "fountain", "chinese")
MAX_SCRIPT_BYTES = 5 * 1024 * 1024
MAX_LINE_CHARS = 2000  # one spoken line or paragraph; 2000 字 is about eight minutes of speech


@dataclass
class ImportReport:
    format: str
    title: str = ""
    scenes: int = 0
    characters: int = 0
    shots: int = 0
    characters_added: int = 0
    characters_updated: int = 0
    characters_kept_locked: int = 0
    shots_kept_locked: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_script_file(path: Path) -> str:
    """The file's text (UTF-8, UTF-16 with BOM, or GB18030 as Chinese Windows editors save)."""
    if not path.is_file():
        raise StoryreelError(f"{path} does not exist or is not a file.")
    data = path.read_bytes()
    if len(data) > MAX_SCRIPT_BYTES:
        raise StoryreelError(f"{path.name} is larger than 5 MB; that is not a script.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise StoryreelError(
                f"{path.name} starts like UTF-16 text but byte {exc.start} is damaged "
                f"({exc.reason}); save it again as UTF-8 and import that.") from None
    if b"\x00" in data:
        raise StoryreelError(f"{path.name} is a binary file, not a script in plain text.")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise StoryreelError(f"{path.name} is not UTF-8 or GB18030 text.")


def parse_script(text: str, fmt: str = "auto") -> ParsedScript:
    """Parse script text; ``fmt`` is auto, fountain or chinese."""
    if fmt not in FORMATS:
        raise StoryreelError(f"Unknown script format {fmt!r}; use one of: {', '.join(FORMATS)}.")
    if not text.strip():
        raise StoryreelError("The script is empty.")
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > MAX_LINE_CHARS:
            raise StoryreelError(
                f"Line {number} of the script is {len(line)} characters long (at most "
                f"{MAX_LINE_CHARS}); break it into shorter lines.")
    if fmt == "auto":
        fmt = "fountain" if looks_like_fountain(text) else "chinese"
    script = parse_fountain(text) if fmt == "fountain" else parse_chinese(text)
    if not script.scenes:
        raise StoryreelError(
            "No scenes found in the script: start each scene with a heading such as "
            "'第1场 日 内 客厅' or 'INT. KITCHEN - DAY'.")
    return script


# ----------------------------------------------------------------------------- apply
def _merge_characters(store: ProjectStore, script: ParsedScript, report: ImportReport,
                      refresh: bool = True) -> dict[str, str]:
    """Add the script's new characters; with ``refresh``, update unlocked ones too."""
    existing = {c.name: c for c in store.all(Character)}
    for parsed in script.characters:
        found = existing.get(parsed.name)
        values = {k: getattr(parsed, k) for k in ("age", "gender", "appearance", "costume",
                                                 "personality", "description")}
        if found is None:
            character = Character(name=parsed.name, **values)
            store.add(character, label=f"Add character {parsed.name}")
            existing[parsed.name] = character
            report.characters_added += 1
        elif found.locked:
            report.characters_kept_locked += 1
        elif refresh:
            changed = False
            for key, value in values.items():
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


def sync_scene_shots(store: ProjectStore, scene: Scene, plans: list[ShotPlan],
                     ids: dict[str, str], report: ImportReport,
                     prompts: PromptContext, old: list[Shot] | None = None,
                     new_shots: list[Shot] | None = None) -> list[str]:
    """Replace a scene's unlocked shots with ``plans``; locked shots keep their place.

    Written shots get their composed prompt. Returns the ids of the shots written.
    ``old`` is the scene's shots when the caller read them already (in order); new shots
    go into ``new_shots`` for the caller to add in one batch, else they are added here.
    """
    scene_id = scene.id
    old = _scene_shots(store, scene_id) if old is None else old
    locked_at = {i: s for i, s in enumerate(old) if s.locked}
    reusable = [s for s in old if not s.locked]
    plans = [p for p in plans if not _covered_by_locked(p, list(locked_at.values()))]
    report.shots_kept_locked += len(locked_at)
    final: list[Shot | ShotPlan] = []
    queue = list(plans)
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
        if reusable:
            shot = reusable.pop(0)
            as_read = replace(shot)
            changed = _fill(shot, item, ids)
            if changed and store.takes(shot.id) and shot.status in (
                    ShotStatus.GENERATED, ShotStatus.APPROVED, ShotStatus.READY):
                shot.status = ShotStatus.STALE
            shot.order = order
            prompts.apply(shot, scene)
            if shot != as_read:  # re-importing the same script writes nothing
                store.update(shot, label="Re-plan shot")
        else:
            shot = Shot(scene_id=scene_id, order=order)
            _fill(shot, item, ids)
            prompts.apply(shot, scene)
            if new_shots is None:
                store.add(shot, label="Add shot")
            else:
                new_shots.append(shot)
        written.append(shot.id)
    for leftover in reusable:
        store.delete(leftover, label="Remove shot")
    return written


def apply_script(store: ProjectStore, script: ParsedScript, plans: list[list[ShotPlan]],
                 report: ImportReport, script_text: str | None = None,
                 progress: Progress = no_progress, cancel: CancelToken | None = None) -> None:
    """Store characters, scenes and shots of a parsed script (inside one transaction).
    Reports progress per scene; a cancel rolls everything back (nothing is changed)."""
    with store.transaction("Import script" if script_text is not None else "Plan shots"):
        project = store.project
        changed = False
        if script_text is not None and project.script_text != script_text:
            project.script_text = script_text
            changed = True
        if script.title and project.settings.get("script_title") != script.title:
            project.settings = {**project.settings, "script_title": script.title}
            changed = True
        if changed:
            store.update(project, label="Set script")
        # a new script text refreshes scenes and unlocked characters from it; re-planning
        # the same text leaves what the user edited since (scene details, looks) alone
        refresh = script_text is not None
        ids = _merge_characters(store, script, report, refresh)
        prompts = PromptContext(store)  # after the characters, before the shots
        existing = {s.number: s for s in store.scenes()}
        names = [c.name for c in store.all(Character)]
        written: list[str] = []
        seen: set[str] = set()
        shots_of: dict[str, list[Shot]] = {}
        for shot in store.all(Shot):  # one read, not one per scene
            shots_of.setdefault(shot.scene_id, []).append(shot)
        new_scenes: list[Scene] = []
        new_shots: list[Shot] = []
        total = len(script.scenes)
        every = max(1, total // 100)
        for order, (parsed, scene_plans) in enumerate(zip(script.scenes, plans, strict=True)):
            if order % every == 0:
                if cancel is not None:
                    cancel.check()
                progress(0.1 + 0.8 * order / total, f"Importing scene {order + 1}/{total}")
            values = {"heading": parsed.heading, "location": parsed.location,
                      "setting": parsed.setting, "time_of_day": parsed.time_of_day,
                      "description": parsed.description, "order": order,
                      "weather": parsed.weather(names)}
            scene = existing.get(parsed.number)
            if scene is not None and scene.id not in seen:
                if scene.weather:
                    del values["weather"]  # the user's (or an earlier) weather stays
                if not refresh:
                    values = {"order": order}
                if any(getattr(scene, k) != v for k, v in values.items()):
                    for key, value in values.items():
                        setattr(scene, key, value)
                    store.update(scene, label="Update scene")
            else:
                scene = Scene(number=parsed.number, **values)
                new_scenes.append(scene)
            seen.add(scene.id)
            old = sorted(shots_of.get(scene.id, []), key=lambda s: s.order)
            written += sync_scene_shots(store, scene, scene_plans, ids, report, prompts,
                                        old=old, new_shots=new_shots)
        progress(0.9, f"Saving {total} scenes")
        store.add_many(new_scenes, label="Add scenes")
        store.add_many(new_shots, label="Add shots")
        for scene in existing.values():
            if scene.id in seen:
                continue
            if any(s.locked for s in shots_of.get(scene.id, [])):
                report.warnings.append(
                    f"Scene {scene.number} is no longer in the script but has locked shots; "
                    "it was kept.")
            else:
                store.delete(scene, label="Remove scene")
    report.title = script.title
    report.scenes = len(script.scenes)
    report.characters = len(script.characters)
    report.shots = len(written) + report.shots_kept_locked  # the script's scenes' shots
    report.warnings.extend(script.warnings)
    language = store.project.language
    if script.language is not language:
        report.warnings.append(
            f"The script reads as {script.language.name.lower()} but the project language is "
            f"{language.name.lower()}; voices and subtitles follow the project language.")


def import_script_text(store: ProjectStore, text: str, fmt: str = "auto",
                       progress: Progress = no_progress,
                       cancel: CancelToken | None = None) -> ImportReport:
    """Parse script text and store it with rule-based shots (one undoable step)."""
    progress(0.0, "Reading the script")
    script = parse_script(text, fmt)
    report = ImportReport(format=script.format)
    apply_script(store, script, breakdown(script), report, script_text=text,
                 progress=progress, cancel=cancel)
    progress(1.0, f"Imported {report.scenes} scenes")
    return report


def import_script(store: ProjectStore, path: Path, progress: Progress = no_progress,
                  cancel: CancelToken | None = None) -> ImportReport:
    """Import a ``.fountain`` / ``.txt`` / ``.md`` script file (format by extension, content)."""
    path = Path(path)
    suffix = path.suffix.lower()
    text = read_script_file(path)
    if suffix in FOUNTAIN_EXTENSIONS:
        fmt = "fountain"
    elif suffix in TEXT_EXTENSIONS:
        fmt = "auto"
    else:
        raise StoryreelError(
            f"{path.name}: unsupported script type {suffix!r}; use .fountain, .txt or .md.")
    return import_script_text(store, text, fmt, progress=progress, cancel=cancel)

