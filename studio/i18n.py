"""Chinese and English UI through Qt's translation machinery.

The source strings are English. Chinese comes from ``studio.i18n_zh.ZH`` (the one place
translators edit); ``write_ts`` exports it as a Qt Linguist ``.ts`` file and ``compile_qm``
turns that into a ``.qm`` with ``pyside6-lrelease`` when the tool is installed. At run
time a compiled ``.qm`` next to this module is preferred; otherwise ``DictTranslator``
(a ``QTranslator`` subclass) serves the same strings, so switching always works.
Every visible string goes through ``tr()`` / ``QCoreApplication.translate``.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape

from PySide6.QtCore import QCoreApplication, QLocale, QObject, QTranslator

from studio.i18n_zh import ALL_ZH, ZH, ZH_WIDGETS

CONTEXT = "Storyreel"
LANGUAGES = ("system", "zh", "en")
QM_PATH = Path(__file__).resolve().parent / "translations" / "storyreel_zh_CN.qm"

_installed: list[QTranslator] = []


def tr(text: str) -> str:
    """Translate one UI string in the shared context."""
    return QCoreApplication.translate(CONTEXT, text)


class DictTranslator(QTranslator):
    """A QTranslator backed by a Python dict (source → translation), any context."""

    def __init__(self, table: dict[str, str], parent: object | None = None,
                 contexts: dict[str, dict[str, str]] | None = None) -> None:
        super().__init__(parent)
        self.table = table
        # per-context tables win: a widget's "Size" (of a frame, 尺寸) is not the shared
        # "Size" (of a shot, 景别)
        self.contexts = contexts or {}

    def translate(self, context: str, source: str, disambiguation: str | None = None,
                  n: int = -1) -> str | None:  # type: ignore[override]
        # None becomes a null QString: Qt then tries other translators or the source text
        own = self.contexts.get(context)
        if own is not None and source in own:
            return own[source]
        return self.table.get(source)

    def isEmpty(self) -> bool:  # noqa: N802 - Qt API
        return not self.table

    def language(self) -> str:
        return "zh_CN"


# Widgets that keep their own table next to their code (they translate with self.tr()).
WIDGET_MODULES = ("studio.jobs_dock", "studio.timeline_view", "studio.export_dialog",
                  "studio.player", "studio.take_compare", "studio.handoff_dialog")


def full_table() -> dict[str, str]:
    """Every Chinese string of the studio: the widgets' own tables, then the shared one."""
    table: dict[str, str] = {}
    for name in WIDGET_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        table.update(getattr(module, "ZH", {}))
    table.update(ALL_ZH)  # the shared table wins where both translate a string
    return table


def context_tables() -> dict[str, dict[str, str]]:
    """Each widget class (its tr() context) → its module's table under ``ZH_WIDGETS``.

    The curated widget table keeps the studio's words consistent (a take is 版本
    everywhere); the module's own table then answers before the window's shared one.
    """
    contexts: dict[str, dict[str, str]] = {}
    for name in WIDGET_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        table = getattr(module, "ZH", None)
        if not table:
            continue
        for obj in vars(module).values():
            if (isinstance(obj, type) and issubclass(obj, QObject)
                    and obj.__module__ == module.__name__):
                contexts[obj.__name__] = {**table, **ZH_WIDGETS}
    return contexts


def resolve_language(choice: str) -> str:
    """``"zh"`` or ``"en"`` for a preference of ``"system"``, ``"zh"`` or ``"en"``."""
    if choice in ("zh", "en"):
        return choice
    return "zh" if QLocale.system().language() == QLocale.Language.Chinese else "en"


def current_language() -> str:
    return "zh" if _installed else "en"


_ENGINE_PATTERNS: list[tuple[re.Pattern[str], str]] = []


def tr_engine(message: str) -> str:
    """An engine progress message in the UI language (engine sentences stay as written
    when no pattern matches them)."""
    if current_language() != "zh" or not message:
        return message
    if not _ENGINE_PATTERNS:
        from studio.i18n_zh import ENGINE_ZH

        _ENGINE_PATTERNS.extend((re.compile(p), r) for p, r in ENGINE_ZH)
    episode = re.fullmatch(r"Episode (\d+): (.+)", message)  # one film of a batch export
    if episode:
        return f"第 {episode.group(1)} 集：{tr_engine(episode.group(2))}"
    for pattern, replacement in _ENGINE_PATTERNS:
        m = pattern.fullmatch(message)
        if m:
            return m.expand(replacement)
    return message


def install_language(choice: str) -> str:
    """Install the translator for ``choice`` on the running application; returns zh/en."""
    app = QCoreApplication.instance()
    lang = resolve_language(choice)
    if app is None:
        return lang
    while _installed:
        app.removeTranslator(_installed.pop())
    if lang == "zh":
        # the dict answers for every context (the other widgets use their class names);
        # the compiled .qm, installed last, is asked first for the window's own strings
        dictionary = DictTranslator(full_table(), app, context_tables())
        translators: list[QTranslator] = [dictionary]
        compiled = QTranslator(app)
        if QM_PATH.is_file() and compiled.load(str(QM_PATH)):
            translators.append(compiled)
        for translator in translators:
            app.installTranslator(translator)
            _installed.append(translator)
    return lang


def write_ts(path: Path, table: dict[str, str] | None = None) -> Path:
    """Export the Chinese table as a Qt Linguist .ts file (for translators and lrelease)."""
    table = ZH if table is None else table
    lines = ['<?xml version="1.0" encoding="utf-8"?>', "<!DOCTYPE TS>",
             '<TS version="2.1" language="zh_CN" sourcelanguage="en">',
             f"<context><name>{CONTEXT}</name>"]
    for source, target in table.items():
        lines.append(f"<message><source>{escape(source)}</source>"
                     f"<translation>{escape(target)}</translation></message>")
    lines += ["</context>", "</TS>", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def lrelease_tool() -> str | None:
    """The pyside6-lrelease next to the running interpreter, or on PATH."""
    local = Path(sys.executable).parent / "pyside6-lrelease"
    if local.is_file():
        return str(local)
    return shutil.which("pyside6-lrelease")


def compile_qm(ts: Path, qm: Path) -> bool:
    """Compile ``ts`` to ``qm`` with pyside6-lrelease; False when the tool is missing."""
    tool = lrelease_tool()
    if tool is None:
        return False
    qm.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([tool, "-silent", str(ts), "-qm", str(qm)], capture_output=True,
                          text=True, check=False, timeout=120)
    return done.returncode == 0 and qm.is_file()


def main() -> int:
    """``python -m studio.i18n``: regenerate translations/storyreel_zh_CN.ts and .qm."""
    ts = write_ts(QM_PATH.with_suffix(".ts"))
    ok = compile_qm(ts, QM_PATH)
    print(f"Wrote {ts}" + (f" and {QM_PATH}" if ok else " (pyside6-lrelease not found)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
