"""Thread-pool tasks with the engine's Progress / CancelToken, reporting through signals.

``run_task(fn, ...)`` runs ``fn(*args, progress=..., cancel=..., **kwargs)`` on the global
QThreadPool. The returned ``Task`` has ``signals`` (progress, succeeded, failed, cancelled,
finished) that are delivered on the UI thread, and ``cancel()``. Connect signals before
the task starts (``run_task(..., start=False)`` then ``start_task``), or a fast task may
finish before anyone listens. The worker thread never
touches widgets.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from engine.errors import Cancelled, StoryreelError
from engine.jobs.progress import CancelToken, Eta


class TaskSignals(QObject):
    progress = Signal(float, str)  # fraction 0..1, message
    succeeded = Signal(object)  # the function's return value
    failed = Signal(str)  # one sentence for the user
    cancelled = Signal()
    finished = Signal()  # always, after one of the three above


class Task(QRunnable):
    """One call of ``fn`` on a pool thread. Keep a reference until ``finished``."""

    def __init__(self, fn: Callable[..., Any], *args: Any, label: str = "",
                 pass_progress: bool = True, **kwargs: Any) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.label = label or getattr(fn, "__name__", "task")
        self.pass_progress = pass_progress
        self.signals = TaskSignals()
        self.token = CancelToken()
        self.eta = Eta()
        self.result: Any = None
        self.error: str = ""
        self.done = False

    def cancel(self) -> None:
        self.token.cancel()

    def _progress(self, fraction: float, message: str = "") -> None:
        self.eta.update(fraction)
        self.signals.progress.emit(float(fraction), str(message))

    def run(self) -> None:  # on a pool thread
        try:
            if self.pass_progress:
                self.result = self.fn(*self.args, progress=self._progress, cancel=self.token,
                                      **self.kwargs)
            else:
                self.result = self.fn(*self.args, **self.kwargs)
        except Cancelled:
            self.signals.cancelled.emit()
        except StoryreelError as exc:
            self.error = str(exc)
            self.signals.failed.emit(self.error)
        except Exception as exc:  # noqa: BLE001 - a bug in a task must not kill the app
            self.error = f"{self.label} failed: {type(exc).__name__}: {exc}"
            traceback.print_exc()
            self.signals.failed.emit(self.error)
        else:
            self.signals.succeeded.emit(self.result)
        finally:
            self.done = True
            self.signals.finished.emit()


_running: set[Task] = set()


def run_task(fn: Callable[..., Any], *args: Any, label: str = "", pass_progress: bool = True,
             pool: QThreadPool | None = None, start: bool = True, **kwargs: Any) -> Task:
    """A task for ``fn`` on the thread pool, kept alive until it finishes.

    With ``start=False`` the caller connects its signals first, then calls
    ``start_task(task)``: a task that fails at once cannot emit before anyone listens.
    """
    task = Task(fn, *args, label=label, pass_progress=pass_progress, **kwargs)
    if start:
        start_task(task, pool)
    return task


def start_task(task: Task, pool: QThreadPool | None = None) -> Task:
    _running.add(task)
    task.signals.finished.connect(lambda: _running.discard(task))
    (pool or QThreadPool.globalInstance()).start(task)
    return task


def running_tasks() -> list[Task]:
    return [t for t in _running if not t.done]
