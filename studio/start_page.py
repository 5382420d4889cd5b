"""The start page: create a project (title, aspect, language, folder), open one, recents."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.model import Aspect, Language, Project
from studio import preferences
from studio.i18n import tr


def safe_folder_name(title: str) -> str:
    bad = '<>:"/\\|?*'
    name = "".join("_" if ch in bad or ord(ch) < 32 else ch for ch in title).strip(" .")
    return name or "untitled"


class StartPage(QWidget):
    """Emits ``create_requested(folder, Project)`` and ``open_requested(folder)``."""

    create_requested = Signal(str, object)
    open_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(48, 36, 48, 36)
        outer.setSpacing(32)

        left = QVBoxLayout()
        title = QLabel("Storyreel")
        title.setObjectName("startTitle")
        left.addWidget(title)
        tagline = QLabel(tr("Script → storyboard → cast → generate → review → export"))
        tagline.setObjectName("startTagline")
        left.addWidget(tagline)

        box = QGroupBox(tr("New project"))
        form = QFormLayout(box)
        self.title_edit = QLineEdit()
        self.title_edit.setPlaceholderText(tr("My short drama"))
        self.aspect = QComboBox()
        for aspect, label in ((Aspect.PORTRAIT, tr("9:16 vertical (Douyin, Kuaishou)")),
                              (Aspect.LANDSCAPE, tr("16:9 horizontal")),
                              (Aspect.SQUARE, tr("1:1 square"))):
            self.aspect.addItem(label, str(aspect))
        self.language = QComboBox()
        self.language.addItem("中文", str(Language.CHINESE))
        self.language.addItem("English", str(Language.ENGLISH))
        self.location = QLineEdit(str(Path.home()))
        browse = QPushButton(tr("Browse…"))
        browse.clicked.connect(self.browse_location)
        loc_row = QHBoxLayout()
        loc_row.addWidget(self.location, 1)
        loc_row.addWidget(browse)
        form.addRow(tr("Title"), self.title_edit)
        form.addRow(tr("Aspect"), self.aspect)
        form.addRow(tr("Language"), self.language)
        form.addRow(tr("Location"), loc_row)
        self.create_button = QPushButton(tr("Create project"))
        self.create_button.setObjectName("primary")
        self.create_button.clicked.connect(self.request_create)
        form.addRow("", self.create_button)
        left.addWidget(box)

        self.open_button = QPushButton(tr("Open project…"))
        self.open_button.clicked.connect(self.browse_open)
        left.addWidget(self.open_button)
        left.addStretch(1)
        outer.addLayout(left, 3)

        right = QVBoxLayout()
        right.addWidget(QLabel(tr("Recent projects")))
        self.recent = QListWidget()
        self.recent.setSpacing(4)  # each project (name, then path) reads as one entry
        self.recent.setAlternatingRowColors(True)
        self.recent.itemActivated.connect(self._open_item)
        self.recent.itemDoubleClicked.connect(self._open_item)
        right.addWidget(self.recent, 1)
        outer.addLayout(right, 2)
        self.refresh_recent()

    def refresh_recent(self) -> None:
        self.recent.clear()
        for path in preferences.recent_projects():
            item = QListWidgetItem(f"{Path(path).name.removesuffix('.storyreel')}\n{path}")
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setToolTip(path)
            self.recent.addItem(item)
        if self.recent.count() == 0:
            item = QListWidgetItem(tr("No recent projects yet."))
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.recent.addItem(item)

    def _open_item(self, item: QListWidgetItem) -> None:
        path = item.data(Qt.ItemDataRole.UserRole)
        if path:
            self.open_requested.emit(str(path))

    def browse_location(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, tr("Where to create the project"),
                                                  self.location.text())
        if folder:
            self.location.setText(folder)

    def browse_open(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, tr("Open a .storyreel project folder"))
        if folder:
            self.open_requested.emit(folder)

    def project_from_form(self) -> tuple[str, Project]:
        title = self.title_edit.text().strip() or tr("Untitled")
        aspect = Aspect(self.aspect.currentData())
        width, height = aspect.default_resolution()
        project = Project(title=title, language=Language(self.language.currentData()),
                          aspect=aspect, width=width, height=height)
        folder = Path(self.location.text().strip() or Path.home())
        return str(folder / f"{safe_folder_name(title)}.storyreel"), project

    def request_create(self) -> None:
        folder, project = self.project_from_form()
        self.create_requested.emit(folder, project)
