"""Render nodes on the team queue (procrastinate on the real server): two nodes drain the
queue, each job exactly once; a node killed with SIGKILL mid-job loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from engine.cli import main
from engine.model import JobStatus, Project, Scene, Shot
from engine.model import entities as E
from engine.ops.team import share
from engine.store import ProjectStore


def _team_film(tmp_path: Path, url: str, n: int, duration: float) -> Path:
    store = ProjectStore.create(tmp_path / "剧.storyreel", Project(title="剧"))
    scene = store.add(Scene(number=1))
    for i in range(n):
        store.add(Shot(scene_id=scene.id, order=i, duration=duration, action=f"镜头 {i}"))
    root = store.root
    store.close()
    (tmp_path / "nas").mkdir()
    share(root, url, str(tmp_path / "nas"))
    return root


def _node(url: str, nas: Path, name: str, *extra: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "worker", "--server", url, "--name", name,
         "--media", str(nas), "--device", "cpu", *extra],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _queue_rows(store: ProjectStore) -> list[tuple]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT id, status::text, attempts FROM procrastinate_jobs ORDER BY id"))]


def test_two_nodes_drain_the_queue_each_job_once(tmp_path, server_url, capsys) -> None:
    root = _team_film(tmp_path, server_url, 20, 0.3)
    assert main(["generate", str(root), "--shots", "all", "--no-wait",
                 "--size", "64x64"]) == 0
    capsys.readouterr()
    nodes = [_node(server_url, tmp_path / "nas", f"node{i}", "--until-empty")
             for i in (1, 2)]
    outs = [p.communicate(timeout=600) for p in nodes]
    assert [p.returncode for p in nodes] == [0, 0], outs
    with ProjectStore.open(root) as store:
        jobs = store.all(E.Job)
        assert len(jobs) == 20
        assert {j.status for j in jobs} == {JobStatus.DONE}
        assert {j.node for j in jobs} <= {"node1", "node2"} and all(j.node for j in jobs)
        # exactly once: one take per shot, one attempt per queued job
        assert sorted(len(store.takes(s.id)) for s in store.shots()) == [1] * 20
        rows = _queue_rows(store)
        assert [(s, a) for _, s, a in rows] == [("succeeded", 1)] * 20
        assert main(["jobs", str(root), "--json"]) == 0
        listed = capsys.readouterr().out
        assert '"node": "node' in listed


def test_a_node_killed_mid_job_loses_nothing(tmp_path, server_url, capsys) -> None:
    root = _team_film(tmp_path, server_url, 1, 12.0)
    assert main(["generate", str(root), "--shots", "all", "--no-wait"]) == 0
    capsys.readouterr()
    fast = {"STORYREEL_NODE_HEARTBEAT_S": "0.5", "STORYREEL_NODE_STALLED_S": "2"}
    first = _node(server_url, tmp_path / "nas", "doomed", **fast)
    with ProjectStore.open(root) as store:
        job_id = store.all(E.Job)[0].id
        deadline = time.monotonic() + 300
        while (job := store.require(E.Job, job_id)).progress <= 0.0:
            assert time.monotonic() < deadline and first.poll() is None, first.stderr
            store.wait_for_change(1.0)
        assert job.node == "doomed" and job.status is JobStatus.RUNNING
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        second = _node(server_url, tmp_path / "nas", "rescuer", **fast)
        try:
            deadline = time.monotonic() + 300
            while (job := store.require(E.Job, job_id)).status is not JobStatus.DONE:
                assert time.monotonic() < deadline and second.poll() is None
                assert job.status in (JobStatus.RUNNING, JobStatus.QUEUED), job.error
                store.wait_for_change(1.0)
        finally:
            second.send_signal(signal.SIGTERM)
            second.communicate(timeout=60)
        assert job.node == "rescuer"
        assert len(store.takes(store.shots()[0].id)) == 1
        # one retry after the kill (procrastinate counts the lost attempt), then success
        assert [(s, a) for _, s, a in _queue_rows(store)] == [("succeeded", 2)]


def test_two_nodes_starting_at_once_make_one_working_copy(tmp_path, server_url,
                                                         monkeypatch) -> None:
    import threading

    from engine.ops import team

    _team_film(tmp_path, server_url, 1, 0.3)
    monkeypatch.setenv("STORYREEL_HOME", str(tmp_path / "home"))
    real_join = team.join
    inside, second_arrived = [0], threading.Event()
    calls: list[str] = []

    def watched_join(*args, **kwargs):
        calls.append(threading.current_thread().name)
        inside[0] += 1
        if inside[0] > 1:
            second_arrived.set()
        else:  # give the other node the chance to come in too (it must not)
            second_arrived.wait(2.0)
        try:
            return real_join(*args, **kwargs)
        finally:
            inside[0] -= 1

    monkeypatch.setattr(team, "join", watched_join)
    start = threading.Barrier(2)
    roots: list[Path] = []
    errors: list[Exception] = []

    def node() -> None:
        start.wait()
        try:
            roots.append(team.node_copy(server_url, str(tmp_path / "nas")))
        except Exception as exc:  # noqa: BLE001 - the assertion shows it
            errors.append(exc)

    threads = [threading.Thread(target=node, name=f"node{i}") for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [] and not second_arrived.is_set()
    assert len(calls) == 1 and len(roots) == 2 and roots[0] == roots[1]
    assert (roots[0] / "team.json").is_file()
