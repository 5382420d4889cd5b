"""Encoders that make the same bits every time, whatever the process did before.

x264's look-ahead (its macroblock-tree rate control) reads bytes of buffers it never
wrote, so without help an encode's bits depend on the process's earlier allocations:
encoding the same frames 10 times in one process gave 3–7 different streams. While an
encoder starts (``WARM_FRAMES``), ``new_memory_filled`` makes glibc fill every new block
with one fixed byte (``mallopt(M_PERTURB)``; elsewhere nothing happens); x264 allocates
its buffers then and reuses them after, and filling every later picture's memory would
cost 6–9 % of an export's time. Used by the film's segments and by generated takes."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

WARM_FRAMES = 32  # x264 has made all its buffers by then (veryfast: 10 look-ahead + B + refs)
_perturb_lock = threading.Lock()
_perturb_users = 0


@contextmanager
def new_memory_filled() -> Iterator[None]:
    """While inside, the C allocator fills every new block with one fixed byte."""
    global _perturb_users
    libc = _libc()
    with _perturb_lock:
        if _perturb_users == 0 and libc is not None:
            libc.mallopt(-6, 0x5A)  # M_PERTURB
        _perturb_users += 1
    try:
        yield
    finally:
        with _perturb_lock:
            _perturb_users -= 1
            if _perturb_users == 0 and libc is not None:
                libc.mallopt(-6, 0)


_libc_handle: Any = False


def _libc() -> Any:
    global _libc_handle
    if _libc_handle is False:
        _libc_handle = None
        if sys.platform.startswith("linux"):
            import ctypes

            try:
                handle = ctypes.CDLL(None)
                if hasattr(handle, "mallopt"):
                    _libc_handle = handle
            except OSError:
                pass
    return _libc_handle
