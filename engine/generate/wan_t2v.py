"""Text-to-video: plain Wan 2.1/2.2 T2V (no reference conditioning; the prompt carries the
characters' descriptions). Useful for establishing shots without characters in frame."""

from __future__ import annotations

from typing import Any

from engine.generate.base import GenerationRequest
from engine.generate.diffusers_common import DiffusersBackend


class WanT2VBackend(DiffusersBackend):
    family = "wan-t2v"

    def _run(self, request: GenerationRequest, generator: Any, on_step: Any) -> tuple[Any, dict]:
        kwargs = self._common_kwargs(request, generator, on_step)
        kwargs["num_frames"] = request.frames
        result = self.pipe(**kwargs)
        extra: dict[str, Any] = {}
        if any(c.images for c in request.characters):
            extra["note"] = "text-to-video: reference images were not used"
        return result.frames[0], extra
