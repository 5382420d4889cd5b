"""English looks for CLIP-based image models: a Chinese project's characters (appearance,
costume) and wardrobe variants, translated by the language model into the English fields
(``Character.appearance_en`` / ``costume_en``, ``Costume.text_en``) that CLIP-family
prompts read. Only empty English fields are asked for and filled; nothing is written here
(the plan operation saves the answer with the plan)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from engine.jobs.progress import CancelToken
from engine.model import Character, Costume, Language
from engine.story.composer import project_family
from engine.story.llm import LLMBackend, ask_json, strict_schema
from engine.story.schemas import LooksDraft

if TYPE_CHECKING:
    from engine.store.project import ProjectStore

CHUNK = 12  # items per request (LooksDraft.items' bound)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")

LOOKS_SYSTEM = (
    "You write prompts for an English-only image model. For each item, translate the "
    "Chinese description into short, concrete English phrases a model can draw: "
    "'appearance_en' is the face, hair and build, 'costume_en' the clothes. No names, no "
    "Chinese characters; leave a field empty when its source is empty. Answer with JSON "
    "only, one entry per item, 'key' exactly as given.")


@dataclass
class EnglishLooks:
    """The model's answer: per character id its English fields, per costume id its text."""

    characters: dict[str, dict[str, str]] = field(default_factory=dict)
    costumes: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.characters and not self.costumes


def wanted(store: ProjectStore) -> bool:
    """A Chinese project prompting a CLIP-based family needs English looks."""
    project = store.project
    return project.language is Language.CHINESE and project_family(project) == "clip"


def _missing(store: ProjectStore) -> tuple[list[Character], list[Costume]]:
    chars = [c for c in store.all(Character)
             if (c.appearance.strip() and not c.appearance_en.strip())
             or (c.costume.strip() and not c.costume_en.strip())]
    costumes = [c for c in store.all(Costume) if c.text.strip() and not c.text_en.strip()]
    return chars, costumes


def ask_english_looks(backend: LLMBackend, store: ProjectStore,
                      cancel: CancelToken | None = None) -> EnglishLooks:
    """Ask for the English fields that are empty (nothing when none is); raises the
    LLM's one sentence when an answer stays malformed after the repair retry."""
    chars, costumes = _missing(store)
    names = {c.id: c.name for c in store.all(Character)}
    items: list[tuple[str, Character | Costume, str]] = []
    for c in chars:
        items.append((c.name, c, f"appearance: {c.appearance.strip() or '(none)'}; "
                                 f"costume: {c.costume.strip() or '(none)'}"))
    for n, w in enumerate(costumes, 1):
        items.append((f"costume {n}", w, f"a costume of {names.get(w.character_id, '?')}: "
                                         f"{w.text.strip()}"))
    out = EnglishLooks()
    for start in range(0, len(items), CHUNK):
        chunk = items[start:start + CHUNK]
        keys = [key for key, _row, _text in chunk]
        schema = strict_schema(LooksDraft)
        schema["properties"]["items"]["maxItems"] = len(chunk)
        schema["properties"]["items"]["items"]["properties"]["key"] = {
            "type": "string", "enum": keys}
        sources = {key: row for key, row, _text in chunk}

        def check(draft: LooksDraft, keys: list[str] = keys,
                  sources: dict[str, Character | Costume] = sources) -> None:
            given = [item.key for item in draft.items]
            if sorted(given) != sorted(keys):
                missing = [k for k in keys if k not in given]
                extra = [k for k in given if k not in keys or given.count(k) > 1]
                raise ValueError(f"items must answer each key once ({', '.join(keys)}); "
                                 f"missing {missing or 'none'}, unexpected {extra or 'none'}")
            for i, item in enumerate(draft.items):
                for name in ("appearance_en", "costume_en"):
                    if _CJK.search(getattr(item, name)):
                        raise ValueError(f"items.{i}.{name} is not English: "
                                         f"{getattr(item, name)!r}")
                row = sources[item.key]
                needed: list[tuple[str, str]]
                if isinstance(row, Costume):
                    needed = [("costume_en", row.text)]
                else:
                    needed = [("appearance_en", row.appearance), ("costume_en", row.costume)]
                for name, source in needed:
                    if source.strip() and not getattr(item, name).strip():
                        raise ValueError(f"items.{i}.{name} is empty for {item.key!r}")

        request = "Items:\n" + "\n".join(f"- {key}: {text}" for key, _row, text in chunk)
        draft = ask_json(backend, LooksDraft, LOOKS_SYSTEM, request, max_tokens=2000,
                         cancel=cancel, what="English looks", schema=schema, check=check)
        for item in draft.items:
            row = sources[item.key]
            if isinstance(row, Costume):
                out.costumes[row.id] = item.costume_en.strip()
                continue
            fields = {}
            if row.appearance.strip() and not row.appearance_en.strip():
                fields["appearance_en"] = item.appearance_en.strip()
            if row.costume.strip() and not row.costume_en.strip():
                fields["costume_en"] = item.costume_en.strip()
            out.characters[row.id] = fields
    return out
