"""Compare two takes of a shot side by side and approve one.

Each side has a preview player, the take's generation record (backend, model, seed,
steps, size, prompt) and an "Approve this take" button. Approving sets the shot's
``approved_take_id``, marks that take approved (and the shot's other takes not), and sets
the shot's status to APPROVED, in one undoable operation (engine.ops.takes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.errors import StoryreelError
from engine.model import Shot, Take
from engine.ops import takes as take_ops
from studio.player import PreviewPlayer

ZH = {
    "Compare takes": "对比片段",
    "Take A": "片段 A",
    "Take B": "片段 B",
    "Approve this take": "采用此片段",
    "Approved": "已采用",
    "Play both": "同时播放",
    "Pause both": "同时暂停",
    "From the start": "从头开始",
    "Close": "关闭",
    "Backend": "后端",
    "Model": "模型",
    "Seed": "种子",
    "Steps": "步数",
    "Size": "尺寸",
    "Made": "生成时间",
    "Prompt": "提示词",
    "Approve take": "采用片段",
    "Both takes must belong to the same shot.": "两个片段必须属于同一个镜头。",
    "Compare two different takes.": "请对比两个不同的片段。",
}


def approve_take(store: Any, take_id: str) -> Shot:
    """Make ``take_id`` its shot's chosen take (one undo step, the same operation as
    ``storyreel approve``: ``engine.ops.takes.approve_take``). Returns the updated shot."""
    take = take_ops.approve_take(store, take_id).result
    return store.require(Shot, take.shot_id)


def _record_text(record: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = record.get(key)
        if value not in (None, ""):
            return str(value)
    return "—"


class _TakeSide(QGroupBox):
    approveClicked = Signal(str)

    def __init__(self, title: str, store: Any, take: Take, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.take = take
        self.player = PreviewPlayer(self)
        record = take.record or {}
        model = _record_text(record, "model", "model_id", "model_name")
        model_hash = _record_text(record, "model_hash")
        if model_hash != "—":
            model = f"{model} ({model_hash[:10]})"
        size = "—"
        if record.get("width") and record.get("height"):
            size = f"{record['width']}×{record['height']}"
        elif isinstance(record.get("size"), list | tuple) and len(record["size"]) == 2:
            size = f"{record['size'][0]}×{record['size'][1]}"
        frames = record.get("frames")
        if frames:
            size = f"{size} · {frames}f"
        self.fields = {
            "backend": _record_text(record, "backend") + " · " + self.tr(str(take.kind)),
            "model": model,
            "seed": _record_text(record, "seed"),
            "steps": _record_text(record, "steps"),
            "size": size,
            "made": take.created_at.replace("T", " ")[:19],
        }
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        names = {"backend": self.tr("Backend"), "model": self.tr("Model"),
                 "seed": self.tr("Seed"), "steps": self.tr("Steps"), "size": self.tr("Size"),
                 "made": self.tr("Made")}
        for key, value in self.fields.items():
            label = QLabel(value, self)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(names[key], label)
        self.prompt = QPlainTextEdit(self)
        self.prompt.setReadOnly(True)
        self.prompt.setPlainText(_record_text(record, "prompt"))
        self.prompt.setMaximumHeight(72)
        form.addRow(self.tr("Prompt"), self.prompt)
        self.approve_button = QPushButton(self.tr("Approve this take"), self)
        self.approve_button.clicked.connect(lambda: self.approveClicked.emit(self.take.id))
        self.badge = QLabel(self.tr("Approved"), self)
        self.badge.setStyleSheet("color: #5ab46e; font-weight: bold;")
        layout = QVBoxLayout(self)
        layout.addWidget(self.player, 1)
        layout.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(self.badge)
        row.addStretch(1)
        row.addWidget(self.approve_button)
        layout.addLayout(row)
        try:
            self.player.load(store.media_path(take.media))
        except StoryreelError:
            pass  # the player shows "No video loaded"

    def set_approved(self, approved: bool) -> None:
        self.badge.setVisible(approved)
        self.approve_button.setEnabled(not approved)


class TakeCompareDialog(QDialog):
    """Two takes of one shot side by side, played in sync, each with its record."""

    approved = Signal(str)  # take id

    def __init__(self, store: Any, take_a_id: str, take_b_id: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setWindowTitle(self.tr("Compare takes"))
        self.show_error: Callable[[str], None] = self._error_dialog
        take_a = store.require(Take, take_a_id)
        take_b = store.require(Take, take_b_id)
        if take_a.id == take_b.id:
            raise StoryreelError(self.tr("Compare two different takes."))
        if take_a.shot_id != take_b.shot_id:
            raise StoryreelError(self.tr("Both takes must belong to the same shot."))
        self.shot_id = take_a.shot_id
        self.side_a = _TakeSide(self.tr("Take A"), store, take_a, self)
        self.side_b = _TakeSide(self.tr("Take B"), store, take_b, self)
        for side in (self.side_a, self.side_b):
            side.approveClicked.connect(self.approve)
        self.play_button = QPushButton(self.tr("Play both"), self)
        self.play_button.clicked.connect(self.play_both)
        self.pause_button = QPushButton(self.tr("Pause both"), self)
        self.pause_button.clicked.connect(self.pause_both)
        self.restart_button = QPushButton(self.tr("From the start"), self)
        self.restart_button.clicked.connect(self.restart_both)
        close = QPushButton(self.tr("Close"), self)
        close.clicked.connect(self.reject)
        sides = QHBoxLayout()
        sides.addWidget(self.side_a, 1)
        sides.addWidget(self.side_b, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.restart_button)
        buttons.addWidget(self.play_button)
        buttons.addWidget(self.pause_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(sides, 1)
        layout.addLayout(buttons)
        self.resize(900, 680)
        self._sync_badges()

    @property
    def players(self) -> tuple[PreviewPlayer, PreviewPlayer]:
        return self.side_a.player, self.side_b.player

    def play_both(self) -> None:
        a, b = self.players
        position = min(a.position, b.position)
        for player in (a, b):
            player.seek(position)
        for player in (a, b):
            player.play()

    def pause_both(self) -> None:
        for player in self.players:
            player.pause()

    def restart_both(self) -> None:
        for player in self.players:
            player.pause()
            player.seek(0.0)

    def approve(self, take_id: str) -> None:
        try:
            approve_take(self.store, take_id)
        except StoryreelError as exc:
            self.show_error(str(exc))
            return
        self._sync_badges()
        self.approved.emit(take_id)

    def _sync_badges(self) -> None:
        shot = self.store.get(Shot, self.shot_id)
        chosen = shot.approved_take_id if shot else None
        for side in (self.side_a, self.side_b):
            side.set_approved(side.take.id == chosen)

    def _error_dialog(self, message: str) -> None:
        QMessageBox.warning(self, self.tr("Compare takes"), message)

    def done(self, result: int) -> None:
        for player in self.players:
            player.unload()
        super().done(result)
