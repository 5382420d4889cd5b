"""Take operations: import, approve (the one implementation), keyframes, delete, identity
scores and best-of-N picks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.generate import identity, importer
from engine.jobs.progress import CancelToken, Progress, no_progress
from engine.model import ShotStatus
from engine.model import entities as E
from engine.ops import derived
from engine.ops.addressing import resolve_take, shot_label
from engine.ops.base import Changes, OpError, operation, with_result
from engine.store.project import ProjectStore


def import_take(store: ProjectStore, shot_id: str, file: str | Path, note: str = "", *,
                author: str | None = None) -> Changes:
    """A video or image from disk as a new take of the shot (probed first)."""
    shot = store.require(E.Shot, shot_id)
    with operation(store, f"Import take for shot {shot_label(store, shot.id)}", author) as out:
        take = importer.import_take(store, shot.id, file, note)
    return with_result(out[0], take)


def approve_take(store: ProjectStore, take_id: str, *, author: str | None = None) -> Changes:
    """Approve one take: the others of its shot not, the shot APPROVED and using it."""
    take = store.get(E.Take, take_id)
    if take is None:
        raise OpError(f"No take with id {take_id} in this project.")
    with operation(store, f"Approve take of shot {shot_label(store, take.shot_id)}",
                   author) as out:
        _approve(store, take)
    return with_result(out[0], store.require(E.Take, take.id))


def _approve(store: ProjectStore, take: E.Take) -> None:
    """Inside an operation: this take approved, the others of its shot not."""
    for other in store.takes(take.shot_id):
        if other.approved != (other.id == take.id):
            store.set_fields(E.Take, other.id, approved=other.id == take.id)
    store.set_fields(E.Shot, take.shot_id, approved_take_id=take.id,
                     status=ShotStatus.APPROVED)


def use_keyframe(store: ProjectStore, take_id: str, *, last: bool = False,
                 author: str | None = None) -> Changes:
    """A keyframe take's still as its shot's first (or last) keyframe."""
    take = store.require(E.Take, take_id)
    sha = take.record.get("keyframe")
    if not sha:
        raise OpError(f"Take {take.id[:8]} has no keyframe image; only keyframe models "
                      "(SDXL) make one.")
    field = "last_keyframe" if last else "first_keyframe"
    with operation(store, "Use keyframe", author) as out:
        store.set_fields(E.Shot, take.shot_id, **{field: sha})
        derived.refresh(store, [take.shot_id], recompose=False)
    return out[0]


def delete_take(store: ProjectStore, take_id: str, *, author: str | None = None) -> Changes:
    take = store.require(E.Take, take_id)
    with operation(store, "Delete take", author) as out:
        shot = store.require(E.Shot, take.shot_id)
        if shot.approved_take_id == take.id:
            store.set_fields(E.Shot, shot.id, approved_take_id=None)
        store.delete(take)
        derived.refresh(store, [shot.id], recompose=False)
    return out[0]


def set_keyframe(store: ProjectStore, shot_id: str, source: str | Path, *,
                 at: float | None = None, last: bool = False,
                 author: str | None = None) -> Changes:
    """Any image file, or a frame of any take (animatic, imported, generated; ``at``
    seconds into it, else its first frame — its last with ``last``), becomes the shot's
    first (or last) keyframe."""
    import tempfile

    from engine.generate.video_io import frame_at
    from engine.store.media import IMAGE_EXTS

    shot = store.require(E.Shot, shot_id)
    path = Path(str(source))
    work = Path(tempfile.mkdtemp(prefix="keyframe-", dir=store.cache_dir))
    try:
        if path.suffix.lower() in IMAGE_EXTS or path.is_file():
            if not path.is_file():
                raise OpError(f"{source} does not exist or is not a file.")
            if path.suffix.lower() not in IMAGE_EXTS:
                raise OpError(f"{path.name} is not an image; give a .png/.jpg/.webp file or "
                              "a take id (with @SECONDS for a frame of it).")
            _require_image(path)
            image, origin = path, {"file": path.name}
        else:
            try:
                take = resolve_take(store, str(source))
            except OpError as exc:
                raise OpError(f"{source} is neither an image file nor a take of this "
                              f"project; {str(exc)[0].lower()}{str(exc)[1:]}") from None
            clip = store.media.require_intact(take.media, f"Take {take.id[:8]}")
            image = work / "frame.png"
            shown = frame_at(clip, at, last=last and at is None, out=image)
            origin = {"take": take.id, "at": round(shown, 3)}
        asset = store.media.import_file(image)
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    field = "last_keyframe" if last else "first_keyframe"
    label = shot_label(store, shot.id)
    with operation(store, f"{'Last' if last else 'First'} keyframe of shot {label}",
                   author) as out:
        store.set_fields(E.Shot, shot.id, **{field: asset.sha256})
        derived.refresh(store, [shot.id], recompose=False)
    return with_result(out[0], {"media": asset.sha256, **origin})


def _require_image(path: Path) -> None:
    """The file decodes as a picture (a renamed or truncated file is refused, not stored)."""
    from engine.errors import MediaError
    from engine.model import MediaKind
    from engine.store.media import probe

    try:
        kind = probe(path).kind
    except MediaError as exc:
        raise OpError(f"Keyframe {str(exc).rstrip('.')}; nothing was changed.") from None
    if kind is not MediaKind.IMAGE:
        raise OpError(f"{path.name} is not an image.")


# --------------------------------------------------------------------------- identity
def score_takes(store: ProjectStore, take_ids: list[str], *, force: bool = False,
                progress: Progress = no_progress,
                cancel: CancelToken | None = None) -> dict[str, dict[str, Any]]:
    """Identity scores of takes (cached ones are reused; ``force`` scores again). Scores
    are derived data kept with each take: logged as the engine's, never undone."""
    out: dict[str, dict[str, Any]] = {}
    n = max(1, len(take_ids))
    for i, take_id in enumerate(take_ids):
        def sub(fraction: float, message: str = "", _i: int = i) -> None:
            progress((_i + max(0.0, min(1.0, fraction))) / n, message)

        out[take_id] = identity.score_take(store, take_id, force=force, progress=sub,
                                           cancel=cancel)
    return out


def pick_best_take(store: ProjectStore, take_ids: list[str], *, by: str = "identity",
                   author: str | None = None, cancel: CancelToken | None = None) -> Changes:
    """Best-of-N: approve the take of one shot with the highest identity score (ties: the
    higher temporal consistency, then the earlier take) and record every take's scores in
    the group on each of them. Unscored takes are scored first."""
    if by != "identity":
        raise OpError(f"Takes can be picked by identity, not by {by!r}.")
    takes = [store.get(E.Take, t) for t in take_ids]
    missing = [t for t, take in zip(take_ids, takes, strict=True) if take is None]
    if missing or not takes:
        raise OpError(f"No take with id {missing[0] if missing else '(none)'} in this project.")
    shots = {t.shot_id for t in takes if t is not None}
    if len(shots) != 1:
        raise OpError("Best-of-N picks among takes of one shot; these belong to "
                      f"{len(shots)} shots.")
    scores = score_takes(store, [t.id for t in takes if t is not None], cancel=cancel)
    ranked = sorted(scores, key=lambda t: identity.rank_key(scores[t]), reverse=True)
    best = ranked[0]
    if identity.rank_key(scores[best])[0] < 0:
        reasons = sorted({s.get("reason") or "no face was found" for s in scores.values()})
        raise OpError("None of these takes has an identity score (" + "; ".join(reasons)
                      + "); approve one by hand.")
    group = {"by": by, "picked": best, "takes": [
        {"take": t, "status": scores[t].get("status"), "score": scores[t].get("score"),
         "temporal": scores[t].get("temporal")} for t in take_ids]}
    shot_id = next(iter(shots))
    with operation(store, f"Pick the best of {len(take_ids)} takes of shot "
                   f"{shot_label(store, shot_id)}", author) as out:
        with store.deriving():
            for t in take_ids:
                store.set_fields(E.Take, t, identity={**scores[t], "group": group})
        _approve(store, store.require(E.Take, best))
    return with_result(out[0], store.require(E.Take, best))
