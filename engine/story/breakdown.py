"""Rule-based shot breakdown: a scene's beats → shots, by simple film grammar, no LLM.

- Each scene opens on an establishing shot (wide; extreme wide outside) of the location.
- Each action beat becomes a shot: sized by what it shows (a hand, tears, eyes → close-up;
  one character → medium; movement → tracking), or by camera words the writer typed
  (特写, 近景, 全景, CLOSE ON...).
- Each dialogue exchange becomes a shot: a speaker's consecutive lines stay together;
  the first exchange between two people is a medium two-shot, then shot/reverse-shot
  over the shoulder, and charged lines (anger, tears, shouting) go to a close-up push-in.
  Off-screen lines play over the listener; narration and voice-over play over the next
  picture.
- Durations come from the words: Chinese ~4 characters/s, English ~2.5 words/s, plus a
  breath, never under 2 s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engine.model import CameraAngle, CameraMove, LineKind, Setting, ShotSize
from engine.story.script import (
    BREATH_SECONDS,
    MIN_SHOT_SECONDS,
    Beat,
    BeatKind,
    ParsedScript,
    ScriptScene,
    cjk_count,
    speech_seconds,
    word_count,
)

MAX_ACTION_SECONDS = 6.0
ESTABLISHING_SECONDS = 3.0
EMOTION_PAUSE_SECONDS = 0.5  # a beat for the face before or after a charged line


@dataclass
class PlannedLine:
    text: str
    speaker: str | None  # character name, None for narration
    emotion: str = ""
    kind: LineKind = LineKind.DIALOGUE


@dataclass
class ShotPlan:
    size: ShotSize
    angle: CameraAngle = CameraAngle.EYE_LEVEL
    camera_move: CameraMove = CameraMove.STATIC
    duration: float = MIN_SHOT_SECONDS
    action: str = ""
    characters: list[str] = field(default_factory=list)  # names in frame
    lines: list[PlannedLine] = field(default_factory=list)
    narration: str = ""
    beats: list[int] = field(default_factory=list)  # indices of the scene beats it covers
    transition: str = ""  # into this shot: "crossfade" / "dip-to-black" (TransitionKind)

    def spoken_seconds(self) -> float:
        texts = [ln.text for ln in self.lines]
        if self.narration:
            texts.append(self.narration)
        pauses = sum(EMOTION_PAUSE_SECONDS for ln in self.lines if ln.emotion)
        return sum(speech_seconds(t) + BREATH_SECONDS for t in texts) + pauses

    def fit_duration(self, visual: float) -> None:
        self.duration = round(max(MIN_SHOT_SECONDS, visual, self.spoken_seconds()), 2)


# camera words a writer may type in an action line → shot size
SIZE_WORDS: list[tuple[tuple[str, ...], ShotSize]] = [
    (("大特写", "EXTREME CLOSE", "ECU"), ShotSize.EXTREME_CLOSE_UP),
    (("特写", "CLOSE ON", "CLOSE-UP", "CLOSE UP", "INSERT"), ShotSize.CLOSE_UP),
    (("近景",), ShotSize.MEDIUM_CLOSE_UP),
    (("中景",), ShotSize.MEDIUM),
    (("全景", "WIDE", "远处"), ShotSize.WIDE),
    (("远景", "大远景", "航拍", "AERIAL"), ShotSize.EXTREME_WIDE),
]
DETAIL_WORDS = ("手指", "手腕", "手机", "眼神", "眼睛", "泪", "嘴角", "戒指", "照片", "信",
                "杯", "钥匙", "hand", "hands", "eyes", "tear", "tears", "phone", "ring",
                "letter", "photo", "smile", "lips", "cup", "key")
MOTION_WORDS = ("走", "跑", "追", "冲", "奔", "离开", "穿过", "进入", "推门", "走出",
                "walk", "walks", "run", "runs", "chase", "chases", "rush", "rushes",
                "enters", "exits", "leaves", "crosses", "follows")
REVEAL_WORDS = ("抬起头", "回头", "转身", "愣住", "看向", "望向", "turns", "looks up", "freezes")
INTENSE_EMOTIONS = ("怒", "愤", "吼", "喊", "哭", "哽咽", "泣", "冷笑", "崩溃", "颤抖", "绝望",
                    "咬牙", "嘶", "angry", "furious", "shout", "yell", "scream", "cry",
                    "crying", "sob", "tears", "choked", "trembling", "desperate")
PRONOUNS = {"她": "female", "他": "male", "she": "female", "her": "female", "he": "male",
            "him": "male", "his": "male"}


def _has_word(text: str, words: tuple[str, ...]) -> bool:
    lowered = text.lower()
    for w in words:
        if w.isascii():
            if re.search(rf"\b{re.escape(w.lower())}\b", lowered):
                return True
        elif w in text:
            return True
    return False


# "陈默发来的消息" / "陈默写的信" shows no 陈默; "苏晴的眼泪" does (X的… is X in frame)
_SENT_BY = re.compile(r"^(?:[发送写留寄][来给]?的)")
# a name on a screen, phone, letter or sign is read, not seen: "屏幕上显示"妈妈""
_QUOTED = re.compile(r"[\"“「『《]([^\"”」』》]*)[\"”」』》]")
_SHOWN_AS = re.compile(r"(显示|写着|来电|备注|署名|reads|says|caller id)\s*[:：]?\s*$",
                       re.IGNORECASE)
# heard, not seen: "电话里妈妈说", "妈妈的声音从画外传来", "MOM (V.O.)"
_HEARD_BEFORE = re.compile(r"(电话里|电话那头|画外|听筒里|广播里)\s*$")
_HEARD_AFTER = re.compile(r"^\s*(?:的声音|的画外音|[（(](?:画外音|画外|OS|O\.S\.|VO|V\.O\.)[）)]"
                          r"|'s voice|’s voice)", re.IGNORECASE)


def _blank_spans(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for a, b in spans:
        for i in range(a, b):
            chars[i] = " "
    return "".join(chars)


def _mentions(text: str, names: list[str]) -> list[str]:
    """Characters an action line shows, in order of mention: whole names only (SON is not
    in "unison"), the longest name first (陈默默 is not 陈默), never a name in quotes or
    one that sent the thing shown ("陈默发来的消息")."""
    found: list[tuple[int, str]] = []
    text = _blank_spans(text, [m.span() for m in _QUOTED.finditer(text)])
    for name in sorted(names, key=len, reverse=True):
        if not name.strip():
            continue
        if name.isascii():
            pattern = re.compile(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])",
                                 re.IGNORECASE)
        else:
            pattern = re.compile(re.escape(name))
        for m in pattern.finditer(text):
            head, tail = text[:m.start()], text[m.end():]
            if _SENT_BY.match(tail) or _SHOWN_AS.search(head) or _HEARD_BEFORE.search(head) \
                    or _HEARD_AFTER.match(tail):
                continue
            found.append((m.start(), name))
            break
        text = _blank_spans(text, [m.span() for m in pattern.finditer(text)])
    return [name for _, name in sorted(found)]


def _is_intense(line: Beat) -> bool:
    text = line.text
    return (_has_word(line.emotion, INTENSE_EMOTIONS)
            or text.count("！") + text.count("!") >= 2)


def _gap(name: str | None) -> str:
    """The space between a name and the Chinese after it: none after a Chinese name."""
    return "" if name and cjk_count(name[-1]) else " "


_SIZE_LEAD = re.compile(
    r"^\s*(大特写|特写|近景|中景|全景|远景|大远景|航拍|EXTREME CLOSE[- ]UP|EXTREME CLOSE|ECU|"
    r"CLOSE[- ]UP|CLOSE ON|INSERT|WIDE SHOT|WIDE|AERIAL)(?:[:：,，.。—-]\s*|\s+)",
    re.IGNORECASE)


def leading_size(text: str) -> tuple[ShotSize | None, str]:
    """A shot-size word opening an action line (``特写：``, ``CLOSE ON``, ``INSERT``) → the
    size and the line without it; (None, text) when the line does not open with one."""
    m = _SIZE_LEAD.match(text)
    if not m or not text[m.end():].strip():
        return None, text
    word = m.group(1).upper()
    for words, size in SIZE_WORDS:
        if any(word == w.upper() or word.replace("-", " ") == w.upper() for w in words):
            return size, text[m.end():].strip()
    if word.startswith("EXTREME CLOSE"):
        return ShotSize.EXTREME_CLOSE_UP, text[m.end():].strip()
    if word.startswith("CLOSE"):
        return ShotSize.CLOSE_UP, text[m.end():].strip()
    if word.startswith("WIDE"):
        return ShotSize.WIDE, text[m.end():].strip()
    return None, text


def reading_seconds(text: str) -> float:
    """How long an action shot holds: long enough to see what the line describes."""
    words = cjk_count(text) / 8.0 + word_count(text) / 4.0
    return min(MAX_ACTION_SECONDS, max(MIN_SHOT_SECONDS, 1.5 + words))


class _SceneBreakdown:
    def __init__(self, script: ParsedScript, scene: ScriptScene) -> None:
        self.scene = scene
        self.names = [c.name for c in script.characters]
        self.genders = {c.name: c.gender for c in script.characters}
        self.shots: list[ShotPlan] = []
        self.pending_voice: list[tuple[int, Beat]] = []  # narration / V.O. waiting for a picture
        self.pending_transition = ""  # a transition line waiting for the next shot
        self.present: list[str] = []  # characters seen in the scene so far
        self.last_mentioned: list[str] = []
        self.conversation_shots = 0

    def _see(self, names: list[str]) -> None:
        for n in names:
            if n not in self.present:
                self.present.append(n)

    def _who(self, text: str) -> list[str]:
        named = _mentions(text, self.names)
        lowered = text.lower()
        for pronoun, gender in PRONOUNS.items():
            hit = (re.search(rf"\b{pronoun}\b", lowered) if pronoun.isascii()
                   else pronoun in text)
            if not hit or any(self.genders.get(n) == gender for n in named):
                continue
            for name in reversed(self.present + self.last_mentioned):
                if self.genders.get(name) == gender and name not in named:
                    named.append(name)
                    break
        if named:
            self.last_mentioned = named
        return named

    def _add(self, shot: ShotPlan, visual: float) -> ShotPlan:
        if self.pending_transition:
            shot.transition, self.pending_transition = self.pending_transition, ""
        if self.pending_voice:
            self._attach_voice(shot)
        shot.fit_duration(visual)
        self.shots.append(shot)
        return shot

    def _attach_voice(self, shot: ShotPlan) -> None:
        """Voices over this picture, in script order: those written before the shot's own
        beats play before its lines, those after it after them."""
        first = min(shot.beats) if shot.beats else 1 << 30
        before: list[PlannedLine] = []
        after: list[PlannedLine] = []
        for index, beat in self.pending_voice:
            shot.beats.append(index)
            if beat.speaker is None and beat.line_kind is LineKind.NARRATION:
                shot.narration = (shot.narration + " " + beat.text).strip()
            else:
                (before if index < first else after).append(
                    PlannedLine(beat.text, beat.speaker, beat.emotion, beat.line_kind))
        shot.lines = before + shot.lines + after
        shot.beats.sort()
        self.pending_voice.clear()

    def establishing(self, first: Beat | None, first_index: int) -> int:
        """The opening wide shot; it takes the first action line when the scene opens on one."""
        scene = self.scene
        exterior = scene.setting is Setting.EXTERIOR
        shot = ShotPlan(
            size=ShotSize.EXTREME_WIDE if exterior else ShotSize.WIDE,
            angle=CameraAngle.HIGH if exterior else CameraAngle.EYE_LEVEL,
            camera_move=CameraMove.PAN if exterior else CameraMove.PUSH_IN,
        )
        used = 0
        visual = ESTABLISHING_SECONDS
        if first is not None and first.kind is BeatKind.ACTION and \
                leading_size(first.text)[0] is not None:
            first = None  # the writer framed the first picture: it is a shot of its own
        if first is not None and first.kind is BeatKind.ACTION:
            shot.action = first.text
            shot.characters = self._who(first.text)
            self._see(shot.characters)
            shot.beats.append(first_index)
            visual = max(visual, reading_seconds(first.text))
            used = 1
        else:
            shot.action = scene.location or scene.heading
        self._add(shot, visual)
        return used

    def action(self, index: int, beat: Beat) -> None:
        forced_size, text = leading_size(beat.text)
        if forced_size is not None:
            beat = Beat(beat.kind, text, beat.speaker, beat.emotion, beat.line_kind, beat.dual)
        who = self._who(beat.text)
        self._see(who)
        size = ShotSize.MEDIUM if who else ShotSize.WIDE
        move = CameraMove.STATIC
        angle = CameraAngle.EYE_LEVEL
        if _has_word(beat.text, DETAIL_WORDS):
            size = ShotSize.CLOSE_UP
        if _has_word(beat.text, MOTION_WORDS):
            size = ShotSize.MEDIUM if who else ShotSize.WIDE
            move = CameraMove.TRACK if who else CameraMove.PAN
        elif _has_word(beat.text, REVEAL_WORDS):
            size = ShotSize.MEDIUM_CLOSE_UP
            move = CameraMove.PUSH_IN
        if len(who) >= 2 and size is ShotSize.CLOSE_UP:
            size = ShotSize.MEDIUM
        for words, forced in SIZE_WORDS:
            if _has_word(beat.text, words):
                size = forced
                break
        if forced_size is not None:
            size = forced_size
        self.conversation_shots = 0
        self._add(ShotPlan(size=size, angle=angle, camera_move=move, action=beat.text,
                           characters=who, beats=[index]), reading_seconds(beat.text))

    def exchange(self, group: list[tuple[int, Beat]]) -> None:
        """Consecutive on-screen lines of one speaker (or a short back-and-forth)."""
        first = group[0][1]
        speakers = [b.speaker for _, b in group if b.speaker]
        speaker = first.speaker
        others = [n for n in self.present if n not in speakers]
        listener = others[-1] if others else None
        off_screen = all(b.line_kind is LineKind.OFF_SCREEN for _, b in group)
        lines = [PlannedLine(b.text, b.speaker, b.emotion, b.line_kind) for _, b in group]
        intense = any(_is_intense(b) for _, b in group)
        distinct = list(dict.fromkeys(speakers))
        if off_screen:
            # we hear them but see the listener (or the place)
            in_frame = [listener] if listener else []
            size = ShotSize.MEDIUM_CLOSE_UP if in_frame else ShotSize.WIDE
            shot = ShotPlan(size=size, camera_move=CameraMove.STATIC, characters=in_frame,
                            lines=lines, action=f"{speaker}{_gap(speaker)}的声音从画外传来"
                            if first.text and cjk_count(first.text) else
                            f"{speaker} calls out off screen")
        elif len(distinct) >= 2:
            shot = ShotPlan(size=ShotSize.MEDIUM, characters=distinct, lines=lines)
        elif self.conversation_shots == 0 and listener:
            shot = ShotPlan(size=ShotSize.MEDIUM, characters=[speaker or "", listener],
                            lines=lines)
        elif intense:
            shot = ShotPlan(size=ShotSize.CLOSE_UP, camera_move=CameraMove.PUSH_IN,
                            characters=[speaker or ""], lines=lines)
        elif listener:
            shot = ShotPlan(size=ShotSize.MEDIUM_CLOSE_UP,
                            angle=CameraAngle.OVER_THE_SHOULDER,
                            characters=[speaker or "", listener], lines=lines)
        else:
            shot = ShotPlan(size=ShotSize.MEDIUM_CLOSE_UP, characters=[speaker or ""],
                            lines=lines)
        if intense and shot.size is ShotSize.MEDIUM and len(distinct) < 2:
            shot.camera_move = CameraMove.PUSH_IN
        if not off_screen and speaker:
            self._see([speaker])
        shot.characters = [c for c in shot.characters if c]
        shot.beats = [i for i, _ in group]
        self.conversation_shots += 1
        self._add(shot, 0.0)

    def run(self) -> list[ShotPlan]:
        beats = self.scene.beats
        start = 0
        # narration before the first picture plays over the establishing shot
        while start < len(beats) and beats[start].is_line and (
                beats[start].speaker is None or beats[start].line_kind is LineKind.VOICE_OVER):
            self.pending_voice.append((start, beats[start]))
            start += 1
        while start < len(beats) and beats[start].kind is BeatKind.TRANSITION:  # FADE IN:
            self.pending_transition = transition_kind(beats[start].text)
            start += 1
        first = beats[start] if start < len(beats) else None
        start += self.establishing(first, start)
        i = start
        while i < len(beats):
            beat = beats[i]
            if beat.kind is BeatKind.TRANSITION:
                self.pending_transition = transition_kind(beat.text) or self.pending_transition
                i += 1
                continue
            if beat.kind is BeatKind.ACTION:
                self.action(i, beat)
                i += 1
                continue
            if beat.speaker is None or beat.line_kind is LineKind.VOICE_OVER:
                # a voice over pictures: over the silent shot just before, else the next one
                self.pending_voice.append((i, beat))
                last = self.shots[-1] if self.shots else None
                if last is not None and not last.lines and not last.narration:
                    self._attach_voice(last)
                    last.fit_duration(last.duration)
                i += 1
                continue
            group = [(i, beat)]
            j = i + 1
            while j < len(beats) and beats[j].is_line and beats[j].speaker \
                    and beats[j].line_kind is not LineKind.VOICE_OVER:
                nxt = beats[j]
                same = nxt.speaker == beat.speaker and nxt.line_kind is beat.line_kind
                short = (speech_seconds(nxt.text) <= 1.2 and speech_seconds(group[-1][1].text)
                         <= 1.2 and len(group) < 3)
                if not (same or short or nxt.dual):
                    break
                group.append((j, nxt))
                j += 1
            self.exchange(group)
            i = j
        if self.pending_voice:
            if self.shots:
                last = self.shots[-1]
                self._attach_voice(last)
                last.fit_duration(last.duration)
        if len(self.shots) > 1 and self.shots[-1].lines == [] and not self.shots[-1].narration \
                and self.shots[-1].camera_move is CameraMove.STATIC:
            self.shots[-1].camera_move = CameraMove.PULL_OUT  # let the scene breathe out
        return self.shots


# a transition line → the edit into the next shot (CUT TO is the default cut)
TRANSITION_WORDS: list[tuple[tuple[str, ...], str]] = [
    (("CROSSFADE", "DISSOLVE", "MIX TO", "叠化", "溶入", "渐变"), "crossfade"),
    (("FADE", "BLACK", "淡出", "淡入", "黑屏", "渐黑"), "dip-to-black"),
]


def transition_kind(text: str) -> str:
    """``CROSSFADE TO:`` → "crossfade", ``FADE OUT.`` → "dip-to-black", ``CUT TO:`` → ""."""
    upper = text.upper()
    for words, kind in TRANSITION_WORDS:
        if any(w in upper for w in words):
            return kind
    return ""


def _leading_transition(scene: ScriptScene) -> str:
    """A transition written before a scene's first picture (FADE IN:, 叠化)."""
    for beat in scene.beats:
        if beat.kind is BeatKind.TRANSITION:
            return transition_kind(beat.text)
        if beat.kind is BeatKind.ACTION:
            return ""
    return ""


def breakdown_scene(script: ParsedScript, scene: ScriptScene) -> list[ShotPlan]:
    """The rule-based shot list of one scene."""
    return _SceneBreakdown(script, scene).run()


def breakdown(script: ParsedScript) -> list[list[ShotPlan]]:
    """Shot lists for every scene, in order; a transition that ends a scene (FADE OUT,
    CUT TO) is the edit into the next scene's first shot."""
    plans: list[list[ShotPlan]] = []
    carried = ""
    for scene in script.scenes:
        shots = breakdown_scene(script, scene)
        lead = _leading_transition(scene)
        if shots and (lead or carried) and not shots[0].transition:
            shots[0].transition = lead or carried
        trailing = [b for b in scene.beats if b.kind is BeatKind.TRANSITION]
        last_picture = max((i for i, b in enumerate(scene.beats)
                            if b.kind is not BeatKind.TRANSITION), default=-1)
        carried = next((transition_kind(b.text) for b in reversed(trailing)
                        if scene.beats.index(b) > last_picture), "")
        plans.append(shots)
    return plans
