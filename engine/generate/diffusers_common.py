"""What every diffusers backend shares: loading, placement, seeds, step progress, cancel.

Only the backend modules import torch/diffusers, and only when a backend is built, so the
animatic path works without them installed. Loading is separate from calling: the worker
keeps one loaded backend warm across jobs that use the same model.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib
import time
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import Cancelled, StoryreelError
from engine.generate import segments
from engine.generate.base import GenerationRequest, GenerationResult
from engine.generate.memory import Placement, apply, plan, torch_dtype
from engine.generate.presets import FAMILY_RULES
from engine.generate.registry import ModelEntry, verify
from engine.generate.requests import request_facts
from engine.generate.video_io import retime, write_video
from engine.jobs.progress import CancelToken, Progress


class GenerationError(StoryreelError):
    """A model failed to load or to run (bad model, out of memory, missing keyframe)."""


def require_torch() -> Any:
    try:
        return importlib.import_module("torch")
    except ImportError as exc:
        raise GenerationError(
            "Model backends need the GPU extra (torch, diffusers): "
            "pip install 'storyreel[gpu]'; the animatic backend works without it."
        ) from exc


def load_image(path: Path, size: tuple[int, int] | None = None) -> Any:
    from PIL import Image

    try:
        with Image.open(path) as img:
            rgb = img.convert("RGB")
    except OSError as exc:
        raise GenerationError(f"Image {path.name} cannot be read ({exc}).") from exc
    if size is not None and rgb.size != size:
        rgb = rgb.resize(size, Image.Resampling.LANCZOS)
    return rgb


class DiffusersBackend:
    """Base of the model backends. Subclasses set ``family`` and implement ``_run``."""

    family = ""
    output_key = "frames"

    def __init__(self, entry: ModelEntry, device: str = "auto", memory_profile: str = "") -> None:
        self.entry = entry
        self.name = entry.name
        self.placement: Placement = plan(device, entry, memory_profile)
        self.pipe: Any = None
        self.component_keys: dict[str, str] = {}  # role → component cache key
        self.load_seconds = 0.0
        self.previous: Any = None  # the tail of the previous segment while one is made
        self.segment_index, self.segment_count = 0, 1  # the segment being made, of how many

    # ----------------------------------------------------------------- lifecycle
    @property
    def loaded(self) -> bool:
        return self.pipe is not None

    def load(self) -> None:
        if self.pipe is not None:
            return
        require_torch()
        verify(self.entry)
        start = time.perf_counter()
        dtype = torch_dtype(self.placement.dtype)
        try:
            if self.entry.options.get("source") == "single-file":
                from engine.generate.assemble import load_pipeline

                pipe, self.component_keys = load_pipeline(self.entry, dtype)
            else:
                pipe, self.component_keys = self._load_folder(dtype)
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
            raise GenerationError(f"Model {self.entry.name!r} failed to load: {exc}") from exc
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe
        self._after_load()
        apply(pipe, self.placement)
        self.load_seconds = time.perf_counter() - start

    def _load_folder(self, dtype: Any) -> tuple[Any, dict[str, str]]:
        """A diffusers folder, its components shared through the component cache: a part
        another loaded model has with the same content is not read again."""
        import json

        from engine.generate.assemble import file_digest
        from engine.generate.components import CACHE

        diffusers = importlib.import_module("diffusers")
        folder = self.entry.folder
        index = json.loads((folder / "model_index.json").read_text("utf-8"))
        dname = str(dtype).removeprefix("torch.")
        keys: dict[str, str] = {}
        for role, spec in index.items():
            sub = folder / role
            if role.startswith("_") or not isinstance(spec, list) or not sub.is_dir():
                continue
            if not any(sub.glob("*.safetensors")):
                continue  # tokenizers, schedulers, processors: cheap, not shared
            loaded_into = self.entry.ip_adapter if role in ("unet", "image_encoder") else ""
            keys[role] = f"{role}:{file_digest(sub)}:{dname}:{loaded_into}"
        cached = {role: CACHE.peek(key) for role, key in keys.items() if key in CACHE}
        cls = getattr(diffusers, self.entry.pipeline)
        pipe = cls.from_pretrained(str(folder), dtype=dtype, local_files_only=True,
                                   use_safetensors=True, **cached)
        for role, key in keys.items():
            module = getattr(pipe, role, None)
            if module is not None and role not in cached:
                CACHE.put(key, module)
        CACHE.pin(set(keys.values()))
        return pipe, keys
    def _after_load(self) -> None:
        """Hook: load adapters before the pipeline is placed on the device."""

    def unload(self) -> None:
        if self.pipe is not None:
            from engine.generate.components import release

            release(self.pipe, self.component_keys, self.placement.device,
                    self.placement.profile)
        self.pipe = None
        gc.collect()
        torch = importlib.import_module("torch")
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # ----------------------------------------------------------------- calling
    def generate(
        self, request: GenerationRequest, out_path: Path, progress: Progress, cancel: CancelToken
    ) -> GenerationResult:
        torch = require_torch()
        cancel.check()
        if self.pipe is None:
            progress(0.0, f"Loading {self.entry.name}")
            self.load()
        cancel.check()
        steps = request.steps
        if self.placement.device == "cpu":
            # the same thread count for every run: CPU kernels reduce in a thread-dependent
            # order, and another library in the worker (dlib, onnxruntime) may have changed it
            import os

            torch.set_num_threads(max(1, os.cpu_count() or 1))
        started = time.perf_counter()
        rules = FAMILY_RULES.get(self.family)
        if rules is not None and rules.video:
            needed = segments.frames_needed(request.duration, request.fps, rules.frame_step)
            layout = segments.plan(needed, request.frames, self.segment_overlap(request))
        else:
            layout = segments.plan(request.frames, request.frames)
        facts = request_facts(request, storyboard=False)
        # media files are named by their sha256: the names say which keyframes were used
        facts.update(model=self.entry.content_hash, family=self.family,
                     first_frame=request.first_frame.name if request.first_frame else None,
                     last_frame=request.last_frame.name if request.last_frame else None)
        # kept only for long shots: what a crash or a cancel would otherwise throw away
        cache = segments.SegmentCache(request.segment_cache if layout.count > 1 else None)
        parts: list[dict[str, Any]] = []
        output: Any = None
        extra: dict[str, Any] = {}
        if rules is None or not rules.video:  # a still keyframe: one call, nothing to join
            output, extra = self._segment(request, layout, 0, int(request.seed), None, steps,
                                          progress, cancel, torch)
        for index in range(layout.count if rules is not None and rules.video else 0):
            cancel.check()
            previous = None if output is None else np.asarray(output)[-layout.overlap:]
            seed = int(request.seed) + index
            key = segments.segment_key(facts, index, seed, previous)
            made, more = cache.get(key)
            part = {"index": index, "seed": seed, "frames": layout.window,
                    "conditioning": "none" if previous is None else self.continuation,
                    "cached": made is not None}
            if made is None:
                made, more = self._segment(request, layout, index, seed, previous, steps,
                                           progress, cancel, torch)
                cache.put(key, np.asarray(made), more)
            extra.update(more)
            # at the stored precision, so a resumed run continues from the same frames
            made = segments.as_float(segments.as_uint8(made))
            output = made if output is None else segments.blend(output, made, layout.overlap)
            parts.append(part)
        if layout.count > 1:
            output = output[:layout.needed]
            extra["segments"] = parts
            extra["segment_overlap"] = layout.overlap
        if output is not None and parts:
            extra["frames_made"] = int(len(output))
        if cancel.cancelled:
            raise Cancelled("Cancelled by the user.")
        denoise_seconds = time.perf_counter() - started
        fresh = sum(1 for p in parts if not p["cached"]) if parts else 1
        if fresh and steps:
            from engine.generate import estimate

            estimate.record(self.entry.content_hash, self.placement.device,
                            self.placement.profile, request.width, request.height,
                            layout.window, denoise_seconds / (steps * fresh))
        progress(0.92, "encoding")
        self._write_output(output, extra, request, out_path)
        files = extra.pop("_files", {})
        record = {
            "backend": self.family,
            "model": self.entry.name,
            "model_hash": self.entry.content_hash,
            "pipeline": self.entry.pipeline,
            **self.placement.to_dict(),
            "timings": {"denoise_s": round(denoise_seconds, 4),
                        "load_s": round(self.load_seconds, 4)},
            **extra,
        }
        if files:
            record["_files"] = {k: str(v) for k, v in files.items()}
        progress(1.0, "done")
        return GenerationResult(video=out_path, record=record)

    # how a segment continues the one before: "tail-frames" (VACE video + mask),
    # "last-frame" (I2V), "none" (text only: the seam is only crossfaded)
    continuation = "none"

    def segment_overlap(self, request: GenerationRequest) -> int | None:
        """Frames shared by consecutive segments (None: the plan's default)."""
        return None

    def _segment(self, request: GenerationRequest, layout: segments.SegmentPlan, index: int,
                 seed: int, previous: Any, steps: int, progress: Progress,
                 cancel: CancelToken, torch: Any) -> tuple[Any, dict[str, Any]]:
        """One model call: segment ``index`` of ``layout`` (the whole take when one)."""
        n = layout.count

        def on_step(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            done = (index + (step + 1) / steps) / n
            label = f"step {step + 1}/{steps}"
            progress(0.9 * done, f"segment {index + 1}/{n}, {label}" if n > 1 else label)
            if cancel.cancelled:
                # stop now: ``pipe._interrupt`` would skip the remaining steps but still run
                # the VAE decode, which takes seconds at 480p/81 frames
                pipe._interrupt = True
                raise Cancelled("Cancelled by the user.")
            return {}

        generator = torch.Generator(device="cpu").manual_seed(seed)
        part = dataclasses.replace(request, seed=seed, frames=layout.window)
        self.previous = previous
        self.segment_index, self.segment_count = index, n
        try:
            with torch.inference_mode():
                frames, extra = self._run(part, generator, on_step)
        except torch.cuda.OutOfMemoryError as exc:
            raise GenerationError(
                f"Out of GPU memory at {request.width}×{request.height}, {layout.window} "
                f"frames with the {self.placement.profile!r} memory profile; try a lower "
                "quality or a leaner profile."
            ) from exc
        finally:
            self.previous = None
        if cancel.cancelled:
            raise Cancelled("Cancelled by the user.")
        return frames, extra

    def _run(self, request: GenerationRequest, generator: Any, on_step: Any) -> tuple[Any, dict]:
        """Call the pipeline; return (frames as (T,H,W,3) floats or None, record extras).
        ``self.previous`` holds the tail frames of the segment before, or None."""
        raise NotImplementedError

    def _write_output(self, output: Any, extra: dict[str, Any], request: GenerationRequest,
                      out_path: Path) -> None:
        film = float(request.film_fps or 0.0)
        if film > 0 and abs(film - request.fps) > 1e-3 and len(output) > 1:
            # the model's rate (Wan: 16 fps) → the film's, by motion-compensated
            # interpolation: in-between pictures, never repeated frames
            write_video(retime(output, request.fps, film), out_path, film)
            extra["fps_conversion"] = {"from": request.fps, "to": film,
                                       "method": "minterpolate (mci, aobmc, bidir)"}
            extra["fps"] = film
        else:
            write_video(output, out_path, request.fps)

    def _common_kwargs(self, request: GenerationRequest, generator: Any, on_step: Any) -> dict:
        return {
            "prompt": request.prompt or " ",
            "negative_prompt": request.negative_prompt or None,
            "height": request.height,
            "width": request.width,
            "num_inference_steps": request.steps,
            "guidance_scale": request.guidance,
            "generator": generator,
            "output_type": "np",
            "callback_on_step_end": on_step,
        }
