"""AI-content labels (GB 45438-2025): the visible mark measured in pixels, the AIGC tag
read back with PyAV."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from engine.ops.project import set_project_fields
from engine.render.export import export_film
from engine.render.presets import Preset
from tests.engine.render.conftest import add_take, decode_frames, make_film, solid_png

BIG = Preset("big", width=360, height=640, x264_preset="ultrafast", crf=23)


@pytest.fixture
def dark_film(tmp_path: Path):
    """Three 2.5 s shots of a dark still: a 7.5 s film where only the label is bright."""
    store = make_film(tmp_path, 3, duration=2.5)
    for shot in store.shots():
        add_take(store, shot.id, solid_png(tmp_path / f"{shot.id}.png", (20, 40, 20)))
    yield store
    store.close()


def _label_rows(frame: np.ndarray) -> np.ndarray:
    """Rows holding the label's bright text (the picture is dark everywhere else)."""
    bright = (frame.min(axis=2) > 170)
    return np.flatnonzero(bright.any(axis=1))


def test_visible_label_is_tall_enough_and_stays_two_seconds(dark_film, tmp_path: Path) -> None:
    out = tmp_path / "film.mp4"
    export_film(dark_film, out, preset=BIG, burn_subtitles=False, aigc_label="visible")
    frames = decode_frames(out)
    with av.open(str(out)) as container:
        rate = float(container.streams.video[0].average_rate)
    opening = frames[: int(2.0 * rate)]
    assert len(opening) == 48
    short_side = min(frames[0].shape[:2])
    for frame in opening:
        rows = _label_rows(frame)
        assert rows.size, "the label is missing from an opening frame"
        height = rows.max() - rows.min() + 1
        assert height >= 0.05 * short_side  # ≥ 18 px of text on a 360-wide frame
        assert rows.max() < frame.shape[0] // 4  # top-left by default
        cols = np.flatnonzero((frame.min(axis=2) > 170).any(axis=0))
        assert cols.max() < frame.shape[1] // 2


def test_label_position_and_span_follow_the_project(dark_film, tmp_path: Path) -> None:
    set_project_fields(dark_film, settings={"aigc": {
        "position": "bottom-right", "span": "opening", "at_end": False,
        "producer": "林晓工作室", "propagator": "抖音", "propagate_id": "DY-1"}})
    out = tmp_path / "film.mp4"
    export_film(dark_film, out, preset=BIG, burn_subtitles=False, aigc_label="both")
    frames = decode_frames(out)
    h, w = frames[0].shape[:2]
    first = frames[0]
    rows = _label_rows(first)
    assert rows.min() > h * 3 // 4  # at the bottom
    cols = np.flatnonzero((first.min(axis=2) > 170).any(axis=0))
    assert cols.min() > w // 2  # on the right
    # shown over the opening (≥ 2 s) only: gone in the middle of the film
    assert _label_rows(frames[int(2.0 * 24) - 1]).size
    assert _label_rows(frames[int(4.0 * 24)]).size == 0
    # the implicit label: an AIGC tag with the standard's seven fields, read with PyAV
    with av.open(str(out)) as container:
        aigc = json.loads(container.metadata["AIGC"])
    assert set(aigc) == {"Label", "ContentProducer", "ProduceID", "ReservedCode1",
                         "ContentPropagator", "PropagateID", "ReservedCode2"}
    assert aigc["Label"] == "1" and aigc["ContentProducer"] == "林晓工作室"
    assert aigc["ContentPropagator"] == "抖音" and aigc["PropagateID"] == "DY-1"
    assert aigc["ProduceID"].startswith(dark_film.project.id)


def test_label_also_at_the_end_when_asked(dark_film, tmp_path: Path) -> None:
    set_project_fields(dark_film, settings={"aigc": {"span": "opening", "at_end": True}})
    out = tmp_path / "film.mp4"
    export_film(dark_film, out, preset=BIG, burn_subtitles=False, aigc_label="visible")
    frames = decode_frames(out)
    assert _label_rows(frames[int(3.5 * 24)]).size == 0
    assert _label_rows(frames[-1]).size


def test_bad_label_setting_is_one_sentence(dark_film, tmp_path: Path) -> None:
    from engine.errors import StoryreelError

    set_project_fields(dark_film, settings={"aigc": {"position": "middle"}})
    with pytest.raises(StoryreelError, match="position 'middle' is not one of"):
        export_film(dark_film, tmp_path / "x.mp4", preset=BIG)
    assert not (tmp_path / "x.mp4").exists()


def test_cli_sets_the_label_settings_as_an_operation(tmp_path: Path, capsys) -> None:
    from engine.cli import main
    from engine.ops import history
    from engine.store import ProjectStore

    store = make_film(tmp_path, 1)
    root = str(store.root)
    store.close()
    assert main(["aigc", root, "--producer", "林晓工作室", "--span", "opening", "--at-end",
                 "--position", "top-right"]) == 0
    capsys.readouterr()
    assert main(["aigc", root, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == {"producer": "林晓工作室", "propagator": "", "propagate_id": "",
                     "position": "top-right", "span": "opening", "at_end": True}
    with ProjectStore.open(root) as store:
        assert history.history(store, limit=1)[0].op == "Edit project"
    assert main(["aigc", root, "--position", "middle"]) == 2
