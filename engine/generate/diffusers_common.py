"""What every diffusers backend shares: loading, placement, seeds, step progress, cancel.

Only the backend modules import torch/diffusers, and only when a backend is built, so the
animatic path works without them installed. Loading is separate from calling: the worker
keeps one loaded backend warm across jobs that use the same model.
"""

from __future__ import annotations

import gc
import importlib
import time
from pathlib import Path
from typing import Any

from engine.errors import Cancelled, StoryreelError
from engine.generate.base import GenerationRequest, GenerationResult
from engine.generate.memory import Placement, apply, plan, torch_dtype
from engine.generate.registry import ModelEntry, verify
from engine.generate.video_io import write_video
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
        self.placement: Placement = plan(device, entry.folder, memory_profile)
        self.pipe: Any = None
        self.load_seconds = 0.0

    # ----------------------------------------------------------------- lifecycle
    @property
    def loaded(self) -> bool:
        return self.pipe is not None

    def load(self) -> None:
        if self.pipe is not None:
            return
        require_torch()
        diffusers = importlib.import_module("diffusers")
        verify(self.entry)
        start = time.perf_counter()
        cls = getattr(diffusers, self.entry.pipeline)
        try:
            pipe = cls.from_pretrained(
                str(self.entry.folder), dtype=torch_dtype(self.placement.dtype),
                local_files_only=True, use_safetensors=True,
            )
        except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
            raise GenerationError(f"Model {self.entry.name!r} failed to load: {exc}") from exc
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe
        self._after_load()
        apply(pipe, self.placement)
        self.load_seconds = time.perf_counter() - start

    def _after_load(self) -> None:
        """Hook: load adapters before the pipeline is placed on the device."""

    def unload(self) -> None:
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
        started = time.perf_counter()

        def on_step(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            progress(0.9 * (step + 1) / steps, f"step {step + 1}/{steps}")
            if cancel.cancelled:
                # stop now: ``pipe._interrupt`` would skip the remaining steps but still run
                # the VAE decode, which takes seconds at 480p/81 frames
                pipe._interrupt = True
                raise Cancelled("Cancelled by the user.")
            return {}

        generator = torch.Generator(device="cpu").manual_seed(int(request.seed))
        try:
            with torch.inference_mode():
                output, extra = self._run(request, generator, on_step)
        except torch.cuda.OutOfMemoryError as exc:
            raise GenerationError(
                f"Out of GPU memory at {request.width}×{request.height}, {request.frames} "
                f"frames with the {self.placement.profile!r} memory profile; try a lower "
                "quality or a leaner profile."
            ) from exc
        if cancel.cancelled:
            raise Cancelled("Cancelled by the user.")
        denoise_seconds = time.perf_counter() - started
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

    def _run(self, request: GenerationRequest, generator: Any, on_step: Any) -> tuple[Any, dict]:
        """Call the pipeline; return (frames as (T,H,W,3) floats or None, record extras)."""
        raise NotImplementedError

    def _write_output(self, output: Any, extra: dict[str, Any], request: GenerationRequest,
                      out_path: Path) -> None:
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
