"""What a clause negates, in English and Chinese, as the claim checker compares it.

A claim that drops or adds a "not" says the opposite of its passage while sharing every other
word with it, so negation is compared on its own — word by word, not clause by clause: "工人
到人社局未投诉" is not supported by a sentence that says "没有支付工资 ... 到人社局投诉" although
both hold a negation. ``negated_words`` gives the words each negation applies to (the next
content words in English, the next two characters in Chinese). Words that look negative but
do not negate ("not only", "no more than", "无论", "不超过") are masked first: "no more than 40
mmol" and "up to 40 mmol" say the same.
"""

from __future__ import annotations

import re

from knowledge.text.cjk import CJK_CHARS
from knowledge.text.tokenize import stem

_EN = re.compile(
    r"\b(?:not|no|never|none|nor|neither|without|cannot|can't|won't|don't|doesn't|didn't|"
    r"isn't|aren't|wasn't|weren't|shouldn't|mustn't|couldn't|wouldn't|hasn't|haven't|hadn't)"
    r"\b")
_ZH = re.compile(r"没有|不得|不能|不可|不应|不宜|禁止|禁用|不|未|没|无|非|勿|否")
_NOT_NEGATING = re.compile(
    r"\bnot only\b|\bno\.\s*\d|\bno (?:later|less|more|fewer|earlier) than\b|"
    r"\bnone of the above\b|不仅|不但|不论|无论|非常|不同|不断|不少|不久|否则|不过|除非|"
    r"并非常|不超过|不低于|不少于|不高于|不大于|不小于|不迟于|不早于|无误|非法",
    re.IGNORECASE)
_EN_SCOPE = 3
_FILLER = frozenset(("be", "been", "is", "are", "was", "were", "to", "the", "a", "an",
                     "being", "have", "has", "had", "do", "does", "did", "at", "all", "yet",
                     "also", "always", "usually", "in", "of", "for", "with", "any"))
_WORD = re.compile(f"[^\\W_{CJK_CHARS}]+|[{CJK_CHARS}]")
_HAN = re.compile(f"[{CJK_CHARS}]")


def _mask(text: str) -> str:
    return _NOT_NEGATING.sub(lambda m: " " * len(m.group()), text.lower())


def negations(text: str) -> list[tuple[str, ...]]:
    """For each negation in ``text``, the words it applies to, nearest first (English:
    stemmed content words; Chinese: the bigrams of the next three characters)."""
    masked = _mask(text)
    out: list[tuple[str, ...]] = []
    for m in _EN.finditer(masked):
        words = [w for w in _WORD.findall(masked[m.end():])[: _EN_SCOPE + 3]
                 if not _HAN.match(w) and w not in _FILLER][:_EN_SCOPE]
        out.append(tuple(stem(w) for w in words))
    for m in _ZH.finditer(masked):
        han = re.match(f"[{CJK_CHARS}]{{1,3}}", masked[m.end():])
        run = han.group() if han else ""
        out.append(tuple(run[i: i + 2] for i in range(len(run) - 1)) or ((run,) if run else ()))
    return out


def negated_words(text: str) -> frozenset[str]:
    """Every word some negation in ``text`` applies to."""
    return frozenset(w for scope in negations(text) for w in scope)
