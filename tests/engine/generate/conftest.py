from __future__ import annotations

from pathlib import Path

import pytest

from tests.media_factory import make_image


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny random Wan VACE, Wan I2V (+ first/last variant) and SDXL+IP-Adapter folders."""
    pytest.importorskip("diffusers")
    from tests.engine.generate import tiny_models as tm

    root = tmp_path_factory.mktemp("tiny-models")
    return {
        "vace": tm.build_wan_vace(root / "tiny-vace"),
        "i2v": tm.build_wan_i2v(root / "tiny-i2v"),
        "flf": tm.build_wan_i2v(root / "tiny-flf", first_last=True),
        "sdxl": tm.build_sdxl(root / "tiny-sdxl"),
        "t2v": tm.build_wan_t2v(root / "tiny-t2v"),
        "ltx": tm.build_ltx_condition(root / "tiny-ltx"),
    }


@pytest.fixture
def registered(tiny_models: dict[str, Path]) -> dict[str, str]:
    """The tiny models registered through `storyreel models add` (per-test registry)."""
    from engine.cli import main

    names = {}
    for key, folder in tiny_models.items():
        name = f"tiny-{key}"
        assert main(["models", "add", str(folder), "--name", name]) == 0
        names[key] = name
    return names


TINY = {"width": 32, "height": 32, "frames": 5, "steps": 2}


@pytest.fixture
def film(project, tmp_path: Path):
    """A project with two characters (red / blue reference sheets), one scene, two shots."""
    from engine.model import CameraMove, Character, DialogueLine, Scene, Shot

    red = project.media.import_file(make_image(tmp_path / "red.png", (64, 96), (200, 30, 30)))
    blue = project.media.import_file(make_image(tmp_path / "blue.png", (64, 96), (30, 30, 200)))
    lin = project.add(Character(name="林晓", appearance="long black hair",
                                reference_images=[red.sha256]))
    chen = project.add(Character(name="陈默", appearance="short hair",
                                 reference_images=[blue.sha256]))
    scene = project.add(Scene(number=1, heading="内 咖啡馆 夜", description="rain outside"))
    s1 = project.add(Shot(scene_id=scene.id, order=0, duration=0.5, characters=[lin.id],
                          prompt="a girl walks in the rain",
                          dialogue=[DialogueLine("你来了。", lin.id)]))
    s2 = project.add(Shot(scene_id=scene.id, order=1, duration=0.5, characters=[chen.id],
                          prompt="a man looks", camera_move=CameraMove.PUSH_IN,
                          first_keyframe=red.sha256))
    project.film = {"red": red.sha256, "blue": blue.sha256, "lin": lin.id, "chen": chen.id,
                    "shots": [s1.id, s2.id]}
    return project
