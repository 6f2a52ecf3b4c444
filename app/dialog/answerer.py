"""One question -> one grounded answer: retrieve, decide, generate or extract, verify.

Never answers from the model's memory alone: below the pack's evidence threshold it refuses
with the pack's message, and every sentence it keeps is traceable to a numbered passage.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence

from app.dialog.arithmetic import asks_for_calculation, calculate
from app.dialog.citations import CheckedStream, Numbering, render, render_piece
from app.dialog.claim_text import MARKER
from app.dialog.comparison import asks_for_comparison, compare
from app.dialog.evidence import anchor_terms, has_evidence
from app.dialog.extractive import extract
from app.dialog.prompt import build_messages
from app.dialog.relevance import answers_the_question, mentions
from app.dialog.types import Answer, AnswerSentence
from app.models.generator import GenerationParams, Generator
from domains.pack import Pack
from knowledge.embedding import Embedder
from knowledge.retrieval import Filters, RetrievalResult, Retriever
from knowledge.text.language import text_language
from knowledge.text.tokenize import key_terms

TokenFn = Callable[[str], None]
question_language = text_language


def _is_refusal(text: str, refusal: str) -> bool:
    norm = re.sub(r"\W+", " ", text).strip().lower()
    ref = re.sub(r"\W+", " ", refusal).strip().lower()
    return bool(ref) and (ref[:40] in norm or (norm in ref and len(norm) > 10))


def _unmarked(text: str) -> str:
    """An answer's words without its citation markers (numbers change between turns)."""
    return " ".join(MARKER.sub(" ", text).split())


class Answerer:
    """Answers for one pack; the generator and embedder are shared with other packs."""

    def __init__(self, pack: Pack, retriever: Retriever, generator: Generator | None,
                 embedder: Embedder, *, adapter: str | None = None) -> None:
        """``adapter`` is the pack's LoRA adapter name on the shared generator (None: base)."""
        self.pack = pack
        self.retriever = retriever
        self.generator = generator
        self.embedder = embedder
        self.adapter = adapter

    def params(self) -> GenerationParams:
        return self.pack.generation

    def answer(self, question: str, *, query: str | None = None,
               history: Sequence[dict[str, str]] = (), filters: Filters | None = None,
               on_token: TokenFn | None = None, adapter: str | None = None,
               details: Mapping[str, str] | None = None, lang: str | None = None,
               on_draft: TokenFn | None = None) -> Answer:
        """``lang`` is the question's language when the caller has detected it already
        (``question_language``); it is detected here otherwise, and only here. ``on_token``
        receives checked text only; ``on_draft`` the model's unchecked draft as it is written."""
        lang = lang or question_language(question)
        query = query or question
        t0 = time.perf_counter()
        found = self.search(question, query=query, filters=filters, lang=lang)
        return self.answer_from(found, question, query=query, history=history,
                                on_token=on_token, adapter=adapter, details=details, lang=lang,
                                retrieval_s=time.perf_counter() - t0, on_draft=on_draft)

    def search(self, question: str, *, query: str | None = None,
               filters: Filters | None = None, lang: str | None = None) -> RetrievalResult:
        """The passages an answer to ``question`` would rest on (the manager reads them to
        decide whether a missing detail changes the answer before asking for it)."""
        lang = lang or question_language(question)
        query = query or question
        return self.retriever.search(query, filters=filters,
                                     lang=lang if query == question else None,
                                     check_terms=anchor_terms(query, lang))

    def answer_from(self, found: RetrievalResult, question: str, *, query: str | None = None,
                    history: Sequence[dict[str, str]] = (), on_token: TokenFn | None = None,
                    adapter: str | None = None, details: Mapping[str, str] | None = None,
                    lang: str | None = None, retrieval_s: float = 0.0,
                    on_draft: TokenFn | None = None, said_before: str = "") -> Answer:
        """Answer ``question`` from a search already made (``search``).

        ``said_before`` is the dialog's previous answer to another question: a quote that
        only repeats it does not answer this one ("any reason to end?" after "what happens
        to Toby at the end?") and is refused."""
        lang = lang or question_language(question)
        refusal = self.pack.refusal_for(lang)
        query = query or question
        answer = Answer(question=question, query=query, decision="answer", text="",
                        sources=found.passages, mode=self.pack.generation.mode,
                        evidence={"best_dense": found.best_dense,
                                  "best_coverage": found.best_coverage})
        answer.timings.retrieval_s = retrieval_s
        blocked = self._blocked_term(question)
        if blocked or not has_evidence(found, self.pack.retrieval, lang):
            return self._refuse(answer, refusal, blocked)
        worked = calculate(query, found.passages, lang) or compare(query, found.passages, lang)
        if worked is not None:
            # an average, a change or a peak over a table row's periods: the working shown
            answer.mode = "calculated"
            self._finish(answer, [worked], lang, on_token, said_before)
            return answer
        if self.pack.generation.mode == "extractive" or self.generator is None:
            answer.mode = "extractive"
            self._finish(answer, extract(query, found.passages, self.embedder), lang, on_token,
                         said_before)
            return answer
        self._generate(answer, lang, history, on_token, adapter or self.adapter, details,
                       on_draft, said_before)
        return answer

    def _blocked_term(self, question: str) -> str | None:
        lowered = question.lower()
        return next((t for t in self.pack.blocked_terms if t.lower() in lowered), None)

    def _refuse(self, answer: Answer, refusal: str, blocked: str | None = None) -> Answer:
        answer.decision = "refuse"
        answer.text = refusal
        answer.sources = []
        if blocked:
            answer.evidence["blocked_term"] = 1.0
        return answer

    def _generate(self, answer: Answer, lang: str, history: Sequence[dict[str, str]],
                  on_token: TokenFn | None, adapter: str | None,
                  details: Mapping[str, str] | None, on_draft: TokenFn | None,
                  said_before: str = "") -> None:
        """Generate, checking each sentence as it completes: ``on_token`` receives only
        checked sentences (numbered in order of first use); the unchecked draft goes to
        ``on_draft`` (a verbose or detail view) and to ``answer.raw_output``."""
        assert self.generator is not None
        refusal = self.pack.refusal_for(lang)
        messages = build_messages(self.pack.system_prompt, refusal, answer.question,
                                  answer.sources, history, details)
        numbering = Numbering()
        shown: list[AnswerSentence] = []

        def show(sentence: AnswerSentence) -> None:
            shown.append(numbering.sentence(sentence))
            if on_token:
                on_token(render_piece(shown[-1], len(shown) - 1, shown))

        checker = CheckedStream(answer.sources, answer.question, show)
        stream = self.generator.stream(messages, self.params(), adapter=adapter)
        pieces: list[str] = []
        for piece in stream:
            pieces.append(piece)
            if on_draft:
                on_draft(piece)
            if not _is_refusal("".join(pieces), refusal):
                checker.feed(piece)
        raw = "".join(pieces)
        answer.raw_output = raw
        answer.timings.first_token_s = stream.first_token_s
        answer.timings.generation_s = stream.total_s
        answer.timings.tokens = stream.n_tokens
        answer.timings.prompt_tokens = stream.n_prompt_tokens
        if _is_refusal(raw, refusal):
            self._refuse(answer, refusal)
            return
        checked = checker.finish()
        answer.invalid_markers = checked.invalid_markers
        answer.removed_sentences = checked.removed
        # true to its passages but about something else ("150 ml of pure fruit juice" for
        # "what should I give?"): the passages may still hold a sentence that answers
        off_topic = bool(shown) and not answers_the_question(
            answer.query, shown, numbering.passages(answer.sources),
            self.retriever.documents_mention)
        if off_topic:
            answer.removed_sentences.extend(f"off-topic: {s.text}" for s in shown)
            shown.clear()
        if not shown:
            # Nothing the model wrote is supported by the passages, or nothing of it answers:
            # fall back to quoting them. What was streamed already, the caller corrects with
            # the final text.
            answer.mode = "extractive-fallback"
            self._finish(answer, extract(answer.query, answer.sources, self.embedder), lang,
                         None if off_topic else on_token, said_before)
            return
        answer.sources = numbering.passages(answer.sources)
        self._finish(answer, shown, lang, None)

    def _finish(self, answer: Answer, sentences: list[AnswerSentence], lang: str,
                on_token: TokenFn | None, said_before: str = "") -> None:
        """Number the citations (unless already numbered), render, and hand over the text.

        An answer that mentions too little of what was asked is refused: every sentence of
        it is true to its passage, but a sentence about something else is not an answer, and
        shown as one it is a confident wrong answer.
        """
        if sentences and not answers_the_question(answer.query, sentences, answer.sources,
                                                  self.retriever.documents_mention):
            answer.removed_sentences.extend(f"off-topic: {s.text}" for s in sentences)
            sentences = []
        if answer.mode.startswith("extractive") and asks_for_calculation(answer.query):
            # a quoted row gives the figures, not the average or change that was asked for
            answer.removed_sentences.extend(f"not the computed figure asked for: {s.text}"
                                            for s in sentences if s.row)
            sentences = [s for s in sentences if not s.row]
        if answer.mode.startswith("extractive") and asks_for_comparison(answer.query):
            # "in which year was it highest?": a quoted sentence does not compare the years
            answer.removed_sentences.extend(f"not the comparison asked for: {s.text}"
                                            for s in sentences)
            sentences = []
        if on_token is not None or answer.mode.startswith("extractive"):
            numbering = Numbering()
            sentences = [numbering.sentence(s) for s in sentences]
            answer.sources = numbering.passages(answer.sources)
        answer.text = render(sentences)
        if (said_before and sentences and _unmarked(answer.text) == _unmarked(said_before)
                and not mentions(said_before, key_terms(answer.question))):
            # the same quote again, and nothing the new question says is in it ("and in
            # 2022?" may rightly get the sentence giving both years)
            answer.removed_sentences.extend(f"said in the previous answer: {s.text}"
                                            for s in sentences)
            sentences = []
            answer.text = ""
        answer.sentences = sentences
        if on_token and answer.text:
            on_token(answer.text)
        if not sentences:
            self._refuse(answer, self.pack.refusal_for(lang))
            return
        if self.pack.disclaimer_required and self.pack.disclaimer:
            answer.disclaimer = self.pack.disclaimer_for(lang)
