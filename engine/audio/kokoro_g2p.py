"""Text → Kokoro phonemes, unit by unit, so the model's durations map back to the text.

Mandarin: jieba words, pypinyin readings in word context, 一/不 tone sandhi, misaki's
pinyin → IPA (the phoneme set Kokoro-82M v1.0 was trained on); words are separated by a
space as misaki does. Digits are read as Chinese numbers (cn2an), Latin words in English.
English: espeak-ng phonemes (piper's bridge over the ``espeakng-loader`` library) mapped to
misaki's symbols (``eɪ`` → ``A``, ``aɪ`` → ``I`` …), one word at a time.

A unit is one shown character (Chinese), one word (English, digits) or one punctuation
mark; its ``pause`` is the least silence that follows it in speech.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from engine.errors import StoryreelError

SENTENCE_PAUSE = 0.35  # 。！？ . ! ?
CLAUSE_PAUSE = 0.15  # ，、 ,
PAUSES = {"。": SENTENCE_PAUSE, "！": SENTENCE_PAUSE, "？": SENTENCE_PAUSE, ".": SENTENCE_PAUSE,
          "!": SENTENCE_PAUSE, "?": SENTENCE_PAUSE, "…": SENTENCE_PAUSE,
          "，": CLAUSE_PAUSE, "、": CLAUSE_PAUSE, ",": CLAUSE_PAUSE,
          "；": 0.25, ";": 0.25, "：": 0.2, ":": 0.2, "—": 0.2}
PUNCT_PHONEME = {"，": ",", "、": ",", "。": ".", "．": ".", "！": "!", "？": "?", "：": ":",
                 "；": ";", ",": ",", ".": ".", "!": "!", "?": "?", ":": ":", ";": ";",
                 "…": "…", "—": "—", "“": "“", "”": "”", "「": "“", "」": "”", "《": "“",
                 "》": "”", "\"": "\"", "(": "(", ")": ")", "（": "(", "）": ")"}
SENTENCE_ENDS = "。！？!?…"

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"(?P<han>[{_HAN}]+)|(?P<num>\d+(?:\.\d+)?)|(?P<latin>[A-Za-z][A-Za-z'’\-]*)"
                   r"|(?P<space>\s+)|(?P<other>.)")
_EN_RUNS = re.compile(r"(?P<word>[A-Za-z0-9][A-Za-z0-9'’\-]*)|(?P<space>\s+)|(?P<other>.)")
# espeak IPA → misaki symbols (longest first); after these, length marks are dropped
_E2M = [("ɜːɹ", "ɜɹ"), ("ɜː", "ɜɹ"), ("ɪə", "iə"), ("aɪ", "I"), ("aʊ", "W"), ("dʒ", "ʤ"),
        ("eɪ", "A"), ("tʃ", "ʧ"), ("ɔɪ", "Y"), ("oʊ", "O"), ("əʊ", "O"), ("ɚ", "əɹ"),
        ("r", "ɹ"), ("x", "k"), ("ç", "k"), ("ɐ", "ə"), ("ɬ", "l"), ("e", "A"), ("ː", ""),
        ("ɾ", "T"), ("ʔ", "t"), ("\u0303", ""), ("\u0329", "")]
_NUMERALS = set("零一二三四五六七八九十百千万亿两")


class G2PError(StoryreelError):
    """Text cannot be turned into Kokoro phonemes."""


@dataclass
class Unit:
    text: str  # what is shown ("" for a space); punctuation keeps its mark
    pos: int  # index of the unit in the line's text
    phonemes: str
    pause: float = 0.0  # least silence after this unit, seconds

    @property
    def spoken(self) -> bool:
        return bool(self.text.strip()) and self.text not in PUNCT_PHONEME


def _quiet_jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def _tone(py: str) -> int:
    return int(py[-1]) if py and py[-1].isdigit() else 5


def sandhi_yi_bu(chars: list[str], pinyins: list[str]) -> list[str]:
    """一 and 不 change tone before the next syllable (不 before a 4th tone → bu2; 一
    before a 4th → yi2, before 1st–3rd → yi4); 一 keeps tone 1 in numbers, after 第, at
    the end, and goes neutral between two copies of a verb (看一看)."""
    out = list(pinyins)
    for i, ch in enumerate(chars):
        nxt = pinyins[i + 1] if i + 1 < len(chars) else ""
        if ch == "不" and nxt and _tone(nxt) == 4:
            out[i] = "bu2"
        elif ch == "一":
            prev = chars[i - 1] if i > 0 else ""
            after = chars[i + 1] if i + 1 < len(chars) else ""
            if 0 < i < len(chars) - 1 and prev == after:
                out[i] = "yi5"
            elif not nxt or prev == "第" or prev in _NUMERALS or after in _NUMERALS:
                out[i] = "yi1"
            elif _tone(nxt) == 4 or _tone(nxt) == 5:
                out[i] = "yi2"
            else:
                out[i] = "yi4"
    return out


def _py2ipa(py: str) -> str:
    from misaki.zh import ZHG2P

    try:
        return ZHG2P.py2ipa(py).replace(chr(815), "")
    except (AssertionError, KeyError, ValueError, IndexError):
        return ""  # a character pypinyin has no reading for stays silent


def zh_units(text: str) -> list[Unit]:
    """Units of a Mandarin line (Chinese characters, numbers, Latin words, marks)."""
    from pypinyin import Style, lazy_pinyin

    jieba = _quiet_jieba()
    units: list[Unit] = []
    for m in _RUNS.finditer(text):
        kind, run, start = m.lastgroup, m.group(), m.start()
        if kind == "han":
            words = jieba.lcut(run, cut_all=False, HMM=True)
            chars: list[str] = []
            pys: list[str] = []
            bounds: list[int] = []
            for w in words:
                pw = lazy_pinyin(w, style=Style.TONE3, neutral_tone_with_five=True)
                if len(pw) != len(w):  # pypinyin merged or split: read one by one
                    pw = [lazy_pinyin(c, style=Style.TONE3, neutral_tone_with_five=True)[0]
                          for c in w]
                chars.extend(w)
                pys.extend(pw)
                bounds.append(len(chars))
            pys = sandhi_yi_bu(chars, pys)
            for i, (ch, py) in enumerate(zip(chars, pys, strict=True)):
                units.append(Unit(ch, start + i, _py2ipa(py)))
                if i + 1 in bounds and i + 1 < len(chars):
                    units.append(Unit("", start + i + 1, " "))
        elif kind == "num":
            import cn2an

            spoken = cn2an.an2cn(run, "low") if "." not in run else cn2an.an2cn(run, "low")
            units.append(Unit(run, start, "".join(u.phonemes for u in zh_units(spoken))))
        elif kind == "latin":
            units.append(Unit(run, start, _en_word(run)))
        elif kind == "space":
            units.append(Unit("", start, " "))
        else:
            _mark(units, run, start)
    return _tidy(units)


def en_units(text: str) -> list[Unit]:
    """Units of an English line: words and marks."""
    units: list[Unit] = []
    for m in _EN_RUNS.finditer(text):
        kind, run, start = m.lastgroup, m.group(), m.start()
        if kind == "word":
            units.append(Unit(run, start, _en_word(run)))
        elif kind == "space":
            units.append(Unit("", start, " "))
        else:
            _mark(units, run, start)
    return _tidy(units)


def _mark(units: list[Unit], mark: str, pos: int) -> None:
    ph = PUNCT_PHONEME.get(mark)
    if ph is None:
        return  # a symbol with no sound
    units.append(Unit(mark, pos, ph, PAUSES.get(mark, 0.0)))
    if mark in "，、。．！？：；":  # misaki puts a space after a Chinese mark
        units.append(Unit("", pos + 1, " "))


def _tidy(units: list[Unit]) -> list[Unit]:
    """No leading, trailing or doubled spaces; none just before a mark."""
    out: list[Unit] = []
    for u in units:
        if u.phonemes == " ":
            if not out or out[-1].phonemes == " ":
                continue
        elif u.text in PUNCT_PHONEME and out and out[-1].phonemes == " " \
                and u.text not in "“「《(（\"":
            out.pop()
        out.append(u)
    while out and out[-1].phonemes == " ":
        out.pop()
    return out


_PHONEMIZER: Any = None


def _en_word(word: str) -> str:
    from piper.phonemize_espeak import EspeakPhonemizer

    global _PHONEMIZER
    if _PHONEMIZER is None:
        _PHONEMIZER = EspeakPhonemizer()
    try:
        sentences = _PHONEMIZER.phonemize("en-us", word.replace("’", "'"))
    except Exception as exc:  # noqa: BLE001 - espeak reports failures as RuntimeError
        raise G2PError(f"espeak cannot read the word {word!r} ({exc}).") from exc
    ps = "".join("".join(s) for s in sentences).strip(" ,.!?;:")
    for old, new in _E2M:
        ps = ps.replace(old, new)
    return ps.replace("o", "ɔ")


def units_for(text: str, language: str) -> list[Unit]:
    return zh_units(text) if language == "zh" else en_units(text)


def split_sentences(units: list[Unit], max_tokens: int) -> list[list[Unit]]:
    """Groups of units ending at sentence marks, none longer than ``max_tokens`` phonemes
    (a long sentence is cut at its last clause mark or space that fits)."""
    groups: list[list[Unit]] = []
    cur: list[Unit] = []
    size = 0
    for u in units:
        n = len(u.phonemes)
        if cur and size + n > max_tokens:
            cut = max((i for i, c in enumerate(cur) if c.phonemes in (",", " ", ";", ":")),
                      default=len(cur) - 1)
            groups.append(cur[: cut + 1])
            cur = cur[cut + 1:]
            size = sum(len(c.phonemes) for c in cur)
        if not cur and u.phonemes == " ":
            continue
        cur.append(u)
        size += n
        if u.text and u.text in SENTENCE_ENDS + ".":
            groups.append(cur)
            cur, size = [], 0
    if cur:
        groups.append(cur)
    out = []
    for g in groups:
        while g and g[-1].phonemes == " ":
            g = g[:-1]
        if any(u.spoken for u in g):
            out.append(g)
    return out
