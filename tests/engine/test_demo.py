"""`storyreel demo` end to end on CPU: the bundled sample becomes a checked film."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio
import pysubs2
import pytest

from engine.store import ProjectStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "engine.cli", "demo", str(out), "--preset", "draft",
         "--quality", "draft"],
        capture_output=True, text=True, cwd=ROOT, timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for stage in ("import", "plan", "voices", "music", "generate", "export"):
        assert f"{stage}" in proc.stderr and "done in" in proc.stderr
    film = out / "雨夜来电.mp4"
    assert str(film) in proc.stdout
    srt = film.with_suffix(".srt")
    timeline_file = film.with_suffix(".otio")

    with ProjectStore.open(out / "雨夜来电.storyreel") as store:
        shots = store.shots()
        characters = store.characters()
        assert len(store.scenes()) == 3 and len(shots) >= 6
        assert {c.name for c in characters} >= {"林雨", "陈默"}
        assert all(c.reference_images for c in characters)
        voices = {c.voice.voice + str(c.voice.pitch) for c in characters}
        assert len(voices) == len(characters), "characters must sound different"
        assert all(store.takes(s.id) for s in shots)
        expected = sum(s.duration for s in shots)
        project_w, project_h = store.project.width, store.project.height

    with av.open(str(film)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        assert (video.width, video.height) == (project_w // 2, project_h // 2)  # draft
        assert container.streams.audio and container.streams.audio[0].codec_context.name == "aac"
        duration = container.duration / 1e6
        assert duration == pytest.approx(expected, abs=0.5)
        assert "AIGC" in container.metadata or "aigc" in json.dumps(container.metadata).lower()
        # the picture changes over the film: it is not a still or a black screen
        samples = []
        for i, frame in enumerate(container.decode(video=0)):
            if i % 90 == 0:
                samples.append(frame.to_ndarray(format="gray").astype(np.float32))
    assert len(samples) >= 4
    assert max(s.mean() for s in samples) > 20
    assert max(np.abs(a - b).mean() for a, b in zip(samples, samples[1:], strict=False)) > 5

    subs = pysubs2.load(str(srt))
    assert len(subs) >= 10 and any("对不起" in line.text for line in subs)
    assert subs[-1].end / 1000 <= duration + 0.1
    tl = otio.adapters.read_from_file(str(timeline_file))
    assert len(list(tl.find_clips())) >= len(shots)
