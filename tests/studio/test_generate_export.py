"""Generation through the worker process, approval and export, driven through the window.

Also measures that the UI event loop never stalls over 100 ms while a generation (worker
process) and an export (thread pool) run.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from engine.model import Project, Scene, Shot, ShotStatus

SMALL = {"width": 64, "height": 112, "frames": 9}


def small_project(tmp_path: Path, shots: int = 2) -> Path:
    from engine.ops import shots as shot_ops
    from engine.store import ProjectStore

    path = tmp_path / "film.storyreel"
    with ProjectStore.create(path, Project(title="雨夜来电", width=96, height=160)) as store:
        scene = store.add(Scene(number=1, heading="第1场 夜 内 咖啡馆"))
        for i in range(shots):  # through the operation: the prompt is composed, as in use
            shot_ops.add_shot(store, scene.id, duration=1.0, action=f"镜头{i + 1}",
                              generation=dict(SMALL))
    return path


def wait_jobs_done(window: Any, qtbot: Any, count: int, timeout: int = 90_000) -> None:
    from engine.model import Job

    def done() -> bool:
        jobs = window.store.all(Job)
        failed = [j.error for j in jobs if str(j.status) == "failed"]
        assert not failed, failed
        return len(jobs) >= count and all(str(j.status) == "done" for j in jobs)

    qtbot.waitUntil(done, timeout=timeout)


def test_generate_approve_export(window: Any, qtbot: Any, tmp_path: Path) -> None:
    import av

    assert window.open_project(str(small_project(tmp_path)))
    store = window.store
    ids = [s.id for s in store.shots()]
    window.storyboard.select_shots(ids)
    window.act_generate.trigger()
    assert window.errors == []
    wait_jobs_done(window, qtbot, len(ids))
    # the window notices the new takes through its job polling
    qtbot.waitUntil(lambda: window.storyboard.card(ids[0]) is not None
                    and window.storyboard.card(ids[0]).takes == 1, timeout=5000)
    take = store.takes(ids[0])[0]
    assert store.media_path(take.media).is_file()
    assert window.storyboard.card(ids[0]).thumbnail is not None

    window.storyboard.select_shots([ids[0]])
    qtbot.waitUntil(lambda: window.inspector.takes.count() == 1, timeout=3000)
    window.inspector.takes.item(0).setSelected(True)
    window.inspector.approve_button.click()
    shot = store.require(Shot, ids[0])
    assert shot.approved_take_id == take.id and shot.status == ShotStatus.APPROVED

    # editing the prompt after generation marks the shot stale; undo brings it back
    window.inspector.commit("Edit prompt override", prompt_override="雨夜，特写")
    assert store.require(Shot, ids[0]).status == ShotStatus.STALE
    qtbot.waitUntil(lambda: window.storyboard.card(ids[0]).stale, timeout=3000)
    window.undo.undo_action.trigger()
    assert store.require(Shot, ids[0]).status == ShotStatus.APPROVED, window.errors
    qtbot.waitUntil(lambda: not window.storyboard.card(ids[0]).stale, timeout=3000)

    out = tmp_path / "out" / "film.mp4"
    out.parent.mkdir()
    window.act_export.trigger()
    dialog = window.dialogs.shown[-1]
    dialog.set_preset("draft")
    assert dialog.start_export(str(out))
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    assert window.errors == [] and out.is_file(), dialog.status_label.text()
    with av.open(str(out)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (48, 80)
        frames = sum(1 for _ in container.decode(video=0))
    fps = float(store.project.fps)
    assert abs(frames - round(2.0 * fps)) <= 2


def test_event_loop_never_stalls_during_generation_and_export(window: Any, qtbot: Any,
                                                              tmp_path: Path) -> None:
    assert window.open_project(str(small_project(tmp_path, shots=3)))
    store = window.store
    ids = [s.id for s in store.shots()]
    # engine modules are imported on the background thread right after opening, not mid-work
    warm = window.workflows.warm_task
    assert warm is not None
    qtbot.waitUntil(lambda: warm.done, timeout=60_000)
    assert "engine.render.export" in warm.result
    # first takes so the export has clips to decode
    window.generate(ids[:2])
    wait_jobs_done(window, qtbot, 2)

    gaps: list[float] = []  # wall time between ticks
    busy: list[float] = []  # CPU time the UI thread itself spent between ticks
    last = [time.perf_counter(), time.thread_time()]

    def tick() -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        gaps.append(now - last[0])
        busy.append(cpu - last[1])
        last[0], last[1] = now, cpu

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    try:
        for _ in range(4):  # let the timer settle
            QApplication.processEvents()
        gaps.clear()
        busy.clear()
        last[0], last[1] = time.perf_counter(), time.thread_time()
        store.update(dataclasses.replace(store.require(Shot, ids[2]), seed=7))
        window.storyboard.select_shots([ids[2]])
        window.inspector.generate_button.click()
        window.act_export.trigger()
        dialog = window.dialogs.shown[-1]
        dialog.set_preset("draft")
        assert dialog.start_export(str(tmp_path / "stall.mp4"))
        wait_jobs_done(window, qtbot, 3)
        qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    finally:
        timer.stop()
    assert (tmp_path / "stall.mp4").is_file()
    assert len(gaps) > 20
    worst = max(gaps)
    worst_busy = max(busy)
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    print(f"event loop: {len(gaps)} ticks, worst gap {worst * 1000:.1f} ms, worst UI-thread "
          f"work between ticks {worst_busy * 1000:.1f} ms, load {load:.1f} per core")
    # The UI thread's own work between two ticks always stays under 100 ms.
    assert worst_busy < 0.100, f"the UI thread worked {worst_busy * 1000:.0f} ms without a break"
    if worst >= 0.100 and load > 2.0:
        # On a machine with more than two runnable processes per core the OS, not this
        # code, decides when the UI thread runs: wall-clock gaps then measure the machine.
        pytest.skip(f"machine overloaded ({load:.1f} runnable per core); worst wall gap "
                    f"{worst * 1000:.0f} ms, UI work {worst_busy * 1000:.0f} ms")
    assert worst < 0.100, f"the UI thread stalled for {worst * 1000:.0f} ms"


def test_cards_show_the_progress_of_their_jobs(window: Any, qtbot: Any, tmp_path: Path) -> None:
    from engine.jobs.queue import JobQueue

    assert window.open_project(str(small_project(tmp_path)))
    store = window.store
    ids = [s.id for s in store.shots()]
    window.workflows.start_worker_hook = lambda: None  # no worker: the jobs stay queued
    jobs = window.generate(ids[:1])
    assert len(jobs) == 1
    qtbot.waitUntil(lambda: window.storyboard.card(ids[0]).progress == 0.0, timeout=3000)
    assert window.storyboard.card(ids[1]).progress is None
    queue = JobQueue(store)
    claimed = queue.claim_next()
    assert claimed is not None and claimed.id == jobs[0].id
    queue.report(claimed.id, 0.5, "step 2/4")
    window.workflows.poll_jobs()  # read on the background thread, shown on the UI thread
    qtbot.waitUntil(lambda: window.storyboard.card(ids[0]).progress == 0.5, timeout=3000)
    queue.cancel(claimed.id)
    window.workflows.poll_jobs()
    qtbot.waitUntil(lambda: window.storyboard.card(ids[0]).progress is None, timeout=3000)
