"""Image-to-video: Wan I2V animates the shot's first keyframe (and last, where it can).

Wan 2.1 FLF2V checkpoints (``pos_embed_seq_len`` set) and Wan 2.2-style checkpoints
without an image encoder condition on both a first and a last frame; a plain Wan 2.1 I2V
checkpoint conditions on the first frame only and the record says the last one was not
used.
"""

from __future__ import annotations

from typing import Any

from engine.generate.base import GenerationRequest
from engine.generate.diffusers_common import DiffusersBackend, GenerationError, load_image


class WanI2VBackend(DiffusersBackend):
    family = "wan-i2v"
    continuation = "last-frame"

    def segment_overlap(self, request: GenerationRequest) -> int | None:
        return 1  # the next segment starts from the previous one's last frame

    @property
    def takes_last_frame(self) -> bool:
        if getattr(self.pipe, "image_encoder", None) is None:
            return True
        return getattr(self.pipe.transformer.config, "pos_embed_seq_len", None) is not None

    def _run(self, request: GenerationRequest, generator: Any, on_step: Any) -> tuple[Any, dict]:
        if self.previous is not None:
            return self._continue(request, generator, on_step)
        if request.first_frame is None:
            raise GenerationError(
                f"Shot {request.shot_label or request.shot_id} has no first keyframe; an "
                "image-to-video model animates one — set a keyframe or use an SDXL keyframe "
                "model first."
            )
        size = (request.width, request.height)
        kwargs = self._common_kwargs(request, generator, on_step)
        kwargs["num_frames"] = request.frames
        kwargs["image"] = load_image(request.first_frame, size)
        extra: dict[str, Any] = {"first_frame_used": True}
        # in a shot made in segments the last keyframe ends the last segment, not the first
        last_frame = request.last_frame if self.segment_count == 1 else None
        if last_frame is not None:
            if self.takes_last_frame:
                kwargs["last_image"] = load_image(last_frame, size)
                extra["last_frame_used"] = True
            else:
                extra["last_frame_used"] = False
                extra["note"] = "this checkpoint conditions on the first frame only"
        elif getattr(self.pipe, "image_encoder", None) is not None and self.takes_last_frame:
            # an FLF2V checkpoint needs two frames: hold the first one
            kwargs["last_image"] = kwargs["image"]
            extra["last_frame_used"] = "first frame repeated"
        result = self.pipe(**kwargs)
        return result.frames[0], extra

    def _continue(self, request: GenerationRequest, generator: Any,
                  on_step: Any) -> tuple[Any, dict]:
        """A later segment: from the previous segment's last frame (towards the shot's last
        keyframe when the checkpoint takes one)."""
        from PIL import Image

        from engine.generate.segments import as_uint8

        size = (request.width, request.height)
        kwargs = self._common_kwargs(request, generator, on_step)
        kwargs["num_frames"] = request.frames
        kwargs["image"] = Image.fromarray(as_uint8(self.previous)[-1]).resize(size)
        extra: dict[str, Any] = {"first_frame_used": True}
        final = self.segment_index == self.segment_count - 1
        if request.last_frame is not None and final and self.takes_last_frame:
            kwargs["last_image"] = load_image(request.last_frame, size)
            extra["last_frame_used"] = True
        elif getattr(self.pipe, "image_encoder", None) is not None and self.takes_last_frame:
            kwargs["last_image"] = kwargs["image"]
        result = self.pipe(**kwargs)
        return result.frames[0], extra
