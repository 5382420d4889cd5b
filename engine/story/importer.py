"""Script import, the reading half: a Fountain or Chinese script file → a parsed script and
its rule-based shot plans, with nothing written.

``read_script_file`` decodes the file, ``parse_script`` parses it, ``prepare_import``
checks the episode and lays down the shots by the film grammar of ``breakdown``. The
writing half (merging episodes, characters, scenes and shots into the project, one
undoable step) is the operation ``engine.ops.story.import_script``
(``engine.ops.script_import``), which the CLI, the studio and jobs call.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import StoryreelError
from engine.story.breakdown import ShotPlan, breakdown
from engine.story.chinese import parse_chinese
from engine.story.fountain import looks_like_fountain, parse_fountain
from engine.story.script import ParsedScript, ScriptEpisode

FOUNTAIN_EXTENSIONS = {".fountain", ".spmd"}
TEXT_EXTENSIONS = {".txt", ".md", ".markdown", ".text", ""}
FORMATS = ("auto", "fountain", "chinese")
MAX_SCRIPT_BYTES = 5 * 1024 * 1024
MAX_LINE_CHARS = 2000  # one spoken line or paragraph; 2000 字 is about eight minutes of speech


@dataclass
class ImportReport:
    format: str
    title: str = ""
    episodes: int = 0
    scenes: int = 0
    characters: int = 0
    shots: int = 0
    characters_added: int = 0
    characters_updated: int = 0
    characters_kept_locked: int = 0
    shots_kept_locked: int = 0
    episodes_added: int = 0
    scenes_added: int = 0
    scenes_changed: int = 0
    shots_added: int = 0
    shots_changed: int = 0  # their lines changed: they are marked stale, their takes kept
    shots_kept: int = 0  # unchanged: ids, takes, approvals and the user's edits as they were
    shots_removed: int = 0
    locations_added: int = 0
    scenes_missing: list[str] = field(default_factory=list)  # in the project, not the text
    scenes_pruned: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_script_file(path: Path) -> str:
    """The file's text (UTF-8, UTF-16 with BOM, or GB18030 as Chinese Windows editors save)."""
    if not path.is_file():
        raise StoryreelError(f"{path} does not exist or is not a file.")
    data = path.read_bytes()
    if len(data) > MAX_SCRIPT_BYTES:
        raise StoryreelError(f"{path.name} is larger than 5 MB; that is not a script.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise StoryreelError(
                f"{path.name} starts like UTF-16 text but byte {exc.start} is damaged "
                f"({exc.reason}); save it again as UTF-8 and import that.") from None
    if b"\x00" in data:
        raise StoryreelError(f"{path.name} is a binary file, not a script in plain text.")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise StoryreelError(f"{path.name} is not UTF-8 or GB18030 text.")


def parse_script(text: str, fmt: str = "auto") -> ParsedScript:
    """Parse script text; ``fmt`` is auto, fountain or chinese."""
    if fmt not in FORMATS:
        raise StoryreelError(f"Unknown script format {fmt!r}; use one of: {', '.join(FORMATS)}.")
    if not text.strip():
        raise StoryreelError("The script is empty.")
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > MAX_LINE_CHARS:
            raise StoryreelError(
                f"Line {number} of the script is {len(line)} characters long (at most "
                f"{MAX_LINE_CHARS}); break it into shorter lines.")
    if fmt == "auto":
        fmt = "fountain" if looks_like_fountain(text) else "chinese"
    script = parse_fountain(text) if fmt == "fountain" else parse_chinese(text)
    if not script.scenes:
        raise StoryreelError(
            "No scenes found in the script: start each scene with a heading such as "
            "'第1场 日 内 客厅' or 'INT. KITCHEN - DAY'.")
    return script


def base_parse(text: str) -> ParsedScript | None:
    """The script as last imported: what the user's edits are measured against."""
    if not text.strip():
        return None
    try:
        return parse_script(text)
    except StoryreelError:
        return None


def check_episode(episode: Any) -> int | None:
    """``--episode N``: None, or a whole number 1–9999 (one sentence otherwise)."""
    if episode is None:
        return None
    if isinstance(episode, bool) or not isinstance(episode, int) or not 1 <= episode <= 9999:
        raise StoryreelError(f"--episode {episode} is not an episode number (1–9999).")
    return episode


def format_of(path: Path) -> str:
    """The script format a file's extension asks for (auto reads the content)."""
    suffix = Path(path).suffix.lower()
    if suffix in FOUNTAIN_EXTENSIONS:
        return "fountain"
    if suffix in TEXT_EXTENSIONS:
        return "auto"
    raise StoryreelError(
        f"{Path(path).name}: unsupported script type {suffix!r}; use .fountain, .txt or .md.")


def scope_to_episode(script: ParsedScript, episode: int | None) -> None:
    """File a parsed script under ``episode`` (one episode's file of a series); a text
    with several episodes is refused. Without ``episode``, a script that names no episode
    numbers its scenes as one."""
    if episode is not None:
        named = sorted({s.episode for s in script.scenes} | {e.number for e in script.episodes})
        if len(named) > 1:
            raise StoryreelError(
                f"--episode {episode} imports one episode's script, but this text has "
                f"episodes {', '.join(map(str, named))}; import it without --episode.")
        title = script.episodes[0].title if script.episodes else ""
        script.episodes = [ScriptEpisode(episode, title)]
        for parsed in script.scenes:
            parsed.episode = episode
    elif not script.episodes:
        script.number_scenes()


@dataclass
class PreparedImport:
    """A script read, parsed and broken into shots, ready for the import operation."""

    text: str
    script: ParsedScript
    plans: list[list[ShotPlan]]
    episode: int | None = None


def prepare_import(text: str, fmt: str = "auto", *, episode: int | None = None
                   ) -> PreparedImport:
    """Everything an import checks and computes before it writes (raises one sentence)."""
    episode = check_episode(episode)
    script = parse_script(text, fmt)
    scope_to_episode(script, episode)
    return PreparedImport(text, script, breakdown(script), episode)


def prepare_import_file(path: Path, *, episode: int | None = None) -> PreparedImport:
    """``prepare_import`` of a ``.fountain`` / ``.txt`` / ``.md`` file (format by
    extension, then content)."""
    path = Path(path)
    check_episode(episode)
    fmt = format_of(path)
    return prepare_import(read_script_file(path), fmt, episode=episode)
