from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from engine.model import (
    Character,
    DialogueLine,
    Project,
    Scene,
    Shot,
    Take,
    TakeKind,
)
from engine.render.presets import Preset
from engine.store import ProjectStore

# the project's own size and fps, the platform presets' encoder settings (High profile)
TEST_PRESET = Preset("test", x264_preset="veryfast", crf=23)
W, H, FPS = 64, 112, Fraction(24)


def solid_png(path: Path, color: tuple[int, int, int], size: tuple[int, int] = (W, H)) -> Path:
    from PIL import Image

    Image.new("RGB", size, color).save(path)
    return path


def make_film(folder: Path, n: int = 3, duration: float = 1.0, name: str = "film") -> ProjectStore:
    """A project of ``n`` shots (``duration`` s each, one line of dialogue each), no takes."""
    store = ProjectStore.create(
        folder / f"{name}.storyreel",
        Project(title="测试短剧", width=W, height=H, fps=FPS),
    )
    hero = store.add(Character(name="林晓"))
    scene = store.add(Scene(number=1, heading="内景 咖啡馆 日"))
    for i in range(n):
        store.add(Shot(
            scene_id=scene.id, order=i, duration=duration, action=f"镜头{i + 1}",
            dialogue=[DialogueLine(text=f"第{i + 1}句台词", character_id=hero.id)],
        ))
    return store


@pytest.fixture
def film(tmp_path: Path) -> Iterator[Callable[..., ProjectStore]]:
    """``film(n, duration)`` → a new project (closed after the test)."""
    stores: list[ProjectStore] = []

    def make(n: int = 3, duration: float = 1.0, name: str = "film") -> ProjectStore:
        stores.append(make_film(tmp_path, n, duration, name))
        return stores[-1]

    yield make
    for store in stores:
        store.close()


def add_take(store: ProjectStore, shot_id: str, path: Path, approved: bool = False,
             kind: TakeKind = TakeKind.GENERATED) -> Take:
    asset = store.media.import_file(path)
    take = store.add(Take(shot_id=shot_id, kind=kind, media=asset.sha256, approved=approved))
    if approved:
        shot = store.require(Shot, shot_id)
        shot.approved_take_id = take.id
        store.update(shot)
    return take


def decode_frames(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
