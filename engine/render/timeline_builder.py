"""Build the film's Timeline from the storyboard, and persist the user's clip edits.

One clip per shot, in film order, from the shot's current take
(``engine.model.shot_rules.current_take``; a shot with no take at all gets a slate showing
its action and lines, so the film always has a picture for every shot). The user's trims,
speed and transitions are ClipEdit rows keyed by shot id, so they survive re-generating a
take. Dialogue comes from VoiceClip rows placed by ``engine.audio.voices.line_layout`` and
mapped through the clip's trims and speed (``_voice_frames``); a clip's own sound plays at
its speed and fades with its transitions; music and effects come from AudioPlacement rows;
subtitles from the placed lines (or, for a shot without voices, its written lines spread
over the shot). ``engine.audio.mix.timeline_segments`` turns the audio into the one mix.

Source trims are in timeline frames of source time at normal speed: a clip shows source
seconds ``[trim_in/fps, min(source end − trim_out/fps, trim_in/fps + shot duration ×
speed))``. When the source is shorter than the shot, the clip still lasts the shot: its
last frame is held, or (``shot.generation["short_take"] = "slow"``) it is slowed to fit.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from engine.errors import MediaError, StoryreelError
from engine.model import (
    AudioPlacement,
    AudioRole,
    ClipEdit,
    MediaAsset,
    MediaKind,
    Shot,
    Take,
    TransitionKind,
    VoiceClip,
)
from engine.model.shot_rules import current_take, shot_labels
from engine.model.timeline import (
    AudioItem,
    SourceKind,
    SubtitleItem,
    Timeline,
    VideoClip,
    seconds_to_frames,
)

MIN_SPEED = 0.1
MAX_SPEED = 10.0

SHORT_TAKE_HOLD, SHORT_TAKE_SLOW = "hold", "slow"  # how a take shorter than its shot fills it


def pick_take(store: Any, shot: Shot) -> Take | None:
    """The take a shot shows in the film: its current take
    (``engine.model.shot_rules.current_take``), else None (the film shows a slate)."""
    return current_take(shot, store.takes(shot.id))


def choose_take(shot: Shot, takes: list[Take]) -> Take | None:
    """``pick_take`` over a shot's takes already read."""
    return current_take(shot, takes)


@dataclass
class _Placement:
    line_index: int
    offset: float
    duration: float


def _layout_lines(shot: Shot, clips: list[VoiceClip]) -> list[_Placement]:
    """Where each voice clip sits in its shot (``engine.audio.voices.line_layout``)."""
    from engine.audio.voices import line_layout

    return [_Placement(int(p.line_index), float(p.offset), float(p.duration))
            for p in line_layout(shot, clips)]


def _line_text(shot: Shot, line_index: int) -> tuple[str, str | None]:
    if line_index < 0:
        return shot.narration, None
    if line_index < len(shot.dialogue):
        line = shot.dialogue[line_index]
        return line.text, line.character_id
    return "", None


def _clip_for_shot(
    store: Any,
    shot: Shot,
    edit: ClipEdit,
    fps: Any,
    label: str,
    slate_text: str,
) -> VideoClip:
    planned = max(1, seconds_to_frames(shot.duration, fps))
    take = pick_take(store, shot)
    speed = edit.speed if edit.speed > 0 else 1.0
    trim_in_s = edit.trim_in / fps
    trim_out_s = edit.trim_out / fps
    if take is None:
        length = max(1, planned - edit.trim_in - edit.trim_out)
        return VideoClip(
            shot_id=shot.id,
            kind=SourceKind.SLATE,
            media=None,
            path=None,
            source_in=0.0,
            source_out=float(length / fps),
            record_in=0,
            record_out=length,
            label=label,
            slate_text=slate_text,
            gain_db=edit.gain_db,
        )
    asset = store.get(MediaAsset, take.media)
    if asset is None:
        raise MediaError(
            f"Shot {label}: its take's media {take.media[:12]}… is not in this project."
        )
    path = store.root / asset.relpath
    store.media.require_intact(asset.sha256, f"Shot {label}: its take's",
                               "`storyreel generate` makes a new take")
    # what every clip made from this take shares, picture or still
    common = dict(
        shot_id=shot.id, media=asset.sha256, path=str(path), record_in=0, take_id=take.id,
        label=label, slate_text=slate_text, source_width=asset.width,
        source_height=asset.height, gain_db=edit.gain_db,
    )
    if asset.kind is MediaKind.IMAGE:
        length = max(1, planned - edit.trim_in - edit.trim_out)
        return VideoClip(
            kind=SourceKind.IMAGE, source_in=0.0, source_out=float(length / fps),
            record_out=length, **common,
        )
    if asset.kind is not MediaKind.VIDEO:
        raise MediaError(
            f"Shot {label}: its take {asset.original_name or asset.relpath} "
            "is not a video or image."
        )
    wanted = float(planned / fps) * speed
    use = wanted
    if asset.duration:
        use = min(wanted, asset.duration - float(trim_in_s) - float(trim_out_s))
    if use <= 0:
        raise StoryreelError(
            f"Shot {label}: trims of {edit.trim_in}+{edit.trim_out} frames leave nothing of its "
            f"{asset.duration:.2f} s take."
        )
    length = max(1, seconds_to_frames(use / speed, fps))
    if length < planned - edit.trim_in - edit.trim_out and not (edit.trim_in or edit.trim_out):
        # the take is shorter than its shot (an imported clip): the shot keeps its length,
        # so its lines never run into the next one. The user picks per shot: hold the last
        # frame (default) or slow the clip down to fill it.
        if shot.generation.get("short_take") == SHORT_TAKE_SLOW:
            speed = max(0.1, use / float(planned / fps))
        length = planned
    return VideoClip(
        kind=SourceKind.VIDEO, source_in=float(trim_in_s), source_out=float(trim_in_s) + use,
        record_out=length, speed=speed, source_fps=asset.fps,
        source_duration=asset.duration, has_audio=asset.has_audio, **common,
    )


def episode_by_number(store: Any, number: int | str | None) -> Any:
    """The episode ``number`` names (``2`` or ``E2``), None for None; one sentence when the
    project has no such episode."""
    if number is None:
        return None
    text = str(number).strip().lstrip("Ee")
    episodes = store.episodes()
    for episode in episodes:
        if text.isdigit() and episode.number == int(text):
            return episode
    numbers = ", ".join(str(e.number) for e in episodes) or "none"
    raise StoryreelError(f"There is no episode {number} in this project (episodes: {numbers}).")


def build_timeline(store: Any, episode: int | str | None = None) -> Timeline:
    """The film as it stands: shots in order, their takes, voices, music and subtitles;
    with ``episode`` (its number), that episode's film alone."""
    project = store.project
    only = episode_by_number(store, episode)
    fps = project.fps
    char_names = {c.id: c.name for c in store.characters()}
    edits = {e.shot_id: e for e in store.all(ClipEdit)}
    # the project's subtitle option: "林雨：你来了" (settings["subtitles"]["speaker_names"])
    speaker_names = bool((project.settings.get("subtitles") or {}).get("speaker_names"))
    timeline = Timeline(
        fps=fps,
        width=project.width,
        height=project.height,
        title=project.title if only is None else episode_title(project.title, only),
        project_id=project.id,
        language=str(project.language),
        fit=str(project.settings.get("fit", "fill")),
    )
    shots = store.shots()
    labels = shot_labels(store.scenes(), shots, store.episodes())
    if only is not None:
        in_episode = {sc.id for sc in store.scenes(only.id)}
        shots = [s for s in shots if s.scene_id in in_episode]
    shot_range: dict[str, tuple[int, int]] = {}
    position = 0
    own_sound: dict[int, AudioItem] = {}  # video clip index → that clip's own sound
    for shot in shots:
        label = labels[shot.id]
        edit = edits.get(shot.id) or ClipEdit(shot_id=shot.id)
        lines = [shot.narration] if shot.narration else []
        lines += [
            (f"{char_names[d.character_id]}：" if d.character_id in char_names else "") + d.text
            for d in shot.dialogue
        ]
        slate_text = "\n".join([shot.action, *lines]).strip()
        clip = _clip_for_shot(store, shot, edit, fps, label, slate_text)
        length = clip.duration_frames
        start = position
        kind = TransitionKind(edit.transition)
        n = max(0, int(edit.transition_frames))
        if timeline.video and kind is not TransitionKind.CUT and n > 0:
            prev = timeline.video[-1]
            if kind is TransitionKind.CROSSFADE:
                n = min(n, prev.duration_frames - 1, length - 1)
                start = position - max(0, n)
            else:
                n = min(n, prev.duration_frames + length)
            clip.transition, clip.transition_frames = kind, max(0, n)
        clip.record_in, clip.record_out = start, start + length
        timeline.video.append(clip)
        shot_range[shot.id] = (clip.record_in, clip.record_out)
        position = clip.record_out
        if clip.has_audio and clip.path and clip.media:
            # the clip's own sound plays with its picture: same source range, same speed
            own_sound[len(timeline.video) - 1] = item = AudioItem(
                role=AudioRole.EFFECTS,
                media=clip.media,
                path=clip.path,
                record_in=clip.record_in,
                record_out=clip.record_out,
                source_in=clip.source_in,
                gain_db=clip.gain_db,
                shot_id=shot.id,
                source_duration=clip.source_duration,
                speed=clip.speed,
            )
            timeline.audio.append(item)
        _add_voices(store, timeline, shot, clip, char_names, speaker_names)
    _fade_with_transitions(timeline, own_sound)
    timeline.duration_frames = position
    _add_placements(store, timeline, shot_range, partial=only is not None)
    timeline.subtitles.sort(key=lambda s: s.record_in)
    return timeline


def _fade_with_transitions(timeline: Timeline, own_sound: dict[int, AudioItem]) -> None:
    """Clips' own sounds fade as their pictures do: across a crossfade the outgoing sound
    fades out while the incoming one fades in; a dip to black fades each side's half."""
    fps = timeline.fps
    for i, clip in enumerate(timeline.video):
        n = clip.transition_frames
        if i == 0 or n <= 0 or clip.transition is TransitionKind.CUT:
            continue
        out_frames, in_frames = (n, n) if clip.transition is TransitionKind.CROSSFADE \
            else (n // 2, n - n // 2)
        if (before := own_sound.get(i - 1)) is not None:
            before.fade_out = float(out_frames / fps)
        if (after := own_sound.get(i)) is not None:
            after.fade_in = float(in_frames / fps)


def _voice_frames(clip: VideoClip, offset: float, duration: float,
                  fps: Any) -> tuple[int, int, float] | None:
    """Where a voice line at ``offset`` s into its shot is heard on the timeline:
    (record_in, record_out, seconds cut from the line's head), or None when the clip's
    trims leave none of it. The line starts where its moment of the picture is shown —
    ``(offset − source_in) / speed`` after the clip starts — plays at its own pace, and
    is heard only while its clip is (a crossfade's overlap included)."""
    start = clip.record_in + seconds_to_frames((offset - clip.source_in) / clip.speed, fps)
    end = min(clip.record_out, start + seconds_to_frames(duration, fps))
    head = max(0, clip.record_in - start)
    start += head
    if end <= start:
        return None
    return start, end, float(head / fps)


def _line_name(line_index: int) -> str:
    return "narration" if line_index < 0 else f"line {line_index + 1}"


def _add_voices(
    store: Any,
    timeline: Timeline,
    shot: Shot,
    clip: VideoClip,
    char_names: dict[str, str],
    speaker_names: bool = False,
) -> None:
    fps = timeline.fps
    clips = store.all(VoiceClip, shot_id=shot.id)
    by_index = {c.line_index: c for c in clips}
    timed: list[tuple[float, float, str, str, list[dict[str, Any]]]] = []
    for placed in _layout_lines(shot, clips):
        voice = by_index.get(placed.line_index)
        if voice is None:
            continue
        asset = store.get(MediaAsset, voice.media)
        if asset is None:
            continue
        store.media.require_intact(
            asset.sha256, f"Shot {clip.label}, {_line_name(voice.line_index)}: its voice",
            "`storyreel voice` makes it again")
        heard = _voice_frames(clip, placed.offset, placed.duration, fps)
        if heard is None:
            continue  # trimmed away with the picture
        start_frame, end_frame, cut = heard
        timeline.audio.append(
            AudioItem(
                role=AudioRole.DIALOGUE,
                media=voice.media,
                path=str(store.root / asset.relpath),
                record_in=start_frame,
                record_out=end_frame,
                source_in=cut,
                shot_id=shot.id,
                line_index=voice.line_index,
                source_duration=asset.duration,
            )
        )
        text, speaker_id = _line_text(shot, voice.line_index)
        start = float(start_frame / fps)
        timed.append(
            (
                start,
                float(end_frame / fps),
                text or voice.text,
                char_names.get(speaker_id or "", ""),
                voice.timings,
            )
        )
    if not clips:
        # no voices yet: the written lines share the shot, weighted by length
        written = ([(shot.narration, "")] if shot.narration else []) + [
            (d.text, char_names.get(d.character_id or "", "")) for d in shot.dialogue if d.text
        ]
        total_chars = sum(max(1, len(t)) for t, _ in written)
        t0 = float(clip.record_in / fps)
        span = float(clip.duration_frames / fps)
        for text, speaker in written:
            share = span * max(1, len(text)) / total_chars
            timed.append((t0, t0 + share, text, speaker, []))
            t0 += share
    shot_span = (float(clip.record_in / fps), float(clip.record_out / fps))
    for start, end, text, speaker, _timings in _cues(timeline, timed, shot_span,
                                                      speaker_names):
        record_in = seconds_to_frames(start, fps)
        record_out = max(record_in + 1, seconds_to_frames(end, fps))
        timeline.subtitles.append(SubtitleItem(record_in, record_out, text, speaker, shot.id))


def _cues(
    timeline: Timeline, timed: list[tuple[float, float, str, str, list[dict[str, Any]]]],
    span: tuple[float, float] | None = None, speaker_names: bool = False,
) -> list[tuple[float, float, str, str, list[dict[str, Any]]]]:
    """Lines → readable cues (``engine.interchange.subtitles.make_cues`` splits long
    lines at punctuation, timed by the TTS timings)."""
    from engine.interchange.subtitles import TimedLine, make_cues
    from engine.model import Aspect

    timed = [t for t in timed if t[2].strip()]
    if not timed:
        return []
    aspect = Aspect.PORTRAIT if timeline.height > timeline.width else (
        Aspect.SQUARE if timeline.height == timeline.width else Aspect.LANDSCAPE)
    lines = [
        TimedLine(text=text, start=start, end=end, timings=timings,
                  language=timeline.language, speaker=speaker)
        for start, end, text, speaker, timings in timed
    ]
    cues = make_cues(lines, timeline.language, aspect, span=span,
                     speaker_names=speaker_names)
    return [(c.start, c.end, c.text, c.speaker, []) for c in cues]


def episode_title(series_title: str, episode: Any) -> str:
    """``逆光 E02 重逢``: the title an episode's film carries."""
    return " ".join(x for x in (series_title, f"E{episode.number:02d}", episode.title) if x)


def _add_placements(store: Any, timeline: Timeline, shot_range: dict[str, tuple[int, int]],
                    partial: bool = False) -> None:
    """Music and effects; in one episode's film (``partial``) a placement that starts on a
    shot of another episode is left out and one that ends in another runs to the end."""
    fps = timeline.fps
    for placement in store.all(AudioPlacement):
        if partial and placement.from_shot and placement.from_shot not in shot_range:
            continue
        asset = store.get(MediaAsset, placement.media)
        if asset is None:
            continue
        store.media.require_intact(
            asset.sha256, f"The {placement.role} track {asset.original_name}'s",
            "`storyreel import-media` with the original file puts it back")
        start = shot_range.get(placement.from_shot or "", (0, 0))[0]
        end = shot_range.get(placement.to_shot or "", (0, timeline.duration_frames))[1]
        record_in = start + seconds_to_frames(placement.offset, fps)
        if record_in >= end:
            continue
        timeline.audio.append(
            AudioItem(
                role=placement.role,
                media=placement.media,
                path=str(store.root / asset.relpath),
                record_in=record_in,
                record_out=end,
                gain_db=placement.gain_db,
                fade_in=placement.fade_in,
                fade_out=placement.fade_out,
                loop=placement.loop,
                source_duration=asset.duration,
            )
        )


# ----------------------------------------------------------------------------- edits
_EDIT_FIELDS = {f.name for f in fields(ClipEdit)} - {"shot_id"}


def set_clip_edit(store: Any, shot_id: str, **changes: Any) -> ClipEdit:
    """Change the user's edit of one shot's clip (trim_in, trim_out, speed, transition,
    transition_frames, gain_db) as one undoable step; returns the saved edit."""
    shot = store.get(Shot, shot_id)
    if shot is None:
        raise StoryreelError(f"No shot with id {shot_id} in this project.")
    unknown = set(changes) - _EDIT_FIELDS
    if unknown:
        raise StoryreelError(
            f"Unknown clip edit field {sorted(unknown)[0]!r}; "
            f"expected one of {', '.join(sorted(_EDIT_FIELDS))}."
        )
    edit = store.get(ClipEdit, shot_id) or ClipEdit(shot_id=shot_id)
    for name in ("trim_in", "trim_out", "transition_frames"):
        if name in changes:
            value = changes[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise StoryreelError(f"{name} must be a whole number of frames ≥ 0, not {value!r}.")
            setattr(edit, name, value)
    if "speed" in changes:
        speed = changes["speed"]
        if not isinstance(speed, int | float) or not MIN_SPEED <= float(speed) <= MAX_SPEED:
            raise StoryreelError(
                f"speed must be between {MIN_SPEED} and {MAX_SPEED}, not {speed!r}."
            )
        edit.speed = float(speed)
    if "gain_db" in changes:
        gain = changes["gain_db"]
        if not isinstance(gain, int | float) or not -60 <= float(gain) <= 24:
            raise StoryreelError(f"gain_db must be between -60 and 24 dB, not {gain!r}.")
        edit.gain_db = float(gain)
    if "transition" in changes:
        try:
            edit.transition = TransitionKind(changes["transition"])
        except ValueError:
            raise StoryreelError(
                f"Unknown transition {changes['transition']!r}; expected one of "
                f"{', '.join(k.value for k in TransitionKind)}."
            ) from None
    if {"trim_in", "trim_out", "speed"} & set(changes):
        # refuse trims that leave nothing of the take before saving them
        from engine.generate.requests import shot_label

        _clip_for_shot(store, shot, edit, store.project.fps, shot_label(store, shot), "")
    with store.transaction(f"Edit clip of shot {shot.order + 1}"):
        store.upsert(edit)
    return edit
