"""The per-user model registry: local diffusers folders Storyreel may load.

Registering never downloads: a folder already on disk is inspected (``model_index.json``
names the pipeline class, hence the family), pickle weights are refused, and a content
hash of the configs and weight index is recorded so every take names exactly which
weights made it. The registry is one JSON file in the per-user config folder
(``$STORYREEL_HOME`` or the platform's config dir), shared by every project.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import StoryreelError

REGISTRY_FILE = "models.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
CONFIG_SUFFIXES = (".json", ".txt", ".model")
# pipeline class name → family; the family picks the backend and the quality presets
FAMILIES: dict[str, str] = {
    "WanVACEPipeline": "wan-vace",
    "WanImageToVideoPipeline": "wan-i2v",
    "WanPipeline": "wan-t2v",
    "LTXConditionPipeline": "ltx-condition",
    "StableDiffusionXLPipeline": "sdxl",
}
RESERVED_NAMES = {"animatic", "import", "auto"}


class ModelError(StoryreelError):
    """A model folder cannot be registered or loaded."""


def storyreel_home() -> Path:
    """The per-user config folder (``$STORYREEL_HOME`` overrides the platform default)."""
    env = os.environ.get("STORYREEL_HOME")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("storyreel", appauthor=False))


@dataclass
class ModelEntry:
    name: str
    path: str  # absolute path of the diffusers folder
    family: str
    pipeline: str  # diffusers pipeline class name
    content_hash: str  # sha256 over configs and weight index (see content_hash())
    ip_adapter: str = ""  # SDXL: path of an IP-Adapter .safetensors (image_encoder/ beside)
    added_at: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return Path(self.path)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelEntry:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def _registry_path() -> Path:
    return storyreel_home() / REGISTRY_FILE


def _read() -> dict[str, dict[str, Any]]:
    path = _registry_path()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"The model registry {path} is unreadable ({exc}).") from exc
    models = data.get("models", {}) if isinstance(data, dict) else {}
    return models if isinstance(models, dict) else {}


def _write(models: dict[str, dict[str, Any]]) -> None:
    path = _registry_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"version": 1, "models": models}, fh, ensure_ascii=False, indent=2)
    os.replace(tmp, path)


def inspect_folder(folder: Path) -> tuple[str, str]:
    """(pipeline class, family) of a diffusers folder, or ModelError saying why not."""
    if not folder.is_dir():
        raise ModelError(f"{folder} is not a folder.")
    index = folder / "model_index.json"
    if not index.is_file():
        raise ModelError(
            f"{folder} has no model_index.json; register a diffusers pipeline folder "
            "(the one save_pretrained writes)."
        )
    try:
        info = json.loads(index.read_text("utf-8"))
        pipeline = str(info["_class_name"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ModelError(f"{index} is not a valid model index ({exc}).") from exc
    family = FAMILIES.get(pipeline)
    if family is None:
        raise ModelError(
            f"{folder.name} is a {pipeline}, which Storyreel cannot use; supported: "
            f"{', '.join(sorted(FAMILIES))}."
        )
    pickles = sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in PICKLE_SUFFIXES
    )
    if pickles:
        raise ModelError(
            f"{folder.name} contains pickle weights ({pickles[0]}); Storyreel loads "
            "safetensors only — convert the model or download its safetensors files."
        )
    if not any(folder.rglob("*.safetensors")):
        raise ModelError(f"{folder.name} has no .safetensors weights.")
    return pipeline, family


def content_hash(folder: Path, extra: list[Path] | None = None) -> str:
    """sha256 over every config file and weight index, plus each weight file's name and size.

    Sharded weights are named by their ``*.index.json``; a single-file component is named
    by its header (the first 1 MiB: tensor names, shapes, dtypes) and its size, so hashing
    a 30 GB model takes milliseconds yet any changed weight file changes the hash.
    """
    digest = hashlib.sha256()
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for p in files + list(extra or []):
        rel = p.relative_to(folder).as_posix() if p.is_relative_to(folder) else p.name
        if rel.startswith(".") or "/." in rel:
            continue
        digest.update(rel.encode() + b"\0")
        if p.suffix.lower() in CONFIG_SUFFIXES or p.name.endswith(".index.json"):
            digest.update(p.read_bytes())
        elif p.suffix.lower() == ".safetensors":
            update_with_weight_file(digest, p)
    return digest.hexdigest()


def update_with_weight_file(digest: Any, path: Path) -> None:
    """Feed a weight file's size, header (first MiB) and last MiB into ``digest``: enough to
    tell any two weight files apart without reading gigabytes."""
    size = path.stat().st_size
    digest.update(str(size).encode())
    with open(path, "rb") as fh:
        digest.update(fh.read(1 << 20))
        if size > 2 << 20:
            fh.seek(size - (1 << 20))
            digest.update(fh.read())


def _default_name(folder: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", folder.name).strip("-").lower()
    return name or "model"


def add_model(path: str | Path, name: str | None = None,
              ip_adapter: str | Path | None = None,
              parts: dict[str, str | None] | None = None, task: str = "") -> ModelEntry:
    """Register a local model under ``name`` (default: the folder or file name).

    ``path`` is a diffusers folder; or a single-file Wan transformer (``.safetensors`` or
    ``.gguf``) with its other ``parts`` (text_encoder, vae, image_encoder, tokenizer,
    transformer_2) as files; or a ComfyUI ``models/`` folder (``parts`` then picks files by
    name where several fit). Nothing is registered unless every part checks out.
    """
    from engine.model.entities import utc_now

    folder = Path(path).expanduser().resolve()
    parts = {k: v for k, v in (parts or {}).items() if v}
    name = name or _default_name(folder.with_suffix("") if folder.is_file() else folder)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ModelError(f"Model name {name!r} may contain only letters, digits, '.', '_', '-'.")
    if name in RESERVED_NAMES:
        raise ModelError(f"Model name {name!r} is reserved; pick another with --name.")
    if folder.is_file() or (folder.is_dir() and not (folder / "model_index.json").is_file()
                            and (parts or (folder / "diffusion_models").is_dir()
                                 or (folder / "unet").is_dir())):
        return _add_assembled(folder, name, ip_adapter, parts, task, utc_now())
    if parts or task:
        raise ModelError(f"{folder.name} is a diffusers folder; --text-encoder, --vae, "
                         "--transformer and --task apply to single files and ComfyUI folders.")
    pipeline, family = inspect_folder(folder)
    adapter_file = _find_ip_adapter(folder, ip_adapter) if family == "sdxl" else None
    if ip_adapter and family != "sdxl":
        raise ModelError(f"--ip-adapter applies to SDXL models; {folder.name} is {family}.")
    extra = [adapter_file] if adapter_file and not adapter_file.is_relative_to(folder) else []
    entry = ModelEntry(
        name=name, path=str(folder), family=family, pipeline=pipeline,
        content_hash=content_hash(folder, extra), ip_adapter=str(adapter_file or ""),
        added_at=utc_now(),
    )
    models = _read()
    models[name] = entry.to_dict()
    _write(models)
    return entry


def _add_assembled(path: Path, name: str, ip_adapter: Any, parts: dict[str, Any], task: str,
                   now: str) -> ModelEntry:
    from engine.generate import assemble

    if ip_adapter:
        raise ModelError("--ip-adapter applies to SDXL diffusers folders.")
    if path.is_dir():
        found: dict[str, Any] = assemble.comfy_parts(path, parts)
        found["tokenizer"] = parts.get("tokenizer")
        found["transformer_2"] = parts.get("transformer_2") or assemble.comfy_second_expert(
            path, found["transformer"])
    else:
        found = {"transformer": path, **{k: Path(v) for k, v in parts.items()}}
        for role, part in found.items():
            if role != "tokenizer" and not Path(part).exists():
                raise ModelError(f"The {role.replace('_', ' ')} {part} does not exist.")
    made = assemble.inspect_parts(found, task)
    entry = ModelEntry(name=name, path=str(path), family=made["family"],
                       pipeline=made["pipeline"], content_hash=made["content_hash"],
                       added_at=now, options=made["options"])
    models = _read()
    models[name] = entry.to_dict()
    _write(models)
    return entry


def _find_ip_adapter(folder: Path, given: str | Path | None) -> Path | None:
    if given:
        file = Path(given).expanduser().resolve()
        if not file.is_file() or file.suffix != ".safetensors":
            raise ModelError(f"--ip-adapter {given} is not a .safetensors file.")
    else:
        found = sorted((folder / "ip_adapter").glob("*.safetensors"))
        if not found:
            return None
        file = found[0]
    if not (file.parent / "image_encoder" / "config.json").is_file():
        raise ModelError(
            f"The IP-Adapter {file.name} needs its image encoder in "
            f"{file.parent / 'image_encoder'} (as in the h94/IP-Adapter layout)."
        )
    return file


def list_models() -> list[ModelEntry]:
    return sorted((ModelEntry.from_dict(v) for v in _read().values()), key=lambda e: e.name)


def get_model(name: str) -> ModelEntry:
    data = _read().get(name)
    if data is None:
        known = ", ".join(sorted(_read())) or "none registered"
        raise ModelError(
            f"No model named {name!r} (known: {known}); register one with "
            "`storyreel models add PATH`."
        )
    return ModelEntry.from_dict(data)


def remove_model(name: str) -> None:
    models = _read()
    if name not in models:
        raise ModelError(f"No model named {name!r} to remove.")
    del models[name]
    _write(models)


def verify(entry: ModelEntry) -> None:
    """Raise ModelError if the folder moved or its content changed since registration."""
    if entry.options.get("source") == "single-file":
        from engine.generate.assemble import verify_parts

        verify_parts(entry)
        return
    if not entry.folder.is_dir():
        raise ModelError(f"Model {entry.name!r}: folder {entry.path} is gone.")
    extra = []
    if entry.ip_adapter and not Path(entry.ip_adapter).is_relative_to(entry.folder):
        extra = [Path(entry.ip_adapter)]
    if content_hash(entry.folder, extra) != entry.content_hash:
        raise ModelError(
            f"Model {entry.name!r} changed on disk since it was registered; run "
            f"`storyreel models add {entry.path} --name {entry.name}` again."
        )
