"""Keyframe-conditioned video with LTX-Video (``LTXConditionPipeline``): the shot's first
keyframe at frame 0 and its last keyframe at the final frame; with neither, text-to-video.
LTX takes 8k+1 frames at sizes that are multiples of 32 and runs fast at 24 fps."""

from __future__ import annotations

import importlib
from typing import Any

from engine.generate.base import GenerationRequest
from engine.generate.diffusers_common import DiffusersBackend, load_image


class LtxConditionBackend(DiffusersBackend):
    continuation = "conditioning-frames"

    family = "ltx-condition"

    def segment_overlap(self, request: GenerationRequest) -> int | None:
        # LTX conditions on 8k+1 frames: up to 9 of them, fewer in a short window
        return min(9, max(0, (request.frames - 2) // 8) * 8 + 1)

    def _run(self, request: GenerationRequest, generator: Any, on_step: Any) -> tuple[Any, dict]:
        module = importlib.import_module("diffusers.pipelines.ltx.pipeline_ltx_condition")
        condition = module.LTXVideoCondition
        size = (request.width, request.height)
        conditions = []
        extra: dict[str, Any] = {"first_frame_used": False, "last_frame_used": False}
        if self.previous is not None:  # a later segment: continue the one before
            from PIL import Image

            from engine.generate.segments import as_uint8

            tail = [Image.fromarray(f).resize(size) for f in as_uint8(self.previous)]
            conditions.append(condition(video=tail, frame_index=0))
        elif request.first_frame is not None:
            conditions.append(condition(image=load_image(request.first_frame, size),
                                        frame_index=0))
            extra["first_frame_used"] = True
        final = self.segment_index == self.segment_count - 1
        if request.last_frame is not None and request.frames > 1 and final:
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
