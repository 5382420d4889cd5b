"""Engine operations: every user-visible edit, validated, one transaction, one log entry.

The CLI and the studio call these for every write (house rule 6). Each returns
``Changes(seq, rows)``. Layers: model < store < subsystems < ops < cli | studio.
"""

from __future__ import annotations

from engine.ops.base import Changes, OpError

__all__ = ["Changes", "OpError"]
