"""The animatic path end to end: takes, records, thumbnails, cache, import, approve."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import MediaError
from engine.generate.importer import import_take
from engine.generate.requests import shot_seed
from engine.generate.service import BackendPool, generate_now
from engine.model import MediaKind, ShotStatus, TakeKind
from engine.model import entities as E
from engine.ops.takes import approve_take
from tests.media_factory import make_video

SMALL = {"width": 64, "height": 96}


def test_animatic_take_has_record_thumbnail_and_status(film) -> None:
    shot_id = film.film["shots"][0]
    (take,) = generate_now(film, [shot_id], overrides=SMALL)
    assert take.kind is TakeKind.ANIMATIC
    asset = film.get(E.MediaAsset, take.media)
    assert asset.kind is MediaKind.VIDEO and (asset.width, asset.height) == (64, 96)
    thumb = film.get(E.MediaAsset, take.thumbnail)
    assert thumb.kind is MediaKind.IMAGE
    rec = take.record
    assert rec["backend"] == "animatic" and rec["model_hash"].startswith("animatic-")
    assert rec["seed"] == shot_seed(film.require(E.Shot, shot_id))
    assert rec["size"] == [64, 96] and rec["frames"] == round(0.5 * 30)
    assert rec["reference_hashes"] == [film.film["red"]]
    assert rec["prompt"] == "a girl walks in the rain" and len(take.cache_key) == 64
    assert film.require(E.Shot, shot_id).status is ShotStatus.GENERATED


def test_same_inputs_reuse_the_take_with_zero_compute(film) -> None:
    shot_id = film.film["shots"][0]
    (first,) = generate_now(film, [shot_id], overrides=SMALL)
    media_before = len(film.all(E.MediaAsset))
    pool = BackendPool()
    (again,) = generate_now(film, [shot_id], overrides=SMALL, pool=pool)
    assert again.id == first.id
    assert pool.loads == 0  # no backend was even built
    assert len(film.all(E.MediaAsset)) == media_before
    # a different input → a new take
    (other,) = generate_now(film, [shot_id], overrides={**SMALL, "seed": 99}, pool=pool)
    assert other.id != first.id and other.cache_key != first.cache_key
    assert other.record["seed"] == 99


def test_an_approved_shot_stays_approved_on_a_cache_hit(film) -> None:
    shot_id = film.film["shots"][0]
    (take,) = generate_now(film, [shot_id], overrides=SMALL)
    approve_take(film, take.id)
    assert film.require(E.Shot, shot_id).status is ShotStatus.APPROVED
    generate_now(film, [shot_id], overrides=SMALL)
    assert film.require(E.Shot, shot_id).status is ShotStatus.APPROVED
    generate_now(film, [shot_id], overrides={**SMALL, "seed": 3})  # a genuinely new take
    assert film.require(E.Shot, shot_id).status is ShotStatus.GENERATED
    assert film.require(E.Take, take.id).approved


def test_seeds_are_stable_per_shot() -> None:
    a = E.Shot(scene_id="s", id="11111111-aaaa")
    assert shot_seed(a) == shot_seed(E.Shot(scene_id="x", id="11111111-aaaa"))
    assert shot_seed(a) != shot_seed(E.Shot(scene_id="s", id="22222222-bbbb"))
    assert shot_seed(E.Shot(scene_id="s", seed=42)) == 42


def test_import_take_and_approve(film, tmp_path: Path) -> None:
    shot_id = film.film["shots"][1]
    clip = make_video(tmp_path / "kling.mp4", frames=12, size=(64, 48))
    take = import_take(film, shot_id, clip, note="made in Kling")
    assert take.kind is TakeKind.IMPORTED and take.thumbnail
    assert take.record["source_name"] == "kling.mp4" and take.record["size"] == [64, 48]
    assert film.require(E.Shot, shot_id).status is ShotStatus.GENERATED
    approved = approve_take(film, take.id).result
    assert approved.approved
    assert film.require(E.Shot, shot_id).approved_take_id == take.id
    from tests.media_factory import make_wav

    with pytest.raises(MediaError, match="is audio, not a video clip or a still image"):
        import_take(film, shot_id, make_wav(tmp_path / "line.wav", seconds=0.5))
    # a still image is a still take as long as the shot
    still = import_take(film, shot_id, film.media_path(film.film["red"]))
    assert still.record["still"] is True
