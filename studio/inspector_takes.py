"""The inspector's takes list: load, play, approve, keyframes, compare.

``InspectorTakes`` is mixed into ``studio.inspector.ShotInspector`` (which holds the widgets
and the store); every change goes through the engine's take operations. Keyframes come
from the frame the preview shows ("Use this frame as first/last keyframe", in the takes'
keyframe menu, their context menu and the preview's), from a keyframe model's still, or
from an image file dropped on the inspector (Shift or Alt: the last keyframe).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QIcon, QPixmap
from PySide6.QtWidgets import QListWidgetItem, QMenu, QWidget

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
    # set by the window: the file and time of the frame the preview shows (None: nothing)
    frame_source: Callable[[], tuple[Path, float] | None] | None = None

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

    # ------------------------------------------------------------------ frame → keyframe
    def shown_take(self) -> tuple[Take, float] | None:
        """The take whose frame the preview shows now, and that frame's time in the take
        (this shot's takes are looked at first, then any take of the project)."""
        shown = self.frame_source() if self.frame_source is not None else None
        if shown is None or self.store is None:
            return None
        path, at = shown
        path = path.resolve()
        shot = self.shot()
        mine = self.store.takes(shot.id) if shot is not None else []
        seen: set[str] = set()
        for take in [*mine, *self.store.all(Take)]:
            if take.media in seen:
                continue
            seen.add(take.media)
            try:
                if self.store.media_path(take.media).resolve() == path:
                    return take, at
            except Exception:  # noqa: BLE001 - a take whose media is gone is not shown
                continue
        return None

    def use_shown_frame(self, last: bool = False) -> None:
        """The frame the preview shows becomes this shot's first (or last) keyframe,
        through the engine's keyframe operation (one undo step). With one take selected,
        the preview must be showing that take."""
        shot = self.shot()
        if shot is None:
            self.error.emit(tr("Select a shot first."))
            return
        ids = self.selected_take_ids()
        if len(ids) > 1:
            self.error.emit(tr("Select one take to use a frame of it."))
            return
        shown = self.shown_take()
        if shown is None or (ids and shown[0].id != ids[0]):
            self.error.emit(tr("Play the take in the preview and pause on the frame to use; "
                               "then choose this again."))
            return
        take, at = shown
        try:
            take_ops.set_keyframe(self.store, shot.id, take.id, at=round(at, 6), last=last)
        except Exception as exc:  # noqa: BLE001 - the engine's sentence, as a dialog
            self.error.emit(str(exc))
        self.refresh()

    def keyframe_menu(self, parent: QWidget | None = None) -> QMenu:
        """Use this frame as first / last keyframe, and a keyframe model's still."""
        menu = QMenu(parent)
        menu.addAction(tr("Use this frame as first keyframe"),
                       lambda: self.use_shown_frame(last=False))
        menu.addAction(tr("Use this frame as last keyframe"),
                       lambda: self.use_shown_frame(last=True))
        menu.addSeparator()
        menu.addAction(tr("Use the take's keyframe image"), lambda: self.use_selected_keyframe())
        return menu

    # ------------------------------------------------------------------ dropped images
    def use_image_file(self, path: str | Path, last: bool = False) -> None:
        """An image file as the shot's first (or last) keyframe: the same operation and
        checks as ``storyreel keyframe DIR SHOT FILE`` (a bad file: one sentence)."""
        shot = self.shot()
        if shot is None:
            self.error.emit(tr("Select a shot first."))
            return
        try:
            take_ops.set_keyframe(self.store, shot.id, Path(path), last=last)
        except Exception as exc:  # noqa: BLE001 - the engine's sentence, as a dialog
            self.error.emit(str(exc))
        self.refresh()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if self.shot() is not None and dropped_file(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt API
        self.dragEnterEvent(event)  # type: ignore[arg-type]

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        path = dropped_file(event.mimeData())
        if path is None or self.shot() is None:
            event.ignore()
            return
        event.acceptProposedAction()
        modifiers = event.modifiers()
        last = bool(modifiers & (Qt.KeyboardModifier.ShiftModifier
                                 | Qt.KeyboardModifier.AltModifier))
        self.use_image_file(path, last=last)

    def compare_selected(self) -> None:
        ids = self.selected_take_ids()
        if len(ids) != 2:
            self.error.emit(tr("Select two takes to compare."))
            return
        self.compare_requested.emit(ids[0], ids[1])


def dropped_file(mime: QMimeData) -> Path | None:
    """The one local file a drag carries (None: no file, several, or not local)."""
    if not mime.hasUrls():
        return None
    files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
    return Path(files[0]) if len(files) == 1 else None
