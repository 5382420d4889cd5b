"""Music beds and sound effects placed on the film, and the project's mix segments.

Shot numbers given by users are 1-based in film order; placements store shot ids so they
follow their shots when the film is re-ordered.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from engine.audio.mix import AudioSegment
from engine.errors import MediaError, StoryreelError
from engine.model import AudioPlacement, AudioRole, MediaKind, Shot

MUSIC_FADE_IN = 1.5
MUSIC_FADE_OUT = 2.5
# Dialogue is levelled to tts.SPEECH_RMS_DBFS; mono lines sit in the stereo mix at the
# same loudness as alone, about -22.5 LUFS (Kokoro -22.0, espeak -22.9). A bed placed
# without a gain is set BED_BELOW_DIALOGUE_LU below it between lines, and the mix ducks
# it further under them.
DIALOGUE_LUFS = -22.5
BED_BELOW_DIALOGUE_LU = 9.0
BED_MEASURE_SECONDS = 90.0


def bed_gain_db(path: str | Path) -> float:
    """The gain that puts the music at ``path`` BED_BELOW_DIALOGUE_LU under the dialogue
    (its loudness measured, BS.1770, over its first 90 s)."""
    from engine.audio.loudness import LoudnessMeter
    from engine.audio.mix import SourceReader

    reader = SourceReader(Path(path), sample_rate=48000, channels=2)
    meter = LoudnessMeter(2)
    try:
        for _ in range(int(BED_MEASURE_SECONDS)):
            block = reader.read(48000)
            if block.shape[1] == 0:
                break
            meter.add(block)
    finally:
        reader.close()
    measured = meter.integrated
    if not math.isfinite(measured):
        raise MediaError(f"{Path(path).name} is silent; there is no music to place.")
    gain = DIALOGUE_LUFS - BED_BELOW_DIALOGUE_LU - measured
    return round(max(-60.0, min(24.0, gain)), 2)


def _shot_by_number(shots: list[Shot], number: int, flag: str) -> Shot:
    if not shots:
        raise StoryreelError("The project has no shots yet; plan or add shots first.")
    if not (1 <= number <= len(shots)):
        raise StoryreelError(f"{flag} {number} is not a shot number; use 1–{len(shots)}.")
    return shots[number - 1]


def _import_audio(store: Any, path: str | Path) -> str:
    from engine.store.media import probe

    if not Path(path).is_file():
        raise MediaError(f"{path} does not exist or is not a file.")
    info = probe(Path(path))  # refuse before storing anything
    if info.kind is MediaKind.IMAGE or (info.kind is MediaKind.VIDEO and not info.has_audio):
        raise MediaError(f"{Path(path).name} has no sound to use.")
    return str(store.media.import_file(Path(path)).sha256)


def add_music(store: Any, path: str | Path, from_shot: int | None = None,
              to_shot: int | None = None, gain_db: float | None = None,
              fade_in: float = MUSIC_FADE_IN, fade_out: float = MUSIC_FADE_OUT) -> AudioPlacement:
    """Place a music file under shots ``from_shot``..``to_shot`` (1-based, inclusive;
    None = film start / end). It loops or is trimmed to fit, fades in and out, and is
    ducked under dialogue in the mix. Without ``gain_db`` it is measured and set as a bed
    (``bed_gain_db``): well under the dialogue."""
    if gain_db is not None and not (-60.0 <= gain_db <= 24.0):
        raise StoryreelError(f"--gain {gain_db} dB is outside -60…+24.")
    shots = store.shots()
    first = _shot_by_number(shots, from_shot, "--from-shot") if from_shot is not None else None
    last = _shot_by_number(shots, to_shot, "--to-shot") if to_shot is not None else None
    if from_shot is not None and to_shot is not None and to_shot < from_shot:
        raise StoryreelError(f"--to-shot {to_shot} comes before --from-shot {from_shot}.")
    media = _import_audio(store, path)
    if gain_db is None:
        gain_db = bed_gain_db(path)
    placement = AudioPlacement(
        role=AudioRole.MUSIC, media=media, from_shot=first.id if first else None,
        to_shot=last.id if last else None, gain_db=gain_db, fade_in=fade_in,
        fade_out=fade_out, loop=True,
    )
    return store.add(placement, label=f"Add music {Path(path).name}")


def add_sfx(store: Any, shot_number: int, path: str | Path, offset: float = 0.0,
            gain_db: float = 0.0) -> AudioPlacement:
    """Place a sound effect ``offset`` seconds into shot ``shot_number`` (1-based)."""
    shots = store.shots()
    shot = _shot_by_number(shots, shot_number, "Shot")
    if not math.isfinite(offset):
        raise StoryreelError(f"--offset {offset} is not a number of seconds.")
    if offset < 0:
        raise StoryreelError(f"--offset {offset} is negative; it counts from the shot's start.")
    if offset >= shot.duration:
        raise StoryreelError(
            f"--offset {offset} s is past the end of shot {shot_number} ({shot.duration:.2f} s)."
        )
    if not (-60.0 <= gain_db <= 24.0):
        raise StoryreelError(f"--gain {gain_db} dB is outside -60…+24.")
    media = _import_audio(store, path)
    placement = AudioPlacement(
        role=AudioRole.EFFECTS, media=media, from_shot=shot.id, to_shot=shot.id,
        offset=offset, gain_db=gain_db, loop=False,
    )
    return store.add(placement, label=f"Add sound {Path(path).name}")


def project_segments(store: Any) -> tuple[list[AudioSegment], float]:
    """Every voice line, music bed and effect of the project as mix segments, placed as
    the film's Timeline places them (trims, speed, transitions): the same segments
    ``storyreel mix``, the preview and the export mix. Returns (segments, film seconds)."""
    from engine.audio.mix import timeline_segments
    from engine.render.timeline_builder import build_timeline

    timeline = build_timeline(store)
    return timeline_segments(timeline), timeline.duration
