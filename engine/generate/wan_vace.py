"""Reference-to-video: Wan 2.1 VACE conditioned on the characters' reference images."""

from __future__ import annotations

from typing import Any

from engine.generate.base import GenerationRequest
from engine.generate.diffusers_common import DiffusersBackend, load_image

MAX_REFERENCES = 4


class WanVaceBackend(DiffusersBackend):
    """Text + character sheets → clip. Each character in frame contributes its first
    reference image (then further ones while fewer than MAX_REFERENCES are used); the
    scene's location reference takes one place of the budget when there is room."""

    family = "wan-vace"
    continuation = "tail-frames"

    def _run(self, request: GenerationRequest, generator: Any, on_step: Any) -> tuple[Any, dict]:
        chosen: list[tuple[str, Any]] = []
        rounds = max((len(c.images) for c in request.characters), default=0)
        for i in range(rounds):
            for character in request.characters:
                if i < len(character.images) and len(chosen) < MAX_REFERENCES:
                    sha = character.image_hashes[i] if i < len(character.image_hashes) else ""
                    chosen.append((sha, character.images[i]))
        if request.location_image is not None and len(chosen) < MAX_REFERENCES:
            chosen.append((request.location_hash or "", request.location_image))
        kwargs = self._common_kwargs(request, generator, on_step)
        kwargs["num_frames"] = request.frames
        if chosen:
            kwargs["reference_images"] = [load_image(p) for _, p in chosen]
        if self.previous is not None:
            kwargs["video"], kwargs["mask"] = continue_from(self.previous, request.frames,
                                                            (request.width, request.height))
        result = self.pipe(**kwargs)
        return result.frames[0], {"references_used": [sha for sha, _ in chosen]}


def continue_from(tail: Any, frames: int, size: tuple[int, int]) -> tuple[list, list]:
    """VACE's video + mask inputs that continue a clip: its tail frames kept (black mask),
    the rest generated (grey frames under a white mask)."""
    from PIL import Image

    from engine.generate.segments import as_uint8

    kept = [Image.fromarray(f).resize(size) for f in as_uint8(tail)]
    grey = Image.new("RGB", size, (127, 127, 127))
    video = kept + [grey] * (frames - len(kept))
    mask = [Image.new("L", size, 0)] * len(kept) + [Image.new("L", size, 255)] * (
        frames - len(kept))
    return video, mask
