"""Operations the studio's widgets call: drag-arrange, insert, keyframe files, recompose,
generation queueing and clearing the jobs list. Each is one undo step (or refused whole)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.model import Character, JobStatus, Project, Scene, Shot
from engine.ops import OpError, history, jobs, scenes, shots
from engine.store import ProjectStore
from tests.media_factory import make_image


@pytest.fixture
def store(tmp_path: Path) -> ProjectStore:
    s = ProjectStore.create(tmp_path / "f.storyreel", Project(title="雨夜"))
    yield s
    s.close()


def _two_scenes(store: ProjectStore) -> tuple[str, list[str], str, list[str]]:
    a = scenes.add_scene(store, heading="A").result.id
    b = scenes.add_scene(store, heading="B").result.id
    ia = [shots.add_shot(store, a, action=f"a{i}").result.id for i in range(3)]
    ib = [shots.add_shot(store, b, action=f"b{i}").result.id for i in range(2)]
    return a, ia, b, ib


def test_arrange_moves_a_shot_across_scenes_in_one_undo_step(store: ProjectStore) -> None:
    a, ia, b, ib = _two_scenes(store)
    shots.arrange_shots(store, b, [ib[0], ia[1], ib[1]])
    assert [s.id for s in store.shots(b)] == [ib[0], ia[1], ib[1]]
    assert [s.id for s in store.shots(a)] == [ia[0], ia[2]]
    assert [s.order for s in store.shots(a)] == [0, 1]
    assert [s.order for s in store.shots(b)] == [0, 1, 2]
    assert store.undo_label == "Move shots"
    history.undo(store)
    assert [s.id for s in store.shots(a)] == ia and [s.id for s in store.shots(b)] == ib


def test_arrange_refuses_an_order_that_leaves_out_a_shot(store: ProjectStore) -> None:
    a, ia, _b, _ib = _two_scenes(store)
    seq = store.history(limit=1)[0].seq
    with pytest.raises(OpError, match="leaves out shot"):
        shots.arrange_shots(store, a, [ia[1], ia[0]])
    with pytest.raises(OpError, match="twice"):
        shots.arrange_shots(store, a, [ia[0], ia[1], ia[2], ia[0]])
    assert [s.id for s in store.shots(a)] == ia
    assert store.history(limit=1)[0].seq == seq


def test_insert_shot_makes_the_first_scene_in_the_same_step(store: ProjectStore) -> None:
    made = shots.insert_shot(store, scene_heading="第1场").result
    assert [s.heading for s in store.scenes()] == ["第1场"]
    assert [s.id for s in store.shots()] == [made.id]
    second = shots.insert_shot(store).result  # the end of the last scene
    between = shots.insert_shot(store, after=made.id).result
    assert [s.id for s in store.shots()] == [made.id, between.id, second.id]
    for _ in range(3):
        history.undo(store)
    assert store.scenes() == [] and store.shots() == []  # one step each, the scene too


def test_keyframe_file_must_be_an_image_and_clears(store: ProjectStore, tmp_path: Path) -> None:
    scene = store.add(Scene(number=1))
    shot = store.add(Shot(scene_id=scene.id))
    bad = tmp_path / "notes.png"
    bad.write_text("not an image", encoding="utf-8")
    with pytest.raises(OpError, match="cannot be read as an image|is not an image"):
        shots.set_keyframe_file(store, shot.id, str(bad))
    with pytest.raises(OpError, match="does not exist"):
        shots.set_keyframe_file(store, shot.id, str(tmp_path / "missing.png"))
    assert store.require(Shot, shot.id).first_keyframe is None
    png = make_image(tmp_path / "first.png")
    shots.set_keyframe_file(store, shot.id, str(png), last=True)
    saved = store.require(Shot, shot.id)
    assert saved.last_keyframe and store.media.exists(saved.last_keyframe)
    assert saved.first_keyframe is None
    shots.set_keyframe_file(store, shot.id, None, last=True)
    assert store.require(Shot, shot.id).last_keyframe is None
    history.undo(store)
    assert store.require(Shot, shot.id).last_keyframe == saved.last_keyframe


def test_recompose_prompts_writes_the_composed_prompt(store: ProjectStore) -> None:
    scene = store.add(Scene(number=1, heading="INT. 咖啡馆 - 夜"))
    lin = store.add(Character(name="林雨", costume="白衬衫"))
    shot = store.add(Shot(scene_id=scene.id, characters=[lin.id], action="林雨推门"))
    assert store.require(Shot, shot.id).prompt == ""
    shots.recompose_prompts(store, [shot.id])
    prompt = store.require(Shot, shot.id).prompt
    assert "白衬衫" in prompt
    with pytest.raises(Exception, match="No shot"):
        shots.recompose_prompts(store, ["nope"])


def test_enqueue_generation_and_clear_finished(store: ProjectStore) -> None:
    scene = store.add(Scene(number=1))
    one = store.add(Shot(scene_id=scene.id))
    two = store.add(Shot(scene_id=scene.id))
    with pytest.raises(OpError, match="Choose one or more"):
        jobs.enqueue_generation(store, [])
    queued = jobs.enqueue_generation(store, [one.id, two.id])
    assert [j.shot_id for j in queued] == [one.id, two.id]
    assert all(j.kind == "generate" and j.status is JobStatus.QUEUED for j in queued)
    jobs.cancel_job(store, queued[0].id)
    assert jobs.clear_finished(store) == 1
    assert [j.id for j in store.all(type(queued[0]))] == [queued[1].id]
    assert not store.can_undo or store.undo_label != "Queue generation"  # not the user's edit
