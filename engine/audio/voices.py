"""Voice every dialogue line and narration of a project into the media store.

One VoiceClip per spoken line (``line_index`` into ``shot.dialogue``; -1 for the shot's
narration text), stored as FLAC. Clips are cached by ``profile_key`` (text + voice profile
+ backend build): a line whose text and voice did not change is not synthesized again.
After voicing, each shot is made at least as long as its lines laid end to end with a
lead-in and breaths (``line_layout``).
"""

from __future__ import annotations

import hashlib
import math
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from engine.audio import delivery, tts
from engine.errors import StoryreelError
from engine.jobs.progress import CancelToken, Progress, no_progress
from engine.model import Character, LineKind, Shot, VoiceClip, VoiceProfile

LEAD_IN = 0.25  # seconds of picture before the first line
BREATH = 0.3  # between two lines, and after the last one
NARRATION_INDEX = -1


@dataclass
class LinePlacement:
    line_index: int
    offset: float  # seconds from the start of the shot
    duration: float


@dataclass
class VoiceReport:
    synthesized: int = 0
    reused: int = 0
    removed: int = 0
    shots_retimed: dict[str, tuple[float, float]] = field(default_factory=dict)  # id: old,new
    clips: list[VoiceClip] = field(default_factory=list)
    # what each line was given: {"shot_id", "line_index", "cues", "prosody", "placement"}
    delivery: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"synthesized": self.synthesized, "reused": self.reused, "removed": self.removed,
                "shots_retimed": {k: list(v) for k, v in self.shots_retimed.items()},
                "clips": len(self.clips), "delivery": self.delivery}


def spoken_lines(shot: Shot) -> list[tuple[int, str, str | None]]:
    """(line_index, text, character_id or None for the narrator) of a shot, in order."""
    lines: list[tuple[int, str, str | None]] = []
    if shot.narration.strip():
        lines.append((NARRATION_INDEX, shot.narration.strip(), None))
    for i, line in enumerate(shot.dialogue):
        if not line.text.strip():
            continue
        speaker = None if line.kind is LineKind.NARRATION else line.character_id
        lines.append((i, line.text.strip(), speaker))
    return lines


def line_delivery(shot: Shot, index: int, speaker: str | None, context: str,
                  table: dict[str, delivery.Prosody]) -> tuple[delivery.Prosody, list[str], str]:
    """(prosody, cues found, placement) of one spoken line of ``shot``.

    The emotion is the line's (its parenthetical or the inspector's); a phone in the
    shot's action or the scene's description puts on the phone the lines of speakers who
    are not in the frame (the other end of the call)."""
    emotion = shot.dialogue[index].emotion if index >= 0 else ""
    prosody, cues = delivery.prosody_for(emotion, table)
    heard_elsewhere = bool(shot.characters) and speaker not in shot.characters
    placement = delivery.placement_for(emotion, context if heard_elsewhere else "",
                                       narrator=speaker is None)
    return prosody, cues, placement


def line_layout(shot: Shot, clips: list[VoiceClip]) -> list[LinePlacement]:
    """Where each voiced line sits in its shot: narration first, then dialogue in order."""
    ordered = sorted((c for c in clips if c.shot_id == shot.id), key=lambda c: c.line_index)
    out: list[LinePlacement] = []
    t = LEAD_IN
    for clip in ordered:
        out.append(LinePlacement(clip.line_index, round(t, 6), clip.duration))
        t += clip.duration + BREATH
    return out


def voiced_length(clips: list[VoiceClip]) -> float:
    """Seconds a shot needs for these clips: lead-in, lines, breaths between and after."""
    if not clips:
        return 0.0
    return LEAD_IN + sum(c.duration for c in clips) + BREATH * len(clips)


def _assign_default_voices(store: Any, language: str,
                           narrator: VoiceProfile | None = None) -> dict[str, VoiceProfile]:
    """Each character's voice; unset ones get a distinct default stored back: matched to
    gender, never one already taken (by another character or the narrator) while unused
    ones remain."""
    characters: list[Character] = store.characters()
    narrator = narrator or tts.narrator_voice(language)
    voices: dict[str, VoiceProfile] = {c.id: c.voice for c in characters if c.voice.backend}
    taken = {p.voice for p in voices.values()} | {narrator.voice}
    unset = [c for c in characters if not c.voice.backend]
    for c, profile in zip(unset, tts.default_voices(unset, language, taken), strict=True):
        c.voice = profile
        store.update(c, label=f"Default voice for {c.name}")
        voices[c.id] = profile
    return voices


def _encode_flac(clip: tts.SpeechClip, path: Path) -> None:
    import av

    pcm = (np.clip(clip.samples, -1.0, 1.0) * 32767.0).round().astype(np.int16)
    with av.open(str(path), "w", format="flac") as out:
        stream = out.add_stream("flac", rate=clip.sample_rate)
        stream.layout = "mono"
        stream.format = "s16"
        step = 4096
        for i in range(0, len(pcm), step):
            frame = av.AudioFrame.from_ndarray(pcm[None, i : i + step], format="s16", layout="mono")
            frame.sample_rate = clip.sample_rate
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def synthesize_project(
    store: Any,
    shot_ids: list[str] | None = None,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> VoiceReport:
    """Voice the lines of ``shot_ids`` (all shots when None). Returns what was done."""
    project = store.project
    language = str(project.language)
    shots: list[Shot] = store.shots()
    if shot_ids is not None:
        known = {s.id for s in shots}
        missing = [s for s in shot_ids if s not in known]
        if missing:
            raise StoryreelError(f"No shot with id {missing[0]} in this project.")
        wanted = set(shot_ids)
        shots = [s for s in shots if s.id in wanted]
    narrator = project.narrator_voice if project.narrator_voice.backend else \
        tts.narrator_voice(language)
    voices = _assign_default_voices(store, language, narrator)
    work = [(shot, line) for shot in shots for line in spoken_lines(shot)]
    try:
        table = delivery.table_for(getattr(project, "settings", None))
    except delivery.DeliveryError as exc:
        raise StoryreelError(str(exc)) from exc
    scenes = {sc.id: sc for sc in store.scenes()}
    report = VoiceReport()
    existing: dict[tuple[str, int], VoiceClip] = {
        (c.shot_id, c.line_index): c for c in store.all(VoiceClip)
        if c.shot_id in {s.id for s in shots}
    }
    done = 0
    tmp_dir = store.cache_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    by_shot: dict[str, list[VoiceClip]] = {s.id: [] for s in shots}
    for shot, (index, text, speaker) in work:
        if cancel is not None:
            cancel.check()
        profile = narrator if speaker is None else voices.get(speaker)
        if profile is None:
            raise StoryreelError(
                f"Shot line {text[:20]!r} is spoken by a character that is not in the project."
            )
        scene = scenes.get(shot.scene_id)
        context = f"{shot.action} {scene.description if scene else ''}"
        prosody, cues, placement = line_delivery(shot, index, speaker, context, table)
        spoken = delivery.apply_prosody(profile, prosody)
        key = tts.profile_key(text, spoken, language)
        if prosody.pause != 1.0 or placement:
            key = hashlib.sha256(f"{key}|pause={prosody.pause}|{placement}|"
                                 f"{delivery.EFFECTS_VERSION}".encode()).hexdigest()
        report.delivery.append({"shot_id": shot.id, "line_index": index, "cues": cues,
                                "prosody": prosody.to_dict(), "placement": placement})
        old = existing.pop((shot.id, index), None)
        if old is not None and old.profile_key == key and store.media.exists(old.media):
            report.reused += 1
            by_shot[shot.id].append(old)
        else:
            progress(done / max(1, len(work)), f"Voicing {text[:24]}")
            clip = tts.synthesize(text, spoken, language, pause_scale=prosody.pause)
            clip.samples = delivery.place(clip.samples, clip.sample_rate, placement)
            with tempfile.NamedTemporaryFile(suffix=".flac", dir=tmp_dir, delete=False) as fh:
                tmp = Path(fh.name)
            try:
                _encode_flac(clip, tmp)
                asset = store.media.add_file(tmp, original_name=f"voice-{index}.flac", move=True)
            finally:
                tmp.unlink(missing_ok=True)
            row = VoiceClip(
                shot_id=shot.id, line_index=index, text=text, media=asset.sha256,
                duration=clip.duration, profile_key=key,
                timings=[dict(t) for t in clip.timings],
                delivery={"cues": list(cues), "prosody": prosody.to_dict(),
                          "placement": placement},
            )
            if old is not None:
                row.id = old.id
                store.update(row, label="Voice line")
            else:
                store.add(row, label="Voice line")
            report.synthesized += 1
            by_shot[shot.id].append(row)
        done += 1
    # clips of lines that no longer exist
    for stale in existing.values():
        store.delete(stale, label="Remove voice line")
        report.removed += 1
    progress(0.98, "Timing shots to their lines")
    with store.transaction("Time shots to their voices"):
        for shot in shots:
            clips = by_shot[shot.id]
            report.clips.extend(clips)
            if not clips:
                continue
            planned = float(shot.generation.get("planned_duration", shot.duration))
            needed = voiced_length(clips)
            if needed > planned:  # on a whole frame, so the film's length adds up
                fps = Fraction(project.fps)
                needed = float(math.ceil(Fraction(needed).limit_denominator(10**6) * fps - 1e-9)
                               / fps)
            new = round(max(planned, needed), 6)
            if "planned_duration" not in shot.generation or abs(new - shot.duration) > 1e-6:
                old_duration = shot.duration
                shot.generation = {**shot.generation, "planned_duration": planned,
                                   "voiced_duration": round(needed, 3)}
                shot.duration = new
                store.update(shot, label="Time shot to its voices")
                if abs(new - old_duration) > 1e-6:
                    report.shots_retimed[shot.id] = (old_duration, new)
    progress(1.0, f"{report.synthesized} line(s) voiced, {report.reused} reused")
    return report


def clips_by_shot(store: Any) -> dict[str, list[VoiceClip]]:
    out: dict[str, list[VoiceClip]] = {}
    for clip in store.all(VoiceClip):
        out.setdefault(clip.shot_id, []).append(clip)
    for clips in out.values():
        clips.sort(key=lambda c: c.line_index)
    return out
