"""Stills exported from keyframes carry the film's AI label (GB 45438-2025) in XMP."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.cli import main
from engine.model import Shot, Take, TakeKind
from engine.render.aigc import AigcOptions, metadata
from engine.store import ProjectStore
from tests.engine.render.conftest import make_film
from tests.media_factory import make_image

TC260 = "http://www.tc260.org.cn/ns/AIGC/1.0/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


@pytest.fixture
def keyed(tmp_path: Path):
    store = make_film(tmp_path, 2, duration=0.5)
    first, second = store.shots()
    red = store.media.import_file(make_image(tmp_path / "red.png", (48, 32), (200, 30, 30)))
    blue = store.media.import_file(make_image(tmp_path / "blue.png", (48, 32), (30, 30, 200)))
    shot = store.require(Shot, first.id)
    shot.first_keyframe, shot.last_keyframe = red.sha256, blue.sha256
    store.update(shot)
    store.film = {"red": tmp_path / "red.png", "blue": tmp_path / "blue.png",
                  "bare": second.id}
    root = store.root
    store.close()
    return root, store.film


def _packet(path: Path) -> str:
    """The XMP packet, found in the file's bytes (Pillow's own reader checked apart)."""
    with Image.open(path) as image:
        packet = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    assert packet, f"{path.name} carries no XMP"
    return packet.decode("utf-8") if isinstance(packet, bytes) else packet


def _aigc(packet: str) -> dict[str, str]:
    xml = packet[packet.index("<x:xmpmeta"):packet.index("</x:xmpmeta>") + 12]
    node = ET.fromstring(xml).find(f"./{{{RDF}}}RDF/{{{RDF}}}Description/{{{TC260}}}AIGC")
    assert node is not None and node.text
    return json.loads(node.text)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_a_keyframe_still_carries_the_aigc_fields_in_xmp(keyed, tmp_path: Path, capsys,
                                                         suffix: str) -> None:
    root, film = keyed
    assert main(["aigc", str(root), "--producer", "青橙短剧工作室", "--propagator", "抖音",
                 "--propagate-id", "DY-42"]) == 0
    out = tmp_path / f"shot{suffix}"
    capsys.readouterr()
    assert main(["still", str(root), "1-1", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    fields = _aigc(_packet(out))
    # the same seven fields as the video's container tag, with the project's settings
    video_tag = json.loads(metadata("p", "e", AigcOptions())["AIGC"])
    assert list(fields) == list(video_tag) == [
        "Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator",
        "PropagateID", "ReservedCode2"]
    assert fields["Label"] == "1"
    assert fields["ContentProducer"] == "青橙短剧工作室"
    assert (fields["ContentPropagator"], fields["PropagateID"]) == ("抖音", "DY-42")
    with ProjectStore.open(root) as store:
        assert fields["ProduceID"].startswith(store.project.id + "/")
    assert fields == report["aigc"]
    # the picture is the keyframe's
    with Image.open(out) as still, Image.open(film["red"]) as source:
        diff = np.abs(np.asarray(still.convert("RGB"), int) - np.asarray(source.convert(
            "RGB"), int))
        assert still.size == source.size
        assert diff.max() == 0 if suffix == ".png" else diff.mean() < 2.0
    # the engine reads its own label back
    from engine.render.still import read_still_label

    assert read_still_label(out) == fields


def test_last_keyframe_and_no_label(keyed, tmp_path: Path) -> None:
    root, film = keyed
    out = tmp_path / "last.png"
    assert main(["still", str(root), "1-1", str(out), "--last", "--no-aigc-label"]) == 0
    with Image.open(out) as still:
        assert still.getpixel((5, 5))[:3] == (30, 30, 200)
        assert "xmp" not in still.info and "XML:com.adobe.xmp" not in still.info


def test_a_keyframe_takes_image_as_a_still(keyed, tmp_path: Path, capsys) -> None:
    root, film = keyed
    green = make_image(tmp_path / "green.png", (40, 24), (30, 200, 30))
    with ProjectStore.open(root) as store:
        asset = store.media.import_file(green)
        shot = store.shots()[1]
        take = store.add(Take(shot_id=shot.id, kind=TakeKind.GENERATED, media=asset.sha256,
                              record={"keyframe": asset.sha256}))
        plain = store.add(Take(shot_id=shot.id, kind=TakeKind.IMPORTED, media=asset.sha256))
    out = tmp_path / "take.jpg"
    assert main(["still", str(root), "1-2", str(out), "--take", take.id[:8]]) == 0
    with Image.open(out) as still, Image.open(green) as source:
        assert still.size == (40, 24)
        diff = np.abs(np.asarray(still, int) - np.asarray(source.convert("RGB"), int))
        assert diff.mean() < 2.0  # the take's keyframe image, not the shot's (none)
    assert _aigc(_packet(out))["Label"] == "1"
    capsys.readouterr()
    assert main(["still", str(root), "1-2", str(tmp_path / "p.png"), "--take",
                 plain.id]) == 2
    assert "has no keyframe image" in capsys.readouterr().err


def test_bad_stills_are_one_sentence_and_write_nothing(keyed, tmp_path: Path,
                                                       capsys) -> None:
    root, film = keyed
    for args in (["1-1", str(tmp_path / "a.gif")],  # not a still format
                 ["1-2", str(tmp_path / "b.png")],  # the shot has no keyframe
                 ["1-1", str(tmp_path / "nowhere" / "c.png")]):  # no such folder
        assert main(["still", str(root), *args]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.glob("*.gif")) == []
    assert not (tmp_path / "b.png").exists()
