from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.assets import asset_path
from engine.audio import music
from engine.audio.decode import probe_duration
from engine.audio.mix import measure_loudness
from engine.cli import main
from engine.errors import StoryreelError
from engine.model import AudioPlacement, AudioRole, Character, DialogueLine, Scene, Shot
from engine.store import ProjectStore
from tests.media_factory import make_image, make_wav

BED = asset_path("music", "gentle-bed.ogg")


def _shots(store, n: int = 3) -> list[Shot]:
    scene = store.add(Scene(number=1))
    return [store.add(Shot(scene_id=scene.id, order=i, duration=2.0)) for i in range(n)]


def test_bundled_music_bed_is_small_and_loopable() -> None:
    assert BED.is_file() and BED.stat().st_size < 1_500_000
    assert 30.0 <= probe_duration(BED) <= 60.0
    lufs, peak = measure_loudness(BED)
    assert -30 < lufs < -10 and peak < 0


def test_add_music_places_shot_ids_and_validates(project, tmp_path: Path) -> None:
    shots = _shots(project)
    whole = music.add_music(project, BED)
    assert whole.role is AudioRole.MUSIC and whole.from_shot is None and whole.loop
    part = music.add_music(project, BED, from_shot=2, to_shot=3, gain_db=-6)
    assert (part.from_shot, part.to_shot) == (shots[1].id, shots[2].id)
    assert part.media == whole.media  # same file stored once
    with pytest.raises(StoryreelError, match="not a shot number; use 1–3"):
        music.add_music(project, BED, from_shot=4)
    with pytest.raises(StoryreelError, match="comes before"):
        music.add_music(project, BED, from_shot=3, to_shot=1)
    with pytest.raises(StoryreelError, match="has no sound"):
        music.add_music(project, make_image(tmp_path / "a.png"))
    assert len(project.all(AudioPlacement)) == 2


def test_add_sfx_and_project_segments(project, tmp_path: Path) -> None:
    shots = _shots(project)
    bang = make_wav(tmp_path / "bang.wav", seconds=0.5)
    fx = music.add_sfx(project, 2, bang, offset=0.5, gain_db=-3)
    assert fx.role is AudioRole.EFFECTS and fx.from_shot == shots[1].id and not fx.loop
    with pytest.raises(StoryreelError, match="past the end of shot 2"):
        music.add_sfx(project, 2, bang, offset=5.0)
    with pytest.raises(StoryreelError, match="negative"):
        music.add_sfx(project, 1, bang, offset=-1)
    music.add_music(project, BED, from_shot=2)
    segments, total = music.project_segments(project)
    assert total == 6.0
    by_role = {s.role: s for s in segments}
    assert by_role[AudioRole.EFFECTS].start == pytest.approx(2.5)
    assert by_role[AudioRole.MUSIC].start == 2.0
    assert by_role[AudioRole.MUSIC].duration == pytest.approx(4.0)


def test_cli_voice_music_sfx_mix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "film.storyreel"
    assert main(["new", str(root), "--lang", "zh"]) == 0
    with ProjectStore.open(root) as store:
        a = store.add(Character("林夏", gender="女"))
        b = store.add(Character("陈默", gender="男"))
        scene = store.add(Scene(number=1))
        store.add(Shot(scene_id=scene.id, order=1, duration=2.0,
                       dialogue=[DialogueLine("你终于来了。", a.id)]))
        store.add(Shot(scene_id=scene.id, order=2, duration=3.0,
                       dialogue=[DialogueLine("对不起，我来晚了。", b.id)]))
    capsys.readouterr()
    assert main(["voice", str(root), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["synthesized"] == 2
    assert main(["voice", str(root), "--shots", "1-2"]) == 0
    assert "reused 1" in capsys.readouterr().out
    assert main(["music", "add", str(root), str(BED), "--gain", "-3"]) == 0
    bang = make_wav(tmp_path / "door.wav", seconds=0.4, freq=90)
    assert main(["sfx", "add", str(root), "1-2", str(bang), "--offset", "0.5"]) == 0
    assert main(["voices", "list", str(root)]) == 0
    listing = capsys.readouterr().out
    assert "林夏\tkokoro:zf_" in listing and "陈默\tkokoro:zm_" in listing
    assert "(narrator)\tkokoro:zm_yunyang" in listing
    assert main(["voices", "list", str(root), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["voices"]
    assert rows[0]["engine"] == "kokoro" and "kokoro-js 1.2.1" in rows[0]["source"]
    mix = tmp_path / "mix.wav"
    assert main(["mix", str(root), str(mix), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    lufs, tp = measure_loudness(mix)
    assert lufs == pytest.approx(-14.0, abs=1.0) and tp <= -0.95
    with ProjectStore.open(root) as store:
        total = sum(s.duration for s in store.shots())
    assert report["duration"] == pytest.approx(total, abs=1e-3)
    # bad input: one sentence, exit 2
    assert main(["music", "add", str(root), str(BED), "--from-shot", "9-1"]) == 2
    assert "There is no shot 9-1" in capsys.readouterr().err
    assert main(["sfx", "add", str(root), "x", str(bang)]) == 2
    assert "not a shot label like 2-3" in capsys.readouterr().err
    assert main(["voice", str(root), "--shots", "1-7"]) == 2
    assert "no shot 1-7" in capsys.readouterr().err
    assert main(["music", "add", str(root), str(tmp_path / "missing.mp3")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "does not exist" in err
