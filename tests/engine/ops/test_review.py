"""Review statuses, notes, assignments and soft locks on a local project."""

from __future__ import annotations

import pytest

from engine.generate import staleness
from engine.model import Project, Scene, Shot, ShotStatus, Take, TakeKind
from engine.ops import history, review
from engine.ops.base import OpError
from engine.store import ProjectStore
from tests.media_factory import make_video


@pytest.fixture
def film(tmp_path):
    store = ProjectStore.create(tmp_path / "f.storyreel", Project(title="f"))
    scene = store.add(Scene(number=1))
    shot = store.add(Shot(scene_id=scene.id, duration=3.0))
    yield store, shot
    store.close()


def test_a_note_sets_the_status_and_undo_takes_it_back(film) -> None:
    store, shot = film
    assert review.review_of(store, shot.id).status == "todo"
    out = review.review(store, shot.id, status="review", note="光线太暗", at=1.5, author="dir")
    note = out.result
    assert (note.author, note.text, note.at, note.status) == ("dir", "光线太暗", 1.5, "review")
    assert review.review_of(store, shot.id).status == "review"
    review.assign(store, shot.id, "ed1", author="dir")
    assert review.review_of(store, shot.id).assignee == "ed1"
    assert [n.text for n in review.notes(store, shot.id)] == ["光线太暗"]
    history.undo(store, "dir")  # the assignment
    history.undo(store, "dir")  # the note and its status
    assert review.notes(store) == [] and review.review_of(store, shot.id).status == "todo"


def test_bad_reviews_are_refused_with_one_sentence(film) -> None:
    store, shot = film
    with pytest.raises(OpError, match="not one of: todo, wip, review, retake, approved"):
        review.review(store, shot.id, status="great")
    with pytest.raises(OpError, match="outside shot"):
        review.review(store, shot.id, note="x", at=9.0)
    with pytest.raises(OpError, match="needs a status, a note"):
        review.review(store, shot.id, note="  ")
    assert review.notes(store) == []
    store.set_fields(Project, store.project.id,
                     settings={"review_statuses": ["new", "check", "retake", "final"]})
    review.review(store, shot.id, status="check")
    assert review.review_of(store, shot.id).status == "check"


def test_a_retake_marks_the_shot_stale_until_a_newer_take(film, tmp_path) -> None:
    store, shot = film
    clip = store.media.import_file(make_video(tmp_path / "c.mp4"))
    store.add(Take(shot_id=shot.id, kind=TakeKind.IMPORTED, media=clip.sha256))
    store.set_fields(Shot, shot.id, status=ShotStatus.GENERATED)
    review.review(store, shot.id, status="retake", note="眼神不对")
    assert store.require(Shot, shot.id).status is ShotStatus.STALE
    assert staleness.needs_generation(store, store.require(Shot, shot.id))
    newer = store.add(Take(shot_id=shot.id, kind=TakeKind.IMPORTED, media=clip.sha256,
                           created_at="9999-01-01T00:00:00+00:00"))
    assert not staleness.is_stale(store, store.require(Shot, shot.id))
    assert newer.id


def test_soft_locks_say_who_is_editing_and_lapse(film, monkeypatch) -> None:
    store, shot = film
    review.hold(store, shot.id, "alice")
    assert review.editing(store, shot.id) == "alice"
    review.release(store, shot.id, "bob")  # not bob's lock: stays
    assert review.editing(store, shot.id) == "alice"
    monkeypatch.setattr(review, "LOCK_SECONDS", -1.0)
    review.hold(store, shot.id, "alice")
    assert review.editing(store, shot.id) is None  # lapsed
    review.release(store, shot.id, "alice")
    assert review.editing(store, shot.id) is None
    assert not any(e.op == "Soft lock" and e.kind == "op" for e in store.history())
