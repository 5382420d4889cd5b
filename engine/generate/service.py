"""Making takes: resolve settings, reuse cached takes, run a backend, store the result.

``generate_shot`` is the one code path every caller uses — the worker's job runner and
``generate_now`` (in-process, for the demo and tests). A ``BackendPool`` keeps the last
loaded backend warm so consecutive jobs on the same model do not reload it.
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import StoryreelError
from engine.generate import animatic
from engine.generate.presets import resolve_settings
from engine.generate.requests import build_request, cache_key, request_facts
from engine.generate.thumbnails import make_thumbnail
from engine.jobs.progress import CancelToken, Progress, no_progress
from engine.model import ShotStatus, TakeKind
from engine.model import entities as E

ANIMATIC = "animatic"
BACKEND_CLASSES = {
    "wan-vace": ("engine.generate.wan_vace", "WanVaceBackend"),
    "wan-i2v": ("engine.generate.wan_i2v", "WanI2VBackend"),
    "wan-t2v": ("engine.generate.wan_t2v", "WanT2VBackend"),
    "ltx-condition": ("engine.generate.ltx_condition", "LtxConditionBackend"),
    "sdxl": ("engine.generate.sdxl_keyframe", "SdxlKeyframeBackend"),
}


@dataclass
class GenerationSpec:
    """What a generation job asks for (stored in Job.params)."""

    backend: str = ANIMATIC  # "animatic" or a registered model name
    device: str = "auto"
    quality: str = "draft"
    overrides: dict[str, Any] = field(default_factory=dict)
    memory_profile: str = ""  # "" = pick from free VRAM
    variant: int = 0  # best-of-N: take i of a group uses the shot's seed + i

    def to_params(self) -> dict[str, Any]:
        return {"backend": self.backend, "device": self.device, "quality": self.quality,
                "overrides": dict(self.overrides), "memory_profile": self.memory_profile,
                "variant": self.variant}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> GenerationSpec:
        return cls(
            backend=str(params.get("backend", ANIMATIC)), device=str(params.get("device", "auto")),
            quality=str(params.get("quality", "draft")),
            overrides=dict(params.get("overrides") or {}),
            memory_profile=str(params.get("memory_profile", "")),
            variant=int(params.get("variant", 0) or 0),
        )

    @property
    def model_key(self) -> str:
        """Jobs with the same key share one loaded model."""
        return f"{self.backend}@{self.device}/{self.memory_profile or 'auto'}"


@dataclass
class Outcome:
    take: E.Take
    cache_hit: bool


def family_of(backend: str) -> tuple[str, str]:
    """(family, model content hash) of a backend name."""
    if backend == ANIMATIC:
        return ANIMATIC, f"animatic-{_animatic_version()}"
    from engine.generate.registry import get_model

    entry = get_model(backend)
    return entry.family, entry.content_hash


def _animatic_version() -> str:
    backend_cls = animatic.AnimaticBackend
    return str(getattr(backend_cls, "version", animatic.RENDERER_VERSION))


def make_backend(backend: str, device: str = "auto", memory_profile: str = "") -> Any:
    if backend == ANIMATIC:
        return animatic.AnimaticBackend()
    from engine.generate.registry import get_model

    entry = get_model(backend)
    if entry.family not in BACKEND_CLASSES:
        raise StoryreelError(f"Model {backend!r} ({entry.family}) has no backend yet.")
    module_name, cls_name = BACKEND_CLASSES[entry.family]
    # by name: the diffusers backends import torch, which only the [gpu] extra installs
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls(entry, device=device, memory_profile=memory_profile)


class BackendPool:
    """Holds one backend (and its loaded model) warm; a different key replaces it."""

    def __init__(self) -> None:
        self.key: tuple[str, str, str] | None = None
        self.backend: Any = None
        self.loads = 0

    def get(self, spec: GenerationSpec) -> Any:
        key = (spec.backend, spec.device, spec.memory_profile)
        if key != self.key or self.backend is None:
            self.release()
            self.backend = make_backend(spec.backend, spec.device, spec.memory_profile)
            self.key = key
            self.loads += 1
        return self.backend

    def release(self) -> None:
        if self.backend is not None and hasattr(self.backend, "unload"):
            self.backend.unload()
        self.backend, self.key = None, None


def settings_for(store: Any, shot: E.Shot, spec: GenerationSpec, family: str) -> dict[str, Any]:
    project = store.project
    shot_settings = dict(shot.generation or {})
    if family == ANIMATIC:
        shot_settings.setdefault("fps", float(project.fps))
    return resolve_settings(
        family, spec.quality, portrait=project.height >= project.width,
        duration=shot.duration, shot_settings=shot_settings, overrides=spec.overrides,
    )


def continuity_frame(store: Any, shot: E.Shot) -> tuple[Path, str]:
    """The last picture of the previous shot's current take, as a PNG in the cache, and
    that take's id. One sentence when there is no previous shot or it has no take yet."""
    from engine.generate.requests import shot_label
    from engine.generate.video_io import frame_at
    from engine.model.shot_rules import current_take

    order = store.shots()
    index = next((i for i, s in enumerate(order) if s.id == shot.id), 0)
    if index == 0:
        raise StoryreelError(f"Shot {shot_label(store, shot)} is the film's first; there is "
                             "no previous shot to continue from.")
    previous = order[index - 1]
    take = current_take(previous, store.takes(previous.id))
    if take is None:
        raise StoryreelError(f"Shot {shot_label(store, shot)} continues from shot "
                             f"{shot_label(store, previous)}, which has no take yet; generate "
                             "it first.")
    clip = store.media.require_intact(take.media, f"Shot {shot_label(store, previous)}: its "
                                                  "take's")
    out = Path(store.cache_dir) / "continuity" / f"{take.media}-last.png"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        frame_at(clip, None, last=True, out=out)
    return out, take.id


def generate_shot(
    store: Any, shot_id: str, spec: GenerationSpec, pool: BackendPool | None = None,
    progress: Progress = no_progress, cancel: CancelToken | None = None,
) -> Outcome:
    """Make (or reuse) one take of one shot and add it to the project."""
    cancel = cancel or CancelToken()
    pool = pool or BackendPool()
    shot = store.require(E.Shot, shot_id)
    family, model_hash = family_of(spec.backend)
    settings = settings_for(store, shot, spec, family)
    if spec.variant:  # another take of a best-of-N group: another seed, so another take
        from engine.generate.requests import shot_seed

        settings["seed"] = int(settings.get("seed", shot_seed(shot))) + spec.variant
    request = build_request(store, shot, settings)
    keyframes = (shot.first_keyframe, shot.last_keyframe)
    continued_from = None
    if spec.overrides.get("continue_from_previous") or shot.generation.get(
            "continue_from_previous"):
        # a match cut: start from the previous shot's last picture (its current take)
        request.first_frame, continued_from = continuity_frame(store, shot)
        keyframes = (f"take:{continued_from}@last", shot.last_keyframe)
    key = cache_key(request, family, model_hash, keyframes, storyboard=family == ANIMATIC)

    from engine.generate.staleness import fingerprint

    fp = fingerprint(store, shot)
    reused = _reuse(store, shot, key, fp)
    if reused is not None:
        progress(1.0, "cached")
        return Outcome(reused, True)

    backend = pool.get(spec)
    tmp_dir = Path(tempfile.mkdtemp(prefix="take-", dir=_tmp_root(store)))
    try:
        out = tmp_dir / f"shot-{request.shot_label}.mp4"
        started = time.perf_counter()
        result = backend.generate(request, out, progress, cancel)
        if continued_from is not None:
            result.record["continued_from"] = continued_from
        wall = time.perf_counter() - started
        cancel.check()
        take = _store_take(store, shot, spec, family, model_hash, key, settings, request,
                           result, wall, fp)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return Outcome(take, False)


def _tmp_root(store: Any) -> Path:
    root = store.cache_dir / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _reuse(store: Any, shot: E.Shot, key: str, fp: str) -> E.Take | None:
    """An existing take with the same key: this shot's own (as is), or a zero-compute copy."""
    same = [t for t in store.all(E.Take, cache_key=key) if store.media.exists(t.media)]
    from engine.generate.staleness import take_order

    same.sort(key=take_order)
    mine = [t for t in same if t.shot_id == shot.id and t.record.get("fingerprint") == fp]
    if mine:
        return _repair_thumbnail(store, mine[-1])
    if not same:
        return None
    source = _repair_thumbnail(store, same[-1])
    record = dict(source.record, cache_hit_from=source.id, fingerprint=fp,
                  created_ts=time.time())
    take = E.Take(shot_id=shot.id, kind=source.kind, media=source.media, record=record,
                  cache_key=key, thumbnail=source.thumbnail)
    _add_take(store, shot, take, cache_hit=True)
    return take


def _repair_thumbnail(store: Any, take: E.Take) -> E.Take:
    """A reused take whose thumbnail file was deleted or damaged gets it drawn again."""
    if not take.thumbnail or store.media.exists(take.thumbnail):
        return take
    work = Path(tempfile.mkdtemp(prefix="thumb-", dir=_tmp_root(store)))
    try:
        sha = _thumbnail(store, store.media_path(take.media), work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if sha != take.thumbnail:
        store.update_derived(take, thumbnail=sha)
    return take


def _store_take(store: Any, shot: E.Shot, spec: GenerationSpec, family: str, model_hash: str,
                key: str, settings: dict[str, Any], request: Any, result: Any,
                wall: float, fp: str) -> E.Take:
    label = request.shot_label
    asset = store.media.add_file(result.video, original_name=f"shot-{label}.mp4", move=True)
    thumb_sha = _thumbnail(store, store.root / asset.relpath, result.video.parent)
    backend_record = dict(result.record or {})
    files = backend_record.pop("_files", {})
    stored_files = {}
    for name, path in files.items():
        stored = store.media.add_file(Path(path), original_name=f"shot-{label}-{name}.png",
                                      move=True)
        stored_files[name] = stored.sha256
    record: dict[str, Any] = {"device": "cpu", "dtype": "float32", "memory_profile": "none"}
    record.update(backend_record)
    record.update({
        "backend": family if family == ANIMATIC else spec.backend,
        "family": family,
        "model": None if family == ANIMATIC else spec.backend,
        "model_hash": model_hash,
        "quality": settings["quality"],
        "prompt": request.prompt,
        "negative_prompt": request.negative_prompt,
        "seed": request.seed,
        "steps": request.steps,
        "guidance": request.guidance,
        "size": [request.width, request.height],
        "frames": int(backend_record.get("frames", request.frames)),
        "fps": request.fps,
        "shot_size": str(request.size),
        "reference_hashes": request.reference_hashes(),
        "first_keyframe": shot.first_keyframe,
        "last_keyframe": shot.last_keyframe,
        "cache_key": key,
        "fingerprint": fp,
        "created_ts": time.time(),
        "inputs": request_facts(request, storyboard=family == ANIMATIC),
        **stored_files,
    })
    timings = dict(record.get("timings") or {})
    timings["wall_s"] = round(wall, 4)
    record["timings"] = timings
    kind = TakeKind.ANIMATIC if family == ANIMATIC else TakeKind.GENERATED
    take = E.Take(shot_id=shot.id, kind=kind, media=asset.sha256, record=record,
                  cache_key=key, thumbnail=thumb_sha)
    _add_take(store, shot, take, cache_hit=False)
    return take


def _thumbnail(store: Any, video: Path, work: Path) -> str | None:
    png = work / "thumbnail.png"
    make_thumbnail(video, png)
    return store.media.add_file(png, original_name="thumbnail.png", move=True).sha256


def _add_take(store: Any, shot: E.Shot, take: E.Take, *, cache_hit: bool) -> None:
    label = f"New take of shot {shot.id[:8]}" + (" (cached)" if cache_hit else "")
    with store.transaction(label, undoable=False):  # the engine's: not the user's to undo
        store.add(take)
        current = store.require(E.Shot, shot.id)
        if not (cache_hit and current.status is ShotStatus.APPROVED):
            current.status = ShotStatus.GENERATED
            store.update(current)


def resolve_shots(store: Any, selection: list[str] | str) -> list[E.Shot]:
    """``all`` or ``stale`` (stale, or never generated) shots in film order. Single shots
    are named through the one address syntax, ``engine.ops.addressing.resolve_shot``."""
    which = selection[0] if isinstance(selection, list) and len(selection) == 1 else selection
    if which == "all":
        return store.shots()
    if which == "stale":
        from engine.generate.staleness import needs_generation

        return [s for s in store.shots() if needs_generation(store, s)]
    raise StoryreelError(f"Shot selection {selection!r} is neither 'all' nor 'stale'.")


def generate_now(
    store: Any, shot_ids: list[str], backend: str = ANIMATIC, device: str = "auto",
    quality: str = "draft", overrides: dict[str, Any] | None = None,
    progress: Progress = no_progress, cancel: CancelToken | None = None,
    pool: BackendPool | None = None,
) -> list[E.Take]:
    """Generate takes in this process, one shot after another (same path as the worker)."""
    spec = GenerationSpec(backend=backend, device=device, quality=quality,
                          overrides=dict(overrides or {}))
    pool = pool or BackendPool()
    takes = []
    n = max(1, len(shot_ids))
    for i, shot_id in enumerate(shot_ids):
        def sub(fraction: float, message: str = "", _i: int = i) -> None:
            progress((_i + max(0.0, min(1.0, fraction))) / n, message)

        take = generate_shot(store, shot_id, spec, pool, sub, cancel).take
        takes.append(take)
        _score_new_take(store, take, cancel)
    return takes


def _score_new_take(store: Any, take: E.Take, cancel: CancelToken | None) -> None:
    """The in-process twin of the worker's follow-up ``score`` job (animatics: none)."""
    from engine.generate import identity

    if identity.auto_score(store) and identity.not_applicable_reason(store, take) is None:
        identity.score_take(store, take.id, cancel=cancel)
