"""The jobs dock: every queued, running and finished job of the project, live.

Jobs are rows in the project database; the worker process writes their progress there.
The dock polls the rows with a QTimer (4 Hz) so it sees progress written by any process,
and shows kind, shot, status, a progress bar, an ETA (from the observed progress rate),
the job's message and, for a failed job, the reason. Cancel and Retry go through
``engine.jobs.queue.JobQueue``; "Start worker" starts ``engine.jobs.worker.WorkerProcess``
and the dock stops it when the main window closes or the application quits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.errors import StoryreelError
from engine.jobs.kinds import LOCAL_KINDS, eta_seconds
from engine.jobs.queue import JobQueue
from engine.jobs.worker import WorkerProcess
from engine.model import Job, JobStatus
from engine.ops import jobs as job_ops
from studio.background import shared_reader
from studio.i18n import tr_engine

ZH = {
    "Jobs": "任务",
    "Job": "任务",
    "Shot": "镜头",
    "the film": "全片",
    "the script": "剧本",
    "Episode {number}": "第 {number} 集",
    "Status": "状态",
    "Progress": "进度",
    "ETA": "剩余时间",
    "Message": "信息",
    "Cancel": "取消",
    "Retry": "重试",
    "Start worker": "启动后台进程",
    "Stop worker": "停止后台进程",
    "Worker: running": "后台进程：运行中",
    "Worker: stopped": "后台进程：已停止",
    "Hide finished": "隐藏已完成",
    "Clear finished": "清除已完成",
    "Remove done and cancelled jobs from the list": "从列表中移除已完成和已取消的任务",
    "No jobs yet. Generate a shot to add one.": "暂无任务。生成镜头即可添加任务。",
    "{n} queued · {m} running": "{n} 个排队 · {m} 个运行中",
    "queued": "排队中",
    "running": "运行中",
    "done": "完成",
    "failed": "失败",
    "cancelled": "已取消",
    "generate": "生成",
    "voice": "配音",
    "export": "导出",
    "plan": "分镜规划",
    "mix": "混音",
    "import script": "导入剧本",
    "preview sound": "预览声音",
    "voice sample": "试听配音",
    "hand-off": "导出剪辑",
    "identity score": "角色一致性评分",
}

# what the Job column calls a kind (the English words are the translation's keys)
KIND_LABELS = {"import-script": "import script", "preview-mix": "preview sound",
               "voice-sample": "voice sample", "handoff": "hand-off", "score": "identity score"}

POLL_MS = 250
COLUMNS = ("Job", "Shot", "Status", "Progress", "ETA", "Message", "")
STATUS_COLORS = {
    JobStatus.QUEUED: QColor(150, 150, 160),
    JobStatus.RUNNING: QColor(90, 170, 240),
    JobStatus.DONE: QColor(90, 190, 110),
    JobStatus.FAILED: QColor(235, 100, 90),
    JobStatus.CANCELLED: QColor(200, 160, 80),
}
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
_STATUS_RANK = {JobStatus.RUNNING: 0, JobStatus.QUEUED: 1, JobStatus.FAILED: 2,
                JobStatus.CANCELLED: 3, JobStatus.DONE: 4}


def format_eta(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "—"
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class _RateTracker:
    """ETA from the progress rate observed by the dock, else the engine's estimate
    (``engine.jobs.kinds.eta_seconds``, from the job's start)."""

    def __init__(self) -> None:
        self.first: dict[str, tuple[float, float]] = {}  # job id → (time, progress)

    def eta(self, job: Job, now: float) -> float | None:
        if job.status != JobStatus.RUNNING:
            self.first.pop(job.id, None)
            return None
        progress = max(0.0, min(1.0, job.progress))
        t0, p0 = self.first.setdefault(job.id, (now, progress))
        if progress > p0 + 1e-6 and now > t0:
            return (1.0 - progress) * (now - t0) / (progress - p0)
        return eta_seconds(job)  # the engine's estimate: since the job started


class _Relay(QObject):
    read = Signal(object)  # (jobs, labels) or an exception, from the polling thread
    acted = Signal(str, object, object)  # name, result (or the exception), rows read after


class JobsDock(QDockWidget):
    """A dock listing the project's jobs with progress, ETA, cancel and retry."""

    workerStateChanged = Signal(bool)  # running
    jobFinished = Signal(str, str)  # job id, final status
    acted = Signal(str, object)  # cancel / retry / clear done: its name and result

    def __init__(self, store: Any, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Jobs"), parent)
        self.setObjectName("JobsDock")
        self.store = store
        self.worker: Any = None
        self.runner: Any = None  # the window's StudioJobs: runs retried local jobs
        self.show_error: Callable[[str], None] = self._error_dialog
        self._rates = _RateTracker()
        self._row_of: dict[str, int] = {}
        self._order: list[str] = []
        self._last_status: dict[str, JobStatus] = {}
        self._shown: dict[str, tuple[Any, ...]] = {}  # job id → values on screen
        self._shot_labels: dict[str, str] = {}
        self._shot_labels_at = 0.0
        self._watched_window: QWidget | None = None
        self._labels: dict[str, str] = {}
        self._reading = False
        self._relay = _Relay(self)
        self._relay.read.connect(self._on_read)
        self._relay.acted.connect(self._on_acted)
        self._reader = shared_reader()

        body = QWidget(self)
        self.table = QTableWidget(0, len(COLUMNS), body)
        self.table.setHorizontalHeaderLabels([self.tr(c) if c else "" for c in COLUMNS])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        for col, mode in enumerate((QHeaderView.ResizeMode.ResizeToContents,) * 3 + (
                QHeaderView.ResizeMode.Interactive, QHeaderView.ResizeMode.ResizeToContents,
                QHeaderView.ResizeMode.Stretch, QHeaderView.ResizeMode.ResizeToContents)):
            header.setSectionResizeMode(col, mode)
        self.table.setColumnWidth(3, 140)
        self.empty_label = QLabel(self.tr("No jobs yet. Generate a shot to add one."), body)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("color: #9a9ca6; padding: 12px;")
        self.worker_button = QPushButton(self.tr("Start worker"), body)
        self.worker_button.clicked.connect(self._toggle_worker)
        self.worker_label = QLabel(self.tr("Worker: stopped"), body)
        self.summary_label = QLabel(body)
        self.clear_button = QPushButton(self.tr("Clear finished"), body)
        self.clear_button.setToolTip(self.tr("Remove done and cancelled jobs from the list"))
        self.clear_button.clicked.connect(self.clear_finished)
        self.hide_finished = QCheckBox(self.tr("Hide finished"), body)
        self.hide_finished.toggled.connect(lambda _: self._reapply())

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.worker_button)
        bar.addWidget(self.worker_label)
        bar.addSpacing(16)
        bar.addWidget(self.summary_label, 1)
        bar.addWidget(self.hide_finished)
        bar.addWidget(self.clear_button)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_label)
        self.setWidget(body)

        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll_in_background)
        self._timer.start()
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop_worker)
        self._jobs_read: list[Job] = []  # the rows of the last read (shown again on toggles)
        self._poll_in_background()

    def retranslate(self) -> None:
        """Re-read every visible string in the current UI language (live language switch)."""
        self.setWindowTitle(self.tr("Jobs"))
        self.table.setHorizontalHeaderLabels([self.tr(c) if c else "" for c in COLUMNS])
        self.empty_label.setText(self.tr("No jobs yet. Generate a shot to add one."))
        self.clear_button.setText(self.tr("Clear finished"))
        self.clear_button.setToolTip(self.tr("Remove done and cancelled jobs from the list"))
        self.hide_finished.setText(self.tr("Hide finished"))
        self._worker_was = None  # the worker label and button are set again
        self._reapply()  # kinds, statuses and row buttons

    # ------------------------------------------------------------------ jobs
    def jobs(self) -> list[Job]:
        jobs = JobQueue(self.store).jobs()
        return sorted(jobs, key=lambda j: (_STATUS_RANK.get(j.status, 9), j.created_at, j.id))

    def cancel_job(self, job_id: str) -> None:
        """Cancel the job's row (on the background thread; the row shows it at once)."""
        self._act("cancel", lambda: job_ops.cancel_job(self.store, job_id))

    def retry_job(self, job_id: str) -> None:
        """Queue a failed or cancelled job again; a local one runs in the window's runner
        (the worker runs only generation and scores)."""
        self._act("retry", lambda: job_ops.retry_job(self.store, job_id))

    def clear_finished(self) -> None:
        """Delete done and cancelled job rows (failed ones stay, with their reason);
        ``acted("clear", n)`` says how many went."""
        self._act("clear", lambda: job_ops.clear_finished(self.store))

    def _act(self, name: str, action: Callable[[], Any]) -> None:
        """Run a job operation off the UI thread (a busy database never freezes the
        window); the outcome comes back to ``_on_acted``."""
        relay = self._relay

        def work() -> None:
            try:
                result: Any = action()
            except Exception as exc:  # noqa: BLE001 - shown as one sentence
                result = exc
            try:  # the rows as they are now: the table shows the action at once
                jobs = self.jobs()
                rows: Any = (jobs, self._read_labels(jobs))
            except Exception as exc:  # noqa: BLE001 - shown in the summary line
                rows = exc
            try:
                relay.acted.emit(name, result, rows)
            except RuntimeError:  # the dock is gone
                pass

        self._reader.submit(work)

    def _on_acted(self, name: str, result: Any, rows: Any) -> None:
        if isinstance(result, StoryreelError):
            self.show_error(str(result))
        elif isinstance(result, Exception):
            self.show_error(f"{type(result).__name__}: {result}")
        elif (name == "retry" and isinstance(result, Job) and result.kind in LOCAL_KINDS
              and self.runner is not None):
            self.runner.enqueue(result.id)
        if isinstance(rows, Exception):
            self.summary_label.setText(str(rows))
        elif self._timer.isActive():
            self._apply(*rows)
        self.acted.emit(name, result)

    # ------------------------------------------------------------------ worker
    def start_worker(self) -> bool:
        """Start the generation worker process for this project if it is not running."""
        if self.worker_running():
            return True
        try:
            self.worker = WorkerProcess(self.store.root)
            self.worker.start()
        except (StoryreelError, OSError) as exc:
            self.worker = None
            self.show_error(str(exc))
            return False
        self._update_worker_label()
        return True

    def stop_worker(self) -> None:
        if self.worker is not None:
            try:
                self.worker.stop()
            except (StoryreelError, OSError):
                pass
        self._update_worker_label()

    def worker_running(self) -> bool:
        if self.worker is None:
            return False
        try:
            return bool(self.worker.is_alive())
        except (StoryreelError, OSError):
            return False

    def _toggle_worker(self) -> None:
        if self.worker_running():
            self.stop_worker()
        else:
            self.start_worker()

    def _update_worker_label(self) -> None:
        running = self.worker_running()
        if getattr(self, "_worker_was", None) == running:
            return  # nothing changed: no restyling 4 times a second
        self.worker_label.setText(self.tr("Worker: running") if running
                                  else self.tr("Worker: stopped"))
        self.worker_label.setStyleSheet("color: #5ab46e;" if running else "color: #9a9ca6;")
        self.worker_button.setText(self.tr("Stop worker") if running else self.tr("Start worker"))
        self._worker_was = running
        self.workerStateChanged.emit(running)

    # ------------------------------------------------------------------ polling
    def poll(self, force_rebuild: bool = False) -> None:
        """Read the job rows now and update the table in place."""
        try:
            jobs = self.jobs()
            labels = self._read_labels(jobs)
        except StoryreelError as exc:  # e.g. the project was closed under us
            self.summary_label.setText(str(exc))
            return
        self._apply(jobs, labels, force_rebuild)

    def _poll_in_background(self) -> None:
        """The timer's poll: the rows are read on a thread, applied on the UI thread."""
        if self._reading:
            return
        self._reading = True
        relay = self._relay

        def work() -> None:
            try:
                jobs = self.jobs()
                result: Any = (jobs, self._read_labels(jobs))
            except Exception as exc:  # noqa: BLE001 - shown in the summary line
                result = exc
            try:
                relay.read.emit(result)
            except RuntimeError:  # the dock is gone
                pass

        self._reader.submit(work)

    def _on_read(self, result: Any) -> None:
        self._reading = False
        if isinstance(result, Exception):
            self.summary_label.setText(str(result))
            return
        if self._timer.isActive():
            self._apply(*result)

    def _read_labels(self, jobs: list[Job]) -> dict[str, str]:
        """Scene-shot labels ("2-3") of the jobs' shots; re-read at most every 5 s."""
        wanted = {j.shot_id for j in jobs if j.shot_id}
        if wanted - set(self._shot_labels) or time.monotonic() - self._shot_labels_at > 5:
            from engine.model.shot_rules import project_shot_labels

            self._shot_labels = project_shot_labels(self.store)  # "E2 1-3" in a series
            self._shot_labels_at = time.monotonic()
        return self._shot_labels

    def _reapply(self) -> None:
        """Show the last rows read again, rebuilt (a filter or the language changed)."""
        self._apply(self._jobs_read, self._labels, force_rebuild=True)

    def _apply(self, jobs: list[Job], labels: dict[str, str], force_rebuild: bool = False) -> None:
        self._jobs_read = jobs
        self._labels = labels
        for job in jobs:
            before = self._last_status.get(job.id)
            if before is not None and before != job.status and job.status not in ACTIVE:
                self.jobFinished.emit(job.id, str(job.status))
            self._last_status[job.id] = job.status
        if self.hide_finished.isChecked():
            jobs = [j for j in jobs if j.status in ACTIVE]
        order = [j.id for j in jobs]
        if force_rebuild or order != self._order:
            self._rebuild(jobs)
        now = time.monotonic()
        for job in jobs:
            self._update_row(self._row_of[job.id], job, now)
        queued = sum(1 for j in jobs if j.status == JobStatus.QUEUED)
        running = sum(1 for j in jobs if j.status == JobStatus.RUNNING)
        self.summary_label.setText(self.tr("{n} queued · {m} running").format(n=queued, m=running))
        self.empty_label.setVisible(not jobs)
        self._update_worker_label()

    def _shot_label(self, job: Job) -> str:
        """The shot a job is for; else what it works on: an episode, the film, the script."""
        if job.shot_id:
            return self._labels.get(job.shot_id, job.shot_id[:8])
        episode = job.params.get("episode")
        if isinstance(episode, int) and not isinstance(episode, bool):
            return self.tr("Episode {number}").format(number=episode)
        if job.kind in ("plan", "import-script"):
            return self.tr("the script")
        if job.kind in ("export", "mix", "preview-mix", "handoff", "voice"):
            return self.tr("the film")
        return "—"

    def _rebuild(self, jobs: list[Job]) -> None:
        self.table.setRowCount(0)
        self.table.setRowCount(len(jobs))
        self._row_of = {}
        self._shown = {}
        self._order = [j.id for j in jobs]
        for row, job in enumerate(jobs):
            self._row_of[job.id] = row
            for col in (0, 1, 2, 4, 5):
                self.table.setItem(row, col, QTableWidgetItem())
            self.table.item(row, 0).setText(self.tr(KIND_LABELS.get(job.kind, job.kind)))
            self.table.item(row, 1).setText(self._shot_label(job))
            bar = QProgressBar(self.table)
            bar.setRange(0, 1000)
            bar.setTextVisible(True)
            bar.setFormat("%p%")
            self.table.setCellWidget(row, 3, bar)
            actions = QWidget(self.table)
            box = QHBoxLayout(actions)
            box.setContentsMargins(2, 0, 2, 0)
            box.setSpacing(4)
            cancel = QPushButton(self.tr("Cancel"), actions)
            cancel.setObjectName("cancel")
            cancel.clicked.connect(lambda _=False, jid=job.id: self.cancel_job(jid))
            retry = QPushButton(self.tr("Retry"), actions)
            retry.setObjectName("retry")
            retry.clicked.connect(lambda _=False, jid=job.id: self.retry_job(jid))
            box.addWidget(cancel)
            box.addWidget(retry)
            self.table.setCellWidget(row, 6, actions)
        self.table.resizeRowsToContents()

    def _update_row(self, row: int, job: Job, now: float) -> None:
        shown = (job.status, job.progress, job.message, job.error)
        eta = format_eta(self._rates.eta(job, now))
        if self._shown.get(job.id) == shown:
            self._set_text(self.table.item(row, 4), eta)
            return  # only the ETA can change without a new row value
        self._shown[job.id] = shown
        status = self.table.item(row, 2)
        status.setText(self.tr(str(job.status)))
        status.setForeground(STATUS_COLORS.get(job.status, QColor(200, 200, 200)))
        bar = self.table.cellWidget(row, 3)
        if isinstance(bar, QProgressBar):
            value = 1000 if job.status == JobStatus.DONE else int(round(job.progress * 1000))
            if bar.value() != value:
                bar.setValue(value)
        self._set_text(self.table.item(row, 4), eta)
        message = self.table.item(row, 5)
        if job.status == JobStatus.FAILED and job.error:
            message.setText(job.error)
            message.setForeground(STATUS_COLORS[JobStatus.FAILED])
        else:
            message.setText(tr_engine(job.message))
            message.setData(Qt.ItemDataRole.ForegroundRole, None)  # the palette's colour
        message.setToolTip(job.error or job.message)
        actions = self.table.cellWidget(row, 6)
        if actions is not None:
            actions.findChild(QPushButton, "cancel").setEnabled(job.status in ACTIVE)
            actions.findChild(QPushButton, "retry").setEnabled(
                job.status in (JobStatus.FAILED, JobStatus.CANCELLED))

    @staticmethod
    def _set_text(item: QTableWidgetItem, text: str) -> None:
        if item.text() != text:
            item.setText(text)

    def row_values(self, job_id: str) -> dict[str, Any]:
        """What the table shows for one job (for tests and accessibility)."""
        row = self._row_of[job_id]
        bar = self.table.cellWidget(row, 3)
        return {
            "kind": self.table.item(row, 0).text(),
            "shot": self.table.item(row, 1).text(),
            "status": self.table.item(row, 2).text(),
            "progress": bar.value() / 1000 if isinstance(bar, QProgressBar) else 0.0,
            "eta": self.table.item(row, 4).text(),
            "message": self.table.item(row, 5).text(),
        }

    def button(self, job_id: str, name: str) -> QPushButton:
        """The Cancel ("cancel") or Retry ("retry") button of a job's row."""
        return self.table.cellWidget(self._row_of[job_id], 6).findChild(QPushButton, name)

    # ------------------------------------------------------------------ lifetime
    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        window = self.window()
        if window is not self and window is not self._watched_window:
            window.installEventFilter(self)
            self._watched_window = window

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if obj is self._watched_window and event.type() == QEvent.Type.Close:
            self.shutdown()
        return False

    def shutdown(self) -> None:
        """Stop polling and the worker (the main window calls this when it closes)."""
        self._timer.stop()
        self.stop_worker()

    def _error_dialog(self, message: str) -> None:
        QMessageBox.warning(self, self.tr("Jobs"), message)
