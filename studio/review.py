"""Team review in the studio, as in Kitsu: the selected shot's status, assignee and notes
(with author, time and timecode), a note that can set the status, and who else has the
shot open (a soft lock renewed by a heartbeat while it is selected). Every write is an
engine operation (``engine.ops.review``); a write the server refuses for your role is one
sentence in a dialog and changes nothing."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.errors import StoryreelError
from engine.model import Shot
from engine.model.review import ShotReview
from engine.ops import review as review_ops
from studio.i18n import tr

HEARTBEAT_MS = 30_000  # a soft lock is renewed this often (it lapses after 90 s)
ANYONE = ""


def shot_passes(store: Any, shot_id: str, status: str = ANYONE,
                assignee: str = ANYONE) -> bool:
    """Whether a shot shows in the storyboard under a status / assignee filter."""
    if not status and not assignee:
        return True
    state = review_ops.review_of(store, shot_id)
    return (not status or state.status == status) and (
        not assignee or state.assignee == assignee)


def note_line(note: Any) -> str:
    when = note.created_at[:16].replace("T", " ")
    at = f" @{note.at:.1f}s" if note.at is not None else ""
    status = f" [{tr(note.status)}]" if note.status else ""
    return f"{note.author}{status}{at} · {when}\n{note.text}".rstrip()


class ReviewPanel(QWidget):
    """Status, assignee, notes and soft lock of the selected shot."""

    changed = Signal()  # after a write of ours (the storyboard refreshes its filter)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store: Any = None
        self.shot_id: str | None = None
        self._loading = False
        self.status = QComboBox()
        self.assignee = QLineEdit()
        self.assignee.setPlaceholderText(tr("Nobody"))
        self.editing = QLabel("")
        self.editing.setWordWrap(True)
        self.notes = QListWidget()
        self.notes.setWordWrap(True)
        self.note = QPlainTextEdit()
        self.note.setPlaceholderText(tr("Write a note…"))
        self.note.setMaximumHeight(70)
        self.note_status = QComboBox()
        self.at = QDoubleSpinBox()
        self.at.setRange(-1.0, 3600.0)
        self.at.setDecimals(1)
        self.at.setSpecialValueText(tr("No timecode"))
        self.at.setValue(-1.0)
        self.at.setSuffix(" s")
        self.add = QPushButton(tr("Add note"))
        form = QFormLayout()
        form.addRow(tr("Review status"), self.status)
        form.addRow(tr("Assigned to"), self.assignee)
        row = QHBoxLayout()
        row.addWidget(self.note_status)
        row.addWidget(self.at)
        row.addWidget(self.add)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.editing)
        layout.addWidget(QLabel(tr("Notes")))
        layout.addWidget(self.notes, 1)
        layout.addWidget(self.note)
        layout.addLayout(row)
        self.status.activated.connect(self._status_chosen)
        self.assignee.editingFinished.connect(self._assign)
        self.add.clicked.connect(self._add_note)
        self.heartbeat = QTimer(self)
        self.heartbeat.setInterval(HEARTBEAT_MS)
        self.heartbeat.timeout.connect(self._hold)
        self.setEnabled(False)

    # ----------------------------------------------------------------- model
    def set_store(self, store: Any) -> None:
        self._release()
        self.store = store
        self.shot_id = None
        self.refresh()

    def show_shot(self, shot_id: str | None) -> None:
        if shot_id == self.shot_id:
            self.refresh()
            return
        self._release()
        self.shot_id = shot_id
        if shot_id is not None and self.store is not None:
            self._hold()
            self.heartbeat.start()
        self.refresh()

    def refresh(self) -> None:
        store, shot_id = self.store, self.shot_id
        self.setEnabled(store is not None and shot_id is not None)
        if store is None or shot_id is None or store.get(Shot, shot_id) is None:
            self.notes.clear()
            self.editing.setText("")
            return
        self._loading = True
        try:
            statuses = review_ops.statuses(store)
            state = review_ops.review_of(store, shot_id)
            for combo, blank in ((self.status, False), (self.note_status, True)):
                current = combo.currentData()
                combo.clear()
                if blank:
                    combo.addItem(tr("Status unchanged"), "")
                for s in statuses:
                    combo.addItem(tr(s), s)
                if not blank:
                    combo.setCurrentIndex(max(0, combo.findData(state.status)))
                elif current is not None:
                    combo.setCurrentIndex(max(0, combo.findData(current)))
            if not self.assignee.hasFocus():
                self.assignee.setText(state.assignee)
            self.notes.clear()
            for note in review_ops.notes(store, shot_id):
                self.notes.addItem(QListWidgetItem(note_line(note)))
            who = review_ops.editing(store, shot_id)
            self.editing.setText(tr("{user} has this shot open").format(user=who)
                                 if who and who != store.author else "")
        finally:
            self._loading = False

    # ----------------------------------------------------------------- writes
    def _guard(self, fn: Any) -> bool:
        try:
            fn()
        except StoryreelError as exc:
            QMessageBox.warning(self, tr("Review"), str(exc))
            self.refresh()
            return False
        self.refresh()
        self.changed.emit()
        return True

    def _status_chosen(self, _index: int) -> None:
        if self._loading or self.shot_id is None:
            return
        status = self.status.currentData()
        if status and status != review_ops.review_of(self.store, self.shot_id).status:
            self._guard(lambda: review_ops.review(self.store, self.shot_id, status=status))

    def _assign(self) -> None:
        if self._loading or self.shot_id is None:
            return
        who = self.assignee.text().strip()
        if who != review_ops.review_of(self.store, self.shot_id).assignee:
            self._guard(lambda: review_ops.assign(self.store, self.shot_id, who))

    def _add_note(self) -> None:
        if self.shot_id is None:
            return
        text = self.note.toPlainText().strip()
        status = self.note_status.currentData() or None
        at = self.at.value() if self.at.value() >= 0 else None
        if self._guard(lambda: review_ops.review(self.store, self.shot_id, status=status,
                                                 note=text, at=at)):
            self.note.clear()
            self.at.setValue(-1.0)

    # ----------------------------------------------------------------- soft lock
    def _hold(self) -> None:
        if self.store is None or self.shot_id is None:
            return
        try:
            review_ops.hold(self.store, self.shot_id)
        except StoryreelError:
            self.heartbeat.stop()  # a viewer's role does not allow it: others see nothing

    def _release(self) -> None:
        self.heartbeat.stop()
        if self.store is not None and self.shot_id is not None:
            try:
                review_ops.release(self.store, self.shot_id)
            except StoryreelError:
                pass


class ReviewDock(QDockWidget):
    """The review panel with the storyboard's filter (status, assignee) above it."""

    filter_changed = Signal(str, str)  # status ("" = any), assignee ("" = anyone)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(tr("Review"), parent)
        self.setObjectName("reviewDock")
        body = QWidget(self)
        self.status_filter = QComboBox()
        self.assignee_filter = QComboBox()
        self.panel = ReviewPanel(body)
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("Show")))
        row.addWidget(self.status_filter, 1)
        row.addWidget(self.assignee_filter, 1)
        layout = QVBoxLayout(body)
        layout.addLayout(row)
        layout.addWidget(self.panel, 1)
        self.setWidget(body)
        self.status_filter.activated.connect(self._emit)
        self.assignee_filter.activated.connect(self._emit)
        self.panel.changed.connect(self.refresh_filters)

    def set_store(self, store: Any) -> None:
        self.panel.set_store(store)
        self.refresh_filters()

    def refresh(self) -> None:
        self.panel.refresh()
        self.refresh_filters()

    def refresh_filters(self) -> None:
        store = self.panel.store
        statuses = review_ops.statuses(store) if store is not None else ()
        people = sorted({r.assignee for r in store.all(ShotReview) if r.assignee}) \
            if store is not None else []
        for combo, first, values in ((self.status_filter, tr("Any status"), statuses),
                                     (self.assignee_filter, tr("Anyone"), people)):
            current = combo.currentData() or ""
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(first, "")
            for value in values:
                combo.addItem(tr(value) if combo is self.status_filter else value, value)
            combo.setCurrentIndex(max(0, combo.findData(current)))
            combo.blockSignals(False)

    def _emit(self, *_: object) -> None:
        self.filter_changed.emit(self.status_filter.currentData() or "",
                                 self.assignee_filter.currentData() or "")
