"""Identity scores on real photographs (public domain, shipped in wheels) turned into takes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from engine.generate import identity
from engine.model import Scene, Shot
from engine.model import entities as E
from engine.ops import OpError
from engine.ops.characters import add_character, add_reference_images
from engine.ops.takes import approve_take, import_take, pick_best_take, score_takes
from tests.engine.generate import face_media as fm


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Reference photos and takes made from them, once for the module."""
    root = tmp_path_factory.mktemp("faces")
    a, h = fm.astronaut(), fm.grace_hopper()
    out = {"ref_a": fm.save_photo(a, root / "eileen.png"),
           "ref_h": fm.save_photo(h, root / "grace.jpg"),
           "blank": fm.blank_take(root / "blank.mp4")}
    for effect in fm.EFFECTS:
        out[f"a_{effect}"] = fm.make_take(a, effect, root / f"a-{effect}.mp4")
    out["h_still"] = fm.make_take(h, "still", root / "h-still.mp4")
    # both in one frame: Eileen left, Grace right
    pair = np.concatenate([fm.take_frames(a, "still", 4), fm.take_frames(h, "still", 4)], axis=2)
    from engine.generate.video_io import write_video

    out["pair"] = write_video(pair, root / "pair.mp4", 6)
    return out


def _cast(project: Any, media: dict[str, Path], *in_frame: str) -> tuple[Shot, dict[str, str]]:
    eileen = add_character(project, "Eileen", references=[media["ref_a"]]).result
    grace = add_character(project, "Grace", references=[media["ref_h"]]).result
    ids = {"Eileen": eileen.id, "Grace": grace.id}
    scene = Scene(number=1, heading="INT. LAB - DAY")
    project.add(scene)
    shot = Shot(scene_id=scene.id, characters=[ids[n] for n in in_frame], duration=1.0)
    project.add(shot)
    return shot, ids


def _take(project: Any, shot: Shot, path: Path) -> E.Take:
    return import_take(project, shot.id, path).result


def test_same_person_scores_above_threshold_other_person_below_and_flagged(
        project: Any, media: dict[str, Path]) -> None:
    shot, ids = _cast(project, media, "Eileen")
    threshold = identity.threshold_for(project)
    assert threshold == identity.DEFAULT_THRESHOLD
    same = {e: _take(project, shot, media[f"a_{e}"]) for e in fm.EFFECTS}
    other = _take(project, shot, media["h_still"])
    scores = score_takes(project, [t.id for t in same.values()] + [other.id])
    for effect, take in same.items():
        result = scores[take.id]
        eileen = result["characters"][ids["Eileen"]]
        assert result["status"] == identity.SCORED, effect
        assert eileen["score"] > threshold + 0.1, (effect, eileen["score"])
        assert eileen["no_face_frames"] == 0 and eileen["frames"] == 6
        assert 0.0 <= eileen["worst"]["time"] < 1.0
        assert eileen["worst"]["score"] == min(eileen["per_frame"])
        assert eileen["temporal"]["mean"] > 0.8  # one face, frame to frame
        assert not identity.drifted(result, threshold)
        assert project.require(E.Take, take.id).identity == result  # kept with the take
    wrong = scores[other.id]
    assert wrong["characters"][ids["Eileen"]]["score"] < threshold - 0.1
    assert identity.drifted(wrong, threshold)
    assert identity.badge(wrong, threshold) == "drift"
    assert identity.badge(scores[same["still"].id], threshold) == "ok"
    # a stricter project threshold flags the recompressed take too
    assert identity.drifted(scores[same["recompress"].id], 0.95)


def test_two_characters_in_frame_are_assigned_by_best_match(
        project: Any, media: dict[str, Path]) -> None:
    shot, ids = _cast(project, media, "Grace", "Eileen")
    result = score_takes(project, [_take(project, shot, media["pair"]).id])
    scored = next(iter(result.values()))
    assert scored["faces_per_frame"] == [2, 2, 2, 2]
    for name in ("Eileen", "Grace"):
        assert scored["characters"][ids[name]]["score"] > 0.7, name
    assert not identity.drifted(scored, identity.DEFAULT_THRESHOLD)


def test_a_take_without_a_face_reports_it_and_does_not_fail(
        project: Any, media: dict[str, Path]) -> None:
    shot, ids = _cast(project, media, "Eileen")
    take = _take(project, shot, media["blank"])
    result = score_takes(project, [take.id])[take.id]
    assert result["status"] == identity.NO_FACE
    assert result["score"] is None and sum(result["faces_per_frame"]) == 0
    assert result["characters"][ids["Eileen"]]["no_face_frames"] == 6
    assert not identity.drifted(result, 0.5)
    assert identity.badge(result, 0.5) == "no face"
    # best-of-N over takes that have no score refuses with one sentence
    with pytest.raises(OpError, match="no face was found"):
        pick_best_take(project, [take.id])


def test_an_animatic_take_is_not_scored(project: Any, media: dict[str, Path],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.generate.service import generate_now
    from engine.jobs.queue import JobQueue
    from engine.jobs.worker import queue_scoring

    shot, _ = _cast(project, media, "Eileen")

    def no_faces() -> None:
        raise AssertionError("an animatic take must not be searched for faces")

    monkeypatch.setattr(identity, "shared_embedder", no_faces)
    take = generate_now(project, [shot.id])[0]
    assert take.kind is E.TakeKind.ANIMATIC
    assert project.require(E.Take, take.id).identity == {}  # nothing computed or written
    assert queue_scoring(project, JobQueue(project), take) is None  # no score job
    result = score_takes(project, [take.id])[take.id]
    assert result == {"status": identity.NOT_APPLICABLE, "reason": identity.ANIMATIC_REASON}
    assert identity.badge(identity.identity_of(project, take), 0.5) == "n/a"


def test_scores_are_cached_by_media_references_and_metric(
        project: Any, media: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.generate.faces import FaceEmbedder

    shot, ids = _cast(project, media, "Eileen")
    take = _take(project, shot, media["a_still"])
    calls = []
    real = FaceEmbedder.faces
    monkeypatch.setattr(FaceEmbedder, "faces",
                        lambda self, image: calls.append(1) or real(self, image))
    first = score_takes(project, [take.id])[take.id]
    made = len(calls)
    assert made in (6, 7)  # 6 frames (+ the reference, unless this process embedded it)
    again = score_takes(project, [take.id])[take.id]
    assert again == first and len(calls) == made  # cached: no face searched
    twin = _take(project, shot, media["a_still"])  # the same clip again: a copy, no work
    copied = score_takes(project, [twin.id])[twin.id]
    assert copied["cached_from"] == take.id and copied["key"] == first["key"]
    assert len(calls) == made
    # another reference image changes the key: scored again
    add_reference_images(project, ids["Eileen"], [media["ref_h"]])
    rescored = score_takes(project, [take.id])[take.id]
    assert rescored["key"] != first["key"] and len(calls) >= made + 6


def test_best_of_n_picks_the_take_with_the_highest_score(
        project: Any, media: dict[str, Path]) -> None:
    shot, ids = _cast(project, media, "Eileen")
    approve = _take(project, shot, media["a_move"])
    approve_take(project, approve.id)
    takes = [_take(project, shot, media[k]) for k in ("h_still", "a_recompress", "a_still")]
    changes = pick_best_take(project, [t.id for t in takes])
    best = changes.result
    assert best.id == takes[2].id and best.approved
    saved = project.require(Shot, shot.id)
    assert saved.approved_take_id == best.id
    assert not project.require(E.Take, approve.id).approved
    for t in takes:  # every take of the group carries the scores of all of them
        group = project.require(E.Take, t.id).identity["group"]
        assert group["picked"] == best.id
        assert [g["take"] for g in group["takes"]] == [t.id for t in takes]
    scores = {g["take"]: g["score"] for g in group["takes"]}
    assert scores[takes[2].id] > scores[takes[1].id] > scores[takes[0].id]
    # the pick is the user's operation: undone, the earlier approval is back
    project.undo()
    assert project.require(Shot, shot.id).approved_take_id == approve.id


def test_adding_a_reference_warns_about_faces(project: Any, media: dict[str, Path],
                                               tmp_path: Path) -> None:
    from engine.ops.characters import reference_warnings

    blank = tmp_path / "wall.png"
    Image.new("RGB", (320, 320), (120, 130, 140)).save(blank)
    both = tmp_path / "both.png"
    Image.fromarray(fm.take_frames(fm.astronaut(), "still", 1)[0]).save(tmp_path / "a.png")
    pair = np.concatenate([fm.take_frames(fm.astronaut(), "still", 1)[0],
                           fm.take_frames(fm.grace_hopper(), "still", 1)[0]], axis=1)
    Image.fromarray(pair).save(both)
    small = tmp_path / "small.png"
    Image.open(media["ref_a"]).resize((300, 300)).save(small)
    assert reference_warnings([media["ref_a"], media["ref_h"]]) == []
    warnings = reference_warnings([blank, both, small])
    assert "wall.png: no face can be detected" in warnings[0]
    assert "both.png: it shows 2 faces" in warnings[1]
    assert "small.png: its face is too small" in warnings[2]
    eileen = add_character(project, "Eileen").result
    changes = add_reference_images(project, eileen.id, [blank, media["ref_a"]])
    assert len(changes.result) == 1 and "wall.png" in changes.result[0]
    assert len(project.require(E.Character, eileen.id).reference_images) == 2  # still kept


def test_worker_scores_each_generated_take_in_a_score_job(
        project: Any, media: dict[str, Path]) -> None:
    from engine.jobs.kinds import SCORE
    from engine.jobs.queue import JobQueue
    from engine.jobs.worker import queue_scoring, run_worker

    shot, ids = _cast(project, media, "Eileen")
    take = _take(project, shot, media["a_zoom"])
    queue = JobQueue(project)
    job = queue_scoring(project, queue, take)
    assert job is not None and job.kind == SCORE and job.shot_id == shot.id
    run_worker(project.root, once=True)
    done = project.require(E.Job, job.id)
    assert done.status is E.JobStatus.DONE, done.error
    assert done.result["scores"][take.id]["status"] == identity.SCORED
    assert project.require(E.Take, take.id).identity["characters"][ids["Eileen"]]["score"] > 0.6
    # a project that turned scoring off queues none
    from engine.ops.project import set_project_fields

    set_project_fields(project, settings={identity.AUTO_SCORE_SETTING: False})
    assert queue_scoring(project, queue, take) is None


def test_threshold_comes_from_the_project_or_the_caller(project: Any) -> None:
    from engine.ops.project import set_project_fields

    assert identity.threshold_for(project, 0.7) == 0.7
    set_project_fields(project, settings={identity.THRESHOLD_SETTING: 0.62})
    assert identity.threshold_for(project) == 0.62
    with pytest.raises(identity.IdentityError, match="outside 0–1"):
        identity.threshold_for(project, 1.5)


def test_rows_are_plain_json(project: Any, media: dict[str, Path]) -> None:
    shot, ids = _cast(project, media, "Eileen")
    take = _take(project, shot, media["h_still"])
    score_takes(project, [take.id])
    rows = identity.rows(project, project.require(E.Take, take.id), 0.5, "1-1")
    assert len(rows) == 1 and rows[0]["character"] == "Eileen" and rows[0]["drifted"]
    json.dumps(rows)
