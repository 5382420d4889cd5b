"""Prompt composer: shot + scene + characters + project style → the model prompt.

The prompt says who is in frame (appearance and costume of each character), where and
when (location, interior/exterior, time of day, lighting), what happens, and the camera
language (shot size, angle, move) in words the model family understands: comma tags for
CLIP-based image models, sentences for T5-based video models. Each family has a length
limit (CLIP 77 tokens, T5 512); when a prompt is too long the least important parts go
first (quality words, style extras, lighting, costume of secondary characters...) and a
part that must be cut is cut at a word or clause boundary, never mid-word.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.errors import StoryreelError
from engine.model import (
    CameraAngle,
    CameraMove,
    Character,
    Costume,
    Language,
    LineKind,
    Location,
    Project,
    Scene,
    Setting,
    Shot,
    ShotSize,
    ShotStatus,
    TimeOfDay,
)
from engine.model.wardrobe import costume_en_for, costume_for

if TYPE_CHECKING:
    from engine.store.project import ProjectStore

# token budgets: CLIP's 77 minus BOS/EOS; T5's 512 minus EOS
FAMILY_LIMITS = {"clip": 75, "t5": 511}
FAMILY_ALIASES = {
    "clip": "clip", "sd": "clip", "sd15": "clip", "sdxl": "clip", "animatic": "t5",
    "t5": "t5", "umt5": "t5", "wan": "t5", "ltx": "t5", "cogvideox": "t5", "mochi": "t5",
    "hunyuan": "t5", "flux": "t5", "sd3": "t5",
}

SIZE_WORDS = {
    ShotSize.EXTREME_WIDE: "extreme wide shot",
    ShotSize.WIDE: "wide shot",
    ShotSize.MEDIUM: "medium shot",
    ShotSize.MEDIUM_CLOSE_UP: "medium close-up",
    ShotSize.CLOSE_UP: "close-up",
    ShotSize.EXTREME_CLOSE_UP: "extreme close-up",
}
ANGLE_WORDS = {
    CameraAngle.EYE_LEVEL: "eye-level angle",
    CameraAngle.HIGH: "high-angle view",
    CameraAngle.LOW: "low-angle view",
    CameraAngle.OVERHEAD: "overhead top-down view",
    CameraAngle.DUTCH: "dutch angle, tilted frame",
    CameraAngle.OVER_THE_SHOULDER: "over-the-shoulder shot",
}
MOVE_WORDS = {
    CameraMove.STATIC: "static camera",
    CameraMove.PAN: "the camera pans slowly",
    CameraMove.TILT: "the camera tilts slowly",
    CameraMove.PUSH_IN: "slow push-in toward the subject",
    CameraMove.PULL_OUT: "slow pull-out away from the subject",
    CameraMove.ORBIT: "the camera orbits around the subject",
    CameraMove.TRACK: "tracking shot following the subject",
    CameraMove.HANDHELD: "handheld camera with slight shake",
}
MOVE_TAGS = {
    CameraMove.STATIC: "", CameraMove.PAN: "panning shot", CameraMove.TILT: "tilt shot",
    CameraMove.PUSH_IN: "dolly in", CameraMove.PULL_OUT: "dolly out",
    CameraMove.ORBIT: "orbit shot", CameraMove.TRACK: "tracking shot",
    CameraMove.HANDHELD: "handheld",
}
TIME_LIGHT = {
    TimeOfDay.DAY: "daytime, soft natural daylight",
    TimeOfDay.NIGHT: "night, low-key lighting with practical lights",
    TimeOfDay.DAWN: "dawn, pale blue early light",
    TimeOfDay.DUSK: "dusk, warm golden-hour light",
    TimeOfDay.MORNING: "morning, gentle sunlight",
    TimeOfDay.EVENING: "evening, warm lamplight",
    TimeOfDay.CONTINUOUS: "",
    TimeOfDay.UNSPECIFIED: "",
}
SETTING_WORDS = {Setting.INTERIOR: "interior", Setting.EXTERIOR: "exterior",
                 Setting.INTERIOR_EXTERIOR: "interior and exterior"}
EMOTION_WORDS = {
    "冷笑": "with a cold sneer", "微笑": "with a faint smile", "笑": "smiling",
    "苦笑": "with a bitter smile", "哽咽": "choked with tears", "哭": "crying",
    "哭泣": "crying", "流泪": "in tears", "愤怒": "angrily", "怒": "angrily",
    "大喊": "shouting", "喊": "shouting", "吼": "shouting", "低声": "softly",
    "轻声": "softly", "惊讶": "in surprise", "震惊": "in shock", "犹豫": "hesitantly",
    "紧张": "nervously", "温柔": "tenderly", "冷漠": "coldly", "平静": "calmly",
    "疲惫": "wearily", "委屈": "hurt and aggrieved", "得意": "smugly",
    "害怕": "fearfully", "激动": "excitedly", "坚定": "firmly", "叹气": "with a sigh",
}
QUALITY = {"clip": "cinematic still, film grain, highly detailed",
           "t5": "cinematic, realistic, natural motion, high detail, film grain"}
NEGATIVE = {
    "t5": ("色调艳丽，过曝，静态，细节模糊不清，字幕，文字，水印，风格，作品，画作，画面，静止，"
           "整体发灰，最差质量，低质量，JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，"
           "画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，静止不动的画面，杂乱的背景，"
           "三条腿，背景人很多，倒着走"),
    "clip": ("lowres, worst quality, low quality, blurry, jpeg artifacts, watermark, text, "
             "signature, bad anatomy, bad hands, extra fingers, deformed, disfigured"),
}

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")
_PUNCT = re.compile(r"[^\sA-Za-z0-9\u3400-\u9fff\uf900-\ufaff]")


def family_of(name: str) -> str:
    family = FAMILY_ALIASES.get(name.lower().strip())
    if family is None:
        raise StoryreelError(
            f"Unknown prompt family {name!r}; use one of: {', '.join(sorted(FAMILY_ALIASES))}.")
    return family


def estimate_tokens(text: str, family: str) -> int:
    """A conservative token count without loading a tokenizer.

    CLIP's byte-level BPE spends about 2 tokens on a Chinese character and splits long
    words; T5 sentencepiece spends about one token per Chinese character and ~1.3 per word.
    """
    family = family_of(family)
    cjk = len(_CJK.findall(text))
    words = _ASCII_WORD.findall(text)
    punct = len(_PUNCT.findall(text)) - len([c for c in _CJK.findall(text) if _PUNCT.match(c)])
    if family == "clip":
        word_tokens = sum(1 + max(0, len(w) - 7) // 5 for w in words)
        return 2 * cjk + word_tokens + punct
    return cjk + math.ceil(sum(1 + len(w) // 6 for w in words) * 1.1) + punct


@dataclass
class _Part:
    text: str
    priority: int  # higher = kept longer
    sep: str = ", "  # what goes before it when it follows another part


def _join(parts: list[_Part]) -> str:
    out = ""
    for p in parts:
        text = p.text.strip()
        if not text:
            continue
        if out:
            if p.sep.startswith("."):
                text = text[:1].upper() + text[1:]
            out += p.sep + text
        else:
            out = text[:1].upper() + text[1:]
    return out


def _truncate(text: str, family: str, budget: int) -> str:
    """The longest prefix of ``text`` within ``budget`` tokens, cut between words or clauses."""
    pieces = re.findall(r"[^，、；。,;\s]+[，、；。,;]?\s*", text)
    kept = ""
    for piece in pieces:
        if estimate_tokens(kept + piece, family) > budget:
            break
        kept += piece
    if not kept and pieces and _CJK.search(pieces[0]):
        # one long Chinese clause: characters are the words
        for ch in pieces[0]:
            if estimate_tokens(kept + ch, family) > budget:
                break
            kept += ch
    return kept.rstrip(" ，、；,;")


ESSENTIAL = 7  # parts this important are shortened rather than dropped, while room is left


def fit_parts(parts: list[_Part], family: str, limit: int | None = None) -> str:
    """Join parts within the family's token limit.

    The least important part (the last among equals) goes first; an essential part is cut
    at a word or clause boundary to the room the others leave, rather than dropped.
    """
    family = family_of(family)
    limit = FAMILY_LIMITS[family] if limit is None else limit
    live = [p for p in parts if p.text.strip()]
    share = limit // 2  # no one part may take more than half the room
    live = [p if estimate_tokens(p.text, family) <= share
            else _Part(_truncate(p.text, family, share), p.priority, p.sep) for p in live]
    while live and estimate_tokens(_join(live), family) > limit:
        lowest = min(p.priority for p in live)
        index = max(i for i, p in enumerate(live) if p.priority == lowest)
        victim = live[index]
        rest = live[:index] + live[index + 1:]
        room = limit - estimate_tokens(_join(rest), family) - 2
        if victim.priority >= ESSENTIAL and room >= 6 or not rest:
            while room > 0:
                cut = _Part(_truncate(victim.text, family, room), victim.priority, victim.sep)
                trial = live[:index] + [cut] + live[index + 1:]
                if cut.text and estimate_tokens(_join(trial), family) <= limit:
                    live = trial
                    break
                room -= 2
            else:
                live = rest
            if live is not rest and estimate_tokens(_join(live), family) <= limit:
                break
            continue
        live = rest
    return _join(live)


def _clean_costume(costume: str) -> str:
    return re.sub(r"^(身穿|身着|穿着|穿|着)", "", costume.strip()).strip("，,。 ")


def person_phrase(character: Character) -> str:
    """'a 26-year-old woman', 'a man in his 30s', 'a person' from gender and age."""
    noun = {"female": "woman", "male": "man"}.get(character.gender.lower(), "")
    if not noun:
        noun = {"女": "woman", "男": "man"}.get(character.gender, "person")
    age = character.age.strip()
    if age.isdigit():
        return f"a {age}-year-old {noun}"
    decade = re.fullmatch(r"(?:(early|mid|late)[ -])?(\d0)s", age, flags=re.IGNORECASE)
    if decade:
        their = {"woman": "her", "man": "his"}.get(noun, "their")
        early = f"{decade.group(1).lower()} " if decade.group(1) else ""
        return f"a {noun} in {their} {early}{decade.group(2)}s"
    return f"a {noun}"


def _refer(character: Character, in_frame: list[Character], cjk: bool) -> str:
    same = [c for c in in_frame if c.gender == character.gender]
    if len(same) > 1 or character.gender not in ("female", "male"):
        return character.name
    if cjk:
        return "女子" if character.gender == "female" else "男子"
    return "the woman" if character.gender == "female" else "the man"


_QUOTE = re.compile(r"([\"“「『《][^\"”」』》]*[\"”」』》])")


def _replace_names(text: str, in_frame: list[Character], everyone: Iterable[Character]) -> str:
    """Name → "the woman"/"女子" for people in frame, outside quotes: quoted text (a name
    on a screen, a sign, a letter) is never rewritten."""
    everyone = list(everyone)
    pieces = _QUOTE.split(text)
    if len(pieces) > 1:
        return "".join(p if i % 2 else _replace_unquoted(p, in_frame, everyone)
                       for i, p in enumerate(pieces))
    return _replace_unquoted(text, in_frame, everyone)


def _replace_unquoted(text: str, in_frame: list[Character],
                      everyone: Iterable[Character]) -> str:
    for c in in_frame:  # "MAYA, 30s, short hair, sits…" → "MAYA sits…": the look is said once
        before = text
        for said in (c.age, c.appearance, c.costume):
            if said.strip():
                text = text.replace(f", {said.strip()}", "")
        if text != before:
            text = text.replace(f"{c.name}, ", f"{c.name} ", 1)
    for c in sorted(everyone, key=lambda c: -len(c.name)):
        if c.name and c.name in text:
            if c in in_frame:
                text = text.replace(c.name, _refer(c, in_frame, bool(_CJK.search(text))))
    return re.sub(r"([.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)


def _emotion_words(emotion: str) -> str:
    parts = [p.strip() for p in re.split(r"[，,、]+", emotion) if p.strip()]
    return ", ".join(EMOTION_WORDS.get(p, p) for p in parts)


def compose_parts(shot: Shot, scene: Scene, characters_in_frame: list[Character],
                  project: Project, family: str, place: Location | None = None
                  ) -> list[_Part]:
    """The prompt's parts in reading order, each with its importance. One language per
    prompt: a Chinese project's T5 prompts (Wan, LTX) are wholly Chinese."""
    family = family_of(family)
    if family == "t5" and project.language is Language.CHINESE:
        return compose_parts_zh(shot, scene, characters_in_frame, project, place)
    clip = family == "clip"
    chars = characters_in_frame
    sentence = ", " if clip else ". "
    parts: list[_Part] = []
    framing = SIZE_WORDS[shot.size]
    over_shoulder = shot.angle is CameraAngle.OVER_THE_SHOULDER and len(chars) >= 2
    if over_shoulder:
        framing = f"over-the-shoulder {framing}"
    parts.append(_Part(framing, 10))

    # who: the first character is the subject, the rest are secondary; a Chinese project's
    # CLIP prompt takes the English looks (appearance_en / costume_en) and never the Chinese
    english_only = project.language is Language.CHINESE
    for i, c in enumerate(chars):
        look, outfit = ((c.appearance_en, c.costume_en) if english_only
                        else (c.appearance, _clean_costume(c.costume)))
        who = person_phrase(c)
        if look.strip():
            who += f" with {look.strip().rstrip('。.')}"
        second = ", seen over the shoulder of " if over_shoulder else ", and "
        sep = ", " if clip else (" of " if i == 0 else second)
        parts.append(_Part(who, 9 if i == 0 else 6, sep))
        if outfit.strip():
            parts.append(_Part(f"wearing {outfit.strip()}", 7 if i == 0 else 4))

    if shot.angle is not CameraAngle.EYE_LEVEL and not over_shoulder:
        parts.append(_Part(ANGLE_WORDS[shot.angle], 6))

    # what happens
    speakers = [d for d in shot.dialogue if d.kind is LineKind.DIALOGUE and d.character_id]
    action = _replace_names(shot.action.strip().rstrip("。."), chars, chars)
    if action:
        parts.append(_Part(action, 9, sentence))
    if speakers:
        subject = next((c for c in chars if c.id == speakers[0].character_id), None)
        emotion = _emotion_words(speakers[0].emotion)
        if subject is not None:
            talk = f"{_refer(subject, chars, False)} speaks"
            if emotion:
                talk += f" {emotion}" if emotion in EMOTION_WORDS.values() else f", {emotion}"
            parts.append(_Part(talk, 8, ", " if action else sentence))
        elif emotion:
            parts.append(_Part(emotion, 5))
    elif chars and not action:
        parts.append(_Part("listening quietly", 3))

    # where and when
    location = scene.location.strip()
    if location.isupper():  # Fountain headings shout
        location = location.lower()
    if location and not clip and re.match(r"^(inside|outside|in|at|on)\b", location):
        parts.append(_Part(location, 8, sentence))
    elif location:
        where = location if clip else {
            Setting.INTERIOR: f"inside {location}", Setting.EXTERIOR: f"outdoors, {location}",
            Setting.INTERIOR_EXTERIOR: f"in and around {location}"}[scene.setting]
        parts.append(_Part(where, 8, sentence))
    if place is not None and place.description.strip():
        parts.append(_Part(place.description.strip().rstrip("。."), 6,
                           ", " if scene.location.strip() else sentence))
    light = ", ".join(x for x in (scene.lighting.strip(), scene.weather.strip(),
                                  TIME_LIGHT[scene.time_of_day]) if x)
    if light:
        parts.append(_Part(light, 5, ", " if location else sentence))

    # camera language
    if clip:
        move = MOVE_TAGS[shot.camera_move]
        if move:
            parts.append(_Part(move, 3))
    else:
        parts.append(_Part(MOVE_WORDS[shot.camera_move], 7, sentence))
    if project.style.strip():
        parts.append(_Part(project.style.strip().rstrip("。."), 6, sentence))
    orientation = {"9:16": "vertical composition", "16:9": "widescreen composition"}.get(
        str(project.aspect), "")
    if orientation:
        parts.append(_Part(orientation, 2, sentence))
    parts.append(_Part(QUALITY[family], 1))
    return parts


SIZE_ZH = {ShotSize.EXTREME_WIDE: "大远景", ShotSize.WIDE: "全景", ShotSize.MEDIUM: "中景",
           ShotSize.MEDIUM_CLOSE_UP: "近景", ShotSize.CLOSE_UP: "特写",
           ShotSize.EXTREME_CLOSE_UP: "大特写"}
ANGLE_ZH = {CameraAngle.EYE_LEVEL: "平视", CameraAngle.HIGH: "俯拍视角",
            CameraAngle.LOW: "仰拍视角", CameraAngle.OVERHEAD: "顶视俯拍",
            CameraAngle.DUTCH: "倾斜构图",
            CameraAngle.OVER_THE_SHOULDER: "过肩镜头"}
MOVE_ZH = {CameraMove.STATIC: "固定镜头", CameraMove.PAN: "镜头缓慢横摇",
           CameraMove.TILT: "镜头缓慢俯仰", CameraMove.PUSH_IN: "镜头缓慢推近主体",
           CameraMove.PULL_OUT: "镜头缓慢拉远", CameraMove.ORBIT: "镜头环绕主体",
           CameraMove.TRACK: "跟拍主体", CameraMove.HANDHELD: "手持镜头轻微晃动"}
TIME_ZH = {TimeOfDay.DAY: "白天，柔和的自然光", TimeOfDay.NIGHT: "夜晚，低调光，实景灯光",
           TimeOfDay.DAWN: "黎明，清冷的晨光", TimeOfDay.DUSK: "黄昏，温暖的金色光线",
           TimeOfDay.MORNING: "清晨，柔和的阳光", TimeOfDay.EVENING: "傍晚，温暖的灯光",
           TimeOfDay.CONTINUOUS: "", TimeOfDay.UNSPECIFIED: ""}
SETTING_ZH = {Setting.INTERIOR: "室内", Setting.EXTERIOR: "室外",
              Setting.INTERIOR_EXTERIOR: "室内外"}
QUALITY_ZH = "电影质感，写实，动作自然流畅，高细节，胶片颗粒"


def _person_zh(character: Character) -> str:
    """'一位26岁的女子', '一位男子', '一个人' from gender and age."""
    noun = {"female": "女子", "male": "男子", "女": "女子", "男": "男子"}.get(
        character.gender.lower() if character.gender.isascii() else character.gender, "人")
    age = character.age.strip()
    if age.isdigit():
        return f"一位{age}岁的{noun}"
    decade = re.fullmatch(r"(?:early|mid|late)?[ -]?(\d)0s", age, flags=re.IGNORECASE)
    if decade:
        return f"一位{decade.group(1)}十多岁的{noun}"
    return f"一位{noun}" if noun != "人" else "一个人"


def compose_parts_zh(shot: Shot, scene: Scene, chars: list[Character], project: Project,
                     place: Location | None = None) -> list[_Part]:
    """A Chinese project's T5 prompt in Chinese only (景别, 人物, 动作, 地点, 光线, 运镜)."""
    parts: list[_Part] = []
    over_shoulder = shot.angle is CameraAngle.OVER_THE_SHOULDER and len(chars) >= 2
    framing = ("过肩" if over_shoulder else "") + SIZE_ZH[shot.size]
    parts.append(_Part(framing, 10))
    for i, c in enumerate(chars):
        who = _person_zh(c)
        if c.appearance.strip():
            who += "，" + c.appearance.strip().rstrip("。.")
        sep = "：" if i == 0 else ("；越过其肩膀看到" if over_shoulder else "；")
        parts.append(_Part(who, 9 if i == 0 else 6, sep))
        if c.costume.strip():
            parts.append(_Part(f"身穿{_clean_costume(c.costume)}", 7 if i == 0 else 4, "，"))
    if shot.angle is not CameraAngle.EYE_LEVEL and not over_shoulder:
        parts.append(_Part(ANGLE_ZH[shot.angle], 6, "，"))
    action = _replace_names(shot.action.strip().rstrip("。."), chars, chars)
    if action:
        parts.append(_Part(action, 9, "。"))
    speakers = [d for d in shot.dialogue if d.kind is LineKind.DIALOGUE and d.character_id]
    if speakers:
        subject = next((c for c in chars if c.id == speakers[0].character_id), None)
        if subject is not None:
            talk = f"{_refer(subject, chars, True)}正在说话"
            if speakers[0].emotion.strip():
                talk = f"{_refer(subject, chars, True)}{speakers[0].emotion.strip()}地说话"
            parts.append(_Part(talk, 8, "，" if action else "。"))
    elif chars and not action:
        parts.append(_Part("安静地倾听", 3, "，"))
    location = scene.location.strip()
    if location:
        parts.append(_Part(f"{SETTING_ZH[scene.setting]}，{location}", 8, "。"))
    if place is not None and place.description.strip():
        parts.append(_Part(place.description.strip().rstrip("。."), 6, "，"))
    light = "，".join(x for x in (scene.lighting.strip(), scene.weather.strip(),
                                 TIME_ZH[scene.time_of_day]) if x)
    if light:
        parts.append(_Part(light, 5, "，" if location else "。"))
    parts.append(_Part(MOVE_ZH[shot.camera_move], 7, "。"))
    if project.style.strip():
        parts.append(_Part(project.style.strip().rstrip("。."), 6, "。"))
    orientation = {"9:16": "竖屏构图", "16:9": "宽银幕构图"}.get(str(project.aspect), "")
    if orientation:
        parts.append(_Part(orientation, 2, "，"))
    parts.append(_Part(QUALITY_ZH, 1, "，"))
    return parts


def compose_prompt(shot: Shot, scene: Scene, characters_in_frame: list[Character],
                   project: Project, family: str = "t5", location: Location | None = None
                   ) -> str:
    """The model prompt for a shot, within the family's token limit."""
    family = family_of(family)
    text = fit_parts(compose_parts(shot, scene, characters_in_frame, project, family, location),
                     family)
    if family == "t5" and project.language is Language.CHINESE:
        return text if not text else text + "。"
    return text if family == "clip" or not text else text + "."


def compose_negative(project: Project, family: str = "t5") -> str:
    """The negative prompt: the family's usual list plus the project's own words."""
    family = family_of(family)
    extra = str(project.settings.get("negative_prompt", "")).strip()
    parts = [_Part(extra, 9), _Part(NEGATIVE[family], 5)] if extra else \
        [_Part(NEGATIVE[family], 5)]
    return fit_parts(parts, family)


def english_look_warning(project: Project, characters: Iterable[Character]) -> str:
    """One line when a Chinese project prompts a CLIP-based model for characters whose
    English looks are empty (their look is then left out rather than mixed in)."""
    if project.language is not Language.CHINESE or project_family(project) != "clip":
        return ""
    missing = [c.name for c in characters if (c.appearance.strip() and not c.appearance_en.strip())
               or (c.costume.strip() and not c.costume_en.strip())]
    if not missing:
        return ""
    return (f"CLIP-based prompts need English looks: {', '.join(missing[:6])} "
            f"{'has' if len(missing) == 1 else 'have'} none (set appearance_en/costume_en, "
            "or plan with an LLM); their looks are left out of those prompts.")


def project_family(project: Project) -> str:
    return family_of(str(project.settings.get("prompt_family", "t5")))


class PromptContext:
    """What composing prompts needs from a project, read once for many shots."""

    def __init__(self, store: ProjectStore) -> None:
        self.project = store.project
        self.family = project_family(self.project)
        self.negative = compose_negative(self.project, self.family)
        self.scenes = {s.id: s for s in store.scenes()}
        self.characters = {c.id: c for c in store.all(Character)}
        self.locations = {loc.id: loc for loc in store.all(Location)}
        self.costumes = store.all(Costume)

    def apply(self, shot: Shot, scene: Scene | None = None) -> bool:
        """Set the shot's composed prompt (and an empty negative); True if the prompt changed.

        A shot whose effective prompt changed after it was generated is marked stale.
        """
        scene = scene or self.scenes.get(shot.scene_id)
        if scene is None:
            return False
        in_frame = [dataclasses.replace(
            self.characters[c], costume=costume_for(self.characters[c], scene, self.costumes),
            costume_en=costume_en_for(self.characters[c], scene, self.costumes))
            for c in shot.characters if c in self.characters]
        location = self.locations.get(scene.location_id or "")
        prompt = compose_prompt(shot, scene, in_frame, self.project, self.family, location)
        if not shot.negative_prompt:
            shot.negative_prompt = self.negative
        if prompt == shot.prompt:
            return False
        shot.prompt = prompt
        if not shot.prompt_override.strip() and shot.status in (
                ShotStatus.GENERATED, ShotStatus.APPROVED):
            shot.status = ShotStatus.STALE
        return True


def recompose(store: ProjectStore, shot_ids: list[str] | None = None) -> int:
    """Rewrite Shot.prompt (never prompt_override) of these shots (all when None).

    Returns how many prompts changed. A shot whose effective prompt changed after it was
    generated is marked stale.
    """
    context = PromptContext(store)
    shots = store.shots()
    if shot_ids is not None:
        wanted = set(shot_ids)
        missing = wanted - {s.id for s in shots}
        if missing:
            raise StoryreelError(f"No shot with id {sorted(missing)[0]} in this project.")
        shots = [s for s in shots if s.id in wanted]
    changed = 0
    with store.transaction("Recompose prompts"):
        for shot in shots:
            before = (shot.prompt, shot.negative_prompt)
            changed += context.apply(shot)
            if (shot.prompt, shot.negative_prompt) != before:
                store.update(shot, label="Recompose prompt")
    return changed
