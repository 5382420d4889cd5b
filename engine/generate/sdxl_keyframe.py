"""Reference-conditioned keyframes: SDXL + IP-Adapter, from the characters' sheets.

The backend paints one keyframe per shot (the characters' likeness comes from their
reference images through IP-Adapter) and returns a still-based clip of the shot's length
(with a slow push-in when the shot's camera pushes in). The keyframe PNG is stored with
the take, so it can be set as the shot's first keyframe and animated by an image-to-video
model. Character image embeddings are computed once per set of reference images and cached
in memory and on disk (``$STORYREEL_HOME/cache/ip-embeds``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from engine.generate.base import GenerationRequest
from engine.generate.diffusers_common import DiffusersBackend, GenerationError, load_image
from engine.generate.registry import storyreel_home
from engine.generate.video_io import still_clip
from engine.model import CameraMove

IP_ADAPTER_SCALE = 0.7


class SdxlKeyframeBackend(DiffusersBackend):
    family = "sdxl"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._embeds: dict[str, Any] = {}
        self.embed_computations = 0  # how many times the image encoder actually ran

    @property
    def has_ip_adapter(self) -> bool:
        return bool(self.entry.ip_adapter)

    def _after_load(self) -> None:
        if not self.has_ip_adapter:
            return
        from engine.generate.components import CACHE

        adapter = Path(self.entry.ip_adapter)
        key = f"ip_image_encoder:{self.entry.content_hash}:{self.pipe.unet.dtype}"
        encoder = CACHE.peek(key)
        if (encoder is not None and key + ":processor" in CACHE
                and getattr(self.pipe.unet, "encoder_hid_proj", None) is not None):
            # the cached UNet already carries this adapter: only the encoder is reattached
            self.pipe.register_modules(image_encoder=encoder,
                                       feature_extractor=CACHE.peek(key + ":processor"))
            self.pipe.set_ip_adapter_scale(IP_ADAPTER_SCALE)
            self.component_keys["ip_image_encoder"] = key
            CACHE.pin(set(self.component_keys.values()))
            return
        try:
            self.pipe.load_ip_adapter(
                str(adapter.parent), subfolder="", weight_name=adapter.name,
                local_files_only=True,
            )
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise GenerationError(f"IP-Adapter {adapter.name} failed to load: {exc}") from exc
        self.pipe.set_ip_adapter_scale(IP_ADAPTER_SCALE)
        CACHE.put(key, self.pipe.image_encoder)
        CACHE.put(key + ":processor", self.pipe.feature_extractor)
        self.component_keys["ip_image_encoder"] = key
        CACHE.pin(set(self.component_keys.values()))

    def character_embeds(self, images: list[Path], hashes: list[str]) -> Any:
        """Mean IP-Adapter image embedding of one character's reference images (cached)."""
        import torch
        from safetensors.torch import load_file, save_file

        key = hashlib.sha256(
            (self.entry.content_hash + "|" + ",".join(hashes)).encode()
        ).hexdigest()[:32]
        if key in self._embeds:
            return self._embeds[key]
        disk = storyreel_home() / "cache" / "ip-embeds" / f"{key}.safetensors"
        if disk.is_file():
            embeds = load_file(str(disk))["embeds"]
        else:
            device = "cuda" if self.placement.device == "cuda" else "cpu"
            pil = [load_image(p) for p in images]
            with torch.inference_mode():
                cond, _ = self.pipe.encode_image(pil, device, 1, False)
            embeds = cond.float().mean(dim=0, keepdim=True).cpu()
            self.embed_computations += 1
            disk.parent.mkdir(parents=True, exist_ok=True)
            save_file({"embeds": embeds.contiguous()}, str(disk))
        self._embeds[key] = embeds
        return embeds

    def _run(self, request: GenerationRequest, generator: Any, on_step: Any) -> tuple[Any, dict]:
        import torch

        kwargs = self._common_kwargs(request, generator, on_step)
        extra: dict[str, Any] = {"ip_adapter": Path(self.entry.ip_adapter).name or None}
        with_refs = [c for c in request.characters if c.images]
        if self.has_ip_adapter:
            if with_refs:
                per_char = [self.character_embeds(c.images, c.image_hashes) for c in with_refs]
                cond = torch.cat(per_char).mean(dim=0, keepdim=True)[None]  # (1, 1, dim)
                extra["references_used"] = [h for c in with_refs for h in c.image_hashes]
                extra["ip_adapter_scale"] = IP_ADAPTER_SCALE
            else:
                dim = self.pipe.image_encoder.config.projection_dim
                cond = torch.zeros(1, 1, dim)
                extra["ip_adapter_scale"] = 0.0
            if request.guidance > 1.0:
                cond = torch.cat([torch.zeros_like(cond), cond])
            dtype = self.pipe.unet.dtype
            kwargs["ip_adapter_image_embeds"] = [cond.to(dtype)]
        image = self.pipe(**kwargs).images[0]
        from PIL import Image

        extra["_still"] = Image.fromarray((image.clip(0, 1) * 255 + 0.5).astype("uint8"))
        extra["clip"] = "still keyframe" + (" with push-in" if push_in_for(request) else "")
        return None, extra

    def _write_output(self, output: Any, extra: dict[str, Any], request: GenerationRequest,
                      out_path: Path) -> None:
        still = extra.pop("_still")
        keyframe = out_path.with_name(out_path.stem + "-keyframe.png")
        still.save(keyframe)
        extra["_files"] = {"keyframe": keyframe}
        still_clip(still, out_path, request.frames, request.fps, push_in=push_in_for(request))


def push_in_for(request: GenerationRequest) -> float:
    return 0.08 if request.camera_move is CameraMove.PUSH_IN else 0.0
