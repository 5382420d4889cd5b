"""Render nodes with tiny random models on the real server: a node prefers the jobs of the
model it has loaded; two nodes drain 20 tiny-model jobs, each exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.cli import main
from engine.jobs import nodes
from engine.jobs.nodes import run_node
from engine.model import JobStatus, Project, Scene, Shot
from engine.model import entities as E
from engine.ops.team import share
from engine.store import ProjectStore

# a tiny Wan text-to-video run: 32×32, 5 frames, 1 step (a fraction of a second on a CPU)
TINY = ["--size", "32x32", "--frames", "5", "--steps", "1", "--device", "cpu"]


@pytest.fixture(scope="module")
def tiny_t2v(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("diffusers")
    from tests.engine.generate.tiny_models import build_wan_t2v

    return build_wan_t2v(tmp_path_factory.mktemp("models") / "tiny-t2v")


@pytest.fixture
def tiny_model(tiny_t2v: Path) -> str:
    """The tiny model registered (per-test STORYREEL_HOME, inherited by node processes)."""
    assert main(["models", "add", str(tiny_t2v), "--name", "tiny-t2v"]) == 0
    return "tiny-t2v"


def _team_film(tmp_path: Path, url: str, n: int) -> Path:
    store = ProjectStore.create(tmp_path / "剧.storyreel", Project(title="剧"))
    scene = store.add(Scene(number=1))
    for i in range(n):
        store.add(Shot(scene_id=scene.id, order=i, duration=0.25, action=f"镜头 {i}",
                       prompt="a girl walks in the rain"))
    root = store.root
    store.close()
    (tmp_path / "nas").mkdir()
    share(root, url, str(tmp_path / "nas"))
    return root


def _queue_rows(store: ProjectStore) -> list[tuple]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT queue_name, status::text, attempts FROM procrastinate_jobs ORDER BY id"))]


def _backend_of(store: ProjectStore) -> dict[str, str]:
    return {j.id: j.params["backend"] for j in store.all(E.Job)}


def test_a_node_prefers_the_jobs_of_its_loaded_model(tmp_path, server_url, tiny_model,
                                                      capsys) -> None:
    root = _team_film(tmp_path, server_url, 6)
    with ProjectStore.open(root) as store:
        shots = [s.id for s in store.shots()]
    # queued alternately: tiny, animatic, tiny, animatic… (oldest first)
    for i, shot in enumerate(shots):
        backend = tiny_model if i % 2 == 0 else "animatic"
        assert main(["generate", str(root), "--shots", shot, "--no-wait",
                     "--backend", backend, *TINY]) == 0
    capsys.readouterr()
    with ProjectStore.open(root) as store:
        queues = {q for q, _, _ in _queue_rows(store)}
    assert len(queues) == 2 and all(q.startswith("gen.") for q in queues)  # one per model
    ran = run_node(root, name="warm", device="cpu", until_empty=True)
    with ProjectStore.open(root) as store:
        backend = _backend_of(store)
        assert {j.status for j in store.all(E.Job)} == {JobStatus.DONE}
        assert {j.node for j in store.all(E.Job)} == {"warm"}
    # the oldest job first (tiny), then the loaded model's jobs before the others: one
    # model change in six jobs, where first-come order would change model every job
    assert [backend[j] for j in ran] == [tiny_model] * 3 + ["animatic"] * 3


def test_a_node_serves_only_its_families(tmp_path, server_url, tiny_model, capsys) -> None:
    root = _team_film(tmp_path, server_url, 3)
    with ProjectStore.open(root) as store:
        shots = [s.id for s in store.shots()]
    assert main(["generate", str(root), "--shots", shots[0], "--no-wait",
                 "--backend", tiny_model, *TINY]) == 0
    assert main(["generate", str(root), "--shots", *shots[1:], "--no-wait", *TINY]) == 0
    capsys.readouterr()
    ran = run_node(root, name="drafts", device="cpu", families=["animatic"],
                   until_empty=True)
    with ProjectStore.open(root) as store:
        backend = _backend_of(store)
        assert sorted(backend[j] for j in ran) == ["animatic", "animatic"]
        waiting = [j for j in store.all(E.Job) if j.status is JobStatus.QUEUED]
        assert [j.params["backend"] for j in waiting] == [tiny_model]
        assert sorted(s for q, s, _ in _queue_rows(store)
                      if nodes.family_of_queue(q) == "wan-t2v") == ["todo"]


def _node(url: str, nas: Path, name: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "worker", "--server", url, "--name", name,
         "--media", str(nas), "--device", "cpu", "--until-empty"],
        env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_nodes_drain_20_tiny_model_jobs_each_once(tmp_path, server_url, tiny_model,
                                                      capsys) -> None:
    root = _team_film(tmp_path, server_url, 20)
    assert main(["generate", str(root), "--shots", "all", "--no-wait",
                 "--backend", tiny_model, *TINY]) == 0
    capsys.readouterr()
    pair = [_node(server_url, tmp_path / "nas", f"gpu{i}") for i in (1, 2)]
    outs = [p.communicate(timeout=600) for p in pair]
    assert [p.returncode for p in pair] == [0, 0], outs
    with ProjectStore.open(root) as store:
        jobs = store.all(E.Job)
        assert len(jobs) == 20
        assert {j.status for j in jobs} == {JobStatus.DONE}, [j.error for j in jobs]
        assert all(j.node in ("gpu1", "gpu2") for j in jobs)
        # exactly once: one take per shot, made by the tiny model, one attempt per job
        takes = [store.takes(s.id) for s in store.shots()]
        assert [len(t) for t in takes] == [1] * 20
        assert {t[0].record["backend"] for t in takes} == {tiny_model}
        assert [(s, a) for _, s, a in _queue_rows(store)] == [("succeeded", 1)] * 20
    ran = [int(out.strip().rsplit(" ran ", 1)[1].split()[0]) for out, _ in outs]
    assert sum(ran) == 20
