"""The script tab: the script text with scene headings, cues and dialogue highlighted."""

from __future__ import annotations

import re

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.i18n import tr

_NUM = r"[0-9一二三四五六七八九十百零〇两]+"
SCENE_HEADING = re.compile(
    rf"^\s*(?:第{_NUM}[场幕集]|场景\s*{_NUM}|{_NUM}\s*[、.．]\s*(?:[日夜晨昏]|.*[内外]景?)"
    r"|(?:INT|EXT|EST|INT\.?/EXT|I/E)[.\s]|\.(?=[^.]))",
    re.IGNORECASE,
)
TRANSITION = re.compile(r"^\s*(?:[A-Z ]+TO:|FADE (?:IN|OUT)[.:]?|切至|转场|淡入|淡出|黑场)\s*$")
# 林晓（冷笑）：你来了。  /  林晓: 你来了。
CJK_CUE = re.compile(r"^\s*([^\s：:（(△【\[]{1,12})\s*(?:[（(][^）)]*[）)])?\s*[：:]")
FOUNTAIN_CUE = re.compile(r"^\s*@?[A-Z][A-Z0-9 .'\-]{1,30}(?:\s*\(.*\))?\s*$")
PARENTHETICAL = re.compile(r"[（(][^）)]*[）)]")
ACTION_MARK = re.compile(r"^\s*[△▲]")


def _fmt(color: str, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(color))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    fmt.setFontItalic(italic)
    return fmt


class ScriptHighlighter(QSyntaxHighlighter):
    """Scene headings (第1场 日 内 …, INT./EXT.), character cues, parentheticals, actions."""

    STATE_CUE = 1  # the previous line was a Fountain character cue → this one is dialogue

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self.heading = _fmt("#f5b94a", bold=True)
        self.cue = _fmt("#6fb7ff", bold=True)
        self.dialogue = _fmt("#e8e8e8")
        self.parenthetical = _fmt("#9a9a9a", italic=True)
        self.transition = _fmt("#c78bff", bold=True)
        self.action = _fmt("#8fd19e")

    def line_kind(self, text: str, previous_state: int = -1) -> str:
        """What a line is: heading, transition, cue, dialogue, action or text."""
        if not text.strip():
            return "blank"
        if SCENE_HEADING.match(text):
            return "heading"
        if TRANSITION.match(text):
            return "transition"
        if ACTION_MARK.match(text):
            return "action"
        if CJK_CUE.match(text):
            return "cue"
        if previous_state == self.STATE_CUE:
            return "dialogue"
        if FOUNTAIN_CUE.match(text) and text.strip().upper() == text.strip():
            return "fountain-cue"
        return "text"

    def highlightBlock(self, text: str) -> None:  # noqa: N802 - Qt API
        kind = self.line_kind(text, self.previousBlockState())
        self.setCurrentBlockState(0)
        if kind == "heading":
            self.setFormat(0, len(text), self.heading)
        elif kind == "transition":
            self.setFormat(0, len(text), self.transition)
        elif kind == "action":
            self.setFormat(0, len(text), self.action)
        elif kind == "cue":
            match = CJK_CUE.match(text)
            assert match is not None
            end = match.end()
            self.setFormat(0, end, self.cue)
            self.setFormat(end, len(text) - end, self.dialogue)
        elif kind == "fountain-cue":
            self.setFormat(0, len(text), self.cue)
            self.setCurrentBlockState(self.STATE_CUE)
        elif kind == "dialogue":
            self.setFormat(0, len(text), self.dialogue)
            if PARENTHETICAL.fullmatch(text.strip()):
                self.setCurrentBlockState(self.STATE_CUE)
        for match in PARENTHETICAL.finditer(text):
            if kind in ("cue", "dialogue", "fountain-cue"):
                self.setFormat(match.start(), match.end() - match.start(), self.parenthetical)


class ScriptEditor(QWidget):
    """Script text + "Import script…", "Apply", "Plan shots". The window runs the engine."""

    import_requested = Signal()
    apply_requested = Signal(str)
    plan_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.import_button = QPushButton(tr("Import script…"))
        self.import_button.clicked.connect(self.import_requested)
        self.apply_button = QPushButton(tr("Apply text"))
        self.apply_button.setToolTip(tr("Parse the text into scenes and shots"))
        self.apply_button.clicked.connect(self._apply)
        self.plan_button = QPushButton(tr("Plan shots"))
        self.plan_button.setObjectName("primary")
        self.plan_button.clicked.connect(self.plan_requested)
        self.idea = QLineEdit()
        self.idea.setPlaceholderText(tr("No script yet? Describe the story idea, then Plan shots"))
        self.status = QLabel("")
        self.status.setObjectName("muted")
        for w in (self.import_button, self.apply_button, self.plan_button):
            bar.addWidget(w)
        bar.addWidget(self.idea, 2)
        bar.addWidget(self.status, 1)
        layout.addLayout(bar)
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText(tr(
            "Paste or type a script here: 第1场 日 内 咖啡馆 … or INT. CAFE - DAY …"))
        font = self.editor.font()
        font.setPointSize(max(font.pointSize(), 11))
        self.editor.setFont(font)
        self.highlighter = ScriptHighlighter(self.editor.document())
        layout.addWidget(self.editor, 1)

    def _apply(self) -> None:
        self.apply_requested.emit(self.editor.toPlainText())

    def idea_text(self) -> str | None:
        """The idea to plan from, when there is no script text; else None."""
        idea = self.idea.text().strip()
        return idea if idea and not self.editor.toPlainText().strip() else None

    def text(self) -> str:
        return self.editor.toPlainText()

    def set_text(self, text: str) -> None:
        """Show the project's script without losing the cursor when unchanged."""
        if text != self.editor.toPlainText():
            self.editor.setPlainText(text)
            self.editor.document().setModified(False)

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    @property
    def modified(self) -> bool:
        return self.editor.document().isModified()
