from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


class FakeDialogs:
    """Answers every modal question of the window without showing anything."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.infos: list[str] = []
        self.answer = False
        self.open_path = ""
        self.save_path = ""
        self.dir_path = ""
        self.shown: list[Any] = []

    def error(self, parent: Any, message: str) -> None:
        self.errors.append(message)

    def info(self, parent: Any, message: str) -> None:
        self.infos.append(message)

    def question(self, parent: Any, title: str, message: str) -> bool:
        return self.answer

    def open_file(self, parent: Any, caption: str, filters: str) -> str:
        return self.open_path

    def save_file(self, parent: Any, caption: str, default: str, filters: str) -> str:
        return self.save_path

    def existing_dir(self, parent: Any, caption: str) -> str:
        return self.dir_path

    def run(self, dialog: Any) -> int:
        dialog.show()  # non-modal: the test drives it
        self.shown.append(dialog)
        return 1


@pytest.fixture
def window(qtbot: Any) -> Any:
    from studio.app import application
    from studio.main_window import MainWindow

    application()
    win = MainWindow(autosave_ms=60_000)
    win.dialogs = FakeDialogs()
    qtbot.addWidget(win)
    win.resize(1400, 900)
    yield win
    win.close_project()


@pytest.fixture
def sample_script(tmp_path: Path) -> Path:
    from engine.assets import asset_path

    sample = asset_path("sample", "script.txt")
    if sample.is_file():
        return sample
    path = tmp_path / "script.txt"
    path.write_text("第1场 夜 内 咖啡馆\n林雨：你终于肯来了。\n陈默：对不起。\n\n"
                    "第2场 夜 外 街道\n△ 大雨中的街道。\n林雨：放手！\n", encoding="utf-8")
    return path
