"""The series in the studio, offscreen: the episode navigator shows one episode at a time
on the storyboard and the timeline, titles edit through the operations (undoable), and
the Locations tab edits a place's description and reference images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from engine.model import Location
from tests.engine.story.test_series import SERIES
from tests.media_factory import make_image


def _open_series(window: Any, qtbot: Any, tmp_path: Path) -> Any:
    from engine.ops.story import import_script_text
    from engine.store import ProjectStore

    root = tmp_path / "逆光.storyreel"
    with ProjectStore.create(root) as store:
        import_script_text(store, SERIES)
    assert window.open_project(str(root)), window.dialogs.errors
    QApplication.processEvents()
    return window.store


def test_navigator_shows_one_episode_at_a_time(window: Any, qtbot: Any, tmp_path: Path) -> None:
    store = _open_series(window, qtbot, tmp_path)
    nav = window.episodes_dock.navigator
    assert window.episodes_dock.isVisibleTo(window)
    assert window.episodes_dock.toggleViewAction() in window.view_menu.actions()
    assert nav.table.rowCount() == 2
    assert [nav.table.item(r, 1).text() for r in range(2)] == ["重逢", "真相"]
    assert nav.table.item(0, 2).text() == "5" and nav.table.item(1, 4).text() == "0/6"
    ep1, ep2 = store.episodes()
    window.storyboard.refresh()
    assert set(window.storyboard.strips) == {s.id for s in store.scenes(ep1.id)}
    nav.select_episode(2)
    qtbot.waitUntil(lambda: window.storyboard.episode_id == ep2.id)
    assert set(window.storyboard.strips) == {s.id for s in store.scenes(ep2.id)}
    first = window.storyboard.strips[store.scenes(ep2.id)[0].id].item(0)
    assert first.data(Qt.ItemDataRole.UserRole + 1).label == "E2 1-1"
    assert window.timeline.episode == 2
    window.show()
    window.tabs.setCurrentWidget(window.timeline)
    window.timeline.refresh()
    qtbot.waitUntil(lambda: window.timeline.ready, timeout=20_000)
    labels = [c.label for c in window.timeline.snapshot.timeline.video]
    assert labels and all(label.startswith("E2 ") for label in labels)
    # a title edited in place is an operation: saved, and undone by Undo
    nav.table.item(1, 1).setText("真相大白")
    assert store.episodes()[1].title == "真相大白"
    window.undo.undo()
    qtbot.waitUntil(lambda: store.episodes()[1].title == "真相")
    qtbot.waitUntil(lambda: nav.table.item(1, 1).text() == "真相")


def test_locations_tab_edits_description_and_references(window: Any, qtbot: Any,
                                                        tmp_path: Path) -> None:
    store = _open_series(window, qtbot, tmp_path)
    view = window.locations
    names = [view.list.item(i).text() for i in range(view.list.count())]
    assert names == ["咖啡馆", "客厅", "街道"]
    view.list.setCurrentRow(1)
    assert "E1 1" in view.scenes.text() and "E2 1" in view.scenes.text()
    view.description.setPlainText("老式公寓，暖色木地板")
    view.apply.click()
    room = store.all(Location, name="客厅")[0]
    assert room.description == "老式公寓，暖色木地板"
    assert all("老式公寓" in s.prompt for sc in store.scenes() if sc.location_id == room.id
               for s in store.shots(sc.id))
    view.set_references([str(make_image(tmp_path / "room.png"))])
    assert len(store.require(Location, room.id).reference_images) == 1
    assert view.refs.count() == 1
    view.set_references([str(tmp_path / "missing.png")])
    assert any("does not exist" in e for e in window.dialogs.errors)
    out = tmp_path / "locations.png"
    window.tabs.setCurrentWidget(view)
    assert window.grab().save(str(out)) and out.stat().st_size > 0
