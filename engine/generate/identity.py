"""Character consistency, measured: how much each take's faces look like the cast's sheets.

For a take whose shot has characters with reference images, frames are sampled (at most
``SAMPLE_FPS`` per second), every face is found and embedded (``engine.generate.faces``),
and faces are assigned to the shot's characters by best match (one face per character per
frame, Hungarian assignment on embedding distance). Per character the take keeps:

- ``score``: the median over frames of the face's similarity to the closest reference;
- ``worst``: the frame with the lowest similarity, with its time;
- ``no_face_frames``: sampled frames where no face was assigned to the character;
- ``temporal``: subject consistency as VBench measures it, each frame against the first
  and against the previous one (means of the similarities, and their mean).

What the score means: similarity = 1 - the Euclidean distance of dlib ResNet embeddings
(1 = identical; dlib calls distances below 0.6 the same person on LFW). A take is *drifted*
when a character scores below the threshold (``DEFAULT_THRESHOLD`` 0.5, i.e. distance 0.5,
stricter than dlib's 0.6; on the public-domain test photos the same person scores ≥ 0.6
under motion, zoom, relighting, mirroring and recompression and the other person ≤ 0.4).
Projects override it (settings ``identity_threshold``), so does ``--threshold``.

Optional metric: a project can register a folder with one ArcFace-class ONNX model
(``storyreel consistency DIR --face-model FOLDER``, setting ``identity_face_model``): dlib
still detects and aligns faces, the model embeds 112×112 chips, and similarity is the
cosine (comparable to published FaceSim numbers), default threshold 0.3. The model's
content hash is part of the metric version, so switching metrics never mixes scores.

Animatic takes draw stick figures, not faces: they are *not applicable* and never scored
(shown as "n/a"); so are shots without characters or characters without references. A take
where no face is found reports that (``no-face``) and is not called drifted.

Scores are cached by take media hash + reference hashes + metric version: a take whose
stored scores carry the same key is not scored again, nor is a copy of the same clip.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import StoryreelError
from engine.generate.faces import (
    METRIC,
    MIN_FACE_PX,
    FaceEmbedder,
    FaceModelMissing,
    shared_embedder,
)
from engine.jobs.progress import CancelToken, Progress, no_progress
from engine.model import TakeKind
from engine.model import entities as E

METRIC_VERSION = f"{METRIC}/hog-5pt/1"
DEFAULT_THRESHOLD = 0.5
# an ArcFace-class ONNX model registered for the project: cosine similarity, whose usual
# verification level is about 0.3 (different people rarely reach it)
ONNX_DEFAULT_THRESHOLD = 0.3
FACE_MODEL_SETTING = "identity_face_model"  # a folder with one .onnx; "" = dlib (default)
SAMPLE_FPS = 8.0  # at most this many scored frames per second of video
SCORED, NO_FACE, NOT_APPLICABLE = "scored", "no-face", "not-applicable"
THRESHOLD_SETTING = "identity_threshold"
AUTO_SCORE_SETTING = "identity_auto_score"
ANIMATIC_REASON = "Animatic takes draw figures, not faces: identity does not apply."


class IdentityError(StoryreelError):
    """A take or a reference cannot be scored (one sentence)."""


# --------------------------------------------------------------------------- settings
def threshold_for(store: Any, override: float | None = None) -> float:
    """``override`` (``--threshold``), else the project's setting, else the default."""
    settings = store.project.settings
    default = ONNX_DEFAULT_THRESHOLD if settings.get(FACE_MODEL_SETTING) else DEFAULT_THRESHOLD
    value = override if override is not None else settings.get(THRESHOLD_SETTING, default)
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise IdentityError(f"The identity threshold {value!r} is not a number.") from None
    if not math.isfinite(x) or not 0.0 <= x <= 1.0:
        raise IdentityError(f"The identity threshold {value} is outside 0–1.")
    return x


def embedder_for(store: Any) -> FaceEmbedder:
    """The project's face embedder: dlib's ResNet, or the ONNX model folder it registered."""
    folder = store.project.settings.get(FACE_MODEL_SETTING) or ""
    try:
        return shared_embedder(str(folder))
    except FaceModelMissing as exc:
        raise IdentityError(str(exc)) from None


def metric_version(embedder: FaceEmbedder) -> str:
    return f"{embedder.metric}/hog-5pt/1"


def auto_score(store: Any) -> bool:
    """Whether every new generated take is scored (on unless the project turned it off)."""
    return bool(store.project.settings.get(AUTO_SCORE_SETTING, True))


# --------------------------------------------------------------------------- what to score
def not_applicable_reason(store: Any, take: E.Take) -> str | None:
    """Why this take has no identity score, or None when it can be scored."""
    if take.kind is TakeKind.ANIMATIC or take.record.get("family") == "animatic":
        return ANIMATIC_REASON
    shot = store.get(E.Shot, take.shot_id)
    if shot is None or not shot.characters:
        return "No characters are in this shot's frame."
    if not references_of(store, shot):
        return "No character in this shot has a reference image."
    return None


def references_of(store: Any, shot: E.Shot) -> dict[str, list[str]]:
    """Character id → reference image hashes, for the shot's characters that have some."""
    out: dict[str, list[str]] = {}
    for char_id in shot.characters:
        character = store.get(E.Character, char_id)
        if character is not None and character.reference_images:
            out[char_id] = list(character.reference_images)
    return out


def score_key(take: E.Take, references: dict[str, list[str]],
              metric: str = METRIC_VERSION) -> str:
    """Take media + reference hashes + metric version + sampling: the scores' cache key."""
    facts = {"media": take.media, "refs": {k: references[k] for k in sorted(references)},
             "metric": metric, "sample_fps": SAMPLE_FPS}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------- frames
def sample_frames(path: Path, sample_fps: float = SAMPLE_FPS) -> Iterator[tuple[float, Any]]:
    """(time in seconds, RGB frame) at most ``sample_fps`` times per second of video."""
    import av

    step = 1.0 / sample_fps
    next_t = 0.0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or 0) or 24.0
        for index, frame in enumerate(container.decode(stream)):
            t = float(frame.time) if frame.time is not None else index / rate
            if t + 1e-6 < next_t:
                continue
            next_t = max(next_t + step, t + step * 0.5)
            yield t, frame.to_ndarray(format="rgb24")


def count_samples(path: Path, sample_fps: float = SAMPLE_FPS) -> int:
    """How many frames ``sample_frames`` yields (from the duration; for progress)."""
    from engine.store.media import probe

    info = probe(path)
    duration = info.duration or 0.0
    return max(1, int(math.ceil(duration * sample_fps - 1e-6)))


# --------------------------------------------------------------------------- references
def reference_problem(image: Any, embedder: FaceEmbedder | None = None) -> str | None:
    """Why a picture is a poor reference sheet: no face, several faces, a face too small;
    None for exactly one detectable face of a usable size."""
    embedder = embedder or shared_embedder()
    found = embedder.detect(image)
    if not found:
        return "no face can be detected in it"
    if len(found) > 1:
        return f"it shows {len(found)} faces; a reference should show one"
    box = found[0][0]
    width = box[2] - box[0]
    if width < MIN_FACE_PX:
        return f"its face is too small ({width} px wide; at least {MIN_FACE_PX} px)"
    return None


def load_rgb(path: Path) -> np.ndarray:
    from PIL import Image, ImageOps

    with Image.open(path) as img:
        return np.asarray(ImageOps.exif_transpose(img).convert("RGB"))


_REFERENCE_CACHE: dict[tuple[int, str], np.ndarray | None] = {}  # (embedder, sha) → vector


def reference_embeddings(store: Any, shas: list[str],
                         embedder: FaceEmbedder) -> list[np.ndarray]:
    """One embedding per reference image that shows a face (its largest face). Media is
    content-addressed, so a warm process (the worker) embeds each reference once."""
    out = []
    for sha in shas:
        key = (id(embedder), sha)
        if key not in _REFERENCE_CACHE:
            if not store.media.exists(sha):
                continue
            faces = embedder.faces(load_rgb(store.media_path(sha)))
            if len(_REFERENCE_CACHE) > 256:
                _REFERENCE_CACHE.clear()
            _REFERENCE_CACHE[key] = max(faces, key=lambda f: f.size).embedding if faces else None
        if _REFERENCE_CACHE[key] is not None:
            out.append(_REFERENCE_CACHE[key])
    return out


# --------------------------------------------------------------------------- scoring
def score_frames(frames: Iterator[tuple[float, Any]], references: dict[str, list[np.ndarray]],
                 embedder: FaceEmbedder, *, total: int = 0, progress: Progress = no_progress,
                 cancel: CancelToken | None = None) -> dict[str, Any]:
    """Scores of sampled frames against each character's reference embeddings."""
    from scipy.optimize import linear_sum_assignment

    cancel = cancel or CancelToken()
    names = list(references)
    times: list[float] = []
    faces_per_frame: list[int] = []
    per_char: dict[str, list[float | None]] = {c: [] for c in names}
    vectors: dict[str, list[np.ndarray]] = {c: [] for c in names}
    for i, (t, rgb) in enumerate(frames):
        cancel.check()
        faces = embedder.faces(rgb)
        times.append(round(t, 4))
        faces_per_frame.append(len(faces))
        got: dict[str, tuple[float, np.ndarray]] = {}
        if faces and names:
            sims = np.array([[max(embedder.similarity(f.embedding, r) for r in references[c])
                              for c in names] for f in faces])
            rows, cols = linear_sum_assignment(-sims)
            for r, c in zip(rows, cols, strict=True):
                got[names[c]] = (float(sims[r, c]), faces[r].embedding)
        for c in names:
            per_char[c].append(round(got[c][0], 4) if c in got else None)
            if c in got:
                vectors[c].append(got[c][1])
        progress(min(0.99, (i + 1) / max(total, i + 1)),
                 f"Scoring faces: frame {i + 1}/{max(total, i + 1)}")
    return {"times": times, "faces_per_frame": faces_per_frame,
            "characters": {c: _character_summary(per_char[c], vectors[c], times,
                                                 embedder.similarity) for c in names}}


def _character_summary(scores: list[float | None], vectors: list[np.ndarray],
                       times: list[float], similarity: Any) -> dict[str, Any]:
    found = [(i, s) for i, s in enumerate(scores) if s is not None]
    summary: dict[str, Any] = {"per_frame": scores, "frames": len(scores),
                               "no_face_frames": len(scores) - len(found),
                               "score": None, "worst": None, "temporal": None}
    if not found:
        return summary
    summary["score"] = round(float(np.median([s for _, s in found])), 4)
    worst_i, worst_s = min(found, key=lambda p: p[1])
    summary["worst"] = {"frame": worst_i, "time": times[worst_i], "score": worst_s}
    if len(vectors) >= 2:
        first = [similarity(v, vectors[0]) for v in vectors[1:]]
        prev = [similarity(v, vectors[k]) for k, v in enumerate(vectors[1:])]
        summary["temporal"] = {"first": round(float(np.mean(first)), 4),
                               "previous": round(float(np.mean(prev)), 4),
                               "mean": round(float(np.mean(first + prev)), 4)}
    return summary


def score_take(store: Any, take_id: str, *, force: bool = False,
               progress: Progress = no_progress, cancel: CancelToken | None = None,
               embedder: FaceEmbedder | None = None) -> dict[str, Any]:
    """Score one take (or reuse its cached scores) and keep the result with the take."""
    take = store.require(E.Take, take_id)
    reason = not_applicable_reason(store, take)
    if reason is not None:
        result = {"status": NOT_APPLICABLE, "reason": reason}
        if take.identity != result:
            store.update_derived(take, identity=result)
        progress(1.0, "Identity does not apply")
        return result
    shot = store.require(E.Shot, take.shot_id)
    refs = references_of(store, shot)
    embedder = embedder or embedder_for(store)
    metric = metric_version(embedder)
    key = score_key(take, refs, metric)
    if not force:
        cached = _cached(store, take, key)
        if cached is not None:
            progress(1.0, "cached")
            return cached
    progress(0.0, "Reading reference faces")
    ref_vectors = {c: v for c, shas in refs.items()
                   if (v := reference_embeddings(store, shas, embedder))}
    video = store.media.require_intact(take.media, "The take's clip",
                                       "import or generate the take again")
    started = time.perf_counter()
    scored = score_frames(sample_frames(video), ref_vectors, embedder,
                          total=count_samples(video), progress=progress, cancel=cancel)
    cancel = cancel or CancelToken()
    cancel.check()
    result = _finish(store, scored, refs, ref_vectors, key, time.perf_counter() - started,
                     metric)
    store.update_derived(take, identity=result)
    progress(1.0, "Identity scored")
    return result


def _cached(store: Any, take: E.Take, key: str) -> dict[str, Any] | None:
    if take.identity.get("key") == key and well_formed(take.identity):
        return take.identity
    for other in store.all(E.Take, media=take.media):
        if other.id != take.id and other.identity.get("key") == key and well_formed(
                other.identity):
            copied = dict(other.identity, cached_from=other.id)
            store.update_derived(take, identity=copied)
            return copied
    return None


def _finish(store: Any, scored: dict[str, Any], refs: dict[str, list[str]],
            ref_vectors: dict[str, list[np.ndarray]], key: str, wall: float,
            metric: str) -> dict[str, Any]:
    characters: dict[str, Any] = {}
    for char_id in refs:
        character = store.get(E.Character, char_id)
        name = character.name if character else char_id[:8]
        if char_id not in ref_vectors:
            characters[char_id] = {"name": name, "score": None, "no_reference_face": True}
            continue
        characters[char_id] = {"name": name, **scored["characters"][char_id]}
    values = [c["score"] for c in characters.values() if c.get("score") is not None]
    temporal = [c["temporal"]["mean"] for c in characters.values() if c.get("temporal")]
    n = len(scored["times"])
    return {
        "status": SCORED if values else NO_FACE,
        "key": key, "metric": metric, "sample_fps": SAMPLE_FPS,
        "score": min(values) if values else None,
        "temporal": min(temporal) if temporal else None,
        "frames": n, "times": scored["times"], "faces_per_frame": scored["faces_per_frame"],
        "characters": characters,
        "seconds_per_frame": round(wall / max(1, n), 4),
        "scored_at": E.utc_now(),
    }


# --------------------------------------------------------------------------- reading
def drifted(identity: dict[str, Any], threshold: float) -> bool:
    """A scored take with a character below the threshold."""
    if identity.get("status") != SCORED:
        return False
    return any(c.get("score") is not None and c["score"] < threshold
               for c in identity.get("characters", {}).values())


def badge(identity: dict[str, Any], threshold: float) -> str:
    """A short word for a take's identity: "", "n/a", "no face", "drift" or "ok"."""
    status = identity.get("status")
    if not status:
        return ""
    if status == NOT_APPLICABLE:
        return "n/a"
    if status == NO_FACE:
        return "no face"
    return "drift" if drifted(identity, threshold) else "ok"


def rank_key(identity: dict[str, Any]) -> tuple[float, float]:
    """Best-of-N order: the identity score, then temporal consistency (higher is better);
    takes without a score rank last."""
    score = identity.get("score") if identity.get("status") == SCORED else None
    temporal = identity.get("temporal")
    return (score if score is not None else -1.0, temporal if temporal is not None else -1.0)


def rows(store: Any, take: E.Take, threshold: float, label: str = "") -> list[dict[str, Any]]:
    """One plain row per take and character (``storyreel consistency --json``)."""
    identity = take.identity or {}
    base = {"take": take.id, "shot": take.shot_id, "shot_label": label, "kind": str(take.kind),
            "approved": take.approved, "status": identity.get("status") or "not scored",
            "threshold": threshold}
    chars = identity.get("characters") or {}
    if identity.get("status") != SCORED or not chars:
        reason = identity.get("reason", "")
        return [{**base, "character": None, "score": None, "drifted": False,
                 "reason": reason, "frames": identity.get("frames", 0),
                 "faces_found": sum(identity.get("faces_per_frame", []))}]
    out = []
    for char_id, c in chars.items():
        score = c.get("score")
        out.append({**base, "character": c.get("name"), "character_id": char_id,
                    "score": score, "drifted": score is not None and score < threshold,
                    "worst": c.get("worst"), "no_face_frames": c.get("no_face_frames"),
                    "frames": c.get("frames", 0), "temporal": c.get("temporal"),
                    "faces_found": sum(identity.get("faces_per_frame", []))})
    return out


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(
        value)


def well_formed(identity: Any) -> bool:
    """Stored scores come from a project file, which is untrusted input: only a record
    shaped as ``score_take`` writes it is read (anything else counts as not scored)."""
    if not isinstance(identity, dict) or identity.get("status") not in (
            SCORED, NO_FACE, NOT_APPLICABLE):
        return False
    chars = identity.get("characters", {})
    if not isinstance(chars, dict) or not all(isinstance(c, dict) for c in chars.values()):
        return False
    for c in chars.values():
        if c.get("score") is not None and not _number(c["score"]):
            return False
        if not isinstance(c.get("worst") or {}, dict) or not isinstance(
                c.get("temporal") or {}, dict):
            return False
    for name in ("score", "temporal"):
        if identity.get(name) is not None and not _number(identity[name]):
            return False
    faces = identity.get("faces_per_frame", [])
    return isinstance(faces, list) and all(_number(n) for n in faces)


def identity_of(store: Any, take: E.Take) -> dict[str, Any]:
    """The take's stored scores, or why it has none (computed now, nothing written)."""
    if take.identity and well_formed(take.identity):
        return take.identity
    reason = not_applicable_reason(store, take)
    return {"status": NOT_APPLICABLE, "reason": reason} if reason else {}


def drift_warnings(store: Any, threshold: float | None = None) -> list[str]:
    """One sentence per approved take that drifted (export warns with these)."""
    from engine.generate.requests import shot_label

    limit = threshold_for(store, threshold)
    out = []
    for shot in store.shots():
        take = store.get(E.Take, shot.approved_take_id) if shot.approved_take_id else None
        scores = identity_of(store, take) if take is not None else {}
        if not drifted(scores, limit):
            continue
        low = [f"{c.get('name')} {c['score']:.2f}" for c in scores["characters"].values()
               if c.get("score") is not None and c["score"] < limit]
        out.append(f"The approved take of shot {shot_label(store, shot)} drifted from the "
                   f"reference sheets ({', '.join(low)} < {limit:.2f}).")
    return out


def summary(store: Any, take: E.Take | None, threshold: float) -> tuple[str, float | None]:
    """(badge word, score) of a take for a storyboard card or a take list."""
    if take is None:
        return "", None
    scores = identity_of(store, take)
    return badge(scores, threshold), scores.get("score") if scores.get(
        "status") == SCORED else None


def worst_frame(store: Any, take: E.Take) -> tuple[float, Any] | None:
    """(time, RGB frame) of the take's lowest-scoring frame, decoded from its clip."""
    scores = identity_of(store, take)
    worst = [c["worst"] for c in scores.get("characters", {}).values() if c.get("worst")]
    if not worst or not store.media.exists(take.media):
        return None
    target = min(worst, key=lambda w: w.get("score", 1.0))
    t = float(target.get("time", 0.0)) if _number(target.get("time", 0.0)) else 0.0
    best: tuple[float, Any] | None = None
    for time_s, rgb in sample_frames(store.media_path(take.media), SAMPLE_FPS):
        if best is None or abs(time_s - t) < abs(best[0] - t):
            best = (time_s, rgb)
        if time_s > t + 0.5:
            break
    return best
