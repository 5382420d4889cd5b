"""User preferences (language, LLM settings, recent projects), persisted with QSettings.

Settings live under the organisation/application "Storyreel". When ``STORYREEL_HOME`` is
set (tests, portable installs) they go to ``$STORYREEL_HOME/studio.ini`` instead, so a
test never reads or writes the user's real settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from studio.i18n import tr

ORG = "Storyreel"
APP = "Storyreel"
LLM_MODES = ("auto", "none", "openai", "local")
MAX_RECENT = 10


def settings() -> QSettings:
    home = os.environ.get("STORYREEL_HOME")
    if home:
        return QSettings(str(Path(home) / "studio.ini"), QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, APP)


@dataclass
class LlmSettings:
    mode: str = "auto"  # auto | none | openai | local
    base_url: str = ""
    model: str = ""
    model_path: str = ""

    def planner_kwargs(self) -> dict[str, str | None]:
        """Keyword arguments for engine.ops.story.plan."""
        return {"llm": self.mode, "base_url": self.base_url or None,
                "model": self.model or None, "model_path": self.model_path or None}


def _str(value: object, default: str = "") -> str:
    return default if value is None else str(value)


def language() -> str:
    value = _str(settings().value("ui/language"), "system")
    return value if value in ("system", "zh", "en") else "system"


def set_language(value: str) -> None:
    s = settings()
    s.setValue("ui/language", value)
    s.sync()


def llm() -> LlmSettings:
    s = settings()
    mode = _str(s.value("llm/mode"), "auto")
    return LlmSettings(mode if mode in LLM_MODES else "auto", _str(s.value("llm/base_url")),
                       _str(s.value("llm/model")), _str(s.value("llm/model_path")))


def set_llm(value: LlmSettings) -> None:
    s = settings()
    s.setValue("llm/mode", value.mode)
    s.setValue("llm/base_url", value.base_url)
    s.setValue("llm/model", value.model)
    s.setValue("llm/model_path", value.model_path)
    s.sync()


def recent_projects() -> list[str]:
    raw = settings().value("recent/projects")
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else [str(x) for x in raw]
    return [p for p in items if p and Path(p).is_dir()]


def add_recent_project(path: str | Path) -> None:
    path = str(Path(path).resolve())
    items = [p for p in recent_projects() if p != path]
    s = settings()
    s.setValue("recent/projects", [path, *items][:MAX_RECENT])
    s.sync()


class PreferencesDialog(QDialog):
    """Language and LLM settings. ``accept()`` writes them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Preferences"))
        layout = QVBoxLayout(self)

        ui = QGroupBox(tr("Interface"))
        form = QFormLayout(ui)
        self.language = QComboBox()
        for key, label in (("system", tr("Follow the system")), ("zh", "简体中文"),
                           ("en", "English")):
            self.language.addItem(label, key)
        self.language.setCurrentIndex(max(0, self.language.findData(language())))
        form.addRow(tr("Language"), self.language)
        layout.addWidget(ui)

        box = QGroupBox(tr("Shot planner (LLM)"))
        form = QFormLayout(box)
        current = llm()
        self.mode = QComboBox()
        for key, label in (("auto", tr("Automatic")), ("none", tr("No LLM (rules only)")),
                           ("openai", tr("OpenAI-compatible server")),
                           ("local", tr("Local model folder"))):
            self.mode.addItem(label, key)
        self.mode.setCurrentIndex(max(0, self.mode.findData(current.mode)))
        self.base_url = QLineEdit(current.base_url)
        self.base_url.setPlaceholderText("http://127.0.0.1:11434/v1")
        self.model = QLineEdit(current.model)
        self.model_path = QLineEdit(current.model_path)
        form.addRow(tr("Mode"), self.mode)
        form.addRow(tr("Server URL"), self.base_url)
        form.addRow(tr("Model name"), self.model)
        form.addRow(tr("Model folder"), self.model_path)
        layout.addWidget(box)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(460, 320)

    def values(self) -> tuple[str, LlmSettings]:
        return (str(self.language.currentData()),
                LlmSettings(str(self.mode.currentData()), self.base_url.text().strip(),
                            self.model.text().strip(), self.model_path.text().strip()))

    def accept(self) -> None:
        lang, llm_settings = self.values()
        set_language(lang)
        set_llm(llm_settings)
        super().accept()
