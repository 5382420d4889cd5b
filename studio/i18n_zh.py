"""Chinese (简体中文) translations of the studio's English UI strings."""

from __future__ import annotations

ZH: dict[str, str] = {
}
