"""``handoff --episode N`` and ``--all-episodes``: an episode's edit holds its shots only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import opentimelineio as otio
import pytest

from engine.cli import main
from engine.model import DialogueLine, Episode, Scene, Shot
from engine.store import ProjectStore
from tests.engine.render.conftest import add_take, make_film
from tests.media_factory import make_video


@pytest.fixture
def series(tmp_path: Path) -> Iterator[ProjectStore]:
    """Episode 1 (「相遇」): three shots; episode 2 (「重逢」): two shots; all with takes."""
    store = make_film(tmp_path, 3, duration=0.5)
    first = store.episode_by_number(1)  # every project starts with episode 1
    assert first is not None
    first.title = "相遇"
    store.update(first)
    (scene_one,) = store.scenes()
    scene_one.episode_id = first.id
    store.update(scene_one)
    second = store.add(Episode(number=2, title="重逢"))
    scene = store.add(Scene(number=1, heading="外景 街道 夜", episode_id=second.id, order=1))
    for i in range(2):
        store.add(Shot(scene_id=scene.id, order=i, duration=0.5, action=f"第二集镜头{i + 1}",
                       dialogue=[DialogueLine(text=f"第二集第{i + 1}句")]))
    for k, shot in enumerate(store.shots()):
        add_take(store, shot.id, make_video(tmp_path / f"t{k}.mp4", frames=12, fps=24))
    yield store
    store.close()


def _episode_shots(store: ProjectStore, number: int) -> list[str]:
    episode = store.episode_by_number(number)
    assert episode is not None
    scenes = {sc.id for sc in store.scenes(episode.id)}
    return [s.id for s in store.shots() if s.scene_id in scenes]


def _otio_shot_ids(path: Path) -> list[str]:
    tl = otio.adapters.read_from_file(str(path), adapter_name="otio_json")
    return [c.metadata["storyreel"]["shot_id"] for c in tl.video_tracks()[0].find_clips()]


def test_handoff_of_one_episode_holds_only_its_shots(series, tmp_path: Path) -> None:
    want = _episode_shots(series, 2)
    assert len(want) == 2 and len(series.shots()) == 5
    out = tmp_path / "e2-otio"
    assert main(["handoff", str(series.root), str(out), "--format", "otio",
                 "--episode", "2"]) == 0
    (edit,) = out.glob("*.otio")
    assert "重逢" in edit.name  # the episode's title names the edit
    assert _otio_shot_ids(edit) == want
    # the 剪映 draft of episode 1: its three shots, and the episode's length
    draft = tmp_path / "e1-jianying"
    assert main(["handoff", str(series.root), str(draft), "--format", "jianying",
                 "--episode", "E1"]) == 0
    content = json.loads((draft / "draft_content.json").read_text(encoding="utf-8"))
    names = [m["material_name"] for m in content["materials"]["videos"]]
    assert [n.rsplit("[", 1)[1].rstrip("]") for n in names] == _episode_shots(series, 1)
    assert content["duration"] == 3 * 500_000


def test_handoff_all_episodes_writes_one_edit_per_episode(series, tmp_path: Path,
                                                          capsys) -> None:
    out = tmp_path / "episodes"
    assert main(["handoff", str(series.root), str(out), "--format", "otio",
                 "--all-episodes", "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["episode"] for r in reports] == [1, 2]
    folders = sorted(p.name for p in out.iterdir())
    assert folders == ["E01_相遇", "E02_重逢"]
    for number, folder in zip((1, 2), folders, strict=True):
        (edit,) = (out / folder).glob("*.otio")
        assert _otio_shot_ids(edit) == _episode_shots(series, number)


def test_handoff_of_a_missing_episode_is_one_sentence(series, tmp_path: Path,
                                                      capsys) -> None:
    out = tmp_path / "none"
    assert main(["handoff", str(series.root), str(out), "--format", "otio",
                 "--episode", "7"]) == 2
    err = capsys.readouterr().err
    assert "no episode 7" in err and "Traceback" not in err
    assert not out.exists()
    assert main(["handoff", str(series.root), str(out), "--format", "otio",
                 "--episode", "1", "--all-episodes"]) == 2
    assert not out.exists()
