"""From a client's message list to a stored conversation, and back to the text it shows.

OpenAI's protocol is stateless: each request carries the whole conversation. verirag's dialog
manager keeps state a transcript does not show (slots, the clarifying question being
answered), so each answered request is remembered by the fingerprint of the conversation as
the client will send it back next time (its messages, then the answer as returned). The next
request whose earlier messages carry that fingerprint continues the same session with all of
its state. A conversation verirag has not seen (another client's, or one edited by the user)
is replayed: its earlier questions set the slots and topic, nothing is searched again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from app.api.errors import ApiError
from app.api.schemas import ChatMessage
from app.dialog.manager import DialogManager
from app.dialog.types import Answer

Exchange = tuple[str, str]  # (user message, assistant reply shown to the user)


@dataclass(frozen=True)
class Conversation:
    question: str
    earlier: list[Exchange]


def split(messages: Sequence[ChatMessage]) -> Conversation:
    """The last user message as the question, the user/assistant pairs before it as history.

    System and developer messages are not instructions to verirag — the pack's prompt and
    checks decide how it answers — so they are left out rather than obeyed.
    """
    said = [(m.role, m.text().strip()) for m in messages if m.role in ("user", "assistant")]
    if not said or said[-1][0] != "user":
        raise ApiError(400, "the last message must be the user's question (role 'user')",
                       "invalid_messages")
    earlier: list[Exchange] = []
    for role, text in said[:-1]:
        if role == "user":
            earlier.append((text, ""))
        elif earlier and not earlier[-1][1]:
            earlier[-1] = (earlier[-1][0], text)
    return Conversation(said[-1][1], [(q, a) for q, a in earlier if q])


def fingerprint(user: str, pack: str, exchanges: Sequence[Exchange]) -> str:
    """One conversation as a client sends it, the same whoever normalises whitespace."""
    parts = [user, pack, *[[" ".join(q.split()), " ".join(a.split())] for q, a in exchanges]]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def shown_text(answer: Answer) -> str:
    """What the client shows: the checked answer, then the pack's disclaimer if it has one."""
    return f"{answer.text}\n\n{answer.disclaimer}" if answer.disclaimer else answer.text


def session_for(manager: DialogManager, user: str, conversation: Conversation,
                session_id: str | None) -> str:
    """The session this request continues: the one named, the one its history was answered
    in (the fingerprint holds the user and the pack), or a new one (replayed from the history
    when there is any). The turn itself refuses a session not this user's in this pack."""
    if session_id:
        return session_id
    if not conversation.earlier:
        return manager.start()
    known = manager.store.session_for(fingerprint(user, manager.pack.name,
                                                  conversation.earlier))
    return known or manager.replay(conversation.earlier)


def remember(manager: DialogManager, user: str, conversation: Conversation,
             session_id: str, reply: str, turns: int) -> None:
    """Note where the conversation, as the client will send it back, continues."""
    exchanges = [*conversation.earlier, (conversation.question, reply)]
    manager.store.remember(fingerprint(user, manager.pack.name, exchanges), session_id, turns)
