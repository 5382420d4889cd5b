"""The identity badge on storyboard cards and the inspector's identity panel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.generate.service import generate_now
from engine.model import Project, Scene, Shot
from engine.ops.characters import add_character
from engine.ops.takes import approve_take, import_take, score_takes
from engine.store import ProjectStore
from tests.engine.generate import face_media as fm


def _project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    a, h = fm.astronaut(), fm.grace_hopper()
    with ProjectStore.create(tmp_path / "cards.storyreel", Project(title="Cards")) as store:
        eileen = add_character(store, "Eileen", references=[
            fm.save_photo(a, tmp_path / "eileen.png")]).result
        scene = Scene(number=1)
        store.add(scene)
        shots = [Shot(scene_id=scene.id, order=i, characters=[eileen.id], duration=1.0)
                 for i in range(3)]
        for shot in shots:
            store.add(shot)
        good = import_take(store, shots[0].id, fm.make_take(a, "move", tmp_path / "a.mp4")).result
        bad = import_take(store, shots[1].id, fm.make_take(h, "still", tmp_path / "h.mp4")).result
        score_takes(store, [good.id, bad.id])
        approve_take(store, bad.id)
        generate_now(store, [shots[2].id], overrides={"width": 64, "height": 96})
        return store.root, {"good": shots[0].id, "bad": shots[1].id, "animatic": shots[2].id}


def test_cards_show_identity_and_the_inspector_charts_it(window: Any, qtbot: Any,
                                                         tmp_path: Path) -> None:
    from studio.storyboard import identity_text

    root, shots = _project(tmp_path)
    assert window.open_project(str(root))
    board = window.storyboard
    qtbot.waitUntil(lambda: board.card(shots["good"]) is not None, timeout=5000)
    good, bad, animatic = (board.card(shots[k]) for k in ("good", "bad", "animatic"))
    assert good.identity == "ok" and identity_text(good).startswith("ID 0.")
    assert bad.identity == "drift" and identity_text(bad).startswith("drift 0.")
    assert animatic.identity == "n/a" and identity_text(animatic) == "ID n/a"
    # the inspector shows the drifted take's per-frame scores, threshold and worst frame
    board.select_shots([shots["bad"]])
    inspector = window.inspector
    inspector.show_shot(shots["bad"])
    inspector.refresh()
    panel = inspector.identity_panel
    qtbot.waitUntil(lambda: panel.take_id is not None, timeout=5000)
    assert "Eileen 0.3" in panel.summary.text() and "drift" in panel.summary.text()
    ((name, values),) = panel.chart.series
    assert name == "Eileen" and len(values) == 6 and max(values) < 0.5
    assert panel.worst.pixmap() is not None and not panel.worst.pixmap().isNull()
    assert "⚠" in inspector.takes.item(0).text()
    window.grab().save(str(tmp_path / "identity.png"))
    # an animatic take: not applicable, said so, no chart
    inspector.show_shot(shots["animatic"])
    inspector.refresh()
    qtbot.waitUntil(lambda: "not applicable" in panel.summary.text(), timeout=5000)
    assert not panel.chart.isVisibleTo(panel)


def test_export_dialog_warns_about_drifted_approved_takes(qtbot: Any, tmp_path: Path) -> None:
    from studio.export_dialog import ExportDialog

    root, _shots = _project(tmp_path)
    with ProjectStore.open(root) as store:
        dialog = ExportDialog(store)
        qtbot.addWidget(dialog)
        assert dialog.drift_label.isVisibleTo(dialog)
        assert "approved take of shot 1-2 drifted" in dialog.drift_label.text()
        assert "1-1" not in dialog.drift_label.text()  # the good take is not approved
