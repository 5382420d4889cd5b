"""One film per episode: ``export DIR OUT_DIR --all-episodes``.

Each episode is rendered from its own Timeline (``build_timeline(store, episode)``) to
``E01_标题.mp4`` (with ``.srt`` / ``.otio`` sidecars when asked) in the output folder, under
one progress bar over the whole batch; cancel stops between frames as a single export does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from engine.errors import StoryreelError
from engine.jobs.progress import CancelToken, Progress, no_progress, scaled
from engine.render.export import ExportReport, export_film

_UNSAFE = re.compile(r"[\\/:*?\"<>|\x00-\x1f]+")


def episode_file_name(number: int, title: str, suffix: str = ".mp4") -> str:
    """``E01_重逢.mp4``: sorted by number, readable, safe on Windows, macOS and Linux."""
    clean = _UNSAFE.sub("_", title.strip()).strip(" ._")[:60]
    return f"E{number:02d}{'_' + clean if clean else ''}{suffix}"


def export_all_episodes(store: Any, out_dir: Path | str, *, suffix: str = ".mp4",
                        progress: Progress = no_progress, cancel: CancelToken | None = None,
                        **options: Any) -> list[ExportReport]:
    """Export every episode with shots to the folder ``out_dir`` (made when missing, as a
    single export makes its file's folder; a file there is refused)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise StoryreelError(f"{out_dir} is a file, not a folder; --all-episodes writes one "
                             "film per episode into a folder.")
    episodes = [e for e in store.episodes()
                if any(store.shots(sc.id) for sc in store.scenes(e.id))]
    if not episodes:
        raise StoryreelError("No episode has shots yet; import a script first.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoryreelError(f"Cannot make the folder {out_dir}: {exc.strerror}.") from None
    reports: list[ExportReport] = []
    for i, episode in enumerate(episodes):
        if cancel is not None:
            cancel.check()
        part = scaled(progress, i / len(episodes), (i + 1) / len(episodes))
        target = out / episode_file_name(episode.number, episode.title, suffix)
        reports.append(export_film(
            store, target, progress=lambda f, m="", n=episode.number, p=part:
            p(f, f"Episode {n}: {m}" if m else f"Episode {n}"),
            cancel=cancel, episode=episode.number, **options))
    progress(1.0, f"Exported {len(reports)} episodes")
    return reports
