"""A pipeline assembled from single files: a Wan transformer (``.safetensors`` or GGUF, in
the original key layout; Wan 2.2 A14B's two experts), a UMT5 text encoder file, a Wan VAE
file or folder (Wan 2.1's or the 48-channel Wan 2.2's), a CLIP image encoder file
(ComfyUI's ``clip_vision_h.safetensors``) or folder; or all of it from a ComfyUI
``models/`` folder (``diffusion_models/``, ``text_encoders/``, ``vae/``, ``clip_vision/``).

``inspect_parts`` runs at ``models add``: it reads headers only, infers every config, checks
that the parts belong together, and returns what the registry keeps. ``load_pipeline`` runs
in the worker: each part goes through the component cache (``engine.generate.components``),
so parts shared by several registered models are read once.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from engine.generate import checkpoints as ck
from engine.generate import clip_vision
from engine.generate.components import CACHE
from engine.generate.registry import ModelEntry, ModelError, list_models, update_with_weight_file

TOKENIZER_FILES = ("tokenizer.json", "spiece.model", "tokenizer_config.json")
COMFY_DIRS = {
    "transformer": ("diffusion_models", "unet"),
    "text_encoder": ("text_encoders", "clip"),
    "vae": ("vae",),
    "image_encoder": ("clip_vision",),
}
PIPELINES = {"wan-t2v": "WanPipeline", "wan-i2v": "WanImageToVideoPipeline",
             "wan-vace": "WanVACEPipeline"}


def file_digest(path: Path) -> str:
    """sha256 of a weight file's size, header (first MiB) and last MiB; for a folder, of its
    config files and its weight files' digests."""
    digest = hashlib.sha256()
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file() and not p.name.startswith("."):
                digest.update(p.relative_to(path).as_posix().encode() + b"\0")
                if p.suffix in (".json", ".txt", ".model"):
                    digest.update(p.read_bytes())
                else:
                    digest.update(file_digest(p).encode())
        return digest.hexdigest()
    update_with_weight_file(digest, path)
    return digest.hexdigest()


# --------------------------------------------------------------------------- add time
def comfy_parts(folder: Path, chosen: dict[str, str | None]) -> dict[str, Path | None]:
    """The parts of a ComfyUI ``models/`` folder (``chosen`` names files where several fit)."""
    parts: dict[str, Path | None] = {}
    for role, dirs in COMFY_DIRS.items():
        given = chosen.get(role)
        if role == "image_encoder" and not given and not _takes_images(parts["transformer"]):
            parts[role] = None  # only Wan 2.1 I2V's transformer reads CLIP image features
            continue
        candidates = sorted(
            p for d in dirs if (folder / d).is_dir() for p in (folder / d).iterdir()
            if p.suffix.lower() in ck.WEIGHT_SUFFIXES or (p.is_dir() and role != "transformer")
        )
        if given:
            match = [p for p in candidates if p.name == given or p.stem == given]
            if not match and Path(given).exists():
                match = [Path(given)]
            if not match:
                raise ModelError(f"{folder.name}/{dirs[0]} has no {given!r}; it has: "
                                 f"{', '.join(p.name for p in candidates) or 'nothing'}.")
            parts[role] = match[0]
        else:
            parts[role] = _pick(folder, role, candidates)
    if parts["transformer"] is None:
        raise ModelError(f"{folder} has no diffusion_models/ Wan transformer (.safetensors or "
                         ".gguf).")
    return parts


def _takes_images(transformer: Path | None) -> bool:
    if transformer is None:
        return False
    try:
        keys = ck.strip_prefix(ck.read_file(transformer).shapes)
    except ModelError:
        return False  # inspect_parts says what is wrong with it
    return "img_emb.proj.0.weight" in keys


def _pick(folder: Path, role: str, candidates: list[Path]) -> Path | None:
    fits = []
    for p in candidates:
        try:
            info = ck.read_file(p) if p.is_file() else None
        except ModelError:
            continue
        if role == "transformer" and info and ck.is_wan_transformer(info.shapes):
            fits.append(p)
        elif role == "text_encoder" and info and "shared.weight" in info.shapes:
            fits.append(p)
        elif role == "vae" and (p.is_dir() or (info and "decoder.head.2.weight" in info.shapes)):
            fits.append(p)
        elif role == "image_encoder" and (p.is_dir() or (
                info and clip_vision.is_clip_vision(info.shapes))):
            fits.append(p)
    if role == "transformer":
        # Wan 2.2 A14B: the high-noise expert first (``transformer``), the low-noise second
        high = [p for p in fits if "high_noise" in p.name]
        if len(fits) > 1 and not (len(high) == 1 and len(fits) == 2):
            raise ModelError(f"{folder.name}/diffusion_models has several Wan transformers "
                             f"({', '.join(p.name for p in fits)}); pick one with --transformer.")
    elif len(fits) > 1:
        if role == "image_encoder":  # Wan 2.1 I2V's is ViT-H/14, ComfyUI's clip_vision_h
            vit_h = [p for p in fits if "clip_vision_h" in p.name.lower()]
            if len(vit_h) == 1:
                return vit_h[0]
        raise ModelError(f"{folder.name} has several {role.replace('_', ' ')}s "
                         f"({', '.join(p.name for p in fits)}); pick one with "
                         f"--{role.replace('_', '-')}.")
    return fits[0] if fits else None


def comfy_second_expert(folder: Path, first: Path) -> Path | None:
    if "high_noise" not in first.name:
        return None
    low = first.parent / first.name.replace("high_noise", "low_noise")
    return low if low.is_file() else None


def inspect_parts(parts: dict[str, Path | None], task: str = "") -> dict[str, Any]:
    """Everything the registry keeps about an assembled pipeline, or one ModelError."""
    transformer = parts.get("transformer")
    if transformer is None:
        raise ModelError("An assembled model needs a Wan transformer file.")
    info = ck.read_file(transformer)
    cls_name, config = ck.wan_transformer_config(info)
    ck.check_keys(info, cls_name, config)
    options: dict[str, Any] = {"source": "single-file", "transformer_class": cls_name,
                               "configs": {"transformer": config}, "formats": {}}
    options["formats"]["transformer"] = info.quant or info.fmt
    second = parts.get("transformer_2")
    if second is not None:
        info_2 = ck.read_file(second)
        cls_2, config_2 = ck.wan_transformer_config(info_2)
        if (cls_2, config_2) != (cls_name, config):
            raise ModelError(f"{Path(second).name} and {transformer.name} are not the two "
                             "experts of one Wan 2.2 model (their shapes differ).")
        ck.check_keys(info_2, cls_2, config_2)
        options["formats"]["transformer_2"] = info_2.quant or info_2.fmt
    family, pipeline_config = _family(cls_name, config, second is not None, task,
                                      transformer.name)
    options["pipeline_config"] = pipeline_config
    text = parts.get("text_encoder")
    if text is None:
        raise ModelError(f"{transformer.name} needs its UMT5 text encoder; give "
                         "--text-encoder FILE (umt5_xxl .safetensors).")
    te_config = ck.umt5_config(ck.read_file(text))
    if te_config["d_model"] != config["text_dim"]:
        raise ModelError(f"The text encoder {Path(text).name} gives {te_config['d_model']}-wide "
                         f"embeddings but {transformer.name} takes {config['text_dim']}: parts "
                         "of two different models.")
    options["configs"]["text_encoder"] = te_config
    options["configs"]["vae"] = _vae(parts.get("vae"), config, transformer.name)
    if family == "wan-i2v" and "image_dim" in config:
        options["configs"]["image_encoder"] = _image_encoder(
            parts.get("image_encoder"), config["image_dim"], transformer.name)
    else:
        parts = {**parts, "image_encoder": None}
    tokenizer = find_tokenizer(parts.get("tokenizer"), Path(text))
    paths = {role: str(Path(p).resolve()) for role, p in parts.items() if p is not None}
    paths["tokenizer"] = str(tokenizer)
    options["parts"] = paths
    pipeline = PIPELINES[family]
    return {"pipeline": pipeline, "family": family, "options": options,
            "content_hash": assembled_hash(options)}


def _family(cls_name: str, config: dict[str, Any], two_experts: bool, task: str,
            name: str) -> tuple[str, dict[str, Any]]:
    if task and task not in ("t2v", "i2v"):
        raise ModelError(f"--task {task!r} is not t2v or i2v.")
    channels = config["in_channels"]
    pipeline_config: dict[str, Any] = {}
    if cls_name == "WanVACETransformer3DModel":
        family = "wan-vace"
    elif channels == 16:
        family = "wan-t2v"
    elif channels == 36:
        family = "wan-i2v"
    elif channels == 48 and config["out_channels"] == 48:
        # Wan 2.2 TI2V-5B: one transformer for both, the first frame fixed in the latents
        family = "wan-i2v" if task == "i2v" else "wan-t2v"
        pipeline_config["expand_timesteps"] = True
    else:
        raise ModelError(f"{name} takes {channels} input channels, which no Wan pipeline "
                         "Storyreel knows uses.")
    if task and family != {"t2v": "wan-t2v", "i2v": "wan-i2v"}[task] and channels != 48:
        raise ModelError(f"{name} is a {family} transformer; --task {task} does not apply.")
    if two_experts:
        if family not in ck.BOUNDARY_RATIO:
            raise ModelError(f"Two experts apply to Wan 2.2 A14B text- or image-to-video, not "
                             f"{family}.")
        pipeline_config["boundary_ratio"] = ck.BOUNDARY_RATIO[family]
    return family, pipeline_config



def _vae(vae: Path | None, config: dict[str, Any], name: str) -> dict[str, Any]:
    if vae is None:
        raise ModelError(f"{name} needs a Wan VAE; give --vae FILE (or a diffusers vae/ folder).")
    vae = Path(vae)
    if vae.is_dir():
        cfg_file = vae / "config.json"
        if not cfg_file.is_file() or not any(vae.glob("*.safetensors")):
            raise ModelError(f"The VAE folder {vae.name} needs config.json and safetensors "
                             "weights.")
        vae_config = json.loads(cfg_file.read_text("utf-8"))
        if vae_config.get("_class_name") != "AutoencoderKLWan":
            raise ModelError(f"The VAE folder {vae.name} holds a "
                             f"{vae_config.get('_class_name')}, not a Wan VAE.")
        vae_config = {"folder": True, "z_dim": int(vae_config.get("z_dim", 16))}
    else:
        info = ck.read_file(vae)
        vae_config = ck.wan_vae_config(info)
        ck.check_vae_keys(info, vae_config)
    if vae_config["z_dim"] != config["out_channels"]:
        raise ModelError(f"The VAE {vae.name} has {vae_config['z_dim']} latent channels but "
                         f"{name} makes {config['out_channels']}: parts of two different "
                         "models (Wan 2.2 TI2V-5B uses the 48-channel Wan 2.2 VAE).")
    return vae_config


def _image_encoder(encoder: Path | None, image_dim: int, name: str) -> dict[str, Any]:
    """The CLIP image encoder's config: a single file's inferred from its shapes, a folder's
    read from its config.json."""
    if encoder is None:
        raise ModelError(f"{name} is a Wan 2.1 image-to-video transformer; it needs its CLIP "
                         "image encoder — give --image-encoder FILE (clip_vision_h.safetensors)"
                         " or a folder with config.json.")
    encoder = Path(encoder)
    if encoder.is_dir():
        cfg_file = encoder / "config.json"
        if not cfg_file.is_file() or not any(encoder.glob("*.safetensors")):
            raise ModelError(f"The image encoder folder {encoder.name} needs config.json and "
                             "safetensors weights.")
        folder_config = json.loads(cfg_file.read_text("utf-8"))
        folder_config = folder_config.get("vision_config", folder_config)
        config = {"folder": True, "hidden_size": int(folder_config.get("hidden_size", 0)),
                  "image_size": int(folder_config.get("image_size", 224))}
    else:
        info = ck.read_file(encoder)
        config = clip_vision.config(info.shapes, encoder.name)
        clip_vision.check(info.shapes, config, encoder.name)
    if config["hidden_size"] != image_dim:
        raise ModelError(f"The image encoder {encoder.name} gives {config['hidden_size']}-wide "
                         f"features but {name} takes {image_dim}: parts of two different "
                         "models (Wan 2.1 I2V uses clip_vision_h, ViT-H/14).")
    return config


def find_tokenizer(given: Path | str | None, text_encoder: Path) -> Path:
    """The UMT5 tokenizer folder: given, beside the text encoder, or a registered Wan
    model's (every Wan model uses the same umt5-xxl tokenizer)."""
    if given:
        folder = Path(given).expanduser().resolve()
        if not any((folder / f).is_file() for f in TOKENIZER_FILES):
            raise ModelError(f"--tokenizer {given} has no tokenizer files "
                             f"({', '.join(TOKENIZER_FILES)}).")
        return folder
    for folder in (text_encoder.parent / "tokenizer", text_encoder.parent / text_encoder.stem,
                   text_encoder.parent.parent / "tokenizer"):
        if any((folder / f).is_file() for f in TOKENIZER_FILES):
            return folder.resolve()
    for entry in list_models():
        folder = entry.folder / "tokenizer"
        if entry.family.startswith("wan") and (folder / "tokenizer_config.json").is_file():
            return folder
    raise ModelError(f"No UMT5 tokenizer found for {text_encoder.name}: give --tokenizer DIR "
                     "(the tokenizer/ folder of any Wan diffusers model), or put it in a "
                     "tokenizer/ folder beside the text encoder.")


def assembled_hash(options: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(
        {k: options[k] for k in ("configs", "pipeline_config", "transformer_class")},
        sort_keys=True).encode())
    for role, path in sorted(options["parts"].items()):
        digest.update(role.encode() + b"\0" + file_digest(Path(path)).encode())
    return digest.hexdigest()


def verify_parts(entry: ModelEntry) -> None:
    for role, path in entry.options.get("parts", {}).items():
        if not Path(path).exists():
            raise ModelError(f"Model {entry.name!r}: its {role.replace('_', ' ')} {path} is "
                             "gone.")
    if assembled_hash(entry.options) != entry.content_hash:
        raise ModelError(f"Model {entry.name!r} changed on disk since it was registered; add "
                         "it again with `storyreel models add`.")


def part_bytes(entry: ModelEntry) -> dict[str, int]:
    """Bytes each part takes on disk (a GGUF transformer: its quantized size)."""
    out = {}
    for role, path in entry.options.get("parts", {}).items():
        p = Path(path)
        files = [f for f in p.rglob("*.safetensors")] if p.is_dir() else [p]
        out[role] = sum(f.stat().st_size for f in files)
    return out


# --------------------------------------------------------------------------- load time
def load_pipeline(entry: ModelEntry, dtype: Any) -> tuple[Any, dict[str, str]]:
    """The pipeline of an assembled entry, and the cache key of each of its components."""
    import diffusers

    options = entry.options
    parts = options["parts"]
    dname = str(dtype).removeprefix("torch.")
    keys: dict[str, str] = {}

    def key(role: str) -> str:
        keys[role] = f"{role}:{file_digest(Path(parts[role]))}:{dname}"
        return keys[role]

    components: dict[str, Any] = {}
    for role in ("transformer", "transformer_2"):
        if role in parts:
            components[role] = CACHE.get(key(role), lambda r=role: _load_transformer(
                entry, Path(parts[r]), dtype))
    components["text_encoder"] = CACHE.get(key("text_encoder"), lambda: _load_umt5(
        Path(parts["text_encoder"]), options["configs"]["text_encoder"], dtype))
    components["vae"] = CACHE.get(key("vae"), lambda: _load_vae(
        Path(parts["vae"]), options["configs"]["vae"]))
    clip_config = options["configs"].get("image_encoder", {})
    if parts.get("image_encoder"):
        components["image_encoder"] = CACHE.get(key("image_encoder"), lambda: _load_clip(
            Path(parts["image_encoder"]), clip_config, dtype))
    from transformers import AutoTokenizer

    components["tokenizer"] = AutoTokenizer.from_pretrained(parts["tokenizer"],
                                                            local_files_only=True)
    components["scheduler"] = diffusers.UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, num_train_timesteps=1000,
        flow_shift=float(options.get("flow_shift", 5.0)),
    )
    cls = getattr(diffusers, entry.pipeline)
    if entry.pipeline == "WanImageToVideoPipeline":
        components.setdefault("image_encoder", None)
        components["image_processor"] = (
            clip_vision.processor(int(clip_config.get("image_size", 224)))
            if components["image_encoder"] is not None else None)
    extra = dict(options.get("pipeline_config", {}))
    if entry.pipeline != "WanVACEPipeline" or "transformer_2" in components:
        extra.setdefault("transformer_2", components.pop("transformer_2", None))
    pipe = cls(**components, **extra)
    CACHE.pin(set(keys.values()))
    return pipe, keys


def _load_transformer(entry: ModelEntry, path: Path, dtype: Any) -> Any:
    import diffusers

    options = entry.options
    cls = getattr(diffusers, options["transformer_class"])
    with tempfile.TemporaryDirectory(prefix="storyreel-config-") as tmp:
        config = {"_class_name": options["transformer_class"],
                  **options["configs"]["transformer"]}
        (Path(tmp) / "config.json").write_text(json.dumps(config), "utf-8")
        if path.suffix.lower() == ".gguf":
            from diffusers import GGUFQuantizationConfig
            from diffusers.models.model_loading_utils import load_gguf_checkpoint

            # diffusers' GGUF reader, then the same key fixes as safetensors files
            state = _prefixed(load_gguf_checkpoint(str(path), return_tensors=True))
            model = cls.from_single_file(
                state, config=tmp, local_files_only=True,
                quantization_config=GGUFQuantizationConfig(compute_dtype=dtype), dtype=dtype,
            )
        else:
            from safetensors.torch import load_file

            state = _prefixed(load_file(str(path)))
            model = cls.from_single_file(state, config=tmp, local_files_only=True, dtype=dtype)
    return model.eval()


def _prefixed(state: dict[str, Any]) -> dict[str, Any]:
    """Prefixes stripped and the names diffusers' converter misses renamed beforehand."""
    out = {}
    for name, value in state.items():
        for prefix in ck.PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix):]
                break
        out[ck.EXTRA_RENAMES.get(name, name)] = value
    return out


def _load_umt5(path: Path, config: dict[str, Any], dtype: Any) -> Any:
    import torch
    from safetensors.torch import load_file
    from transformers import UMT5Config, UMT5EncoderModel

    with torch.device("meta"):
        model = UMT5EncoderModel(UMT5Config(**config))
    state = load_file(str(path))
    state.setdefault("encoder.embed_tokens.weight", state["shared.weight"])
    result = model.load_state_dict(state, strict=False, assign=True)
    if result.missing_keys:
        raise ModelError(f"The text encoder {path.name} lacks {result.missing_keys[0]!r}.")
    return model.to(dtype).eval()


def _load_vae(path: Path, config: dict[str, Any]) -> Any:
    import torch
    from diffusers import AutoencoderKLWan

    if path.is_dir():  # the VAE stays in fp32 (Wan's decoder is not stable in half)
        return AutoencoderKLWan.from_pretrained(str(path), local_files_only=True,
                                                dtype=torch.float32).eval()
    from safetensors.torch import load_file

    model = AutoencoderKLWan(**config).eval()
    state = ck.convert_vae_keys(load_file(str(path)))
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    return model


def _load_clip(path: Path, config: dict[str, Any], dtype: Any) -> Any:
    if path.is_file():
        return clip_vision.load(path, {k: v for k, v in config.items() if k != "folder"},
                                dtype)
    from transformers import CLIPVisionModel

    return CLIPVisionModel.from_pretrained(str(path), local_files_only=True,
                                           dtype=dtype).eval()
