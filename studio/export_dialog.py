"""Export dialog: preset, output file, subtitle/sidecar/AIGC-label options, progress.

``engine.render.export.export_film`` runs on the global QThreadPool with the engine's
Progress and CancelToken; progress and the outcome come back as queued Qt signals, so the
UI never blocks and no widget is touched from the pool thread. A cancelled or failed
export leaves no file behind (the engine writes OUT.part-XXXX and renames on success).
"""

from __future__ import annotations

import importlib
import re
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
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

from engine.errors import Cancelled, StoryreelError
from engine.jobs.progress import CancelToken, Eta
from engine.model import Aspect, Language
from studio.jobs_dock import format_eta

ZH = {
    "Export film": "导出影片",
    "Preset": "预设",
    "Output file": "输出文件",
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
    "Cancel": "取消",
    "Close": "关闭",
    "Ready.": "就绪。",
    "Exporting…": "正在导出…",
    "Cancelling…": "正在取消…",
    "Export cancelled; no file was written.": "导出已取消；未写入任何文件。",
    "Export finished.": "导出完成。",
    "{percent}% · about {eta} left": "{percent}% · 约剩 {eta}",
    "Choose where to save the film.": "请选择影片的保存位置。",
    "Export is not available yet.": "导出功能暂不可用。",
    "Export failed": "导出失败",
    "Videos (*.mp4 *.mov *.mkv)": "视频 (*.mp4 *.mov *.mkv)",
}

FALLBACK_PRESETS = ("douyin", "kuaishou", "bilibili", "youtube", "square", "draft")
LABEL_CHOICES = (
    ("both", "Visible mark and metadata"),
    ("visible", "Visible mark only"),
    ("metadata", "Metadata only"),
    ("none", "No label"),
)


def _export_module() -> Any | None:
    try:
        return importlib.import_module("engine.render.export")
    except ImportError:
        return None


def preset_choices() -> list[tuple[str, str]]:
    """(name, description) of every export preset the engine offers."""
    try:
        presets = importlib.import_module("engine.render.presets").PRESETS
    except (ImportError, AttributeError):
        return [(name, "") for name in FALLBACK_PRESETS]
    return [(name, getattr(p, "description", "")) for name, p in presets.items()]


def default_preset(project: Any) -> str:
    aspect = project.aspect
    if aspect == Aspect.PORTRAIT:
        return "douyin"
    if aspect == Aspect.SQUARE:
        return "square"
    return "bilibili" if project.language == Language.CHINESE else "youtube"


def _safe_name(title: str) -> str:
    cleaned = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", title).strip(" .")
    return cleaned or "film"


class _ExportSignals(QObject):
    progress = Signal(float, str)
    succeeded = Signal(object)  # ExportReport
    failed = Signal(str)
    cancelled = Signal()


class _ExportTask(QRunnable):
    def __init__(self, fn: Callable[..., Any], kwargs: dict[str, Any]) -> None:
        super().__init__()
        self.setAutoDelete(False)  # Python owns it; see _KEEP
        self.done = False
        self.fn = fn
        self.kwargs = kwargs
        self.token = CancelToken()
        self.signals = _ExportSignals()

    def run(self) -> None:  # on a pool thread: no widgets here
        try:
            report = self.fn(progress=self._progress, cancel=self.token, **self.kwargs)
        except Cancelled:
            self.signals.cancelled.emit()
        except StoryreelError as exc:
            self.signals.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug must reach the user as a dialog
            traceback.print_exc()
            self.signals.failed.emit(f"Export failed: {type(exc).__name__}: {exc}")
        else:  # finished before it saw a late cancel: the film is complete, keep it
            self.signals.succeeded.emit(report)
        finally:
            self.done = True

    def _progress(self, fraction: float, message: str = "") -> None:
        self.signals.progress.emit(float(fraction), str(message))


# Tasks stay referenced until well after run() returned (pruned when the next one starts),
# so a closed dialog never frees a runnable the pool thread is still leaving.
_KEEP: list[_ExportTask] = []


class ExportDialog(QDialog):
    """Choose a preset and options, export on the thread pool, show progress and result."""

    finished = Signal(str)  # the output path, after a successful export
    failed = Signal(str)  # the engine's sentence
    cancelled = Signal()

    def __init__(self, store: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setWindowTitle(self.tr("Export film"))
        self.setMinimumWidth(560)
        self.show_error: Callable[[str], None] = self._error_dialog
        self.choose_path: Callable[[str], str] = self._file_dialog
        self.report: Any = None
        self.output_path: Path | None = None
        self._task: _ExportTask | None = None
        self._signals: _ExportSignals | None = None
        self._eta = Eta()
        self._pool = QThreadPool.globalInstance()
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

        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse_button)
        form = QFormLayout()
        form.addRow(self.tr("Preset"), self.preset_combo)
        form.addRow(self.tr("Output file"), path_row)
        form.addRow("", self.burn_check)
        form.addRow("", self.srt_check)
        form.addRow("", self.otio_check)
        form.addRow(self.tr("AI-content label"), self.label_combo)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status_label, 1)
        status_row.addWidget(self.eta_label)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addSpacing(6)
        layout.addWidget(self.progress_bar)
        layout.addLayout(status_row)
        layout.addWidget(self.result_label)
        layout.addLayout(buttons)
        self._inputs = [self.preset_combo, self.path_edit, self.browse_button, self.burn_check,
                        self.srt_check, self.otio_check, self.label_combo]

    # ------------------------------------------------------------------ public API
    @property
    def running(self) -> bool:
        return self._task is not None

    def options(self) -> dict[str, Any]:
        """The export_film keyword arguments the dialog's controls stand for."""
        return {
            "preset": self.preset_combo.currentData(),
            "srt": self.srt_check.isChecked(),
            "otio": self.otio_check.isChecked(),
            "burn_subtitles": self.burn_check.isChecked(),
            "aigc_label": self.label_combo.currentData(),
        }

    def set_preset(self, name: str) -> None:
        index = self.preset_combo.findData(name)
        if index < 0:
            raise StoryreelError(f"Unknown export preset {name!r}.")
        self.preset_combo.setCurrentIndex(index)

    def start_export(self, path: str | Path | None = None) -> bool:
        """Start exporting to ``path`` (or the path field). False if it could not start."""
        if self.running:
            return False
        module = _export_module()
        if module is None or not hasattr(module, "export_film"):
            self._fail(self.tr("Export is not available yet."))
            return False
        if path is not None:
            self.path_edit.setText(str(path))
        text = self.path_edit.text().strip()
        if not text:
            self._fail(self.tr("Choose where to save the film."))
            return False
        out = Path(text).expanduser()
        self.output_path = out
        self.report = None
        task = _ExportTask(module.export_film, {"store": self.store, "out_path": out,
                                                **self.options()})
        task.signals.progress.connect(self._on_progress)
        task.signals.succeeded.connect(self._on_succeeded)
        task.signals.failed.connect(self._on_failed)
        task.signals.cancelled.connect(self._on_cancelled)
        self._task = task
        self._signals = task.signals  # keep the QObject alive until the outcome arrives
        self._eta = Eta()
        self._set_busy(True)
        self.progress_bar.setValue(0)
        self.status_label.setText(self.tr("Exporting…"))
        self.eta_label.setText("")
        self.result_label.setText("")
        self._started = time.monotonic()
        _KEEP[:] = [t for t in _KEEP if not t.done]
        _KEEP.append(task)
        self._pool.start(task)
        return True

    def cancel_export(self) -> None:
        if self._task is not None:
            self._task.token.cancel()
            self.cancel_button.setEnabled(False)
            self.status_label.setText(self.tr("Cancelling…"))

    # ------------------------------------------------------------------ outcome
    def _on_progress(self, fraction: float, message: str) -> None:
        if self._task is None:
            return
        self._eta.update(fraction)
        self.progress_bar.setValue(int(round(max(0.0, min(1.0, fraction)) * 1000)))
        if message:
            self.status_label.setText(message)
        eta = self._eta.seconds
        if eta is not None:
            self.eta_label.setText(self.tr("{percent}% · about {eta} left").format(
                percent=int(fraction * 100), eta=format_eta(eta)))

    def _on_succeeded(self, report: Any) -> None:
        self._done()
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

    def reject(self) -> None:
        """Close (or Escape): a running export is cancelled first."""
        if self.running:
            self.cancel_export()
        super().reject()


def _selectable() -> Any:
    from PySide6.QtCore import Qt

    return Qt.TextInteractionFlag.TextSelectableByMouse
