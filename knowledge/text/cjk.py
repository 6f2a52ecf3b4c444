"""The CJK character classes, named once: which characters are written without spaces.

Three classes because three questions are asked of a character, and they differ on purpose:
- ``CJK_CHARS``: Han (with extension A and compatibility ideographs), kana and hangul, the
  scripts that tokenizers and sentence splitters treat one character at a time.
- ``HAN_CHARS``: the unified Han ideographs only, what "is this Chinese?" counts (language
  detection, Chinese-only word lists); kana or hangul must not make a question Chinese.
- ``CJK_TEXT_CHARS``: CJK characters *plus* CJK punctuation and full-width forms, for layout
  decisions (a space between two of these in PDF layout text is never a real space).
Each comes as a string for building character classes and as a compiled single-character
pattern.
"""

from __future__ import annotations

import re

CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
HAN_CHARS = "\u4e00-\u9fff"
CJK_TEXT_CHARS = "\u3000-\u30ff\u3400-\u9fff\uf900-\uffef"

CJK = re.compile(f"[{CJK_CHARS}]")
HAN = re.compile(f"[{HAN_CHARS}]")
CJK_RUN = re.compile(f"[{CJK_CHARS}]+")


def is_han(ch: str) -> bool:
    """One character, a unified Han ideograph."""
    return "\u4e00" <= ch <= "\u9fff"


def han_count(text: str) -> int:
    return sum(1 for ch in text if is_han(ch))


def has_han(text: str) -> bool:
    return HAN.search(text) is not None
