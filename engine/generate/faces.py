"""Faces in pictures, offline and on the CPU: dlib's HOG face detector, its 5-point aligner
and its ResNet face embedding (128 numbers per face).

The two model files come from the ``face-recognition-models`` wheel and both are public
domain (dlib-models: ``shape_predictor_5_face_landmarks.dat`` and
``dlib_face_recognition_resnet_model_v1.dat``). The 68-point landmark model in the same
wheel is licensed for non-commercial use only and is never loaded. The HOG detector is part
of dlib itself (Boost licence, from the ``dlib-bin`` wheel); nothing is downloaded.

Two embeddings of one person lie within about 0.6 of each other (Euclidean distance, dlib's
own LFW calibration); ``similarity`` maps a distance to 1 - distance, so higher is closer.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import StoryreelError

MODEL_PACKAGE = "face_recognition_models"
FIVE_POINT_MODEL = "shape_predictor_5_face_landmarks.dat"  # public domain
RESNET_MODEL = "dlib_face_recognition_resnet_model_v1.dat"  # public domain
METRIC = "dlib-resnet-v1"
# HOG detections scoring below this are mostly patches, badges and textures, not faces
MIN_DETECTION_SCORE = 0.3
# a face narrower than this (pixels) embeds poorly: references are warned about it
MIN_FACE_PX = 80
# frames whose short side is below this are searched at twice the size (faces ≥ 40 px)
UPSAMPLE_BELOW_PX = 720


class FaceModelMissing(StoryreelError):
    """The face models or the dlib runtime are not installed."""


@dataclass(frozen=True)
class Face:
    box: tuple[int, int, int, int]  # left, top, right, bottom in pixels
    detection_score: float
    embedding: np.ndarray  # (128,) float64

    @property
    def size(self) -> int:
        """The face's width in pixels."""
        return self.box[2] - self.box[0]


def model_dir() -> Path:
    """The folder of the wheel's model files, found without importing the package (its
    ``__init__`` needs ``pkg_resources``, which new setuptools no longer ships)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FaceModelMissing(
            "Identity scores need the face models: pip install face-recognition-models dlib-bin.")
    folder = Path(list(spec.submodule_search_locations)[0]) / "models"
    for name in (FIVE_POINT_MODEL, RESNET_MODEL):
        if not (folder / name).is_file():
            raise FaceModelMissing(f"The face model {name} is missing from {folder}; "
                                   "reinstall face-recognition-models.")
    return folder


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """1 - the Euclidean distance of two embeddings, clipped to 0..1 (1 = identical)."""
    return float(np.clip(1.0 - np.linalg.norm(np.asarray(a) - np.asarray(b)), 0.0, 1.0))


class OnnxFaceEncoder:
    """An ArcFace-class ONNX face embedding from a folder the user registers (optional):
    one ``*.onnx`` file taking (1, 3, 112, 112) float RGB in -1..1 (aligned face chips)
    and giving one embedding; compared by cosine similarity, as FaceSim reports. ONNX is a
    protobuf graph, never a pickle; onnxruntime runs it on the CPU."""

    CHIP = 112

    def __init__(self, folder: str | Path) -> None:
        import hashlib

        folder = Path(folder).expanduser()
        models = sorted(folder.glob("*.onnx")) if folder.is_dir() else []
        if len(models) != 1:
            raise FaceModelMissing(f"{folder} must be a folder holding one .onnx face "
                                   f"embedding model (found {len(models)}).")
        try:
            import onnxruntime
        except ImportError as exc:  # pragma: no cover - a dependency of sherpa-onnx
            raise FaceModelMissing("ONNX face models need onnxruntime.") from exc
        self.path = models[0]
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()[:16]
        self.metric = f"arcface-onnx-{digest}"
        try:
            self._session = onnxruntime.InferenceSession(
                str(self.path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - any load failure: one sentence
            raise FaceModelMissing(f"{self.path.name} cannot be loaded as an ONNX model "
                                   f"({type(exc).__name__}).") from None
        inputs = self._session.get_inputs()
        shape = list(inputs[0].shape) if inputs else []
        if len(inputs) != 1 or len(shape) != 4 or shape[1] != 3:
            raise FaceModelMissing(f"{self.path.name} does not take one (N, 3, 112, 112) "
                                   "image input, as ArcFace-class models do.")
        self._input = inputs[0].name

    def encode(self, chip: np.ndarray) -> np.ndarray:
        x = (chip.astype(np.float32) - 127.5) / 127.5
        out = self._session.run(None, {self._input: x.transpose(2, 0, 1)[None]})[0]
        vector = np.asarray(out, dtype=np.float64).reshape(-1)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector


class FaceEmbedder:
    """Loads the models once; ``faces(rgb)`` finds and embeds every face in a picture.
    With an ``OnnxFaceEncoder``, dlib still finds and aligns faces and the ONNX model
    embeds the aligned 112×112 chips.

    dlib's objects are not safe to share between threads: calls are serialised."""

    def __init__(self, encoder: OnnxFaceEncoder | None = None) -> None:
        self.encoder = encoder
        self.metric = encoder.metric if encoder is not None else METRIC
        try:
            import dlib
        except ImportError as exc:
            raise FaceModelMissing(
                "Identity scores need the dlib runtime: pip install dlib-bin.") from exc
        folder = model_dir()
        self._dlib = dlib
        self._detector = dlib.get_frontal_face_detector()
        self._aligner = dlib.shape_predictor(str(folder / FIVE_POINT_MODEL))
        self._encoder = dlib.face_recognition_model_v1(str(folder / RESNET_MODEL))
        self._lock = threading.Lock()

    @staticmethod
    def _rgb(image: Any) -> np.ndarray:
        arr = np.asarray(image)
        if arr.ndim == 2:
            arr = np.stack([arr] * 3, axis=-1)
        if arr.ndim != 3 or arr.shape[2] not in (3, 4):
            raise ValueError(f"expected an RGB picture shaped (H, W, 3), got {arr.shape}")
        arr = arr[..., :3]
        if arr.dtype != np.uint8:
            arr = np.clip(arr, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(arr)

    def detect(self, image: Any) -> list[tuple[tuple[int, int, int, int], float]]:
        """Face boxes (left, top, right, bottom) and detector scores, best first."""
        rgb = self._rgb(image)
        upsample = 1 if min(rgb.shape[:2]) < UPSAMPLE_BELOW_PX else 0
        with self._lock:
            rects, scores, _ = self._detector.run(rgb, upsample, 0.0)
        found = [((r.left(), r.top(), r.right(), r.bottom()), float(s))
                 for r, s in zip(rects, scores, strict=True) if s >= MIN_DETECTION_SCORE]
        return sorted(found, key=lambda f: -f[1])

    def embed(self, image: Any, box: tuple[int, int, int, int]) -> np.ndarray:
        """The 128-number embedding of the face in ``box`` (aligned on 5 landmarks)."""
        rgb = self._rgb(image)
        rect = self._dlib.rectangle(*[int(v) for v in box])
        with self._lock:
            shape = self._aligner(rgb, rect)
            if self.encoder is not None:
                chip = np.asarray(self._dlib.get_face_chip(rgb, shape, size=self.encoder.CHIP,
                                                           padding=0.25))
            else:
                vector = self._encoder.compute_face_descriptor(rgb, shape)
        if self.encoder is not None:
            return self.encoder.encode(chip)
        return np.asarray(vector, dtype=np.float64)

    def similarity(self, a: np.ndarray, b: np.ndarray) -> float:
        """dlib: 1 - Euclidean distance; an ONNX model: cosine similarity (both 0..1)."""
        if self.encoder is None:
            return similarity(a, b)
        return float(np.clip(np.dot(a, b), 0.0, 1.0))

    def faces(self, image: Any) -> list[Face]:
        """Every face found in the picture, detected, aligned and embedded."""
        rgb = self._rgb(image)
        return [Face(box, score, self.embed(rgb, box)) for box, score in self.detect(rgb)]


@lru_cache(maxsize=2)
def shared_embedder(onnx_folder: str = "") -> FaceEmbedder:
    """One embedder per process and model (the worker keeps it warm between score jobs):
    dlib's ResNet, or the ONNX model in ``onnx_folder``."""
    return FaceEmbedder(OnnxFaceEncoder(onnx_folder) if onnx_folder else None)
