"""Guarded access to engine subsystems that may not be installed or written yet.

Each helper imports its engine module on demand; when it is missing the caller gets
``NotAvailable`` with a sentence the window shows instead of crashing.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from engine.errors import StoryreelError


class NotAvailable(StoryreelError):
    """An engine feature this build does not have (yet)."""


def module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise NotAvailable(f"{name} is not available in this build ({exc}).") from exc


def function(module_name: str, name: str) -> Any:
    mod = module(module_name)
    fn = getattr(mod, name, None)
    if fn is None:
        raise NotAvailable(f"{module_name}.{name} is not available in this build.")
    return fn


def has(module_name: str, name: str | None = None) -> bool:
    try:
        mod = importlib.import_module(module_name)
    except ImportError:
        return False
    return name is None or hasattr(mod, name)


def generation_choices() -> list[tuple[str, str]]:
    """(key, label) pairs for the backend/model combo: the animatic, then registered models."""
    choices = [("animatic", "Animatic (CPU)")]
    if not has("engine.generate.registry"):
        return choices
    reg = importlib.import_module("engine.generate.registry")
    entries: Any = None
    for name in ("models", "list_models", "available_models", "all_models"):
        candidate = getattr(reg, name, None)
        if candidate is None:
            continue
        try:
            entries = candidate() if callable(candidate) else candidate
        except Exception:  # noqa: BLE001 - a broken registry must not break the inspector
            entries = None
        if entries is not None:
            break
    if isinstance(entries, dict):
        entries = list(entries.values())
    for entry in entries or []:
        key = getattr(entry, "key", None) or getattr(entry, "id", None) or \
            getattr(entry, "name", None)
        if key is None and isinstance(entry, dict):
            key = entry.get("key") or entry.get("id") or entry.get("name")
        if key is None and isinstance(entry, str):
            key = entry
        if not key or str(key) == "animatic":
            continue
        label = getattr(entry, "label", None) or getattr(entry, "title", None) or str(key)
        choices.append((str(key), str(label)))
    return choices
