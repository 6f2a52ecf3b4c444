"""What a conversation remembers between turns: the turns themselves and the slot values.

Plain dataclasses with a JSON snapshot, so the manager can persist a session in SQL or a
Streamlit session and restore it exactly. Nothing here decides anything: extracting slots
(``slots``), rewriting follow-ups (``rewrite``) and asking for missing details (``intents``)
read and update this state. Left out on purpose: multi-valued slots (a slot holds one string;
several values found in one message are joined with ", ") and per-turn slot history (the newest
value wins, and the turn it came from is kept so stale context can be recognised).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from app.dialog.types import Decision
from verirag.errors import VeriragError

How = Literal["rule", "model", "user"]
SNAPSHOT_VERSION = 1
SNAPSHOT_TURNS = 20
_HOWS = frozenset(get_args(How))
_DECISIONS = frozenset(get_args(Decision))


class DialogStateError(VeriragError, ValueError):
    """A stored dialog snapshot cannot be restored (corrupt, or from a newer verirag)."""


@dataclass(frozen=True)
class SlotValue:
    """A slot's value, the turn (1-based) it was last stated in, and who found it.

    ``how`` is ``rule`` for a pack pattern, ``model`` for a value a model proposed (accepted
    only because it occurs literally in the user's words), ``user`` for a value the user gave
    as a correction or as the answer to a clarifying question.
    """

    value: str
    turn: int
    how: How = "rule"


@dataclass(frozen=True)
class Turn:
    """One finished exchange; ``query`` is the standalone retrieval query actually used."""

    index: int
    question: str
    query: str
    decision: Decision
    answer_text: str
    cited_chunk_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        # Callers naturally pass a list; a tuple keeps the frozen turn really immutable.
        object.__setattr__(self, "cited_chunk_ids", tuple(self.cited_chunk_ids))


@dataclass
class DialogState:
    """The state of one conversation with one pack.

    ``awaiting`` names the slots the last clarifying question asked for: the user's next
    message is read as the answer ("82" fills ``age``) even without a pattern's context words.
    """

    pack: str
    turns: list[Turn] = field(default_factory=list)
    slots: dict[str, SlotValue] = field(default_factory=dict)
    awaiting: list[str] = field(default_factory=list)

    @property
    def next_index(self) -> int:
        """The 1-based index of the turn being processed now (one past the last finished)."""
        return self.turns[-1].index + 1 if self.turns else 1

    @property
    def last_turn(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    def previous_answer(self, question: str) -> str:
        """The last turn's answer when it answered another question ("" otherwise): asked
        again, the same question rightly gets the same answer."""
        last = self.last_turn
        if last is None or last.decision != "answer" or _same(last.question, question):
            return ""
        return last.answer_text

    def set_slot(self, name: str, value: SlotValue) -> None:
        self.slots[name] = value

    def clear_slot(self, name: str) -> bool:
        """Forget a slot; returns whether it had a value (so the caller can say so)."""
        return self.slots.pop(name, None) is not None

    def add_turn(self, turn: Turn) -> None:
        """Append a finished turn; indices must increase so ``turn`` in slots stays meaningful."""
        if self.turns and turn.index <= self.turns[-1].index:
            raise DialogStateError(
                f"turn index {turn.index} does not follow the last turn ({self.turns[-1].index})")
        self.turns.append(turn)

    def history_messages(self, max_turns: int = 3,
                         max_chars: int = 2000) -> list[dict[str, str]]:
        """The last turns as chat messages (user question, assistant answer), oldest first.

        Whole turns are dropped oldest first to fit ``max_chars``; if even the latest turn is
        too long its answer is cut (the question is kept whole: it is what "it" refers back
        to). Clarifying and refusing turns are kept: "How old is the patient?" is what makes
        the user's "82" intelligible. Small talk ("thanks" / "you're welcome") is skipped: it
        would only take the room of a turn that says something.
        """
        if max_turns <= 0 or max_chars <= 0:
            return []
        chosen: list[Turn] = []
        used = 0
        said = [turn for turn in self.turns if turn.decision != "social"]
        for turn in reversed(said[-max_turns:]):
            size = len(turn.question) + len(turn.answer_text)
            if chosen and used + size > max_chars:
                break
            chosen.append(turn)
            used += size
        messages: list[dict[str, str]] = []
        for turn in reversed(chosen):
            answer = turn.answer_text
            room = max_chars - len(turn.question)
            if len(chosen) == 1 and len(answer) > room:
                answer = answer[: max(room - 1, 0)].rstrip() + "…"
            messages.append({"role": "user", "content": turn.question})
            messages.append({"role": "assistant", "content": answer})
        return messages

    def snapshot(self) -> dict[str, Any]:
        """A JSON-serialisable copy; ``from_snapshot`` restores it exactly, up to the last
        ``SNAPSHOT_TURNS`` turns: every turn is its own ``chat_turns`` row already, and only the
        last few feed rewriting and the prompt, so a 10,000-turn session does not rewrite
        megabytes of state on each new turn."""
        return {
            "version": SNAPSHOT_VERSION,
            "pack": self.pack,
            "turns": [
                {"index": t.index, "question": t.question, "query": t.query,
                 "decision": t.decision, "answer_text": t.answer_text,
                 "cited_chunk_ids": list(t.cited_chunk_ids)}
                for t in self.turns[-SNAPSHOT_TURNS:]
            ],
            "slots": {name: {"value": v.value, "turn": v.turn, "how": v.how}
                      for name, v in self.slots.items()},
            "awaiting": list(self.awaiting),
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> DialogState:
        """Restore a snapshot; a damaged one raises ``DialogStateError`` naming what is wrong."""
        if not isinstance(data, Mapping):
            raise DialogStateError(f"dialog snapshot is a {type(data).__name__}, not an "
                                   "object; start a new conversation")
        version = data.get("version", SNAPSHOT_VERSION)
        if version != SNAPSHOT_VERSION:
            raise DialogStateError(
                f"dialog snapshot version {version!r} is not supported (this verirag reads "
                f"version {SNAPSHOT_VERSION}); start a new conversation")
        try:
            state = cls(pack=str(data["pack"]),
                        awaiting=[str(a) for a in data.get("awaiting", [])])
            for raw in data.get("turns", []):
                state.add_turn(Turn(index=int(raw["index"]), question=str(raw["question"]),
                                    query=str(raw["query"]),
                                    decision=_checked(raw["decision"], _DECISIONS, "decision"),
                                    answer_text=str(raw["answer_text"]),
                                    cited_chunk_ids=tuple(int(i) for i in
                                                          raw.get("cited_chunk_ids", []))))
            for name, raw in data.get("slots", {}).items():
                state.slots[str(name)] = SlotValue(
                    value=str(raw["value"]), turn=int(raw["turn"]),
                    how=_checked(raw.get("how", "rule"), _HOWS, "how"))
        except DialogStateError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DialogStateError(f"dialog snapshot is damaged ({exc!r}); "
                                   "start a new conversation") from exc
        return state


def _checked(value: Any, allowed: frozenset[str], what: str) -> Any:
    if value not in allowed:
        raise DialogStateError(f"dialog snapshot has {what} {value!r}; expected one of "
                               f"{', '.join(sorted(allowed))}")
    return value


def _same(a: str, b: str) -> bool:
    return " ".join(a.lower().split()) == " ".join(b.lower().split())
