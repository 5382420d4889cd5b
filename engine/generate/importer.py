"""Import: a clip the user made elsewhere (Kling, Jimeng, a phone...) becomes a take.

Approving a take and using a keyframe are operations: ``engine.ops.takes``."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from engine.errors import MediaError
from engine.model import MediaKind, TakeKind
from engine.model import entities as E


def import_take(store: Any, shot_id: str, file: str | Path, note: str = "") -> E.Take:
    """Copy a video into the media store and add it as an IMPORTED take of the shot."""
    from engine.generate.service import _add_take, _thumbnail, _tmp_root
    from engine.generate.staleness import fingerprint

    shot = store.require(E.Shot, shot_id)
    src = Path(file)
    if not src.is_file():
        raise MediaError(f"{file} does not exist or is not a file.")
    from engine.store.media import probe

    info = probe(src)
    if info.kind is not MediaKind.VIDEO:
        raise MediaError(f"{src.name} is {info.kind}, not a video; a take must be a video clip.")
    asset = store.media.import_file(src)
    work = Path(tempfile.mkdtemp(prefix="import-", dir=_tmp_root(store)))
    try:
        thumb = _thumbnail(store, store.root / asset.relpath, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    record = {
        "backend": "import", "family": "import", "source_name": src.name,
        "size": [asset.width, asset.height], "fps": asset.fps, "duration": asset.duration,
        "has_audio": asset.has_audio, "note": note, "fingerprint": fingerprint(store, shot),
        "created_ts": time.time(),
    }
    take = E.Take(shot_id=shot.id, kind=TakeKind.IMPORTED, media=asset.sha256, record=record,
                  cache_key="", thumbnail=thumb)
    _add_take(store, shot, take, cache_hit=False)
    return take

