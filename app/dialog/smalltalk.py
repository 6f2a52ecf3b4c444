"""Thanks, greetings and goodbyes: answered politely, without a search.

Searched as a question, "Thank you!" is either refused ("the documents do not say") or, read
as a follow-up, answered again from the previous query: both are wrong to the person typing
it. A message is small talk only when nothing else is in it ("thanks, and for rivaroxaban?"
is a question) and the assistant is not waiting for an answer to a clarifying question (an
"ok" there may be the user's reply). The reply states no fact, so it needs no citation.
"""

from __future__ import annotations

import re
from typing import Literal

from app.dialog.state import DialogState, Turn

Kind = Literal["thanks", "greeting", "goodbye", "ack"]

_EN_PHRASES: dict[Kind, str] = {
    "thanks": r"thanks?(?:\s+(?:you|u))?(?:\s+(?:so|very)\s+much)?(?:\s+a\s+lot)?|many\s+thanks"
              r"|thx|ty|cheers|much\s+appreciated|appreciate\s+it",
    "greeting": r"(?:hi|hello|hey|good\s+(?:morning|afternoon|evening))(?:\s+there)?",
    "goodbye": r"bye|goodbye|see\s+you(?:\s+later)?|have\s+a\s+(?:good|nice)\s+day",
    "ack": r"ok(?:ay)?|great|perfect|awesome|cool|nice|got\s+it|understood|that\s+helps"
           r"|(?:that\s+is|that's)\s+(?:helpful|great|clear)",
}
_ZH_PHRASES: dict[Kind, str] = {
    "thanks": r"谢谢(?:你|您)?|多谢|感谢(?:你|您)?|非常感谢|谢了",
    "greeting": r"你好|您好|嗨|早上好|下午好|晚上好",
    "goodbye": r"再见|拜拜",
    "ack": r"好的|好|明白了|知道了|收到|懂了",
}
_FILLERS = r"(?:so|very|really|oh|ah|well|and|,|，|、|\s)*"
_PUNCT = r"[\s!！.。,，~～:)）(（]*"  # a "?" asks something
_KIND_ORDER: tuple[Kind, ...] = ("thanks", "goodbye", "greeting", "ack")
_WHOLE = re.compile(
    rf"^{_PUNCT}(?:(?:{'|'.join(_EN_PHRASES.values())}|{'|'.join(_ZH_PHRASES.values())})"
    rf"{_FILLERS}{_PUNCT})+$", re.IGNORECASE)
_KINDS = {kind: re.compile(rf"(?<![a-z])(?:{_EN_PHRASES[kind]})(?![a-z])|{_ZH_PHRASES[kind]}",
                           re.IGNORECASE) for kind in _KIND_ORDER}

_REPLIES: dict[Kind, dict[str, str]] = {
    "thanks": {"en": "You're welcome. Ask another question about the documents whenever you "
                     "like.",
               "zh": "不客气。如还有关于文档的问题，请继续提问。"},
    "greeting": {"en": "Hello. Ask me a question about the documents; every answer cites the "
                       "passages it comes from.",
                 "zh": "您好！请提出关于文档的问题，每个回答都会注明出处。"},
    "goodbye": {"en": "Goodbye.", "zh": "再见。"},
    "ack": {"en": "Ask another question about the documents whenever you like.",
            "zh": "如还有关于文档的问题，请继续提问。"},
}


def small_talk(message: str, *, awaiting: bool = False) -> Kind | None:
    """What kind of small talk ``message`` is, or None if it asks or says anything else.

    While a clarifying question is open (``awaiting``) only thanks, greetings and goodbyes
    count: an "ok" or "好的" may be the start of the user's answer.
    """
    text = " ".join(message.split())
    if not text or len(text) > 80 or not _WHOLE.match(text):
        return None
    kind = next((kind for kind in _KIND_ORDER if _KINDS[kind].search(text)), None)
    return None if awaiting and kind == "ack" else kind


def small_talk_reply(message: str, lang: str, *, awaiting: bool = False) -> str | None:
    """The reply to a small-talk message in ``lang`` ("en" or "zh"); None for anything else."""
    kind = small_talk(message, awaiting=awaiting)
    return None if kind is None else _REPLIES[kind]["zh" if lang == "zh" else "en"]


def record_small_talk(state: DialogState, message: str, reply: str) -> None:
    """Append a small-talk turn to ``state``: nothing searched, nothing cited.

    The turn's query is the previous one, so "and for rivaroxaban?" after "thanks!" still
    swaps into the question before it.
    """
    last = state.last_turn
    state.add_turn(Turn(state.next_index, message, last.query if last else "", "social",
                        reply, []))
