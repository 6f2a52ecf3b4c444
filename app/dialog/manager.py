"""The dialog manager: one user message -> state update, standalone query, decision, answer.

Per turn: slots are updated from the message (pack patterns first; the model only for a
value the last clarifying question asked for and the patterns missed, and only if it occurs
literally in the message), the message is rewritten into a standalone retrieval query, and the
query is searched. Then, in order:

1. **Scope** (``scope``): passages whose document or text holds for another population,
   period or jurisdiction than the one the turn names (the message, the rewritten query, or
   the pack's scope slots: "and for children?" after the adult sepsis bundle) are removed; if
   that removes the evidence, the turn refuses saying what the documents cover.
2. **Clarify** (``intents``, ``conditions``): a slot the question's intent requires that has
   no value is asked for only when the passages found state different conditions on it;
   with one condition the answer is given and the condition said after it.
3. **Answer**: the answerer decides answer/refuse on the kept passages, generates or
   extracts, and verifies citations.

Thanks, greetings and goodbyes get a polite reply and no search (``smalltalk``); such a turn
keeps the previous query as the topic a later follow-up builds on. The turn, the state
snapshot and an audit row are stored together.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from app.dialog import conditions
from app.dialog.answerer import Answerer, TokenFn, question_language
from app.dialog.cache import AnswerCache, cache_key
from app.dialog.intents import (
    clarifying_question,
    detect_intents,
    missing_required,
    slot_label,
)
from app.dialog.phrases import book
from app.dialog.rewrite import Rewrite, rewrite_query, slot_filters
from app.dialog.scope import (
    Documents,
    ScopeOutcome,
    apply_scopes,
    covering_clauses,
    lost_evidence,
    refusal,
)
from app.dialog.scope import reason as scope_reason
from app.dialog.sessions import SessionNotFound, SessionStore
from app.dialog.slots import ModelFallback, SlotUpdate, update_slots
from app.dialog.smalltalk import record_small_talk, small_talk_reply
from app.dialog.state import DialogState, Turn
from app.dialog.types import Answer, Timings
from domains.pack import SlotConfig
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
    cached: bool = False
    """Answered from the cache (the same first question of the same documents)."""


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
                 clearance: frozenset[str] | None = None,
                 cache: AnswerCache | None = None) -> None:
        self.answerer = answerer
        self.cache = cache
        self.clearance = clearance  # labels this user may read; None: unrestricted (local CLI)
        self.pack = answerer.pack
        self.store = store
        self.model_fallback = model_fallback
        self.user = user

    def start(self) -> str:
        return self.store.create(self.pack.name, self.user)

    def replay(self, exchanges: list[tuple[str, str]]) -> str:
        """A new session holding a conversation a client kept itself: each earlier question
        updates the slots and the topic as if it had been asked here, with the answer the
        client shows; nothing is searched or recorded as answered. Returns the session id.

        What cannot be read back from text alone is not guessed: a clarifying question in
        the client's history does not make the next message its answer.
        """
        session_id = self.start()
        state = self.store.load(session_id)
        for text, reply in exchanges:
            question = clean_question(text)
            change = update_slots(state, question, self.pack.slots)
            rewrite = rewrite_query(question, state, self.pack, update=change)
            state.add_turn(Turn(state.next_index, question, rewrite.query, "answer",
                                reply.strip(), []))
        state.awaiting = []
        self.store.save_state(session_id, state)
        return session_id

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
        model, served = self._served(adapter)
        cache = None if state.turns or state.awaiting else self.cache  # first turns only
        key = self._cache_key(question, model, served) if cache is not None else ""
        cached = cache.get(key) if cache is not None else None
        if cached is not None:
            answer, awaiting = cached.answer, list(cached.awaiting)
            answer.timings = Timings()  # this turn searched and generated nothing
            answer.evidence["cached"] = 1.0
            rewrite = replace(rewrite, reason=f"{cached.reason}; answered from the cache")
        else:
            try:
                answer, awaiting, rewrite = self._respond(question, lang, state, rewrite,
                                                          on_token, adapter)
            except BaseException:
                if cache is not None:
                    cache.abandon(key)
                raise
            if cache is not None:
                cache.put(key, answer, awaiting, rewrite.reason)
        state.add_turn(Turn(state.next_index, question, rewrite.query, answer.decision,
                            answer.text, [p.chunk_id for _, p in answer.cited_passages()]))
        state.awaiting = awaiting
        turn_id = self.store.record_turn(session_id, state, answer, rewrite, model=model,
                                         adapter=served, actor=self.user or "")
        return TurnResult(session_id, turn_id, answer, rewrite, change, state,
                          cached=cached is not None)

    def _respond(self, question: str, lang: str, state: DialogState, rewrite: Rewrite,
                 on_token: TokenFn | None, adapter: str | None,
                 ) -> tuple[Answer, list[str], Rewrite]:
        """Search, scope, clarify or answer: the answer, the slots it asks for, the rewrite."""
        intents = detect_intents(rewrite.query, self.pack)
        missing = missing_required(state, intents, self.pack)
        t0 = time.perf_counter()
        found = self.answerer.search(question, query=rewrite.query, lang=lang,
                                     filters=replace(slot_filters(state, self.pack),
                                                     clearance=self.clearance))
        documents = Documents.for_pack(self.answerer.retriever.kb.repo.document_chunks,
                                       self.pack)
        scoped = apply_scopes(found, self.pack, [question, rewrite.query], state, documents)
        retrieval_s = time.perf_counter() - t0
        if scoped.asked:
            rewrite = replace(rewrite, reason=f"{rewrite.reason}; {scope_reason(scoped)}")
        lost = lost_evidence(found, scoped, self.pack.retrieval, lang)
        ask, notes = ([], {}) if lost else self._dependence(missing, scoped, documents,
                                                              rewrite.query, lang)
        if ask:
            answer = Answer(question=question, query=rewrite.query, decision="clarify",
                            text=clarifying_question(ask, lang, pack=self.pack,
                                                     intents=intents),
                            mode="clarify")
            awaiting = [slot.name for slot in ask]
        else:
            generate = self.pack.generation.mode == "generate"
            history = state.history_messages(HISTORY_TURNS, HISTORY_CHARS) if generate else []
            answer = self.answerer.answer_from(scoped.found, question, query=rewrite.query,
                                               history=history, on_token=on_token,
                                               adapter=adapter, details=self._details(state),
                                               lang=lang, retrieval_s=retrieval_s,
                                               said_before=state.previous_answer(question))
            self._explain(answer, scoped, lost, notes, lang, on_token)
            awaiting = []
        return answer, awaiting, rewrite

    def _served(self, adapter: str | None) -> tuple[str, str | None]:
        """The model and the adapter this turn answers with (an extractive pack: neither)."""
        generator = self.answerer.generator
        if generator is None:
            return "extractive", None
        return generator.model_id, adapter or self.answerer.adapter

    def _cache_key(self, question: str, model: str, adapter: str | None) -> str:
        return cache_key(
            pack=self.pack.name, settings=repr((self.pack.retrieval, self.pack.generation)),
            revision=self.answerer.retriever.kb.revision(), model=model, adapter=adapter,
            clearance=self.clearance, question=question)

    def _dependence(self, missing: list[SlotConfig], scoped: ScopeOutcome,
                    documents: Documents, query: str, lang: str,
                    ) -> tuple[list[SlotConfig], dict[str, conditions.Condition]]:
        """Which missing slots to ask for, and the one condition each other one holds under.

        Read from the sentences of the passages an answer would rest on, less those about
        another entity than the query's (another drug's age rule), and from their documents'
        scope statements (an adult protocol's "adults" is a condition its dose holds under).
        A slot whose conditions the pack gives no way to see is asked for, as before.
        """
        if not missing:
            return [], {}
        passages = conditions.relevant_passages(scoped.found, self.pack.retrieval, lang)
        entities = conditions.entity_values(query, self.pack)
        near = documents.neighbours(passages)
        texts = [unit for path, text in [*((p.heading_path, p.text) for p in passages),
                                         *((c.heading_path, c.text) for c in near)]
                 for unit in conditions.sentences("\n".join([*path, text]))
                 if not conditions.about_another(unit, entities, self.pack)]
        units = documents.units(p.doc_id for p in passages)
        texts += covering_clauses([unit for doc in units.values() for unit in doc])
        wanted = [v for a in scoped.asked for v in a.values]
        return conditions.dependence(missing, texts, self.pack, wanted)

    def _explain(self, answer: Answer, scoped: ScopeOutcome, lost: bool,
                 notes: dict[str, conditions.Condition], lang: str,
                 on_token: TokenFn | None) -> None:
        """Say what the documents cover when scope left nothing to answer from, and the
        condition an answer holds under when the question did not give it (streamed after
        the answer, so what was printed is the whole answer)."""
        if scoped.removed:
            answer.evidence["scope_removed"] = float(len(scoped.removed))
        if answer.decision == "refuse" and lost and "blocked_term" not in answer.evidence:
            answer.text = refusal(scoped, lang)
            return
        if answer.decision != "answer":
            return
        slots = {s.name: s for s in self.pack.slots}
        said = []
        for name, condition in notes.items():
            slot = slots[name]
            if conditions.states(answer.text, condition, slot, self.pack):
                continue
            said.append(book(lang).CONDITION_NOTE.format(
                condition=conditions.describe(condition, slot, self.pack, lang),
                slot=slot_label(slot, lang)))
        if said:
            added = "".join(f"\n\n{note}" for note in said)
            answer.text += added
            if on_token:
                on_token(added)

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
