"""The inspector's takes list: load, play, approve, keyframes, compare.

``InspectorTakes`` is mixed into ``studio.inspector.ShotInspector`` (which holds the widgets
and the store); every change goes through the engine's take operations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QListWidgetItem

from engine.generate import identity
from engine.model import Shot, Take
from engine.ops import takes as take_ops
from studio.i18n import tr

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget as _Base
else:
    _Base = object

ID_ROLE = Qt.ItemDataRole.UserRole


class InspectorTakes(_Base):
    """The takes half of the shot inspector (a mixin: the inspector holds the state)."""

    store: Any
    takes: Any  # the QListWidget of takes
    identity_panel: Any
    error: Any  # Signal(str)
    play_requested: Any  # Signal(str)
    compare_requested: Any  # Signal(str, str)
    _takes_signature: tuple[Any, ...]

    def shot(self) -> Shot | None: ...
    def refresh(self) -> None: ...

    def _load_takes(self, shot: Shot) -> None:
        takes = self.store.takes(shot.id)
        signature = (shot.id, shot.approved_take_id,
                     tuple((t.id, t.approved, t.thumbnail, str(t.identity.get("scored_at")),
                            str(t.identity.get("status"))) for t in takes))
        if signature == self._takes_signature:
            return
        self._takes_signature = signature
        selected = {str(i.data(ID_ROLE)) for i in self.takes.selectedItems()}
        self.takes.clear()
        threshold = identity.threshold_for(self.store)
        for n, take in enumerate(takes, start=1):
            approved = take.id == shot.approved_take_id or take.approved
            word, score = identity.summary(self.store, take, threshold)
            mark = f" · {score:.2f}" + (" ⚠" if word == "drift" else "") if score is not None \
                else ""
            item = QListWidgetItem(f"#{n} {tr(str(take.kind))}" + (" ✓" if approved else "")
                                   + mark)
            item.setData(ID_ROLE, take.id)
            if take.thumbnail:
                path = self.store.media_path(take.thumbnail)
                if path.is_file():
                    item.setIcon(QIcon(QPixmap(str(path))))
            item.setToolTip(str(take.record.get("backend", take.kind)))
            self.takes.addItem(item)
            if take.id in selected:
                item.setSelected(True)
        self._show_identity()

    def _show_identity(self) -> None:
        """The identity panel follows the selected take, else the one the film uses."""
        shot = self.shot() if self.store is not None else None
        takes = self.store.takes(shot.id) if shot is not None else []
        chosen = {str(i.data(ID_ROLE)) for i in self.takes.selectedItems()}
        picked = [t for t in takes if t.id in chosen]
        if not picked and shot is not None:
            from engine.render.timeline_builder import choose_take

            picked = [t for t in [choose_take(shot, takes)] if t is not None]
        self.identity_panel.show_take(self.store, picked[0] if picked else None)

    # ------------------------------------------------------------------ actions
    def selected_take_ids(self) -> list[str]:
        return [str(i.data(ID_ROLE)) for i in self.takes.selectedItems()]

    def play_selected(self) -> None:
        ids = self.selected_take_ids() or ([str(self.takes.item(0).data(ID_ROLE))]
                                           if self.takes.count() else [])
        if not ids:
            return
        take = self.store.get(Take, ids[0])
        if take is not None:
            self.play_requested.emit(str(self.store.media_path(take.media)))

    def approve_selected(self) -> None:
        ids = self.selected_take_ids()
        if len(ids) != 1:
            self.error.emit(tr("Select one take to approve."))
            return
        self.approve_take(ids[0])

    def approve_take(self, take_id: str) -> None:
        try:
            take_ops.approve_take(self.store, take_id)
        except Exception as exc:  # noqa: BLE001 - the engine's sentence, as a dialog
            self.error.emit(str(exc))
        self.refresh()

    def use_selected_keyframe(self, last: bool = False) -> None:
        """The selected keyframe take's still as the shot's first (or last) frame."""
        ids = self.selected_take_ids()
        if len(ids) != 1:
            self.error.emit(tr("Select one take to use its keyframe."))
            return
        try:
            take_ops.use_keyframe(self.store, ids[0], last=last)
        except Exception as exc:  # noqa: BLE001 - the engine's sentence, as a dialog
            self.error.emit(str(exc))
        self.refresh()

    def compare_selected(self) -> None:
        ids = self.selected_take_ids()
        if len(ids) != 2:
            self.error.emit(tr("Select two takes to compare."))
            return
        self.compare_requested.emit(ids[0], ids[1])
