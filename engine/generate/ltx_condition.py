"""Keyframe-conditioned video with LTX-Video (``LTXConditionPipeline``): the shot's first
keyframe at frame 0 and its last keyframe at the final frame; with neither, text-to-video.
LTX takes 8k+1 frames at sizes that are multiples of 32 and runs fast at 24 fps."""

from __future__ import annotations

import importlib
from typing import Any

from engine.generate.base import GenerationRequest
from engine.generate.diffusers_common import DiffusersBackend, load_image


class LtxConditionBackend(DiffusersBackend):
    family = "ltx-condition"

    def _run(self, request: GenerationRequest, generator: Any, on_step: Any) -> tuple[Any, dict]:
        module = importlib.import_module("diffusers.pipelines.ltx.pipeline_ltx_condition")
        condition = module.LTXVideoCondition
        size = (request.width, request.height)
        conditions = []
        extra: dict[str, Any] = {"first_frame_used": False, "last_frame_used": False}
        if request.first_frame is not None:
            conditions.append(condition(image=load_image(request.first_frame, size),
                                        frame_index=0))
            extra["first_frame_used"] = True
        if request.last_frame is not None and request.frames > 1:
            conditions.append(condition(image=load_image(request.last_frame, size),
                                        frame_index=request.frames - 1))
            extra["last_frame_used"] = True
        kwargs = self._common_kwargs(request, generator, on_step)
        kwargs.update(num_frames=request.frames, frame_rate=int(round(request.fps)))
        if conditions:
            kwargs["conditions"] = conditions
        if any(c.images for c in request.characters):
            extra["note"] = "LTX conditions on keyframes; reference images were not used"
        result = self.pipe(**kwargs)
        return result.frames[0], extra
