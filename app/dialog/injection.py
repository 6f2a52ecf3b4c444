"""Instructions planted in documents are data: they are masked before a model sees them.

The prompt already fences passages and tells the model to ignore instructions inside them, but
a 135M model does not reliably obey that, so sentences that read as instructions to an AI are
replaced by a visible marker in the prompt and never chosen for an extractive answer. The
stored passage is unchanged: users still see the whole source when they open a citation.
"""

from __future__ import annotations

import re

MARKER = "[instruction-like text withheld from the model]"

_PATTERNS = [
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+)?"
    r"(?:previous|prior|above|earlier|preceding|your|system|these|those|all)\b[^.!?\n]{0,30}"
    r"\b(?:instructions?|prompts?|rules|directions|messages?|context)\b",
    r"\byou are now\b", r"\bact as\b[^.!?\n]{0,30}\b(?:assistant|ai|model|system)\b",
    r"\b(?:system|developer)\s*(?:prompt|message)\s*:",
    r"\b(?:reply|respond|answer|say)\s+(?:only\s+)?with\s+(?:the\s+word\s+)?['\"]?\w+['\"]?\s*$",
    r"\breveal\b[^.!?\n]{0,30}\b(?:prompt|instructions|password|secret)",
    r"忽略(?:之前|以上|前面|上述|所有)?的?(?:指令|指示|提示|规则|要求)",
    r"你现在是", r"(?:系统|开发者)提示",
]
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?\n。！？]*[.!?\n。！？]?")


def looks_like_instruction(sentence: str) -> bool:
    return bool(_INSTRUCTION.search(sentence))


def neutralize(text: str) -> tuple[str, int]:
    """The text with instruction-like sentences replaced by a marker, and how many there were."""
    out: list[str] = []
    count = 0
    for match in _SENTENCE.finditer(text):
        sentence = match.group()
        if sentence.strip() and looks_like_instruction(sentence):
            out.append(MARKER + " ")
            count += 1
        else:
            out.append(sentence)
    return "".join(out), count
