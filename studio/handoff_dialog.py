"""Hand-off dialog: the edit to 剪映, Premiere, Resolve or Final Cut, and the edit back.

Opened from the export dialog, next to the film. Writing the hand-off (and copying media
for a bundle) is a ``handoff`` job row run by the window's one local runner
(``studio.job_runner``): the jobs dock shows and can cancel it, the outcome comes back
here on the UI thread, and a cancelled or failed hand-off leaves no folder behind. Importing an
edit is one engine operation (``engine.ops.edit_import``): the changes are listed and one
undo takes them back.
"""

from __future__ import annotations

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
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.errors import StoryreelError
from engine.interchange.handoff import FORMATS, safe_name
from engine.jobs.kinds import HANDOFF
from studio.job_runner import JobTicket, jobs_of

TARGETS = (
    ("jianying", "剪映 draft (JianYing; no CapCut variant)"),
    ("xmeml", "Premiere Pro / DaVinci Resolve (FCP7 XML)"),
    ("fcpxml", "Final Cut Pro (FCPXML)"),
    ("edl", "Any editor (CMX 3600 EDL, picture only)"),
    ("otio", "OpenTimelineIO (everything)"),
)

ZH = {
    "Hand off to another editor": "交给其他剪辑软件",
    "Hand off to another editor…": "交给其他剪辑软件…",
    "Editor": "剪辑软件",
    "剪映 draft (JianYing; no CapCut variant)": "剪映草稿（剪映；不含 CapCut 版本）",
    "Episode": "集",
    "The whole series": "整部剧",
    "Episode {number}: {title}": "第 {number} 集：{title}",
    "Episode {number}": "第 {number} 集",
    "Premiere Pro / DaVinci Resolve (FCP7 XML)": "Premiere Pro / DaVinci Resolve（FCP7 XML）",
    "Final Cut Pro (FCPXML)": "Final Cut Pro（FCPXML）",
    "Any editor (CMX 3600 EDL, picture only)": "任意剪辑软件（CMX 3600 EDL，仅画面）",
    "OpenTimelineIO (everything)": "OpenTimelineIO（完整信息）",
    "Folder": "文件夹",
    "Choose…": "选择…",
    "Copy the media next to the edit (the folder can move)":
        "将素材复制到剪辑文件旁（文件夹可整体移动）",
    "Hand off": "导出剪辑",
    "Import an edit…": "导入剪辑…",
    "Close": "关闭",
    "Cancel": "取消",
    "Hand-off cancelled; nothing was written.": "已取消导出剪辑；未写入任何内容。",
    "Ready.": "就绪。",
    "Writing…": "正在写入…",
    "Wrote {path}.": "已写入 {path}。",
    "Hand-off failed": "导出剪辑失败",
    "Import failed": "导入剪辑失败",
    "Choose a folder for the edit.": "请为剪辑选择文件夹。",
    "Nothing changed: the edit matches the project.": "没有变化：剪辑与项目一致。",
    "Imported: {edits} clip edit(s), {moves} shot move(s). Undo takes it back.":
        "已导入：{edits} 处片段修改，{moves} 个镜头移动。可撤销。",
    "Clips that match no shot: {names}": "未匹配到镜头的片段：{names}",
    "Shots missing from the edit: {names}": "剪辑中缺少的镜头：{names}",
    "Edits (*.otio *.xml *.fcpxml *.edl draft_content.json)":
        "剪辑文件 (*.otio *.xml *.fcpxml *.edl draft_content.json)",
}


class HandoffDialog(QDialog):
    """Choose an editor and a folder; write the edit as a job; bring an edit back."""

    finished = Signal(str)  # the folder written
    failed = Signal(str)
    imported = Signal(object)  # the EditPlan

    def __init__(self, store: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setWindowTitle(self.tr("Hand off to another editor"))
        self.setMinimumWidth(560)
        self.show_error = self._error_dialog
        self.report: Any = None
        self._task: JobTicket | None = None
        self.jobs: Any = getattr(parent, "jobs", None)  # the export dialog's runner
        self.format_combo = QComboBox(self)
        for value, text in TARGETS:
            self.format_combo.addItem(self.tr(text), value)
        self.format_combo.currentIndexChanged.connect(self._suggest_folder)
        self.path_edit = QLineEdit(self)
        self.browse_button = QPushButton(self.tr("Choose…"), self)
        self.browse_button.clicked.connect(self._browse)
        # a series hands off one episode (as `handoff --episode N`) or the whole of it
        self.episode_combo = QComboBox(self)
        self.episode_combo.addItem(self.tr("The whole series"), None)
        for episode in store.episodes():
            text = (self.tr("Episode {number}: {title}") if episode.title
                    else self.tr("Episode {number}"))
            self.episode_combo.addItem(text.format(number=episode.number,
                                                   title=episode.title), episode.number)
        self.episode_combo.currentIndexChanged.connect(self._suggest_folder)
        self.bundle_check = QCheckBox(
            self.tr("Copy the media next to the edit (the folder can move)"), self)
        self.status_label = QLabel(self.tr("Ready."), self)
        self.status_label.setWordWrap(True)
        self.handoff_button = QPushButton(self.tr("Hand off"), self)
        self.handoff_button.setDefault(True)
        self.handoff_button.clicked.connect(lambda: self.start_handoff())
        self.import_button = QPushButton(self.tr("Import an edit…"), self)
        self.import_button.clicked.connect(lambda: self.import_edit())
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        self.cancel_button.clicked.connect(self.cancel_handoff)
        self.cancel_button.setEnabled(False)
        self.close_button = QPushButton(self.tr("Close"), self)
        self.close_button.clicked.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(self.browse_button)
        form = QFormLayout()
        form.addRow(self.tr("Editor"), self.format_combo)
        if len(store.episodes()) > 1:
            form.addRow(self.tr("Episode"), self.episode_combo)
        else:
            self.episode_combo.hide()
        form.addRow(self.tr("Folder"), row)
        form.addRow("", self.bundle_check)
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addStretch(1)
        buttons.addWidget(self.handoff_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status_label)
        layout.addLayout(buttons)
        self._suggest_folder()

    @property
    def running(self) -> bool:
        return self._task is not None

    def set_episode(self, number: int | None) -> None:
        """Hand off episode ``number`` alone (None: the whole series)."""
        for index in range(self.episode_combo.count()):
            if self.episode_combo.itemData(index) == number:
                self.episode_combo.setCurrentIndex(index)
                return
        raise StoryreelError(f"There is no episode {number} in this project.")

    def set_format(self, fmt: str) -> None:
        if fmt not in FORMATS:
            raise StoryreelError(f"Format {fmt!r} is not one of: {', '.join(FORMATS)}.")
        self.format_combo.setCurrentIndex(self.format_combo.findData(fmt))

    def _suggest_folder(self) -> None:
        fmt = self.format_combo.currentData()
        number = self.episode_combo.currentData()
        episode = f"-E{number:02d}" if number is not None else ""
        name = f"{safe_name(self.store.project.title)}{episode}-{fmt}"
        self.path_edit.setText(str(self.store.root.parent / name))

    def start_handoff(self, folder: str | Path | None = None) -> bool:
        """Write the hand-off into ``folder`` (or the folder field); False if not started."""
        if self.running:
            return False
        text = str(folder) if folder is not None else self.path_edit.text().strip()
        if not text:
            self.show_error(self.tr("Choose a folder for the edit."))
            return False
        params = {"out": str(Path(text)), "format": self.format_combo.currentData(),
                  "bundle": self.bundle_check.isChecked(),
                  "episode": self.episode_combo.currentData()}
        self.handoff_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status_label.setText(self.tr("Writing…"))
        self._task = jobs_of(self, self.store).submit(
            HANDOFF, params, label="handoff", done=self._succeeded, failed=self._failed,
            cancelled=self._cancelled)
        return True

    def cancel_handoff(self) -> None:
        """Cancel the hand-off job (nothing is left in the folder)."""
        if self._task is not None:
            self._task.cancel()

    def _cancelled(self) -> None:
        self._task = None
        self.handoff_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.status_label.setText(self.tr("Hand-off cancelled; nothing was written."))

    def _succeeded(self, result: dict[str, Any]) -> None:
        self._task = None
        report = dict(result.get("report") or {})
        self.report = report
        self.handoff_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.status_label.setText(self.tr("Wrote {path}.").format(path=report.get("edit"))
                                  + "".join(f"\n{note}" for note in report.get("notes", [])))
        self.finished.emit(str(report.get("folder")))

    def _failed(self, message: str) -> None:
        self._task = None
        self.handoff_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.status_label.setText(message)
        self.show_error(message)
        self.failed.emit(message)

    def import_edit(self, path: str | Path | None = None) -> Any:
        """Apply an edit made elsewhere (one undoable operation); returns the plan."""
        from engine.ops.edit_import import import_edit

        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self, self.tr("Import an edit…"), str(self.store.root.parent),
                self.tr("Edits (*.otio *.xml *.fcpxml *.edl draft_content.json)"))
            if not path:
                return None
        try:
            changes = import_edit(self.store, Path(path))
        except StoryreelError as exc:
            self.status_label.setText(str(exc))
            self.show_error(str(exc))
            return None
        plan = changes.result
        lines = [self.tr("Nothing changed: the edit matches the project.") if plan.empty else
                 self.tr("Imported: {edits} clip edit(s), {moves} shot move(s). Undo takes "
                         "it back.").format(edits=len(plan.clip_edits) + len(plan.durations),
                                            moves=len(plan.moved))]
        if plan.unmatched:
            lines.append(self.tr("Clips that match no shot: {names}").format(
                names=", ".join(plan.unmatched)))
        if plan.missing:
            lines.append(self.tr("Shots missing from the edit: {names}").format(
                names=", ".join(plan.missing)))
        self.status_label.setText("\n".join(lines))
        self.imported.emit(plan)
        return plan

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Folder"), self.path_edit.text())
        if folder:
            self.path_edit.setText(str(Path(folder) / Path(self.path_edit.text()).name))

    def _error_dialog(self, message: str) -> None:
        title = self.tr("Import failed") if "import" in message.lower() else \
            self.tr("Hand-off failed")
        QMessageBox.warning(self, title, message)
