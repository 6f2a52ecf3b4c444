"""Instructions planted in documents are data: they are masked before a model sees them.

The prompt already fences passages and tells the model to ignore instructions inside them, but
a 135M model does not reliably obey that, so sentences that read as instructions to an AI are
replaced by a visible marker in the prompt and never chosen for an extractive answer. The
stored passage is unchanged: users still see the whole source when they open a citation.
"""

from __future__ import annotations

import re
import unicodedata

MARKER = "[instruction-like text withheld from the model]"

# Sentences are matched on a folded copy, so the obvious disguises do not slip through: zero-
# width and soft-hyphen characters inside a word ("Ig\u200bnore"), full-width letters (NFKC),
# and digits or symbols standing for letters inside a word ("Ign0re", "1gnore", "@ct as").
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_LEET = str.maketrans("013457@$", "oieastas")
_LEET_WORD = re.compile(r"\b(?=[\w@$]*[a-z])(?=[\w@$]*[013457@$])[\w@$]+", re.IGNORECASE)

_PATTERNS = [
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+)?"
    r"(?:previous|prior|above|earlier|preceding|your|system|these|those|all)\b[^.!?\n]{0,30}"
    r"\b(?:instructions?|prompts?|rules|directions|messages?|context)\b",
    r"\byou are now\b", r"\bact as\b[^.!?\n]{0,30}\b(?:assistant|ai|model|system)\b",
    r"\b(?:system|developer)\s*(?:prompt|message)\s*:",
    # A chat role speaking, then an order ("System: new policy...", "assistant: ignore...");
    # a role in capitals needs no order after it (_ROLE_LINE below).
    r"\b(?:system|assistant)\s*[:：]\s*(?:new|updated|override|ignore|disregard|forget|you\b|"
    r"from now|always|never)",
    r"\b(?:reply|respond|answer|say)\s+(?:only\s+)?with\s+(?:the\s+word\s+)?['\"]?\w+['\"]?\s*$",
    r"\breveal\b[^.!?\n]{0,30}\b(?:prompt|instructions|password|secret)",
    r"(?:忽略|无视|忘记|忘掉)(?:之前|以上|前面|上述|所有|全部|先前|此前|你的)*的?"
    r"(?:指令|指示|提示|规则|要求|设定)",
    r"你现在是", r"(?:从现在起|从现在开始|从今以后|现在起)[，,]?\s*你(?:是|将|要|必须|只)",
    r"(?:系统|开发者)(?:提示|消息|指令)", r"^\W*(?:系统|助手)\s*[:：]",
]
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)
# "SYSTEM:" / "### ASSISTANT:" at the start of a line or a heading: case matters here, since
# "Developer: Acme Ltd" heads a party block in a software contract.
_ROLE_LINE = re.compile(r"(?:^|[>|#(])\W*(?:SYSTEM|ASSISTANT)\s*[:：]")
# Only these words are read through digit-for-letter disguises ("Ign0re", "1gnore"): folding
# every word with a digit would turn "Tranche A1" into "ai".
_LEET_TARGETS = frozenset({"ignore", "disregard", "forget", "override", "system",
                           "instructions", "instruction", "previous", "prompt"})
_SENTENCE = re.compile(r"[^.!?\n。！？]*[.!?\n。！？]?")


def _unleet(match: re.Match[str]) -> str:
    folded = match.group().translate(_LEET)
    return folded if folded.lower() in _LEET_TARGETS else match.group()


def _fold(text: str) -> str:
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    return _LEET_WORD.sub(_unleet, text)


def looks_like_instruction(sentence: str) -> bool:
    folded = _fold(sentence)
    return bool(_INSTRUCTION.search(folded) or _ROLE_LINE.search(folded))


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
