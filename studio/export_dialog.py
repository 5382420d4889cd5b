"""Export dialog: preset, output file, subtitle/sidecar/AIGC-label options, progress.

The export runs as a task on the global QThreadPool with the engine's Progress and
CancelToken; progress and the outcome come back as queued Qt signals, so the UI never
blocks and no widget is touched from the pool thread. By default the pool task runs
``engine.render.export.export_film`` in a child process (``python -m
studio.export_dialog``, JSON lines on stdout, "cancel" on stdin): mixing, subtitle
rendering and first-time imports hold Python's GIL for up to a few hundred milliseconds,
which would stall the UI if they ran in this process. ``ExportDialog.in_process = True``
runs it on the pool thread itself. A cancelled or failed export leaves no file behind
(the engine writes OUT.part-XXXX and renames it only when complete).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

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
from engine.jobs.progress import CancelToken, Eta, Progress, no_progress
from engine.model import Aspect, Language
from engine.render import export
from engine.render.presets import PRESETS
from studio.handoff_dialog import HandoffDialog
from studio.i18n import tr_engine
from studio.jobs_dock import format_eta

ZH = {
    "Approved takes that drifted from the cast's reference images (exported as they are):":
        "已通过但与角色参考图不一致的版本（将按原样导出）：",
    "Storyreel cannot write to the folder {folder}; choose another place for the film.":
        "Storyreel 无法写入文件夹 {folder}，请为影片另选位置。",
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


PROGRESS_EVERY = 0.04  # seconds between progress lines from the child


def export_in_subprocess(
    store: Any, out_path: Path | str, progress: Progress = no_progress,
    cancel: CancelToken | None = None, **options: Any,
) -> ExportResult:
    """``export_film(store, out_path, **options)`` in a child process (blocks the caller).

    Progress arrives as JSON lines; cancelling the token tells the child to stop (it
    removes its partial file). Raises Cancelled or StoryreelError like export_film."""
    cancel = cancel or CancelToken()
    request = {"project": str(store.root), "out": str(Path(out_path)), "options": options}
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    log_path = store.cache_dir / "export.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "studio.export_dialog", json.dumps(request)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env,
            text=True, encoding="utf-8", bufsize=1,
        )
    assert proc.stdin is not None and proc.stdout is not None

    def forward_cancel() -> None:
        while proc.poll() is None:
            if cancel.cancelled:
                try:
                    proc.stdin.write("cancel\n")  # type: ignore[union-attr]
                    proc.stdin.flush()  # type: ignore[union-attr]
                except (OSError, ValueError):
                    pass
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=forward_cancel, name="storyreel-export-cancel",
                               daemon=True)
    watcher.start()
    outcome: dict[str, Any] | None = None
    for line in proc.stdout:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if not isinstance(message, dict):
            continue
        if message.get("event") == "progress":
            progress(float(message.get("fraction", 0.0)), str(message.get("message", "")))
        else:
            outcome = message
    code = proc.wait()
    try:
        proc.stdin.close()
    except OSError:
        pass
    watcher.join(timeout=1.0)
    event = outcome.get("event") if outcome else None
    if event == "done":
        data = dict(outcome.get("report") or {})  # type: ignore[union-attr]
        return ExportResult(
            path=Path(data.get("path") or out_path),
            srt=Path(data["srt"]) if data.get("srt") else None,
            otio=Path(data["otio"]) if data.get("otio") else None, data=data,
        )
    if event == "cancelled":
        raise Cancelled("Export cancelled.")
    if event == "error":
        raise StoryreelError(str(outcome.get("message")))  # type: ignore[union-attr]
    raise StoryreelError(
        f"The export process stopped unexpectedly (exit code {code}); see {log_path}.")


def _child_main(argv: list[str]) -> int:
    """Entry point of the export child process: one export, JSON lines on stdout."""
    request = json.loads(argv[0])
    if hasattr(os, "nice"):
        os.nice(5)  # the encoder may use every core: the studio's UI comes first
    proto: TextIO = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # anything else printed (by C libraries too) goes to the log
    sys.stdout = sys.stderr
    token = CancelToken()

    def send(message: dict[str, Any]) -> None:
        proto.write(json.dumps(message, ensure_ascii=False) + "\n")
        proto.flush()

    def watch_stdin() -> None:
        for line in sys.stdin:
            if line.strip() == "cancel":
                break
        token.cancel()  # "cancel", or the parent went away (EOF)

    threading.Thread(target=watch_stdin, daemon=True).start()
    last = [0.0, ""]

    def progress(fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY or message != last[1] or fraction >= 1.0:
            last[0], last[1] = now, message
            send({"event": "progress", "fraction": float(fraction), "message": message})

    try:
        from engine.render.export import export_film
        from engine.store import ProjectStore

        token.check()  # cancelled while this process was starting
        store = ProjectStore.open(request["project"])
        try:
            report = export_film(store, Path(request["out"]), progress=progress, cancel=token,
                                 **request["options"])
        finally:
            store.close()
    except Cancelled:
        send({"event": "cancelled"})
        return 0
    except StoryreelError as exc:
        send({"event": "error", "message": str(exc)})
        return 2
    except Exception as exc:  # noqa: BLE001 - reported to the dialog as one sentence
        traceback.print_exc()
        send({"event": "error", "message": f"Export failed: {type(exc).__name__}: {exc}"})
        return 1
    send({"event": "done", "report": report.to_dict()})
    return 0


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
        self.in_process = False  # True: export on the pool thread instead of a child process
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
        self._inputs = [self.preset_combo, self.path_edit, self.browse_button, self.burn_check,
                        self.srt_check, self.otio_check, self.label_combo, self.c2pa_check]

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
        return options

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
        fn = export.export_film if self.in_process else export_in_subprocess
        task = _ExportTask(fn, {"store": self.store, "out_path": out, **self.options()})
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
            self.status_label.setText(tr_engine(message))
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


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
