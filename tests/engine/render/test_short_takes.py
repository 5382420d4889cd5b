"""A take shorter than its shot never shortens the shot in the film."""

from __future__ import annotations

import pytest

from engine.model import Project, Scene, Shot
from engine.ops import shots as shot_ops
from engine.ops import takes
from engine.render.timeline_builder import build_timeline
from engine.store import ProjectStore
from tests.media_factory import make_video


@pytest.fixture
def film(tmp_path):
    store = ProjectStore.create(tmp_path / "f.storyreel", Project(title="f"))
    scene = store.add(Scene(number=1))
    first = store.add(Shot(scene_id=scene.id, order=0, duration=3.0))
    second = store.add(Shot(scene_id=scene.id, order=1, duration=2.0))
    clip = make_video(tmp_path / "one_second.mp4", frames=24, fps=24)
    takes.import_take(store, first.id, clip)
    yield store, first, second
    store.close()


def test_a_short_take_holds_its_last_frame_for_the_whole_shot(film) -> None:
    store, first, second = film
    timeline = build_timeline(store)
    fps = store.project.fps
    a, b = timeline.video[:2]
    assert (a.record_out - a.record_in) == round(3.0 * fps)  # not 1 s: the shot's 3 s
    assert a.speed == 1.0 and a.source_out - a.source_in == pytest.approx(1.0, abs=0.05)
    assert b.record_in == a.record_out  # the next shot starts where this one should end


def test_or_slows_down_to_fill_it_when_the_user_picks_so(film) -> None:
    store, first, _ = film
    shot_ops.set_shot_fields(store, first.id, generation={"short_take": "slow"})
    a = build_timeline(store).video[0]
    assert (a.record_out - a.record_in) == round(3.0 * store.project.fps)
    assert a.speed == pytest.approx(1 / 3, abs=0.02)


def test_a_still_image_becomes_a_take_as_long_as_its_shot(film, tmp_path) -> None:
    from tests.media_factory import make_image

    store, _, second = film
    take = takes.import_take(store, second.id, make_image(tmp_path / "still.png",
                                                          (81, 47))).result
    from engine.model import MediaAsset

    assert take.record["still"] is True
    asset = store.media.path(take.media)
    info = store.require(MediaAsset, take.media)
    assert info.kind.value == "video" and info.duration == pytest.approx(2.0, abs=0.1)
    assert (info.width, info.height) == (80, 46) and asset.is_file()


def test_subtitles_can_start_with_the_speakers_name(tmp_path, capsys) -> None:
    from engine.cli import main
    from engine.model import Character, DialogueLine

    store = ProjectStore.create(tmp_path / "s.storyreel", Project(title="s"))
    lin = store.add(Character(name="林雨"))
    scene = store.add(Scene(number=1))
    store.add(Shot(scene_id=scene.id, duration=2.0, dialogue=[DialogueLine("你来了。", lin.id)]))
    root = store.root
    store.close()
    with ProjectStore.open(root) as s:
        assert [c.text for c in build_timeline(s).subtitles] == ["你来了"]
    assert main(["project", "set", str(root), "--subtitle-speakers", "on"]) == 0
    with ProjectStore.open(root) as s:
        assert [c.text for c in build_timeline(s).subtitles] == ["林雨：你来了"]
    assert main(["project", "set", str(root), "--subtitle-speakers", "maybe"]) == 2
