from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import pytest

from engine.errors import ProjectError, StoryreelError
from engine.model import (
    Aspect,
    AudioPlacement,
    AudioRole,
    CameraAngle,
    CameraMove,
    Character,
    ClipEdit,
    DialogueLine,
    Job,
    JobStatus,
    Language,
    LineKind,
    Project,
    Scene,
    Setting,
    Shot,
    ShotSize,
    ShotStatus,
    Take,
    TakeKind,
    TimeOfDay,
    TransitionKind,
    VoiceClip,
    VoiceProfile,
)
from engine.store import ProjectStore
from tests.media_factory import make_image, make_video


def _full_project(tmp_path: Path) -> tuple[ProjectStore, dict[str, object]]:
    project = Project(
        title="雨夜重逢", language=Language.ENGLISH, aspect=Aspect.LANDSCAPE, width=1920,
        height=1080, fps=Fraction(30000, 1001), style="cinematic, teal and orange",
        logline="Two strangers meet twice.", script_text="INT. ROOM - DAY",
        narrator_voice=VoiceProfile("espeak", "en", 1.1, -2.0, 3.0),
        settings={"llm": {"mode": "none"}, "n": [1, 2]},
    )
    store = ProjectStore.create(tmp_path / "full.storyreel", project)
    img = store.media.import_file(make_image(tmp_path / "ref.png"))
    clip = store.media.import_file(make_video(tmp_path / "clip.mp4", audio=True))
    char = Character(
        name="林雨", age="24", gender="女", appearance="long black hair", costume="white coat",
        personality="stubborn", description="the heroine",
        voice=VoiceProfile("piper", "/voices/a.onnx", 0.9, 1.5, -1.0),
        reference_images=[img.sha256], lora_path="loras/linyu.safetensors", locked=True,
    )
    scene = Scene(
        number=3, heading="第3场 夜 外 街道", location="街道", setting=Setting.EXTERIOR,
        time_of_day=TimeOfDay.NIGHT, weather="rain", lighting="neon", description="wet street",
        order=2,
    )
    shot = Shot(
        scene_id=scene.id, order=5, size=ShotSize.EXTREME_CLOSE_UP, angle=CameraAngle.DUTCH,
        camera_move=CameraMove.ORBIT, duration=4.25, action="she turns",
        characters=[char.id],
        dialogue=[
            DialogueLine("你来了。", char.id, "冷笑", LineKind.DIALOGUE),
            DialogueLine("那一夜，雨很大。", None, "", LineKind.NARRATION),
        ],
        narration="rain", prompt="a woman", prompt_override="my prompt",
        negative_prompt="blurry", seed=1234, seed_locked=True,
        first_keyframe=img.sha256, last_keyframe=img.sha256, status=ShotStatus.STALE,
        locked=True, generation={"quality": "final", "steps": 40},
    )
    take = Take(
        shot_id=shot.id, kind=TakeKind.GENERATED, media=clip.sha256,
        record={"backend": "wan-vace", "seed": 1234}, cache_key="k" * 64,
        thumbnail=img.sha256, approved=True,
    )
    shot.approved_take_id = take.id
    voice = VoiceClip(
        shot_id=shot.id, line_index=0, text="你来了。", media=clip.sha256, duration=1.2,
        profile_key="p" * 64, timings=[{"text": "你来了", "start": 0.0, "end": 1.0}],
    )
    placement = AudioPlacement(
        role=AudioRole.MUSIC, media=clip.sha256, from_shot=shot.id, to_shot=None, offset=0.5,
        gain_db=-6.0, fade_in=1.0, fade_out=2.0, loop=False,
    )
    edit = ClipEdit(
        shot_id=shot.id, trim_in=3, trim_out=2, speed=1.5,
        transition=TransitionKind.CROSSFADE, transition_frames=12, gain_db=-3.0,
    )
    job = Job(
        kind="generate", params={"backend": "animatic"}, shot_id=shot.id, model_key="animatic",
        status=JobStatus.FAILED, progress=0.5, message="step 5/10", error="out of memory",
        result={"take": take.id}, started_at="2026-01-01T00:00:00+00:00",
    )
    with store.transaction("seed"):
        for entity in (char, scene, shot, take, voice, placement, edit, job):
            store.add(entity)
    objects = {
        "project": project, "char": char, "scene": scene, "shot": shot, "take": take,
        "voice": voice, "placement": placement, "edit": edit, "job": job,
        "img": img, "clip": clip,
    }
    return store, objects


def test_every_field_round_trips_through_reopen(tmp_path: Path) -> None:
    store, objs = _full_project(tmp_path)
    store.close()
    reopened = ProjectStore.open(tmp_path / "full.storyreel")
    assert reopened.project == objs["project"]
    for key in ("char", "scene", "shot", "take", "voice", "placement", "edit", "job",
                "img", "clip"):
        original = objs[key]
        cls = type(original)
        ident = original.sha256 if key in ("img", "clip") else (
            original.shot_id if key == "edit" else original.id)
        loaded = reopened.require(cls, ident)
        assert loaded == original, key
        # every field is really stored, not defaulted
        for field in dataclasses.fields(cls):
            assert getattr(loaded, field.name) == getattr(original, field.name), field.name
    assert reopened.project.fps == Fraction(30000, 1001)
    assert reopened.shots()[0].effective_prompt == "my prompt"
    reopened.close()


def test_create_refuses_non_empty_dir_and_open_refuses_non_project(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x.txt").write_text("x")
    with pytest.raises(ProjectError, match="not empty"):
        ProjectStore.create(tmp_path / "busy")
    with pytest.raises(ProjectError, match="not a Storyreel project"):
        ProjectStore.open(tmp_path / "busy")
    with pytest.raises(ProjectError, match="does not exist"):
        ProjectStore.open(tmp_path / "nowhere")


def test_open_accepts_name_without_suffix(tmp_path: Path, project: ProjectStore) -> None:
    store = ProjectStore.open(tmp_path / "test")
    assert store.project.title == "测试"
    store.close()


def test_undo_redo_and_dirty_flag(project: ProjectStore) -> None:
    events: list[list] = []
    project.subscribe(events.append)
    scene = project.add(Scene(number=1, heading="INT. A"), label="Add scene")
    shot = project.add(Shot(scene_id=scene.id, order=0), label="Add shot")
    assert project.dirty
    project.mark_saved()
    assert not project.dirty
    with project.transaction("Retime shot"):
        shot.duration = 7.5
        project.update(shot)
        shot2 = Shot(scene_id=scene.id, order=1)
        project.add(shot2)
    assert project.dirty and project.undo_label == "Retime shot"
    assert project.undo()
    assert project.require(Shot, shot.id).duration == 3.0
    assert project.get(Shot, shot2.id) is None
    assert not project.dirty  # back at the saved checkpoint
    assert project.redo()
    assert project.require(Shot, shot.id).duration == 7.5
    assert project.get(Shot, shot2.id) is not None
    assert len(events) >= 4 and all(events)


def test_undo_of_delete_restores_children(project: ProjectStore) -> None:
    scene = project.add(Scene(number=1))
    shots = [project.add(Shot(scene_id=scene.id, order=i)) for i in range(3)]
    project.delete(scene)
    assert project.shots() == []
    project.undo()
    assert [s.id for s in project.shots()] == [s.id for s in shots]


def test_failed_transaction_leaves_nothing(project: ProjectStore) -> None:
    scene = project.add(Scene(number=1))
    steps = project.can_undo
    with pytest.raises(RuntimeError):
        with project.transaction("broken"):
            project.add(Shot(scene_id=scene.id))
            raise RuntimeError("boom")
    assert project.shots() == []
    assert project.undo_label != "broken" and project.can_undo == steps


def test_integrity_violation_is_a_clear_error(project: ProjectStore) -> None:
    project.add(Character(name="A"))
    with pytest.raises(StoryreelError, match="conflicts"):
        project.add(Character(name="A"))
    with pytest.raises(StoryreelError):
        project.add(Shot(scene_id="no-such-scene"))
    assert len(project.characters()) == 1


def test_shots_sorted_in_film_order(project: ProjectStore) -> None:
    s2 = project.add(Scene(number=2, order=1))
    s1 = project.add(Scene(number=1, order=0))
    b = project.add(Shot(scene_id=s2.id, order=0))
    a2 = project.add(Shot(scene_id=s1.id, order=1))
    a1 = project.add(Shot(scene_id=s1.id, order=0))
    assert [s.id for s in project.shots()] == [a1.id, a2.id, b.id]


def test_derived_writes_stay_out_of_the_undo_history(project: ProjectStore) -> None:
    scene = project.add(Scene(number=1))
    shot = project.add(Shot(scene_id=scene.id, action="walks"))
    label = project.undo_label
    events: list[list] = []
    project.subscribe(events.append)
    stale_copy = Shot(scene_id=scene.id, id=shot.id, action="OLD VALUE")
    project.update_derived(stale_copy, status=ShotStatus.STALE)
    stored = project.require(Shot, shot.id)
    assert stored.status is ShotStatus.STALE
    assert stored.action == "walks"  # only the named field is written
    assert project.undo_label == label
    assert events and events[-1][0].after["status"] == "stale"
