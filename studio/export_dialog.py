"""Export dialog: preset, output file, subtitle/sidecar/AIGC-label options, progress.

The export is an ``export`` job row run by the window's one local runner
(``studio.job_runner``): the jobs dock lists it with its progress and ETA and can cancel
it, and the dialog follows the same job (progress, Cancel, the report) through the
runner's signals on the UI thread. By default the job exports in a child process
(``engine.render.export_process``): mixing, subtitle rendering and first-time imports
hold Python's GIL for up to a few hundred milliseconds, which would stall the UI if they
ran in this process; ``ExportDialog.in_process = True`` runs it on the runner's thread.
A cancelled or failed export leaves no file behind (the engine writes OUT.part-XXXX and
renames it only when complete).
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.errors import StoryreelError
from engine.jobs.kinds import EXPORT
from engine.jobs.progress import Eta
from engine.model import Aspect, Job, Language
from engine.render.presets import PRESETS
from studio.handoff_dialog import HandoffDialog
from studio.i18n import tr_engine
from studio.job_runner import JobTicket, StudioJobs, jobs_of
from studio.jobs_dock import format_eta

ZH = {
    "Approved takes that drifted from the cast's reference images (exported as they are):":
        "已通过但与角色参考图不一致的版本（将按原样导出）：",
    "Storyreel cannot write to the folder {folder}; choose another place for the film.":
        "Storyreel 无法写入文件夹 {folder}，请为影片另选位置。",
    "Export film": "导出影片",
    "Preset": "预设",
    "Output file": "输出文件",
    "Episode": "集",
    "The whole series": "整部剧",
    "Episode {number}: {title}": "第 {number} 集：{title}",
    "Episode {number}": "第 {number} 集",
    "Choose…": "选择…",
    "Burn subtitles into the picture": "将字幕烧录进画面",
    "Write an SRT subtitle file": "另存 SRT 字幕文件",
    "Write an OTIO timeline (for Resolve, Premiere, Kdenlive)":
        "另存 OTIO 时间线（用于 Resolve、Premiere、Kdenlive）",
    "AI-content label": "AI 生成标识",
    "Visible mark and metadata": "可见标识和元数据",
    "Visible mark only": "仅可见标识",
    "Metadata only": "仅元数据",
    "No label": "不加标识",
    "Export": "导出",
    "Hand off to another editor…": "交给其他剪辑软件…",
    "Sign with C2PA content credentials": "用 C2PA 内容凭证签名",
    "Cancel": "取消",
    "Close": "关闭",
    "Ready.": "就绪。",
    "Exporting…": "正在导出…",
    "Cancelling…": "正在取消…",
    "Export cancelled; no file was written.": "导出已取消；未写入任何文件。",
    "Export finished.": "导出完成。",
    "{percent}% · about {eta} left": "{percent}% · 约剩 {eta}",
    "Choose where to save the film.": "请选择影片的保存位置。",
    "Export failed": "导出失败",
    "Videos (*.mp4 *.mov *.mkv)": "视频 (*.mp4 *.mov *.mkv)",
}

LABEL_CHOICES = (
    ("both", "Visible mark and metadata"),
    ("visible", "Visible mark only"),
    ("metadata", "Metadata only"),
    ("none", "No label"),
)


def preset_choices() -> list[tuple[str, str]]:
    """(name, description) of every export preset the engine offers."""
    return [(name, preset.description) for name, preset in PRESETS.items()]


def default_preset(project: Any) -> str:
    aspect = project.aspect
    if aspect == Aspect.PORTRAIT:
        return "douyin"
    if aspect == Aspect.SQUARE:
        return "square"
    return "bilibili" if project.language == Language.CHINESE else "youtube"


def unwritable_folder(out: Path) -> Path | None:
    """The existing folder of ``out`` when no file can be created in it, else None.

    Checked by creating (and removing) a temporary file there, before minutes of encoding
    would end in an error; a missing folder is left to the engine's own sentence.
    """
    folder = out.parent
    if not folder.is_dir():
        return None
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".storyreel-probe-"):
            pass
    except OSError:
        return folder
    return None


def _safe_name(title: str) -> str:
    cleaned = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", title).strip(" .")
    return cleaned or "film"


@dataclass
class ExportResult:
    """What a finished export wrote (the engine's ExportReport.to_dict() in ``data``)."""

    path: Path
    srt: Path | None = None
    otio: Path | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_report(cls, data: dict[str, Any], out: Path) -> ExportResult:
        """From an export job's report (``ExportReport.to_dict()``)."""
        return cls(path=Path(data.get("path") or out),
                   srt=Path(data["srt"]) if data.get("srt") else None,
                   otio=Path(data["otio"]) if data.get("otio") else None, data=dict(data))


class ExportDialog(QDialog):
    """Choose a preset and options, export as a job, show its progress and result."""

    finished = Signal(str)  # the output path, after a successful export
    failed = Signal(str)  # the engine's sentence
    cancelled = Signal()

    def __init__(self, store: Any, parent: QWidget | None = None, *,
                 jobs: StudioJobs | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.jobs = jobs  # the window's runner (else the parent window's, else our own)
        self.setWindowTitle(self.tr("Export film"))
        self.setMinimumWidth(560)
        self.show_error: Callable[[str], None] = self._error_dialog
        self.choose_path: Callable[[str], str] = self._file_dialog
        self.report: Any = None
        self.output_path: Path | None = None
        self._task: JobTicket | None = None
        self.last_job: JobTicket | None = None
        self._eta = Eta()
        self.in_process = False  # True: export on the runner's thread, not a child process
        project = store.project

        self.preset_combo = QComboBox(self)
        for name, description in preset_choices():
            self.preset_combo.addItem(f"{name} — {description}" if description else name, name)
        index = self.preset_combo.findData(default_preset(project))
        self.preset_combo.setCurrentIndex(max(0, index))
        self.path_edit = QLineEdit(self)
        self.path_edit.setText(str(store.root.parent / f"{_safe_name(project.title)}.mp4"))
        self.browse_button = QPushButton(self.tr("Choose…"), self)
        self.browse_button.clicked.connect(self._browse)
        self.burn_check = QCheckBox(self.tr("Burn subtitles into the picture"), self)
        self.burn_check.setChecked(True)
        self.srt_check = QCheckBox(self.tr("Write an SRT subtitle file"), self)
        self.otio_check = QCheckBox(
            self.tr("Write an OTIO timeline (for Resolve, Premiere, Kdenlive)"), self)
        self.c2pa_check = QCheckBox(self.tr("Sign with C2PA content credentials"), self)
        # a series exports one episode (as `export --episode N`) or the whole of it
        self.episode_combo = QComboBox(self)
        self.episode_combo.addItem(self.tr("The whole series"), None)
        for episode in store.episodes():
            text = (self.tr("Episode {number}: {title}") if episode.title
                    else self.tr("Episode {number}"))
            self.episode_combo.addItem(text.format(number=episode.number,
                                                   title=episode.title), episode.number)
        self.episode_combo.currentIndexChanged.connect(self._suggest_name)
        self.label_combo = QComboBox(self)
        for value, text in LABEL_CHOICES:
            self.label_combo.addItem(self.tr(text), value)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.status_label = QLabel(self.tr("Ready."), self)
        self.status_label.setWordWrap(True)
        self.eta_label = QLabel(self)
        self.result_label = QLabel(self)
        self.result_label.setWordWrap(True)
        self.drift_label = QLabel(self)  # approved takes that drifted (identity scores)
        self.drift_label.setWordWrap(True)
        self.drift_label.setStyleSheet("color: #f87171;")
        self._show_drift(store)
        self.result_label.setTextInteractionFlags(
            self.result_label.textInteractionFlags() | _selectable())
        self.export_button = QPushButton(self.tr("Export"), self)
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(lambda: self.start_export())
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        self.cancel_button.clicked.connect(self.cancel_export)
        self.cancel_button.setEnabled(False)
        self.close_button = QPushButton(self.tr("Close"), self)
        self.close_button.clicked.connect(self.reject)
        # the edit for 剪映, Premiere, Resolve, Final Cut: next to the film
        self.handoff_button = QPushButton(self.tr("Hand off to another editor…"), self)
        self.handoff_button.clicked.connect(self.open_handoff)

        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse_button)
        form = QFormLayout()
        form.addRow(self.tr("Preset"), self.preset_combo)
        if len(store.episodes()) > 1:
            form.addRow(self.tr("Episode"), self.episode_combo)
        else:
            self.episode_combo.hide()
        form.addRow(self.tr("Output file"), path_row)
        form.addRow("", self.burn_check)
        form.addRow("", self.srt_check)
        form.addRow("", self.otio_check)
        form.addRow(self.tr("AI-content label"), self.label_combo)
        form.addRow("", self.c2pa_check)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status_label, 1)
        status_row.addWidget(self.eta_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.handoff_button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.drift_label)
        layout.addSpacing(6)
        layout.addWidget(self.progress_bar)
        layout.addLayout(status_row)
        layout.addWidget(self.result_label)
        layout.addLayout(buttons)
        self._inputs = [self.preset_combo, self.episode_combo, self.path_edit,
                        self.browse_button, self.burn_check, self.srt_check, self.otio_check,
                        self.label_combo, self.c2pa_check]

    def _show_drift(self, store: Any) -> None:
        from engine.errors import StoryreelError
        from engine.generate.identity import drift_warnings

        try:
            warnings = drift_warnings(store) if store is not None else []
        except StoryreelError:
            warnings = []
        self.drift_label.setVisible(bool(warnings))
        self.drift_label.setText("\n".join(
            [self.tr("Approved takes that drifted from the cast's reference images "
                     "(exported as they are):")] + ["• " + w for w in warnings]))

    # ------------------------------------------------------------------ public API
    @property
    def running(self) -> bool:
        return self._task is not None

    def options(self) -> dict[str, Any]:
        """The export_film keyword arguments the dialog's controls stand for."""
        options = {
            "preset": self.preset_combo.currentData(),
            "srt": self.srt_check.isChecked(),
            "otio": self.otio_check.isChecked(),
            "burn_subtitles": self.burn_check.isChecked(),
            "aigc_label": self.label_combo.currentData(),
        }
        if self.c2pa_check.isChecked():
            options["c2pa"] = True  # signed with the local identity (engine.interchange)
        if self.episode_combo.currentData() is not None:
            options["episode"] = int(self.episode_combo.currentData())
        return options

    def _suggest_name(self, _index: int = 0) -> None:
        """An episode's film is named like `export --all-episodes` names it (E01_TITLE.mp4),
        next to where the film was going."""
        from engine.render.episodes import episode_file_name

        number = self.episode_combo.currentData()
        folder = Path(self.path_edit.text().strip() or str(self.store.root.parent)).parent
        if number is None:
            name = f"{_safe_name(self.store.project.title)}.mp4"
        else:
            episode = next(e for e in self.store.episodes() if e.number == number)
            name = episode_file_name(episode.number, episode.title)
        self.path_edit.setText(str(folder / name))

    def set_preset(self, name: str) -> None:
        index = self.preset_combo.findData(name)
        if index < 0:
            raise StoryreelError(f"Unknown export preset {name!r}.")
        self.preset_combo.setCurrentIndex(index)

    def start_export(self, path: str | Path | None = None) -> bool:
        """Start exporting to ``path`` (or the path field). False if it could not start."""
        if self.running:
            return False
        if path is not None:
            self.path_edit.setText(str(path))
        text = self.path_edit.text().strip()
        if not text:
            self._fail(self.tr("Choose where to save the film."))
            return False
        out = Path(text).expanduser()
        unwritable = unwritable_folder(out)
        if unwritable is not None:
            self._fail(self.tr("Storyreel cannot write to the folder {folder}; choose another "
                               "place for the film.").format(folder=unwritable))
            return False
        self.output_path = out
        self.report = None
        params = {"out_path": str(out), **self.options(), "isolated": not self.in_process}
        self._eta = Eta()
        self._set_busy(True)
        self.progress_bar.setValue(0)
        self.status_label.setText(self.tr("Exporting…"))
        self.eta_label.setText("")
        self.result_label.setText("")
        self._started = time.monotonic()
        self._task = jobs_of(self, self.store).submit(
            EXPORT, params, label="export", done=self._on_succeeded, failed=self._on_failed,
            cancelled=self._on_cancelled, progress=self._on_job_progress)
        self.last_job = self._task
        return True

    @property
    def job_id(self) -> str | None:
        """The row of the running (else the last) export job, once written."""
        return self.last_job.job_id if self.last_job is not None else None

    def cancel_export(self) -> None:
        """Cancel the export job (as the jobs dock's Cancel does)."""
        if self._task is not None:
            self._task.cancel()
            self.cancel_button.setEnabled(False)
            self.status_label.setText(self.tr("Cancelling…"))

    # ------------------------------------------------------------------ outcome
    def _on_job_progress(self, job: Job) -> None:
        self._on_progress(float(job.progress), job.message)

    def _on_progress(self, fraction: float, message: str) -> None:
        if self._task is None:
            return
        self._eta.update(fraction)
        self.progress_bar.setValue(int(round(max(0.0, min(1.0, fraction)) * 1000)))
        if message:
            self.status_label.setText(tr_engine(message))
        eta = self._eta.seconds
        if eta is not None:
            self.eta_label.setText(self.tr("{percent}% · about {eta} left").format(
                percent=int(fraction * 100), eta=format_eta(eta)))

    def _on_succeeded(self, result: dict[str, Any]) -> None:
        self._done()
        report = ExportResult.from_report(dict(result.get("report") or {}),
                                          self.output_path or Path(result["out_path"]))
        self.report = report
        path = str(getattr(report, "path", self.output_path))
        self.progress_bar.setValue(1000)
        self.eta_label.setText("")
        self.status_label.setText(self.tr("Export finished."))
        extras = [str(p) for p in (getattr(report, "srt", None), getattr(report, "otio", None))
                  if p]
        self.result_label.setText("\n".join([path, *extras]))
        self.finished.emit(path)

    def _on_failed(self, message: str) -> None:
        self._done()
        self.status_label.setText(self.tr("Export failed"))
        self._fail(message)

    def _on_cancelled(self) -> None:
        self._done()
        self.progress_bar.setValue(0)
        self.eta_label.setText("")
        self.status_label.setText(self.tr("Export cancelled; no file was written."))
        self.cancelled.emit()

    def _done(self) -> None:
        self._task = None
        self._set_busy(False)

    def _fail(self, message: str) -> None:
        self.failed.emit(message)
        self.show_error(message)

    # ------------------------------------------------------------------ helpers
    def _set_busy(self, busy: bool) -> None:
        for widget in self._inputs:
            widget.setEnabled(not busy)
        self.export_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def _browse(self) -> None:
        chosen = self.choose_path(self.path_edit.text())
        if chosen:
            if not Path(chosen).suffix:
                chosen += ".mp4"
            self.path_edit.setText(chosen)

    def _file_dialog(self, current: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export film"), current,
                                              self.tr("Videos (*.mp4 *.mov *.mkv)"))
        return path

    def _error_dialog(self, message: str) -> None:
        QMessageBox.warning(self, self.tr("Export failed"), message)

    def open_handoff(self) -> Any:
        self.handoff_dialog = HandoffDialog(self.store, self)
        self.handoff_dialog.show()
        return self.handoff_dialog

    def reject(self) -> None:
        """Close (or Escape): a running export is cancelled first."""
        if self.running:
            self.cancel_export()
        super().reject()


def _selectable() -> Any:
    from PySide6.QtCore import Qt

    return Qt.TextInteractionFlag.TextSelectableByMouse

