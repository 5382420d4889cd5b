"""The worker's component cache: each model component (a UMT5 encoder, a VAE, a
transformer) is loaded from disk once per process and shared by every pipeline that uses
the same weights.

Components are keyed by what they are made of (the content digest of their files, the
dtype, and anything loaded into them such as an IP-Adapter), not by the model that first
loaded them, so a Wan T2V and a Wan I2V model built from the same ``umt5`` file share one
text encoder, and a worker switching from an SDXL keyframe job to an I2V job and back finds
both sets of components still in host memory. Least recently used components are dropped
when the cache exceeds its budget (``$STORYREEL_COMPONENT_CACHE_GB``, default half the
machine's memory).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

GIB = 1 << 30


def _default_budget() -> int:
    env = os.environ.get("STORYREEL_COMPONENT_CACHE_GB")
    if env:
        return int(float(env) * GIB)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):
        return 16 * GIB


def module_bytes(module: Any) -> int:
    try:
        return sum(p.numel() * p.element_size() for p in module.parameters())
    except (AttributeError, TypeError):
        return 0


class ComponentCache:
    """Loaded components by key; ``loads`` counts how often each key was read from disk."""

    def __init__(self, budget: int | None = None) -> None:
        self.budget = _default_budget() if budget is None else budget
        self.items: OrderedDict[str, Any] = OrderedDict()
        self.loads: dict[str, int] = {}
        self.pinned: set[str] = set()  # used by the pipeline now loaded: never evicted

    def __contains__(self, key: str) -> bool:
        return key in self.items

    def peek(self, key: str) -> Any:
        module = self.items.get(key)
        if module is not None:
            self.items.move_to_end(key)
        return module

    def get(self, key: str, load: Callable[[], Any]) -> Any:
        """The component under ``key``, loaded with ``load()`` only if not cached."""
        module = self.peek(key)
        if module is None:
            module = load()
            self.put(key, module)
        return module

    def put(self, key: str, module: Any) -> None:
        if key not in self.items:
            self.loads[key] = self.loads.get(key, 0) + 1
        self.items[key] = module
        self.items.move_to_end(key)
        self._evict()

    def pin(self, keys: set[str]) -> None:
        self.pinned = set(keys)
        self._evict()

    def drop(self, key: str) -> None:
        self.items.pop(key, None)
        self.pinned.discard(key)

    def total_loads(self) -> int:
        return sum(self.loads.values())

    def _evict(self) -> None:
        size = sum(module_bytes(m) for m in self.items.values())
        for key in list(self.items):
            if size <= self.budget:
                break
            if key in self.pinned:
                continue
            size -= module_bytes(self.items.pop(key))

    def clear(self) -> None:
        self.items.clear()
        self.pinned.clear()


CACHE = ComponentCache()


def release(pipe: Any, keys: dict[str, str], device: str, profile: str) -> None:
    """Before a pipeline is dropped: move its cached components back to host memory (they
    stay warm for the next pipeline); components placed by group offload cannot be
    detached from their hooks, so they leave the cache."""
    CACHE.pin(set())
    if device != "cuda":
        return
    if profile == "group-offload":
        for key in keys.values():
            CACHE.drop(key)
        return
    if hasattr(pipe, "remove_all_hooks"):
        pipe.remove_all_hooks()
    pipe.to("cpu")
