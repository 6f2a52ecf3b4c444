"""Thanks, greetings and goodbyes: answered politely, without a search.

Searched as a question, "Thank you!" is either refused ("the documents do not say") or, read
as a follow-up, answered again from the previous query: both are wrong to the person typing
it. A message is small talk only when nothing else is in it ("thanks, and for rivaroxaban?"
is a question) and the assistant is not waiting for an answer to a clarifying question (an
"ok" there may be the user's reply). The reply states no fact, so it needs no citation. The
phrases and replies are in the phrasebooks (``app.dialog.phrases``).
"""

from __future__ import annotations

import re
from typing import Literal

from app.dialog.phrases import book, en, zh
from app.dialog.state import DialogState, Turn

Kind = Literal["thanks", "greeting", "goodbye", "ack"]

_FILLERS = rf"(?:{en.SMALL_TALK_FILLERS}|,|，|、|\s)*"
_PUNCT = r"[\s!！.。,，~～:)）(（]*"  # a "?" asks something
_KIND_ORDER: tuple[Kind, ...] = ("thanks", "goodbye", "greeting", "ack")
_WHOLE = re.compile(
    rf"^{_PUNCT}(?:(?:{'|'.join(en.SMALL_TALK.values())}|{'|'.join(zh.SMALL_TALK.values())})"
    rf"{_FILLERS}{_PUNCT})+$", re.IGNORECASE)
_KINDS = {kind: re.compile(rf"(?<![a-z])(?:{en.SMALL_TALK[kind]})(?![a-z])|{zh.SMALL_TALK[kind]}",
                           re.IGNORECASE) for kind in _KIND_ORDER}


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
    return None if kind is None else str(book(lang).SMALL_TALK_REPLIES[kind])


def record_small_talk(state: DialogState, message: str, reply: str) -> None:
    """Append a small-talk turn to ``state``: nothing searched, nothing cited.

    The turn's query is the previous one, so "and for rivaroxaban?" after "thanks!" still
    swaps into the question before it.
    """
    last = state.last_turn
    state.add_turn(Turn(state.next_index, message, last.query if last else "", "social",
                        reply, []))
