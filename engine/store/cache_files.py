"""Bounded cache folders: the oldest files go first (segments, sound chunks, decodes)."""

from __future__ import annotations

from pathlib import Path


def prune_oldest(folder: Path, patterns: tuple[str, ...], limit: int,
                 keep: set[str] | frozenset[str] = frozenset()) -> int:
    """Remove the least recently written files of ``folder`` matching ``patterns`` (never
    those whose stem is in ``keep``) until they hold at most ``limit`` bytes. Returns how
    many were removed."""
    if not folder.is_dir():
        return 0
    entries = []
    for pattern in patterns:
        for path in folder.glob(pattern):
            try:
                st = path.stat()
            except OSError:
                continue
            entries.append((st.st_mtime_ns, st.st_size, path))
    total = sum(size for _t, size, _p in entries)
    removed = 0
    for _t, size, path in sorted(entries):
        if total <= limit:
            break
        if path.stem in keep:
            continue
        path.unlink(missing_ok=True)
        total -= size
        removed += 1
    return removed
