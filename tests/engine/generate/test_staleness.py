from __future__ import annotations

from engine.generate.service import generate_now, resolve_shots
from engine.generate.staleness import stale_shots, watch
from engine.model import ShotStatus
from engine.model import entities as E

SMALL = {"width": 64, "height": 96}


def test_editing_a_shot_marks_it_stale_and_undo_restores(film) -> None:
    s1, s2 = film.film["shots"]
    generate_now(film, [s1, s2], overrides=SMALL)
    unsubscribe = watch(film)
    shot = film.require(E.Shot, s1)
    shot.prompt_override = "a girl runs"
    film.update(shot)
    assert film.require(E.Shot, s1).status is ShotStatus.STALE
    assert film.require(E.Shot, s2).status is ShotStatus.GENERATED
    assert [s.id for s in stale_shots(film)] == [s1]
    assert [s.id for s in resolve_shots(film, "stale")] == [s1]
    # undo brings the old prompt back: no longer stale, and redo is still available
    assert film.undo()
    assert film.require(E.Shot, s1).status is ShotStatus.GENERATED
    assert film.can_redo
    assert film.redo()
    assert film.require(E.Shot, s1).status is ShotStatus.STALE
    # a new take of the edited shot makes it current again
    generate_now(film, [s1], overrides=SMALL)
    assert film.require(E.Shot, s1).status is ShotStatus.GENERATED
    assert stale_shots(film) == []
    unsubscribe()


def test_editing_a_character_marks_every_shot_with_it(film) -> None:
    s1, s2 = film.film["shots"]
    generate_now(film, [s1, s2], overrides=SMALL)
    watch(film)
    shot2 = film.require(E.Shot, s2)
    lin = film.require(E.Character, film.film["lin"])
    lin.costume = "red qipao"
    film.update(lin)
    assert film.require(E.Shot, s1).status is ShotStatus.STALE
    assert film.require(E.Shot, s2).status is ShotStatus.GENERATED  # 陈默 only
    chen = film.require(E.Character, film.film["chen"])
    chen.reference_images = [film.film["red"]]
    film.update(chen)
    assert film.require(E.Shot, s2).status is ShotStatus.STALE
    # irrelevant edits (personality, duration of nothing) do not
    generate_now(film, [s1, s2], overrides=SMALL)
    chen.personality = "quiet"
    film.update(chen)
    shot2 = film.require(E.Shot, s2)
    assert shot2.status is ShotStatus.GENERATED


def test_shots_without_takes_are_never_stale_but_are_selected(film) -> None:
    watch(film)
    s1, s2 = film.film["shots"]
    shot = film.require(E.Shot, s1)
    shot.prompt = "changed"
    film.update(shot)
    assert film.require(E.Shot, s1).status is ShotStatus.DRAFT
    assert [s.id for s in resolve_shots(film, "stale")] == [s1, s2]
