"""The timeline's edits: trims, music moves, transitions, music placements, menus.

``TimelineEdits`` is mixed into ``studio.timeline_view.TimelineView``; every edit goes
through the engine's operations (``engine.ops.audio``) as one undoable step and then
refreshes the view. Its strings are translated with the view's table (timeline_view.ZH).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QFileDialog, QMenu

from engine.errors import StoryreelError
from engine.model import AudioPlacement, TransitionKind
from engine.model.timeline import VideoClip
from engine.ops import audio as audio_ops
from studio.timeline_items import trims_after_drag

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget as _Base

    from engine.model.timeline import Timeline
else:
    _Base = object


class TimelineEdits(_Base):
    """The edit half of the timeline view (a mixin: the view holds the state)."""

    store: Any
    timeline: Timeline | None
    fps: Fraction
    playhead: int
    show_error: Callable[[str], None]
    choose_music_file: Callable[[], str]

    def refresh(self) -> None: ...
    def trim_of(self, shot_id: str) -> tuple[int, int]: ...
    def preview_shot(self, shot_id: str | None = None) -> None: ...

    def commit_trim(self, clip: VideoClip, edge: str, delta: int) -> None:
        trim_in, trim_out = self.trim_of(clip.shot_id)
        new_in, new_out = trims_after_drag(clip, self.fps, trim_in, trim_out, edge, delta)
        if (new_in, new_out) == (trim_in, trim_out):
            self.refresh()
            return
        try:
            audio_ops.set_clip_edit(self.store, clip.shot_id, trim_in=new_in, trim_out=new_out)
        except StoryreelError as exc:
            self.show_error(str(exc))
        self.refresh()

    def commit_music_move(self, placement_id: str, new_start: int) -> None:
        placement = self.store.get(AudioPlacement, placement_id)
        if placement is None or self.timeline is None:
            self.refresh()
            return
        anchor = next((c for c in self.timeline.video
                       if c.record_in <= new_start < c.record_out), None)
        if anchor is None and self.timeline.video:
            anchor = self.timeline.video[-1] if new_start > 0 else self.timeline.video[0]
        base = anchor.record_in if anchor else 0
        offset = max(0.0, float((new_start - base) / self.fps))
        fields: dict[str, Any] = {"from_shot": anchor.shot_id if anchor else None,
                                  "offset": round(offset, 6)}
        if anchor is not None and placement.to_shot:
            order = [c.shot_id for c in self.timeline.video]
            if placement.to_shot in order and order.index(placement.to_shot) < order.index(
                    anchor.shot_id):
                fields["to_shot"] = anchor.shot_id
        try:
            audio_ops.set_placement_fields(self.store, placement.id, **fields)
        except StoryreelError as exc:
            self.show_error(str(exc))
        self.refresh()

    def set_transition(self, shot_id: str, kind: str, seconds: float = 0.5) -> None:
        """The transition into a shot's clip: "cut", "crossfade" or "dip-to-black"."""
        frames = 0 if kind == TransitionKind.CUT else max(1, round(seconds * float(self.fps)))
        try:
            audio_ops.set_clip_edit(self.store, shot_id, transition=kind,
                                    transition_frames=frames)
        except StoryreelError as exc:
            self.show_error(str(exc))
        self.refresh()

    def reset_trims(self, shot_id: str) -> None:
        try:
            audio_ops.set_clip_edit(self.store, shot_id, trim_in=0, trim_out=0)
        except StoryreelError as exc:
            self.show_error(str(exc))
        self.refresh()

    def clip_menu(self, clip: VideoClip) -> QMenu:
        menu = QMenu(self)
        names = {TransitionKind.CUT: self.tr("Cut into this shot"),
                 TransitionKind.CROSSFADE: self.tr("Crossfade into this shot (0.5 s)"),
                 TransitionKind.DIP_TO_BLACK: self.tr("Dip to black into this shot (0.5 s)")}
        for kind, text in names.items():
            action = menu.addAction(text)
            action.setCheckable(True)
            action.setChecked(TransitionKind(clip.transition) == kind)
            action.triggered.connect(lambda _=False, k=kind: self.set_transition(
                clip.shot_id, str(k)))
        menu.addSeparator()
        menu.addAction(self.tr("Reset trims"), lambda: self.reset_trims(clip.shot_id))
        menu.addAction(self.tr("Preview shot"), lambda: self.preview_shot(clip.shot_id))
        return menu

    def music_menu(self, placement_id: str) -> QMenu:
        menu = QMenu(self)
        menu.addAction(self.tr("Remove music"), lambda: self.remove_placement(placement_id))
        return menu

    def add_music(self, path: str | None = None) -> None:
        """Place a music file from the shot under the playhead to the end of the film."""
        path = path or self.choose_music_file()
        if not path:
            return
        from_shot = None
        if self.timeline is not None:
            for index, clip in enumerate(self.timeline.video):
                if clip.record_in <= self.playhead < clip.record_out:
                    from_shot = index + 1
                    break
        try:
            audio_ops.add_music(self.store, path, from_shot=from_shot)
        except StoryreelError as exc:
            self.show_error(str(exc))
        self.refresh()

    def remove_placement(self, placement_id: str) -> None:
        placement = self.store.get(AudioPlacement, placement_id)
        if placement is None:
            return
        try:
            audio_ops.remove_placement(self.store, placement.id)
        except StoryreelError as exc:
            self.show_error(str(exc))
        self.refresh()

    def _music_file_dialog(self) -> str:
        path, _ = QFileDialog.getOpenFileName(
            self, self.tr("Add music…"), str(self.store.root.parent),
            self.tr("Audio (*.wav *.mp3 *.m4a *.aac *.flac *.ogg *.opus)"))
        return path
