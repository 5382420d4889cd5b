"""The planner: an idea or the imported script → characters, scenes and shots with prompts.

Stages, each a validated JSON answer from a language model:
  1. idea → title, logline, characters (appearance, costume) and a scene-by-scene script
     (only with an idea; needs an LLM);
  2. script → shots, scene by scene: which script beats each shot covers, shot size, angle,
     camera move, who is in frame and what the camera sees.
Without an LLM the script is broken down by the rule-based film grammar in ``breakdown``.
Re-planning never overwrites locked shots or locked characters. For a Chinese project
prompting a CLIP-based family, the model also writes the characters' (and wardrobe
variants') empty English looks. ``prepare`` asks and writes nothing; the operation
``engine.ops.story.plan`` saves the plan in one undoable step.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import StoryreelError
from engine.jobs.progress import CancelToken, Progress, no_progress, scaled
from engine.model import CameraAngle, CameraMove, Language, LineKind, ShotSize
from engine.story import english_looks
from engine.story.breakdown import PlannedLine, ShotPlan, breakdown_scene, reading_seconds
from engine.story.english_looks import EnglishLooks
from engine.story.importer import ImportReport, parse_script, scope_to_episode
from engine.story.llm import LLMBackend, ask_json, resolve_backend, strict_schema
from engine.story.schemas import ScenePlanDraft, StoryDraft, bound_scene_schema
from engine.story.script import BeatKind, ParsedScript, ScriptScene

if TYPE_CHECKING:
    from engine.store.project import ProjectStore

IDEA_NEEDS_LLM = (
    "Turning an idea into a script needs a language model, and none is available: start "
    "Ollama or LM Studio, or pass --llm openai --base-url URL, or --llm local --model-path "
    "DIR; or write the script yourself and run 'storyreel import-script'.")


@dataclass
class PlanReport:
    backend: str  # "rules" or the model's name
    scenes: int = 0
    characters: int = 0
    shots: int = 0
    shots_kept_locked: int = 0
    characters_kept_locked: int = 0
    logline: str = ""
    seconds: float = 0.0
    notices: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------- stage 1
STORY_SYSTEM = (
    "You are a screenwriter of vertical short dramas (微短剧) for phones: 60–90 seconds, "
    "2–3 characters, 2–4 scenes, a hook in the first seconds and a twist at the end. "
    "Write in {language}. Describe each character's face, hair and build in 'appearance' "
    "and their clothes in 'costume' concretely, so a video model can draw them the same way "
    "in every shot, and the same two in English in 'appearance_en' and 'costume_en' (for "
    "English-only image models). Each scene is a list of beats: 'action' (what the camera sees), "
    "'dialogue' (speaker = a character name) or 'narration' (speaker empty). "
    "Answer with JSON only.")


def _render_chinese(draft: StoryDraft) -> str:
    gender = {"female": "女", "male": "男"}
    lines = [f"《{draft.title}》", "", f"梗概：{draft.logline}", "", "人物："]
    for c in draft.characters:
        facts = [gender.get(c.gender, ""), f"{c.age}岁", c.appearance.replace("；", "，")]
        text = "，".join(f for f in facts if f)
        if c.costume:
            text += "；穿" + c.costume.replace("；", "，").removeprefix("穿")
        if c.personality:
            text += f"。性格：{c.personality}"
        lines.append(f"{c.name}：{text}")
    time_words = {"day": "日", "night": "夜", "dawn": "黎明", "dusk": "黄昏", "morning": "清晨",
                  "evening": "傍晚"}
    for number, scene in enumerate(draft.scenes, start=1):
        lines += ["", f"第{number}场 {time_words[scene.time_of_day]} "
                      f"{'内' if scene.setting == 'INT' else '外'} {scene.location}"]
        for beat in scene.beats:
            text = beat.text.replace("\n", " ")
            if beat.kind == "action":
                lines.append(f"△ {text}")
            elif beat.kind == "narration" or not beat.speaker:
                lines.append(f"旁白：{text}")
            else:
                emotion = f"（{beat.emotion}）" if beat.emotion else ""
                lines.append(f"{beat.speaker}{emotion}：{text}")
    return "\n".join(lines) + "\n"


def _render_fountain(draft: StoryDraft) -> str:
    lines = [f"Title: {draft.title}", f"Notes: {draft.logline}", ""]
    for scene in draft.scenes:
        lines += ["", f"{scene.setting}. {scene.location.upper()} - {scene.time_of_day.upper()}",
                  ""]
        for beat in scene.beats:
            if beat.kind == "action":
                lines += [beat.text, ""]
            else:
                cue = f"@{beat.speaker}"  # forced cue: the name keeps its case
                if beat.kind == "narration" or not beat.speaker:
                    cue = "NARRATOR"
                lines.append(cue)
                if beat.emotion:
                    lines.append(f"({beat.emotion})")
                lines += [beat.text, ""]
    return "\n".join(lines) + "\n"


def write_story(backend: LLMBackend, idea: str, language: Language,
                cancel: CancelToken | None = None) -> StoryDraft:
    """Stage 1: idea → StoryDraft (validated)."""
    system = STORY_SYSTEM.format(language="Simplified Chinese" if language is Language.CHINESE
                                 else "English")

    def check(draft: StoryDraft) -> None:
        names = {c.name for c in draft.characters}
        for s_index, scene in enumerate(draft.scenes):
            for b_index, beat in enumerate(scene.beats):
                if beat.kind == "dialogue" and beat.speaker not in names:
                    raise ValueError(
                        f"scenes.{s_index}.beats.{b_index}.speaker {beat.speaker!r} is not one "
                        f"of the characters ({', '.join(sorted(names))})")

    return ask_json(backend, StoryDraft, system, f"Idea: {idea.strip()}", max_tokens=6000,
                    cancel=cancel, what="story", check=check)


# ----------------------------------------------------------------------------- stage 2
SHOTS_SYSTEM = (
    "You are a film director breaking one scene of a vertical short drama into shots for an "
    "AI video generator. Every shot lasts 2–8 seconds. Cover every numbered beat exactly "
    "once, in order: list the beat numbers a shot covers in 'beats' (an opening establishing "
    "shot may cover none). Use film grammar: establish the place, shot/reverse-shot for "
    "dialogue, close-ups for strong emotion and details. 'characters' are the names visible "
    "in the frame; 'action' says only what the camera sees, in the script's language, "
    "without dialogue text. Answer with JSON only.")


def _scene_request(script: ParsedScript, scene: ScriptScene) -> str:
    lines = [f"Scene {scene.number}: {scene.heading}", "Characters:"]
    for c in script.characters:
        if c.name in scene.speakers() or c.name in " ".join(b.text for b in scene.beats):
            lines.append(f"- {c.name}: {c.appearance} {c.costume}".rstrip())
    lines.append("Beats:")
    for i, beat in enumerate(scene.beats):
        if beat.kind is BeatKind.ACTION:
            lines.append(f"[{i}] ACTION: {beat.text}")
        elif beat.kind is BeatKind.TRANSITION:
            lines.append(f"[{i}] TRANSITION: {beat.text}")
        else:
            who = beat.speaker or "NARRATOR"
            tag = "" if beat.line_kind is LineKind.DIALOGUE else f" [{beat.line_kind}]"
            emotion = f" ({beat.emotion})" if beat.emotion else ""
            lines.append(f"[{i}] {who}{emotion}{tag}: {beat.text}")
    return "\n".join(lines)


def _plan_from_draft(script: ParsedScript, scene: ScriptScene, draft: ScenePlanDraft,
                     warnings: list[str]) -> list[ShotPlan]:
    """LLM shots + rule-based shots for the beats the model left out, in beat order."""
    covered: set[int] = set()
    keyed: list[tuple[float, int, ShotPlan]] = []
    key = -1.0
    for n, shot in enumerate(draft.shots):
        beats = sorted({b for b in shot.beats if 0 <= b < len(scene.beats)} - covered)
        covered.update(beats)
        plan = ShotPlan(size=ShotSize(shot.size), angle=CameraAngle(shot.angle),
                        camera_move=CameraMove(shot.camera_move), action=shot.action.strip(),
                        characters=list(dict.fromkeys(shot.characters)), beats=beats)
        for b in beats:
            beat = scene.beats[b]
            if not beat.is_line:
                continue
            if beat.speaker is None and beat.line_kind is LineKind.NARRATION:
                plan.narration = (plan.narration + " " + beat.text).strip()
            else:
                plan.lines.append(PlannedLine(beat.text, beat.speaker, beat.emotion,
                                              beat.line_kind))
                if beat.line_kind is LineKind.DIALOGUE and beat.speaker \
                        and beat.speaker not in plan.characters:
                    plan.characters.append(beat.speaker)
        plan.fit_duration(reading_seconds(plan.action))
        key = float(beats[0]) if beats else key + 0.001
        keyed.append((key, n, plan))
    missing = {i for i, b in enumerate(scene.beats) if b.kind is not BeatKind.TRANSITION} - covered
    if missing:
        warnings.append(f"Scene {scene.number}: the model left {len(missing)} beat(s) "
                        "unplanned; they got rule-based shots.")
        for n, plan in enumerate(breakdown_scene(script, scene)):
            keep = [b for b in plan.beats if b in missing]
            if not keep:
                continue
            plan.lines = [ln for ln in plan.lines
                          if any(scene.beats[b].text == ln.text for b in keep)]
            if plan.narration and not any(scene.beats[b].text in plan.narration for b in keep):
                plan.narration = ""
            plan.beats = keep
            plan.fit_duration(reading_seconds(plan.action))
            keyed.append((float(keep[0]) - 0.0001, 1000 + n, plan))
    return [plan for _, _, plan in sorted(keyed, key=lambda item: (item[0], item[1]))]


def plan_scene_shots(backend: LLMBackend, script: ParsedScript, scene: ScriptScene,
                     cancel: CancelToken | None = None,
                     warnings: list[str] | None = None) -> list[ShotPlan]:
    """Stage 2 for one scene."""
    warnings = warnings if warnings is not None else []
    if not scene.beats:
        return breakdown_scene(script, scene)
    names = [c.name for c in script.characters]
    schema = bound_scene_schema(strict_schema(ScenePlanDraft), len(scene.beats), names)

    def check(draft: ScenePlanDraft) -> None:
        for s_index, shot in enumerate(draft.shots):
            for b in shot.beats:
                if not 0 <= b < len(scene.beats):
                    raise ValueError(f"shots.{s_index}.beats: beat {b} does not exist "
                                     f"(0–{len(scene.beats) - 1})")
            for name in shot.characters:
                if name not in names:
                    raise ValueError(f"shots.{s_index}.characters: {name!r} is not a character "
                                     f"of the script ({', '.join(names)})")

    draft = ask_json(backend, ScenePlanDraft, SHOTS_SYSTEM, _scene_request(script, scene),
                     max_tokens=4000, cancel=cancel, what=f"shot list for scene {scene.number}",
                     schema=schema, check=check)
    return _plan_from_draft(script, scene, draft, warnings)


# ----------------------------------------------------------------------------- entry
@dataclass
class PreparedPlan:
    """What planning decided before anything is saved: the script (written from the idea
    or the project's), its shot plans, the story draft and the English looks the model
    gave. The plan operation (``engine.ops.story.plan``) saves it in one step."""

    script: ParsedScript
    plans: list[list[ShotPlan]]
    report: PlanReport
    idea: str | None = None
    text: str | None = None  # the script written from the idea (None: the project's)
    draft: StoryDraft | None = None
    looks: EnglishLooks = field(default_factory=EnglishLooks)
    started: float = 0.0


def prepare(store: ProjectStore, idea: str | None = None, llm: str = "auto",
            base_url: str | None = None, model: str | None = None,
            model_path: Path | None = None, progress: Progress = no_progress,
            cancel: CancelToken | None = None) -> PreparedPlan:
    """Ask the model (or the rules) for the plan; writes nothing. See the module doc."""
    started = time.monotonic()
    notices: list[str] = []
    if idea is not None and not idea.strip():
        raise StoryreelError("--idea is empty; describe the story in a sentence or two.")
    progress(0.0, "Choosing a language model")
    backend = resolve_backend(llm, base_url, model, model_path, notices)
    for notice in notices:
        progress(0.02, notice)
    report = PlanReport(backend="rules" if backend is None else backend.name, notices=notices)
    project = store.project
    text: str | None = None
    draft: StoryDraft | None = None
    if idea is not None:
        if backend is None:
            raise StoryreelError(IDEA_NEEDS_LLM)
        progress(0.05, "Writing the script from the idea")
        draft = write_story(backend, idea, project.language, cancel)
        text = (_render_chinese(draft) if project.language is Language.CHINESE
                else _render_fountain(draft))
        script = parse_script(text, "chinese" if project.language is Language.CHINESE
                              else "fountain")
        report.logline = draft.logline
        shot_progress = scaled(progress, 0.4, 0.95)
    else:
        if not project.script_text.strip():
            raise StoryreelError("This project has no script yet: run 'storyreel import-script "
                                 "DIR FILE' first, or pass --idea with an LLM.")
        script = parse_script(project.script_text)
        shot_progress = scaled(progress, 0.05, 0.9)
    scope_to_episode(script, None)
    plans: list[list[ShotPlan]] = []
    for i, scene in enumerate(script.scenes):
        if cancel is not None:
            cancel.check()
        shot_progress(i / max(1, len(script.scenes)), f"Planning shots of scene {scene.number}")
        if backend is None:
            plans.append(breakdown_scene(script, scene))
        else:
            plans.append(plan_scene_shots(backend, script, scene, cancel, report.warnings))
    looks = EnglishLooks()
    if backend is not None and draft is None and english_looks.wanted(store):
        progress(0.92, "Writing the characters' looks in English")
        looks = english_looks.ask_english_looks(backend, store, cancel)
    if cancel is not None:
        cancel.check()
    return PreparedPlan(script, plans, report, idea, text, draft, looks, started)


def draft_character_values(c: Any) -> dict[str, str]:
    """A drafted character's fields, as a Character's."""
    return {"age": str(c.age), "gender": "" if c.gender == "unknown" else c.gender,
            "appearance": c.appearance, "costume": c.costume, "personality": c.personality,
            "appearance_en": c.appearance_en, "costume_en": c.costume_en}


def finish_report(prepared: PreparedPlan, imported: ImportReport, characters: int
                  ) -> PlanReport:
    """The plan's report once the operation saved it."""
    report = prepared.report
    report.scenes = imported.scenes
    report.characters = characters
    report.shots = imported.shots
    report.shots_kept_locked = imported.shots_kept_locked
    report.characters_kept_locked = imported.characters_kept_locked
    report.warnings.extend(imported.warnings)
    report.seconds = round(time.monotonic() - prepared.started, 2)
    return report
