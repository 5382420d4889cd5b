"""The shot inspector: every field of the selected shot, its prompt, seed, model, takes.

Edits are written when a field is committed (combo change, spin box editing finished,
text box focus out) as one labelled store update each, so each is one undo step.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.model import (
    CameraAngle,
    CameraMove,
    DialogueLine,
    LineKind,
    Scene,
    Shot,
    ShotSize,
)
from engine.ops import shots as shot_ops
from studio.i18n import tr
from studio.identity_chart import IdentityPanel
from studio.inspector_fields import CommitTextEdit, FieldCombo, generation_choices
from studio.inspector_takes import InspectorTakes

ID_ROLE = Qt.ItemDataRole.UserRole
KIND_COLUMN = 3  # the dialogue table's line-kind combo (speaker, line, emotion, kind)
# editing these makes the shot the user's: re-planning the script will not overwrite it
USER_FIELDS = {"size", "angle", "camera_move", "duration", "action", "narration", "characters",
               "dialogue", "prompt_override", "negative_prompt"}


class ShotInspector(InspectorTakes, QWidget):
    """Shows and edits one shot. Signals ask the window to generate, play or compare."""

    generate_requested = Signal(list, int)  # shot ids, takes per shot (one group)
    play_requested = Signal(str)  # a media file path
    compare_requested = Signal(str, str)  # take ids
    error = Signal(str)

    def __init__(self, store: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.shot_id: str | None = None
        self._loading = False
        self._refresh_pending = False
        self._takes_signature: tuple[Any, ...] = ()
        self.setAcceptDrops(True)  # an image dropped on the inspector: the shot's keyframe

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.header = QLabel(tr("No shot selected"))
        self.header.setObjectName("inspectorHeader")
        self.header.setWordWrap(True)
        outer.addWidget(self.header)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        outer.addWidget(scroll, 1)
        self.body = QWidget()
        scroll.setWidget(self.body)
        layout = QVBoxLayout(self.body)

        shot_box = QGroupBox(tr("Shot"))
        form = QFormLayout(shot_box)
        self.size = self._enum_combo(ShotSize, "size", tr("Edit shot size"))
        self.angle = self._enum_combo(CameraAngle, "angle", tr("Edit camera angle"))
        self.camera_move = self._enum_combo(CameraMove, "camera_move", tr("Edit camera move"))
        self.duration = QDoubleSpinBox()
        self.duration.setRange(0.5, 120.0)
        self.duration.setSingleStep(0.5)
        self.duration.setSuffix(" s")
        self.duration.editingFinished.connect(
            lambda: self.commit(tr("Edit shot duration"), duration=round(self.duration.value(), 2)))
        self.status = QLabel("")
        self.action = CommitTextEdit()
        self.action.committed.connect(lambda t: self.commit(tr("Edit shot action"), action=t))
        self.narration = QLineEdit()
        self.narration.editingFinished.connect(
            lambda: self.commit(tr("Edit narration"), narration=self.narration.text()))
        form.addRow(tr("Size"), self.size)
        form.addRow(tr("Angle"), self.angle)
        form.addRow(tr("Camera"), self.camera_move)
        form.addRow(tr("Duration"), self.duration)
        form.addRow(tr("Status"), self.status)
        form.addRow(tr("Action"), self.action)
        form.addRow(tr("Narration"), self.narration)
        layout.addWidget(shot_box)

        cast_box = QGroupBox(tr("Characters in frame"))
        cast_layout = QVBoxLayout(cast_box)
        self.characters = QListWidget()
        self.characters.setFixedHeight(90)
        self.characters.itemChanged.connect(self._characters_changed)
        cast_layout.addWidget(self.characters)
        layout.addWidget(cast_box)

        dlg_box = QGroupBox(tr("Dialogue"))
        dlg_layout = QVBoxLayout(dlg_box)
        self.dialogue = QTableWidget(0, 4)
        self.dialogue.setHorizontalHeaderLabels([tr("Speaker"), tr("Line"), tr("Emotion"),
                                                 tr("Kind")])
        self.dialogue.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column in (0, 2, KIND_COLUMN):  # the line itself gets the room
            self.dialogue.horizontalHeader().setSectionResizeMode(
                column, QHeaderView.ResizeMode.ResizeToContents)
        self.dialogue.verticalHeader().setVisible(False)
        self.dialogue.setFixedHeight(120)
        self.dialogue.itemChanged.connect(self._dialogue_changed)
        dlg_layout.addWidget(self.dialogue)
        row = QHBoxLayout()
        add_line = QPushButton(tr("Add line"))
        add_line.clicked.connect(self.add_dialogue_line)
        remove_line = QPushButton(tr("Remove line"))
        remove_line.clicked.connect(self.remove_dialogue_line)
        row.addWidget(add_line)
        row.addWidget(remove_line)
        row.addStretch(1)
        dlg_layout.addLayout(row)
        layout.addWidget(dlg_box)

        prompt_box = QGroupBox(tr("Prompt"))
        pform = QFormLayout(prompt_box)
        self.prompt = QPlainTextEdit()
        self.prompt.setReadOnly(True)
        self.prompt.setFixedHeight(70)
        self.prompt_override = CommitTextEdit()
        self.prompt_override.setPlaceholderText(tr("Your own prompt (wins when not empty)"))
        self.prompt_override.committed.connect(
            lambda t: self.commit(tr("Edit prompt override"), prompt_override=t))
        self.negative = QLineEdit()
        self.negative.editingFinished.connect(
            lambda: self.commit(tr("Edit negative prompt"), negative_prompt=self.negative.text()))
        self.recompose_button = QPushButton(tr("Recompose"))
        self.recompose_button.setToolTip(tr("Compose the prompt again from the shot's fields"))
        self.recompose_button.clicked.connect(self.recompose)
        composed = QVBoxLayout()
        composed.addWidget(self.prompt)
        composed.addWidget(self.recompose_button, 0, Qt.AlignmentFlag.AlignRight)
        pform.addRow(tr("Composed"), composed)
        pform.addRow(tr("Override"), self.prompt_override)
        pform.addRow(tr("Negative"), self.negative)
        layout.addWidget(prompt_box)

        gen_box = QGroupBox(tr("Generation"))
        gform = QFormLayout(gen_box)
        seed_row = QHBoxLayout()
        self.seed = QSpinBox()
        self.seed.setRange(-1, 2**31 - 1)
        self.seed.setSpecialValueText(tr("random"))
        self.seed.editingFinished.connect(self._seed_changed)
        self.seed_lock = QCheckBox(tr("Lock"))
        self.seed_lock.toggled.connect(
            lambda on: self.commit(tr("Lock seed") if on else tr("Unlock seed"), seed_locked=on))
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.seed_lock)
        self.backend = FieldCombo()
        self.backend.currentIndexChanged.connect(self._backend_changed)
        self.generate_button = QPushButton(tr("Generate"))
        self.generate_button.setObjectName("primary")
        self.generate_button.clicked.connect(self.generate)
        self.takes_count = QSpinBox()  # N takes with N seeds, as one group (best-of-N)
        self.takes_count.setRange(1, 8)
        self.takes_count.setPrefix(tr("Takes: "))
        self.takes_count.setToolTip(tr("How many takes to make, each with its own seed"))
        generate_row = QHBoxLayout()
        generate_row.addWidget(self.takes_count)
        generate_row.addWidget(self.generate_button, 1)
        self.keyframe_buttons: dict[str, QPushButton] = {}
        key_row = QHBoxLayout()
        for field, label in (("first_keyframe", tr("First frame…")),
                             ("last_keyframe", tr("Last frame…"))):
            button = QPushButton(label)
            button.setToolTip(tr("An image the clip starts or ends on (right-click clears; "
                                 "drop an image on the inspector: first frame, with Shift: "
                                 "last frame)"))
            button.clicked.connect(lambda _=False, f=field: self.choose_keyframe(f))
            button.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            button.customContextMenuRequested.connect(
                lambda _pos, f=field: self.set_keyframe(f, None))
            self.keyframe_buttons[field] = button
            key_row.addWidget(button)
        self.keep = QCheckBox(tr("Keep when re-planning"))
        self.keep.setToolTip(tr("Re-importing or re-planning the script leaves this shot as it is"))
        self.keep.toggled.connect(lambda on: self.commit(tr("Keep shot"), locked=on))
        # a take shorter than the shot (an imported clip): hold its last frame or slow it
        self.short_take = FieldCombo()
        self.short_take.addItem(tr("Hold the last frame"), "hold")
        self.short_take.addItem(tr("Slow it to fit"), "slow")
        self.short_take.setToolTip(tr("When the take is shorter than the shot"))
        self.short_take.currentIndexChanged.connect(
            lambda _i: self._generation_setting(tr("Choose short-take fill"), "short_take",
                                                str(self.short_take.currentData())))
        self.continue_previous = QCheckBox(tr("Start from the previous shot's last frame"))
        self.continue_previous.setToolTip(tr("For match cuts: the take starts where the "
                                             "previous shot's current take ends"))
        self.continue_previous.toggled.connect(
            lambda on: self._generation_setting(tr("Continue from previous shot"),
                                                "continue_from_previous", on))
        gform.addRow(tr("Seed"), seed_row)
        gform.addRow(tr("Model"), self.backend)
        gform.addRow(tr("Keyframes"), key_row)
        gform.addRow(tr("Short take"), self.short_take)
        gform.addRow("", self.continue_previous)
        gform.addRow("", self.keep)
        gform.addRow("", generate_row)
        layout.addWidget(gen_box)

        takes_box = QGroupBox(tr("Takes"))
        tl = QVBoxLayout(takes_box)
        self.takes = QListWidget()
        self.takes.setViewMode(QListView.ViewMode.IconMode)
        self.takes.setIconSize(QSize(96, 72))
        self.takes.setResizeMode(QListView.ResizeMode.Adjust)
        self.takes.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.takes.setFixedHeight(120)
        self.takes.itemDoubleClicked.connect(lambda _item: self.play_selected())
        self.takes.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.takes.customContextMenuRequested.connect(
            lambda pos: self.keyframe_menu(self.takes).exec(self.takes.mapToGlobal(pos)))
        tl.addWidget(self.takes)
        self.identity_panel = IdentityPanel()  # per-frame identity chart, worst frame
        self.takes.itemSelectionChanged.connect(self._show_identity)
        tl.addWidget(self.identity_panel)
        row = QHBoxLayout()
        self.play_button = QPushButton(tr("Play"))
        self.play_button.clicked.connect(self.play_selected)
        self.approve_button = QPushButton(tr("Approve"))
        self.approve_button.clicked.connect(self.approve_selected)
        self.compare_button = QPushButton(tr("Compare"))
        self.compare_button.clicked.connect(self.compare_selected)
        self.keyframe_button = QPushButton(tr("Keyframe"))
        self.keyframe_button.setToolTip(tr("Use the frame the preview shows (or a keyframe "
                                           "model's image) as this shot's first or last "
                                           "frame"))
        self.keyframe_button.setMenu(self.keyframe_menu(self.keyframe_button))
        for b in (self.play_button, self.approve_button, self.compare_button,
                  self.keyframe_button):
            row.addWidget(b)
        tl.addLayout(row)
        layout.addWidget(takes_box)
        layout.addStretch(1)
        self._fill_backends()
        self.show_shot(None)

    # ------------------------------------------------------------------ building
    def _enum_combo(self, enum: Any, field: str, label: str) -> QComboBox:
        combo = FieldCombo()
        for member in enum:
            combo.addItem(tr(str(member)), str(member))
        combo.currentIndexChanged.connect(
            lambda _i: self.commit(label, **{field: enum(combo.currentData())}))
        return combo

    def _fill_backends(self) -> None:
        self._loading = True
        self.backend.clear()
        for key, label in generation_choices():
            self.backend.addItem(tr(label), key)
        self._loading = False

    # ------------------------------------------------------------------ reading
    def set_store(self, store: Any) -> None:
        self.store = store
        self.show_shot(None)

    def show_shot(self, shot_id: str | None) -> None:
        self.shot_id = shot_id
        self.refresh()

    def schedule_refresh(self, *_: object) -> None:
        if not self._refresh_pending:
            self._refresh_pending = True
            QTimer.singleShot(0, self.refresh)

    def shot(self) -> Shot | None:
        if self.store is None or self.shot_id is None:
            return None
        return self.store.get(Shot, self.shot_id)

    def refresh(self) -> None:
        self._refresh_pending = False
        shot = self.shot()
        self.body.setEnabled(shot is not None)
        self._loading = True
        try:
            if shot is None:
                self.shot_id = None
                self.header.setText(tr("No shot selected"))
                self.takes.clear()
                self._takes_signature = ()
                self.dialogue.setRowCount(0)
                self.characters.clear()
                return
            self._load(shot)
        finally:
            self._loading = False

    def _load(self, shot: Shot) -> None:
        scene = self.store.get(Scene, shot.scene_id)
        siblings = [s.id for s in self.store.shots(shot.scene_id)]
        number = siblings.index(shot.id) + 1 if shot.id in siblings else shot.order + 1
        heading = scene.heading if scene else ""
        from engine.model.shot_rules import episode_numbers, shot_label

        episode = episode_numbers([scene], self.store.episodes()).get(scene.id) if scene else None
        label = shot_label(scene.number if scene else None, number, episode)
        self.header.setText(f"{tr('Shot')} {label}  {heading}")
        for combo, value in ((self.size, shot.size), (self.angle, shot.angle),
                             (self.camera_move, shot.camera_move)):
            combo.setCurrentIndex(max(0, combo.findData(str(value))))
        if not self.duration.hasFocus():
            self.duration.setValue(shot.duration)
        self.status.setText(tr(str(shot.status)))
        if not self.action.hasFocus():
            self.action.set_text(shot.action)
        if not self.narration.hasFocus():
            self.narration.setText(shot.narration)
        self.prompt.setPlainText(shot.prompt)
        if not self.prompt_override.hasFocus():
            self.prompt_override.set_text(shot.prompt_override)
        if not self.negative.hasFocus():
            self.negative.setText(shot.negative_prompt)
        if not self.seed.hasFocus():
            self.seed.setValue(-1 if shot.seed is None else int(shot.seed))
        self.seed_lock.setChecked(shot.seed_locked)
        self.keep.setChecked(shot.locked)
        self.short_take.setCurrentIndex(
            max(0, self.short_take.findData(shot.generation.get("short_take", "hold"))))
        self.continue_previous.setChecked(bool(shot.generation.get("continue_from_previous")))
        for field, button in self.keyframe_buttons.items():
            sha = getattr(shot, field)
            path = self.store.media_path(sha) if sha else None
            if path is not None and path.is_file():
                button.setIcon(QIcon(QPixmap(str(path))))
            else:
                button.setIcon(QIcon())
            button.setText((tr("First frame…") if field == "first_keyframe"
                            else tr("Last frame…")) + (" ✓" if sha else ""))
        key = str(shot.generation.get("model") or shot.generation.get("backend") or "animatic")
        index = self.backend.findData(key)
        if index < 0:
            self.backend.addItem(key, key)
            index = self.backend.findData(key)
        self.backend.setCurrentIndex(index)

        characters = self.store.characters()
        self.characters.clear()
        for ch in characters:
            item = QListWidgetItem(ch.name)
            item.setData(ID_ROLE, ch.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if ch.id in shot.characters
                               else Qt.CheckState.Unchecked)
            self.characters.addItem(item)
        names = {c.id: c.name for c in characters}
        self.dialogue.setRowCount(len(shot.dialogue))
        for row, line in enumerate(shot.dialogue):
            speaker = names.get(line.character_id or "", "") if line.character_id else ""
            for col, text in enumerate((speaker, line.text, line.emotion)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.dialogue.setItem(row, col, item)
            self.dialogue.setCellWidget(row, KIND_COLUMN, self._kind_combo(row, line.kind))
        self._load_takes(shot)
        self._show_generate_kind(shot)

    def _show_generate_kind(self, shot: Shot) -> None:
        """Generate re-rolls (a new seed) when the shot already has an up-to-date take."""
        from engine.generate.staleness import needs_generation

        reroll = not shot.seed_locked and not needs_generation(self.store, shot)
        self.generate_button.setText(tr("Re-roll (new seed)") if reroll else tr("Generate"))
        self.generate_button.setToolTip(
            tr("The shot has an up-to-date take: make a new one with a fresh seed") if reroll
            else tr("Make a take of this shot"))

    def generate(self) -> None:
        if self.shot_id:
            self.generate_requested.emit([self.shot_id], self.takes_count.value())

    # ------------------------------------------------------------------ writing
    def commit(self, label: str, **fields: Any) -> None:
        if self._loading:
            return
        shot = self.shot()
        if shot is None:
            return
        changed = {k: v for k, v in fields.items() if getattr(shot, k) != v}
        if not changed:
            return
        if USER_FIELDS.intersection(changed) and "locked" not in fields and not shot.locked:
            changed["locked"] = True
        try:  # the operation validates, writes one undo step and re-derives prompt/status
            shot_ops.set_shot_fields(self.store, shot.id, **changed)
        except Exception as exc:  # noqa: BLE001 - shown as a dialog by the window
            self.error.emit(str(exc))
            self.refresh()

    def choose_keyframe(self, field: str) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, tr("Keyframes"), "",
                                              tr("Images") + " (*.png *.jpg *.jpeg *.webp)")
        if path:
            self.set_keyframe(field, path)

    def set_keyframe(self, field: str, path: str | None) -> None:
        """Use the image at ``path`` as the shot's first/last keyframe (None clears it)."""
        if self.shot() is None or self._loading:
            return
        try:
            shot_ops.set_keyframe_file(self.store, self.shot_id, path or None,
                                       last=field == "last_keyframe")
        except Exception as exc:  # noqa: BLE001 - the engine's sentence
            self.error.emit(str(exc))
        self.refresh()

    def recompose(self) -> None:
        """Rewrite the composed prompt from the shot's fields (the override is kept)."""
        if self.shot_id is None:
            return
        try:
            shot_ops.recompose_prompts(self.store, [self.shot_id])
        except Exception as exc:  # noqa: BLE001 - the engine's sentence, as a dialog
            self.error.emit(str(exc))
        self.refresh()

    def _seed_changed(self) -> None:
        value = self.seed.value()
        self.commit(tr("Edit seed"), seed=None if value < 0 else value)

    def _generation_setting(self, label: str, name: str, value: Any) -> None:
        shot = self.shot()
        if shot is None or self._loading:
            return
        generation = {**shot.generation, name: value}
        if name == "short_take" and value == "hold":
            generation.pop(name)  # the default
        if name == "continue_from_previous" and not value:
            generation.pop(name)
        self.commit(label, generation=generation)

    def _backend_changed(self, _index: int) -> None:
        shot = self.shot()
        if shot is None or self._loading:
            return
        key = str(self.backend.currentData())
        generation = dict(shot.generation)
        if key == "animatic":
            generation["backend"] = "animatic"
            generation.pop("model", None)
        else:
            generation["backend"] = "diffusers"
            generation["model"] = key
        self.commit(tr("Choose model"), generation=generation)

    def _characters_changed(self, _item: QListWidgetItem) -> None:
        if self._loading:
            return
        ids = [str(self.characters.item(i).data(ID_ROLE)) for i in range(self.characters.count())
               if self.characters.item(i).checkState() == Qt.CheckState.Checked]
        self.commit(tr("Edit characters in frame"), characters=ids)

    def _dialogue_lines(self) -> list[DialogueLine]:
        shot = self.shot()
        old = shot.dialogue if shot else []
        by_name = {c.name: c.id for c in self.store.characters()}
        lines: list[DialogueLine] = []
        for row in range(self.dialogue.rowCount()):
            cells = [self.dialogue.item(row, c) for c in range(3)]
            speaker, text, emotion = (c.text().strip() if c else "" for c in cells)
            base = old[row] if row < len(old) else DialogueLine(text="")
            lines.append(dataclasses.replace(
                base, text=text, emotion=emotion, character_id=by_name.get(speaker)))
        return lines

    def _kind_combo(self, row: int, kind: LineKind) -> QComboBox:
        combo = FieldCombo()
        for value in LineKind:
            combo.addItem(tr(str(value)), str(value))
        combo.setCurrentIndex(combo.findData(str(kind)))
        combo.currentIndexChanged.connect(
            lambda _index, row=row, combo=combo: self.set_line_kind(row, str(combo.currentData())))
        return combo

    def kind_combo(self, row: int) -> QComboBox | None:
        """The line-kind combo of a dialogue row (dialogue, voice-over, off-screen…)."""
        widget = self.dialogue.cellWidget(row, KIND_COLUMN)
        return widget if isinstance(widget, QComboBox) else None

    def set_line_kind(self, row: int, kind: str) -> None:
        """Make line ``row`` dialogue, voice-over, off-screen or narration (one undo step)."""
        shot = self.shot()
        if self._loading or shot is None or not 0 <= row < len(shot.dialogue):
            return
        lines = list(shot.dialogue)
        if str(lines[row].kind) == kind:
            return
        lines[row] = dataclasses.replace(lines[row], kind=LineKind(kind))
        self.commit(tr("Edit line kind"), dialogue=lines)

    def _dialogue_changed(self, _item: QTableWidgetItem) -> None:
        if self._loading:
            return
        self.commit(tr("Edit dialogue"), dialogue=self._dialogue_lines())

    def add_dialogue_line(self) -> None:
        shot = self.shot()
        if shot is not None:
            self.commit(tr("Add dialogue line"),
                        dialogue=[*shot.dialogue, DialogueLine(text="…")])
            self.refresh()

    def remove_dialogue_line(self) -> None:
        shot = self.shot()
        row = self.dialogue.currentRow()
        if shot is not None and 0 <= row < len(shot.dialogue):
            lines = list(shot.dialogue)
            del lines[row]
            self.commit(tr("Remove dialogue line"), dialogue=lines)
            self.refresh()

class InspectorDock(QDockWidget):
    def __init__(self, store: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(tr("Shot inspector"), parent)
        self.setObjectName("inspectorDock")
        self.inspector = ShotInspector(store, self)
        self.setWidget(self.inspector)
        self.setMinimumWidth(340)


__all__ = ["CommitTextEdit", "FieldCombo", "InspectorDock", "ShotInspector",
           "generation_choices"]
