"""The cast tab: character sheets with reference images, fields and a voice picker."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.audio import tts
from engine.jobs.kinds import VOICE_SAMPLE
from engine.model import Character, VoiceProfile
from engine.ops import characters as character_ops
from engine.ops import project as project_ops
from engine.store.media import IMAGE_EXTS as IMAGE_SUFFIXES
from studio.i18n import tr
from studio.inspector import CommitTextEdit
from studio.job_runner import JobTicket, jobs_of

ID_ROLE = Qt.ItemDataRole.UserRole
NARRATOR_ID = "__narrator__"  # the list's last row: the project's narrator voice
SHA_ROLE = Qt.ItemDataRole.UserRole + 1
TEXT_FIELDS = ("age", "gender", "appearance", "costume", "personality", "description")


def play_wav(path: str, parent: QObject | None = None) -> str:
    """Play a WAV without blocking; returns what played it ("" when nothing could).

    PySide6-Essentials has no QtMultimedia, so this tries it, then a system player
    (paplay, aplay, afplay, pw-play) started detached; otherwise the caller shows the path.
    """
    try:
        from PySide6.QtCore import QUrl as _QUrl
        from PySide6.QtMultimedia import QSoundEffect  # type: ignore[import-not-found]

        effect = QSoundEffect(parent)
        effect.setSource(_QUrl.fromLocalFile(path))
        effect.play()
        return "qt"
    except ImportError:
        pass
    import os
    import shutil

    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        return ""  # headless (tests, screenshots): no sound device to play on
    for tool in ("paplay", "pw-play", "aplay", "afplay"):
        exe = shutil.which(tool)
        if exe and QProcess.startDetached(exe, [path]):
            return tool
    return ""


class ReferenceGrid(QListWidget):
    """Reference images of one character; accepts dropped image files."""

    files_dropped = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(112, 112))
        self.setGridSize(QSize(128, 136))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setAcceptDrops(True)
        self.setDragEnabled(False)
        self.setMinimumHeight(150)

    @staticmethod
    def image_paths(urls: list[QUrl]) -> list[str]:
        return [u.toLocalFile() for u in urls
                if u.isLocalFile() and Path(u.toLocalFile()).suffix.lower() in IMAGE_SUFFIXES]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and self.image_paths(event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: Any) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = self.image_paths(event.mimeData().urls()) if event.mimeData().hasUrls() else []
        if paths:
            event.acceptProposedAction()
            self.files_dropped.emit(paths)
        else:
            event.ignore()


class CastView(QWidget):
    """Character list + the selected character's sheet."""

    error = Signal(str)
    sample_ready = Signal(str)  # path of a WAV to play

    def __init__(self, store: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.character_id: str | None = None
        self._loading = False
        self._refresh_pending = False
        self._sample_task: JobTicket | None = None  # the voice-sample job
        self.jobs: Any = None  # the window's StudioJobs (studio.job_runner)
        self.last_sample: str = ""

        split = QSplitter(Qt.Orientation.Horizontal, self)
        layout = QHBoxLayout(self)
        layout.addWidget(split)

        left = QWidget()
        lv = QVBoxLayout(left)
        self.list = QListWidget()
        self.list.currentItemChanged.connect(self._current_changed)
        lv.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.add_button = QPushButton(tr("Add character"))
        self.add_button.clicked.connect(lambda: self.add_character())
        self.delete_button = QPushButton(tr("Delete"))
        self.delete_button.clicked.connect(self.delete_character)
        row.addWidget(self.add_button)
        row.addWidget(self.delete_button)
        lv.addLayout(row)
        split.addWidget(left)

        right = QWidget()
        rv = QVBoxLayout(right)
        sheet = QGroupBox(tr("Character sheet"))
        form = QFormLayout(sheet)
        self.name = QLineEdit()
        self.name.editingFinished.connect(self._name_changed)
        form.addRow(tr("Name"), self.name)
        self.fields: dict[str, Any] = {}
        for field in TEXT_FIELDS:
            if field in ("age", "gender"):
                edit: Any = QLineEdit()
                edit.editingFinished.connect(
                    lambda f=field, e=edit: self.commit(tr("Edit character"), **{f: e.text()}))
            else:
                edit = CommitTextEdit(height=54)
                edit.committed.connect(
                    lambda text, f=field: self.commit(tr("Edit character"), **{f: text}))
            self.fields[field] = edit
            form.addRow(tr(field.capitalize()), edit)
        rv.addWidget(sheet)

        refs = QGroupBox(tr("Reference images (drop image files here)"))
        rl = QVBoxLayout(refs)
        self.references = ReferenceGrid()
        self.references.files_dropped.connect(self.add_references)
        rl.addWidget(self.references)
        row = QHBoxLayout()
        add_ref = QPushButton(tr("Add images…"))
        add_ref.clicked.connect(self.browse_references)
        remove_ref = QPushButton(tr("Remove image"))
        remove_ref.clicked.connect(self.remove_reference)
        row.addWidget(add_ref)
        row.addWidget(remove_ref)
        row.addStretch(1)
        rl.addLayout(row)
        rv.addWidget(refs)

        voice = QGroupBox(tr("Voice"))
        vf = QFormLayout(voice)
        self.voice_backend = QComboBox()
        self.voice_backend.addItem(tr("Project default"), "")
        try:
            backends = tts.available_backends()
        except Exception:  # noqa: BLE001
            backends = []
        for b in backends:
            self.voice_backend.addItem(b, b)
        self.voice_backend.currentIndexChanged.connect(lambda _i: self._voice_changed())
        self.voice_name = QComboBox()
        self.voice_name.setEditable(True)
        self.voice_name.lineEdit().editingFinished.connect(self._voice_changed)
        self.voice_name.activated.connect(lambda _i: self._voice_changed())
        self.voice_browse = QPushButton(tr("Browse…"))
        self.voice_browse.setToolTip(tr("Pick a piper .onnx model or a sherpa-onnx voice folder"))
        self.voice_browse.clicked.connect(self.browse_voice)
        voice_row = QHBoxLayout()
        voice_row.addWidget(self.voice_name, 1)
        voice_row.addWidget(self.voice_browse)
        self.rate = QDoubleSpinBox()
        self.rate.setRange(0.5, 2.0)
        self.rate.setSingleStep(0.05)
        self.rate.editingFinished.connect(self._voice_changed)
        self.pitch = QDoubleSpinBox()
        self.pitch.setRange(-12.0, 12.0)
        self.pitch.setSuffix(" st")
        self.pitch.editingFinished.connect(self._voice_changed)
        play_row = QHBoxLayout()
        self.play_button = QPushButton(tr("Play sample"))
        self.play_button.clicked.connect(self.play_sample)
        self.sample_status = QLabel("")
        self.sample_status.setObjectName("muted")
        self.sample_status.setWordWrap(True)
        play_row.addWidget(self.play_button)
        play_row.addWidget(self.sample_status, 1)
        vf.addRow(tr("Engine"), self.voice_backend)
        vf.addRow(tr("Voice"), voice_row)
        vf.addRow(tr("Speed"), self.rate)
        vf.addRow(tr("Pitch"), self.pitch)
        vf.addRow("", play_row)
        rv.addWidget(voice)
        rv.addStretch(1)
        self.sheet_widgets = (sheet, refs)
        self.voice_group = voice
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(right)
        split.addWidget(scroll)
        split.setSizes([240, 760])
        self.refresh()

    # ------------------------------------------------------------------ reading
    def set_store(self, store: Any) -> None:
        self.store = store
        self.character_id = None
        self.refresh()

    def schedule_refresh(self, *_: object) -> None:
        if not self._refresh_pending:
            self._refresh_pending = True
            QTimer.singleShot(0, self.refresh)

    def character(self) -> Character | None:
        if self.store is None or self.character_id in (None, NARRATOR_ID):
            return None
        return self.store.get(Character, self.character_id)

    def narrator_selected(self) -> bool:
        return self.store is not None and self.character_id == NARRATOR_ID

    def voice_of_selection(self) -> VoiceProfile | None:
        """The voice shown in the voice box: the character's or the narrator's."""
        if self.narrator_selected():
            return self.store.project.narrator_voice
        ch = self.character()
        return ch.voice if ch is not None else None

    def refresh(self) -> None:
        self._refresh_pending = False
        self._loading = True
        try:
            self.list.clear()
            characters = self.store.characters() if self.store is not None else []
            if self.character_id not in {c.id for c in characters} | {NARRATOR_ID}:
                self.character_id = characters[0].id if characters else None
            for ch in characters:
                item = QListWidgetItem(ch.name)
                item.setData(ID_ROLE, ch.id)
                if ch.reference_images:
                    path = self.store.media_path(ch.reference_images[0])
                    if path.is_file():
                        item.setIcon(QIcon(QPixmap(str(path))))
                self.list.addItem(item)
                if ch.id == self.character_id:
                    self.list.setCurrentItem(item)
            if self.store is not None:
                item = QListWidgetItem(tr("Narrator (voice only)"))
                item.setData(ID_ROLE, NARRATOR_ID)
                font = item.font()
                font.setItalic(True)
                item.setFont(font)
                item.setToolTip(tr("The voice that reads narration and 旁白 lines"))
                self.list.addItem(item)
                if self.character_id == NARRATOR_ID:
                    self.list.setCurrentItem(item)
            self._load(self.character())
        finally:
            self._loading = False

    def _load(self, ch: Character | None) -> None:
        for w in self.sheet_widgets:
            w.setEnabled(ch is not None)
        self.delete_button.setEnabled(ch is not None)
        self.references.clear()
        voice = self.voice_of_selection()
        self.voice_group.setEnabled(voice is not None)
        if voice is not None:
            self._load_voice(voice)
        if ch is None:
            self.name.clear()
            for edit in self.fields.values():
                edit.clear() if isinstance(edit, QLineEdit) else edit.set_text("")
            return
        if not self.name.hasFocus():
            self.name.setText(ch.name)
        for field, edit in self.fields.items():
            if edit.hasFocus():
                continue
            value = str(getattr(ch, field))
            edit.setText(value) if isinstance(edit, QLineEdit) else edit.set_text(value)
        for sha in ch.reference_images:
            item = QListWidgetItem(sha[:8])
            item.setData(SHA_ROLE, sha)
            path = self.store.media_path(sha)
            if path.is_file():
                item.setIcon(QIcon(QPixmap(str(path))))
            self.references.addItem(item)

    def _load_voice(self, voice: VoiceProfile) -> None:
        index = self.voice_backend.findData(voice.backend)
        if index < 0:
            self.voice_backend.addItem(voice.backend, voice.backend)
            index = self.voice_backend.findData(voice.backend)
        self.voice_backend.setCurrentIndex(index)
        self._fill_voices(voice.backend)
        self.voice_name.setCurrentText(voice.voice)
        self.rate.setValue(voice.rate)
        self.pitch.setValue(voice.pitch)

    def _fill_voices(self, backend: str) -> None:
        """Voice names offered for ``backend``; model paths come from Browse…"""
        self._listed_backend = backend
        self.voice_name.clear()
        self.voice_browse.setVisible(backend in ("piper", "sherpa"))
        if backend == "piper":
            self.voice_name.addItem("joe")
            return
        if backend in ("sherpa", "server"):
            return
        language = str(self.store.project.language)
        if backend in ("kokoro", ""):
            from engine.audio import kokoro

            lang = "en" if language.lower().startswith("en") else "zh"
            for v in kokoro.voices_for(lang) + [v for v in kokoro.VOICES.values()
                                                 if v.language != lang]:
                self.voice_name.addItem(v.name)
            return  # the project default engine is Kokoro
        try:
            voices = tts.espeak_voices(language)
        except Exception:  # noqa: BLE001
            voices = []
        for v in voices:
            self.voice_name.addItem(v)

    def browse_voice(self) -> None:
        backend = str(self.voice_backend.currentData() or "")
        if backend == "sherpa":
            path = QFileDialog.getExistingDirectory(self, tr("sherpa-onnx voice folder"))
        else:
            path, _ = QFileDialog.getOpenFileName(self, tr("piper voice model"), "",
                                                  tr("piper models") + " (*.onnx)")
        if path:
            self.voice_name.setCurrentText(path)
            self._voice_changed()

    def _current_changed(self, current: QListWidgetItem | None, _prev: object) -> None:
        if self._loading or current is None:
            return
        self.character_id = str(current.data(ID_ROLE))
        self._loading = True
        try:
            self._load(self.character())
        finally:
            self._loading = False

    # ------------------------------------------------------------------ writing
    def _guard(self, fn: Any) -> Any:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - the window shows the sentence
            self.error.emit(str(exc))
            return None

    def commit(self, label: str, **fields: Any) -> None:
        if self._loading:
            return
        ch = self.character()
        if ch is None:
            return
        changed = {k: v for k, v in fields.items() if getattr(ch, k) != v}
        if changed:  # the operation validates (a voice speaks first) and locks the character
            if self._guard(lambda: character_ops.set_character_fields(
                    self.store, ch.id, **changed)) is None:
                self.refresh()  # refused: show what is saved

    def _name_changed(self) -> None:
        name = self.name.text().strip()
        ch = self.character()
        if ch is None or self._loading or name == ch.name:
            return
        if not name:
            self.error.emit(tr("A character needs a name."))
            self.name.setText(ch.name)
            return
        other = self.store.character_by_name(name)
        if other is not None and other.id != ch.id:
            self.error.emit(tr("Another character is already called that.") + f" ({name})")
            self.name.setText(ch.name)
            return
        self.commit(tr("Rename character"), name=name)

    def add_character(self, name: str | None = None) -> str | None:
        if self.store is None:
            return None
        if name is None:
            name, ok = QInputDialog.getText(self, tr("Add character"), tr("Name"))
            if not ok:
                return None
        name = name.strip()
        if not name:
            self.error.emit(tr("A character needs a name."))
            return None
        if self.store.character_by_name(name) is not None:
            self.error.emit(tr("Another character is already called that.") + f" ({name})")
            return None
        ch = Character(name=name, locked=True)
        try:
            ch.voice = tts.default_voice_for(ch, len(self.store.characters()),
                                             str(self.store.project.language))
        except Exception:  # noqa: BLE001 - no TTS: the project default voice
            ch.voice = VoiceProfile()
        changes = self._guard(lambda: character_ops.add_character(
            self.store, ch.name, voice=ch.voice))
        if changes is None:
            return None
        self.character_id = changes.result.id
        self.refresh()
        return self.character_id

    def delete_character(self) -> None:
        ch = self.character()
        if ch is None:
            return
        self._guard(lambda: character_ops.delete_character(self.store, ch.id))
        self.character_id = None
        self.refresh()

    def browse_references(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, tr("Reference images"), "",
            tr("Images") + " (" + " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES)) + ")")
        if files:
            self.add_references(files)

    def add_references(self, paths: list[str]) -> None:
        ch = self.character()
        if ch is None:
            self.error.emit(tr("Add or select a character first."))
            return

        self._guard(lambda: character_ops.add_reference_images(self.store, ch.id, list(paths)))
        self.refresh()

    def remove_reference(self) -> None:
        ch = self.character()
        item = self.references.currentItem()
        if ch is None or item is None:
            return
        sha = str(item.data(SHA_ROLE))
        self._guard(lambda: character_ops.remove_reference_image(self.store, ch.id, sha))
        self.refresh()

    def current_profile(self) -> VoiceProfile:
        return VoiceProfile(backend=str(self.voice_backend.currentData() or ""),
                            voice=self.voice_name.currentText().strip(),
                            rate=round(self.rate.value(), 3), pitch=round(self.pitch.value(), 2))

    def _voice_changed(self) -> None:
        current = self.voice_of_selection()
        if current is None or self._loading:
            return
        backend = str(self.voice_backend.currentData() or "")
        if backend != getattr(self, "_listed_backend", current.backend):
            # a voice name belongs to its engine: offer the new engine's voices
            self._loading = True
            try:
                self._fill_voices(backend)
                self.voice_name.setCurrentText(self.voice_name.itemText(0)
                                               if self.voice_name.count() else "")
            finally:
                self._loading = False
        profile = dataclasses.replace(self.current_profile(), volume=current.volume)
        if profile == current:
            return
        if not profile.voice and backend == "sherpa":
            # a sherpa-onnx voice is a folder: saved once one is chosen (and speaks)
            self.sample_status.setText(tr("Choose a sherpa-onnx voice folder (Browse…)."))
            return
        if self.narrator_selected():
            if self._guard(lambda: project_ops.set_project_fields(
                    self.store, narrator_voice=profile)) is None:
                self.refresh()
        else:
            self.commit(tr("Edit voice"), voice=profile)

    # ------------------------------------------------------------------ sample
    def play_sample(self) -> None:
        current = self.voice_of_selection()
        if current is None:
            return
        profile = dataclasses.replace(self.current_profile(), volume=current.volume)
        language = str(self.store.project.language)
        self.sample_status.setText(tr("Synthesizing…"))
        self.play_button.setEnabled(False)
        self._sample_task = jobs_of(self, self.store).submit(
            VOICE_SAMPLE, {"profile": profile.to_dict(), "language": language},
            label="voice sample", done=self._sample_done, failed=self._sample_failed,
            cancelled=lambda: self._sample_failed(""))

    def _sample_done(self, result: dict[str, Any]) -> None:
        self.play_button.setEnabled(True)
        self.last_sample = str(result["path"])
        how = play_wav(self.last_sample, self)
        shown = tr("Playing") if how else tr("Sample written to")
        self.sample_status.setText(f"{shown} {self.last_sample}")
        self.sample_status.setToolTip(self.last_sample)
        self.sample_ready.emit(self.last_sample)

    def _sample_failed(self, message: str) -> None:
        self.play_button.setEnabled(True)
        self.sample_status.setText("")
        if message:  # a cancelled sample (from the jobs list) is no error
            self.error.emit(message)
