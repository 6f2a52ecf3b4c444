"""The dialog manager: one user message -> state update, standalone query, decision, answer.

Per turn: slots are updated from the message (pack patterns first; the model only for a
value the last clarifying question asked for and the patterns missed, and only if it occurs
literally in the message), the message is rewritten into a standalone retrieval query,
required slots for the detected intent are checked (ask, don't guess), then the answerer
retrieves, decides answer/refuse, generates or extracts, and verifies citations. Thanks,
greetings and goodbyes get a polite reply and no search (``smalltalk``); such a turn keeps the
previous query as the topic a later follow-up builds on. The turn, the state snapshot and an
audit row are stored together.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from app.dialog.answerer import Answerer, TokenFn, question_language
from app.dialog.intents import clarifying_question, detect_intents, missing_required
from app.dialog.rewrite import Rewrite, rewrite_query, slot_filters
from app.dialog.sessions import SessionNotFound, SessionStore
from app.dialog.slots import ModelFallback, SlotUpdate, update_slots
from app.dialog.smalltalk import record_small_talk, small_talk_reply
from app.dialog.state import DialogState, Turn
from app.dialog.types import Answer
from verirag.errors import VeriragError

MAX_QUESTION_CHARS = 4000
HISTORY_TURNS = 2
HISTORY_CHARS = 1200


@dataclass
class TurnResult:
    session_id: str
    turn_id: int
    answer: Answer
    rewrite: Rewrite
    slots: SlotUpdate
    state: DialogState


def clean_question(text: str) -> str:
    """Drop control characters and refuse what cannot be a question, with a clear message."""
    cleaned = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable()).strip()
    if not cleaned:
        raise VeriragError("the question is empty; type a question about your documents")
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise VeriragError(f"the question is {len(cleaned)} characters long; the limit is "
                           f"{MAX_QUESTION_CHARS}: shorten it or split it into several")
    return cleaned


class DialogManager:
    def __init__(self, answerer: Answerer, store: SessionStore, *,
                 model_fallback: ModelFallback | None = None, user: str | None = None,
                 clearance: frozenset[str] | None = None) -> None:
        self.answerer = answerer
        self.clearance = clearance  # labels this user may read; None: unrestricted (local CLI)
        self.pack = answerer.pack
        self.store = store
        self.model_fallback = model_fallback
        self.user = user

    def start(self) -> str:
        return self.store.create(self.pack.name, self.user)

    def state(self, session_id: str) -> DialogState:
        if self.user is not None and self.store.owner(session_id) != self.user:
            raise SessionNotFound(f"no conversation {session_id} of yours in '{self.pack.name}'")
        state = self.store.load(session_id)
        if state.pack != self.pack.name:
            raise VeriragError(f"session {session_id} belongs to the '{state.pack}' pack, "
                               f"not '{self.pack.name}'")
        return state

    def _details(self, state: DialogState) -> dict[str, str]:
        described = {s.name: s.description for s in self.pack.slots}
        return {described.get(name, name): v.value for name, v in state.slots.items()}

    def turn(self, session_id: str, text: str, *, on_token: TokenFn | None = None,
             adapter: str | None = None) -> TurnResult:
        question = clean_question(text)
        lang = question_language(question)  # once per turn; everything below is handed it
        state = self.state(session_id)
        reply = small_talk_reply(question, lang, awaiting=bool(state.awaiting))
        if reply is not None:
            return self._small_talk(session_id, state, question, reply)
        fallback = self.model_fallback if state.awaiting else None
        change = update_slots(state, question, self.pack.slots, model_fallback=fallback)
        rewrite = rewrite_query(question, state, self.pack, update=change)
        intents = detect_intents(rewrite.query, self.pack)
        missing = missing_required(state, intents, self.pack)
        if missing:
            answer = Answer(question=question, query=rewrite.query, decision="clarify",
                            text=clarifying_question(missing, lang, pack=self.pack,
                                                     intents=intents),
                            mode="clarify")
            awaiting = [slot.name for slot in missing]
        else:
            generate = self.pack.generation.mode == "generate"
            history = state.history_messages(HISTORY_TURNS, HISTORY_CHARS) if generate else []
            answer = self.answerer.answer(question, query=rewrite.query, history=history,
                                          filters=replace(slot_filters(state, self.pack),
                                                          clearance=self.clearance),
                                          on_token=on_token, adapter=adapter,
                                          details=self._details(state), lang=lang)
            awaiting = []
        state.add_turn(Turn(state.next_index, question, rewrite.query, answer.decision,
                            answer.text, [p.chunk_id for _, p in answer.cited_passages()]))
        state.awaiting = awaiting
        model = self.answerer.generator.model_id if self.answerer.generator else "extractive"
        used_adapter = (adapter or self.answerer.adapter) if self.answerer.generator else None
        turn_id = self.store.record_turn(session_id, state, answer, rewrite, model=model,
                                         adapter=used_adapter, actor=self.user or "")
        return TurnResult(session_id, turn_id, answer, rewrite, change, state)

    def _small_talk(self, session_id: str, state: DialogState, question: str,
                    reply: str) -> TurnResult:
        """Store a small-talk turn: nothing searched, nothing cited, the topic kept."""
        rewrite = Rewrite("", "small talk: answered without a search")
        answer = Answer(question=question, query="", decision="social", text=reply,
                        mode="small talk")
        record_small_talk(state, question, reply)
        turn_id = self.store.record_turn(session_id, state, answer, rewrite, model="none",
                                         adapter=None, actor=self.user or "")
        return TurnResult(session_id, turn_id, answer, rewrite, SlotUpdate(), state)
