"""Chinese short-drama script text (``.txt`` / ``.md``), the way writers really type it.

Scene headings: ``第1场 日 内 客厅``, ``第一场：夜 外 街道``, ``1-2 夜 外 街道``,
``场景一：咖啡馆 夜 内``, ``【第3场】…``, ``## 1. 客厅 日 内``. Dialogue: ``林雨：台词``,
``林雨（冷笑）：台词``, ``林雨：（哽咽）台词``, ``林雨（OS）：…``. Narration: ``旁白：``,
``画外音：``. Action: ``△ …`` / ``▲ …`` or any other line inside a scene. A character list
at the top (``人物：`` followed by ``林雨：女，26岁，长发……；穿米色风衣……``) gives each
character's gender, age, appearance, costume and personality.
"""

from __future__ import annotations

import re

from engine.model import Language, LineKind, Setting, TimeOfDay
from engine.story.script import (
    Beat,
    BeatKind,
    ParsedScript,
    ScriptCharacter,
    ScriptScene,
    parse_episode_heading,
    parse_number,
)

_NUM = r"[0-9０-９一二三四五六七八九十百零〇两]+"
_SCENE = re.compile(
    rf"""^(?:
        第\s*(?P<n1>{_NUM})\s*[场幕]
      | 场景\s*(?P<n2>{_NUM})
      | 场\s*(?P<n3>\d+)
      | (?P<ep>\d+)\s*[-－—–]\s*(?P<n4>\d+)
      | (?P<n5>\d+)\s*[.、．]
      | (?P<n6>\d+)(?=\s)
    )\s*[:：]?\s*(?P<rest>.*)$""",
    re.VERBOSE,
)
_EPISODE_START = re.compile(r"^[【\[]?\s*(?:第\s*[0-9０-９一二三四五六七八九十百零〇两]+\s*集|"
                            r"(?:episode|ep\.?)\s*\d+)", re.IGNORECASE)
_LINE = re.compile(
    r"^(?P<name>[^\s：:（()）△▲●【】\[\]，,。！？!?“”\"、]{1,16}?)\s*"
    r"(?:[（(](?P<paren>[^）)]*)[）)])?\s*[:：]\s*(?P<text>.*)$"
)
_LEADING_PAREN = re.compile(r"^[（(]([^）)]*)[）)]\s*")
_TRAILING_PAREN = re.compile(r"\s*[（(]([^）)]*)[）)]\s*$")
_RELATION = re.compile(
    r"(?:[\u4e00-\u9fff·]{1,6}的)?(?:亲生|养|继|前|现任|未婚|结发|青梅竹马的)?"
    r"(?:母亲|父亲|妈妈|爸爸|妻子|丈夫|老公|老婆|女儿|儿子|姐姐|妹妹|哥哥|弟弟|奶奶|爷爷|外婆|外公|"
    r"姑姑|舅舅|阿姨|叔叔|婆婆|公公|岳母|岳父|儿媳|女婿|男友|女友|男朋友|女朋友|未婚夫|未婚妻|前夫|"
    r"前妻|朋友|闺蜜|好友|同事|上司|老板|下属|秘书|助理|司机|管家|保姆|邻居|同学|室友|初恋|情敌|"
    r"师父|徒弟|学生|老师|总裁|董事长|经理)")
_AGE = re.compile(rf"({_NUM}|\d+)\s*(?:多|来)?\s*岁")

TIME_WORDS: dict[str, TimeOfDay] = {
    "日": TimeOfDay.DAY, "白天": TimeOfDay.DAY, "昼": TimeOfDay.DAY, "中午": TimeOfDay.DAY,
    "下午": TimeOfDay.DAY, "午后": TimeOfDay.DAY, "夜": TimeOfDay.NIGHT,
    "夜晚": TimeOfDay.NIGHT, "深夜": TimeOfDay.NIGHT, "午夜": TimeOfDay.NIGHT,
    "晚": TimeOfDay.EVENING, "晚上": TimeOfDay.EVENING, "傍晚": TimeOfDay.DUSK,
    "黄昏": TimeOfDay.DUSK, "昏": TimeOfDay.DUSK, "晨": TimeOfDay.MORNING,
    "清晨": TimeOfDay.MORNING, "早晨": TimeOfDay.MORNING, "早上": TimeOfDay.MORNING,
    "上午": TimeOfDay.MORNING, "早": TimeOfDay.MORNING, "凌晨": TimeOfDay.DAWN,
    "黎明": TimeOfDay.DAWN, "拂晓": TimeOfDay.DAWN,
}
SETTING_WORDS: dict[str, Setting] = {
    "内": Setting.INTERIOR, "外": Setting.EXTERIOR, "内外": Setting.INTERIOR_EXTERIOR,
    "内/外": Setting.INTERIOR_EXTERIOR, "室内": Setting.INTERIOR, "室外": Setting.EXTERIOR,
    "内景": Setting.INTERIOR, "外景": Setting.EXTERIOR,
}
NARRATORS = {"旁白": LineKind.NARRATION, "解说": LineKind.NARRATION,
             "画外音": LineKind.VOICE_OVER, "独白": LineKind.VOICE_OVER}
KIND_TAGS: dict[str, LineKind] = {
    "OS": LineKind.OFF_SCREEN, "O.S.": LineKind.OFF_SCREEN, "画外": LineKind.OFF_SCREEN,
    "画外音": LineKind.OFF_SCREEN, "电话": LineKind.OFF_SCREEN, "电话里": LineKind.OFF_SCREEN,
    "VO": LineKind.VOICE_OVER, "V.O.": LineKind.VOICE_OVER, "独白": LineKind.VOICE_OVER,
    "内心独白": LineKind.VOICE_OVER, "内心": LineKind.VOICE_OVER, "心声": LineKind.VOICE_OVER,
}
CAST_KEYS = ("人物", "角色", "人物表", "人物介绍", "主要人物", "出场人物", "人物小传",
             "主要角色", "角色介绍")
TITLE_KEYS = ("剧名", "片名", "标题", "剧本", "名称")
META_KEYS = ("类型", "题材", "集数", "时长", "编剧", "作者", "风格", "梗概", "故事梗概",
             "简介", "一句话梗概", "备注", "主题", "基调")
SCENE_META = ("时间", "地点", "场景", "道具", "备注", "服装")
NOT_SPEAKERS = {"他", "她", "我", "你", "他们", "她们", "我们", "镜头", "字幕", "音效",
                "音乐", "注", "提示", "转场", "画面", "特写", "字幕条",
                # shot sizes and camera words opening an action line (近景：爸爸在煮面)
                "大特写", "近景", "中景", "全景", "远景", "大远景", "航拍", "空镜", "俯拍",
                "仰拍", "中近景", "全景镜头", "远景镜头"}
TRANSITIONS = ("切至", "切到", "转场", "叠化", "淡入", "淡出", "黑屏", "闪回", "闪回结束",
               "回到现实", "画面切换", "CUT TO", "FADE IN", "FADE OUT")
COSTUME_WORDS = ("穿", "身着", "着装", "服装", "戴", "披", "打扮", "衣着", "套着")
ACTION_MARKS = "△▲●◆■※"
_SPEECH_VERBS = ("说道", "笑道", "问道", "喊道", "说", "道", "问", "喊", "叫", "答")


def _clean(line: str) -> str:
    line = line.strip().replace("\u3000", " ")
    line = re.sub(r"^#{1,6}\s*", "", line)
    line = re.sub(r"^>\s*", "", line)
    line = line.replace("**", "").replace("__", "")
    return line.strip()


def _split_tokens(rest: str) -> list[str]:
    tokens: list[str] = []
    for raw in re.split(r"[\s,，、/／|｜·.。:：\-—–()（）]+", rest):
        raw = raw.strip("【】[]()（）")
        if not raw:
            continue
        # "日内" / "夜外" / "外日": a time word and a setting word typed together
        if len(raw) == 2 and ((raw[0] in TIME_WORDS and raw[1] in SETTING_WORDS)
                              or (raw[0] in SETTING_WORDS and raw[1] in TIME_WORDS)):
            tokens.extend([raw[0], raw[1]])
        else:
            tokens.append(raw)
    return tokens


def parse_scene_heading(line: str) -> tuple[int | None, str, Setting | None, TimeOfDay, str] | None:
    """A heading line → (number, location, setting, time, episode) or None if not a heading."""
    text = line.strip().strip("【】[]").replace("】", " ").replace("]", " ")
    m = _SCENE.match(text)
    if not m:
        return None
    number_text = next((m.group(k) for k in ("n1", "n2", "n3", "n4", "n5", "n6") if m.group(k)),
                       None)
    number = parse_number(number_text.translate(str.maketrans("０１２３４５６７８９",
                                                              "0123456789"))) \
        if number_text else None
    setting: Setting | None = None
    time = TimeOfDay.UNSPECIFIED
    location: list[str] = []
    for token in _split_tokens(m.group("rest")):
        if token in TIME_WORDS and time is TimeOfDay.UNSPECIFIED:
            time = TIME_WORDS[token]
        elif token in SETTING_WORDS and setting is None:
            setting = SETTING_WORDS[token]
        else:
            location.append(token)
    numeric_only = bool(m.group("n4") or m.group("n5") or m.group("n6"))
    if numeric_only and (not location or (setting is None and time is TimeOfDay.UNSPECIFIED)):
        return None  # "1. 她笑了" is a numbered line, not a heading
    if numeric_only and any(len(t) > 12 for t in location):
        return None
    return number, " ".join(location), setting, time, m.group("ep") or ""


def parse_character_description(character: ScriptCharacter, text: str) -> None:
    """Fill gender, age, appearance, costume, personality from a free description."""
    character.description = (character.description + " " + text).strip()
    appearance: list[str] = []
    costume: list[str] = []
    personality: list[str] = []
    for sentence in re.split(r"[；;。\n]+", text):
        sentence = sentence.strip(" ，,")
        if not sentence:
            continue
        key, _, value = sentence.partition("：") if "：" in sentence else sentence.partition(":")
        key = key.strip()
        if value and key in ("服装", "着装", "衣着", "穿着", "造型"):
            costume.append(value.strip())
            continue
        if value and key in ("外貌", "外形", "长相", "形象"):
            appearance.append(value.strip())
            continue
        if value and key in ("性格", "个性"):
            personality.append(value.strip())
            continue
        if value and key == "年龄":
            sentence = value
        if value and key == "性别":
            sentence = value
        dressing: list[str] = []  # from the first clause about clothes to the sentence end
        for clause in re.split(r"[，,]", sentence):
            clause = clause.strip()
            if not clause:
                continue
            if dressing or any(w in clause for w in COSTUME_WORDS):
                dressing.append(clause)
                continue
            if clause in ("女", "女性", "女生", "女孩") and not character.gender:
                character.gender = "female"
                continue
            if clause in ("男", "男性", "男生", "男孩") and not character.gender:
                character.gender = "male"
                continue
            if _RELATION.fullmatch(clause):  # "苏晴的母亲": who they are, not how they look
                character.role = "，".join(x for x in (character.role, clause) if x)
                continue
            age = _AGE.search(clause)
            if age and len(clause) <= 8:
                value_num = parse_number(age.group(1))
                character.age = str(value_num) if value_num is not None else age.group(1)
                continue
            if clause.startswith("性格"):
                personality.append(clause.removeprefix("性格").lstrip("：: "))
                continue
            appearance.append(clause)
        if dressing:
            costume.append("，".join(dressing))
    if appearance:
        character.appearance = "，".join(appearance)
    if costume:
        character.costume = "；".join(costume)
    if personality:
        character.personality = "，".join(personality)


def _classify_paren(paren: str) -> tuple[str, LineKind | None]:
    """``冷笑，OS`` → ("冷笑", OFF_SCREEN)."""
    emotions: list[str] = []
    kind: LineKind | None = None
    for part in re.split(r"[，,、/ ]+", paren.strip()):
        if not part:
            continue
        tag = part.upper()
        if tag in KIND_TAGS or part in KIND_TAGS:
            kind = KIND_TAGS.get(tag, KIND_TAGS.get(part))
        else:
            emotions.append(part)
    return "，".join(emotions), kind


class _ChineseParser:
    def __init__(self) -> None:
        self.script = ParsedScript(format="chinese", language=Language.CHINESE)
        self.scene: ScriptScene | None = None
        self.in_cast = False
        self.episode = ""
        self.episode_number = 1
        self.preamble: list[str] = []
        # "林雨：" or "林雨" (a known name) alone on a line: the speech is on the next line
        self.pending: tuple[str, str] | None = None

    # ----------------------------------------------------------------- helpers
    def _known(self, name: str) -> bool:
        return self.script.character(name) is not None

    def _speaker(self, name: str) -> str | None:
        name = name.strip()
        if not name or name in NOT_SPEAKERS or name in SCENE_META or name in META_KEYS:
            return None
        for verb in _SPEECH_VERBS:  # "林雨笑道：" → 林雨
            if name.endswith(verb) and len(name) > len(verb):
                base = name[: -len(verb)]
                if self._known(base):
                    return base
                if base in NOT_SPEAKERS:
                    return None
        if re.search(r"[0-9，。！？、]", name):
            return None
        cjk = re.fullmatch(r"[\u4e00-\u9fff·]{1,6}", name)
        latin = re.fullmatch(r"[A-Za-z][A-Za-z .'-]{0,19}", name)
        return name if (cjk or latin or self._known(name)) else None

    def _next_number(self, episode: int) -> int:
        return 1 + max((s.number for s in self.script.scenes if s.episode == episode),
                       default=0)

    def _scene(self) -> ScriptScene:
        if self.scene is None:
            self.scene = ScriptScene(number=self._next_number(self.episode_number), heading="",
                                     section=self.episode, episode=self.episode_number)
            self.script.scenes.append(self.scene)
        return self.scene

    # ----------------------------------------------------------------- lines
    def feed(self, raw_line: str) -> None:
        line = _clean(raw_line)
        if not line or re.fullmatch(r"[-=*_—]{3,}", line):
            if not line:
                self.in_cast = False
            return
        episode = parse_episode_heading(line) if _EPISODE_START.match(line) else None
        if episode is not None:
            self.episode = f"第{episode.number}集 {episode.title}".strip()
            self.episode_number = episode.number
            found = self.script.episode(episode.number)
            found.title = found.title or episode.title
            self.scene = None  # what follows belongs to the new episode
            self.pending = None
            self.in_cast = False
            return
        heading = parse_scene_heading(line)
        if heading is not None:
            number, location, setting, time, ep = heading
            self.in_cast = False
            episode_number = int(ep) if ep else self.episode_number
            self.scene = ScriptScene(
                number=number or self._next_number(episode_number),
                heading=line.strip("【】[] "), location=location,
                setting=setting or Setting.INTERIOR, time_of_day=time,
                section=f"第{ep}集" if ep else self.episode, episode=episode_number,
            )
            self.script.scenes.append(self.scene)
            return
        if self.scene is None and self._header_line(line):
            return
        self._scene_line(line)

    def _header_line(self, line: str) -> bool:
        """Lines before the first scene: title, metadata, the character list."""
        title = re.fullmatch(r"《(.+?)》.*", line)
        if title and not self.script.title:
            self.script.title = title.group(1).strip()
            return True
        key, sep, value = line.partition("：") if "：" in line else line.partition(":")
        key = key.strip()
        if sep and key in CAST_KEYS:
            self.in_cast = True
            for name in re.split(r"[、，,\s]+", value.strip()):
                if name and self._speaker(name):
                    self.script.ensure_character(name)
            return True
        if sep and key in TITLE_KEYS and not self.script.title:
            self.script.title = value.strip().strip("《》")
            return True
        if sep and key in META_KEYS:
            self.script.metadata[key] = value.strip()
            self.in_cast = False
            return True
        if line in CAST_KEYS:
            self.in_cast = True
            return True
        if self.in_cast:
            m = _LINE.match(line.lstrip("-*·• "))
            if m:
                name = m.group("name").strip()
                character = self.script.ensure_character(name)
                if m.group("paren"):
                    parse_character_description(character, m.group("paren"))
                parse_character_description(character, m.group("text"))
                return True
        if not self.script.title and not self.script.scenes and not self.preamble \
                and len(line) <= 30 and not _LINE.match(line):
            self.script.title = line.strip("《》")
            return True
        self.preamble.append(line)
        return True

    def _scene_line(self, line: str) -> None:
        scene = self._scene()
        if self.pending is not None:
            name, paren = self.pending
            if re.fullmatch(r"[（(][^）)]*[）)]", line):  # （冷笑） between name and speech
                self.pending = (name, "，".join(x for x in (paren, line[1:-1]) if x))
                return
            self.pending = None
            if line[0] not in ACTION_MARKS and parse_scene_heading(line) is None \
                    and self._spoken(scene, name, paren, line):
                return
        if line[0] in ACTION_MARKS:
            text = line.lstrip(ACTION_MARKS + " ")
            if text:
                scene.beats.append(Beat(BeatKind.ACTION, text))
            return
        bare = line.strip("【】[]")
        if any(bare.upper().startswith(t) for t in TRANSITIONS) and len(bare) <= 12:
            scene.beats.append(Beat(BeatKind.TRANSITION, bare.rstrip("：:")))
            return
        if re.fullmatch(r"[（(].*[）)]", line):
            scene.beats.append(Beat(BeatKind.ACTION, line[1:-1].strip()))
            return
        m = _LINE.match(line)
        if m:
            name = m.group("name").strip()
            text = m.group("text").strip()
            key = name
            if key in SCENE_META:
                self._scene_meta(scene, key, text)
                return
            if key in CAST_KEYS:
                for cast_name in re.split(r"[、，,\s]+", text):
                    if cast_name and self._speaker(cast_name):
                        self.script.ensure_character(cast_name)
                return
            if key in META_KEYS:
                return
            if not text and (name in NARRATORS or self._speaker(name)):
                self.pending = (name, m.group("paren") or "")
                return
            if self._spoken(scene, name, m.group("paren") or "", text):
                return
        cue = re.fullmatch(r"(?P<name>[^\s（(]{1,8})\s*(?:[（(](?P<paren>[^）)]*)[）)])?", line)
        if cue and (self._known(cue.group("name")) or cue.group("name") in NARRATORS):
            self.pending = (cue.group("name"), cue.group("paren") or "")
            return
        scene.beats.append(Beat(BeatKind.ACTION, line))

    def _scene_meta(self, scene: ScriptScene, key: str, value: str) -> None:
        if key == "时间":
            for token in _split_tokens(value):
                if token in TIME_WORDS:
                    scene.time_of_day = TIME_WORDS[token]
                    break
        elif key in ("地点", "场景") and not scene.location:
            tokens = [t for t in _split_tokens(value)
                      if t not in TIME_WORDS and t not in SETTING_WORDS]
            scene.location = " ".join(tokens)
            for t in _split_tokens(value):
                if t in SETTING_WORDS:
                    scene.setting = SETTING_WORDS[t]

    def _spoken(self, scene: ScriptScene, name: str, paren: str, text: str) -> bool:
        kind: LineKind = LineKind.DIALOGUE
        speaker: str | None
        upper = name.upper()
        for suffix in ("OS", "VO", "(OS)", "(VO)"):
            if upper.endswith(suffix) and len(name) > len(suffix):
                name = name[: -len(suffix)].strip()
                kind = KIND_TAGS[suffix.strip("()")]
                break
        if name in NARRATORS:
            speaker = None
            kind = NARRATORS[name]
        else:
            speaker = self._speaker(name)
            if speaker is None:
                return False
        emotion, tag = _classify_paren(paren)
        if tag is not None:
            kind = tag
        lead = _LEADING_PAREN.match(text)
        if lead:
            more, tag = _classify_paren(lead.group(1))
            emotion = "，".join(x for x in (emotion, more) if x)
            kind = tag or kind
            text = text[lead.end():]
        trail = _TRAILING_PAREN.search(text)
        if trail:
            more, tag = _classify_paren(trail.group(1))
            if tag is not None and not more:
                kind = tag
                text = text[: trail.start()]
        text = text.strip().strip("“”\"")
        if not text:
            return False
        if speaker is not None:
            self.script.ensure_character(speaker)
        scene.beats.append(Beat(BeatKind.LINE, text, speaker=speaker, emotion=emotion,
                                line_kind=kind))
        return True


def parse_chinese(text: str) -> ParsedScript:
    parser = _ChineseParser()
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        parser.feed(line)
    script = parser.script
    if parser.preamble:
        script.metadata["preamble"] = "\n".join(parser.preamble)
    script.scenes = [s for s in script.scenes if s.beats or s.heading]
    script.number_scenes()
    for s in script.scenes:
        if not s.heading:
            script.warnings.append(
                "Text before the first scene heading was read as a scene without a heading.")
    return script
