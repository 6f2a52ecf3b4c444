"""One question -> one grounded answer: retrieve, decide, generate or extract, verify.

Never answers from the model's memory alone: below the pack's evidence threshold it refuses
with the pack's message, and every sentence it keeps is traceable to a numbered passage.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence

from app.dialog.citations import check_answer, render
from app.dialog.evidence import anchor_terms, has_evidence
from app.dialog.extractive import extract
from app.dialog.prompt import build_messages
from app.dialog.types import Answer, AnswerSentence
from app.models.generator import GenerationParams, Generator
from domains.pack import Pack
from knowledge.embedding import Embedder
from knowledge.retrieval import Filters, Retriever
from knowledge.text.language import text_language

TokenFn = Callable[[str], None]
question_language = text_language


def _is_refusal(text: str, refusal: str) -> bool:
    norm = re.sub(r"\W+", " ", text).strip().lower()
    ref = re.sub(r"\W+", " ", refusal).strip().lower()
    return bool(ref) and (ref[:40] in norm or (norm in ref and len(norm) > 10))


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
               details: Mapping[str, str] | None = None, lang: str | None = None) -> Answer:
        """``lang`` is the question's language when the caller has detected it already
        (``question_language``); it is detected here otherwise, and only here."""
        lang = lang or question_language(question)
        refusal = self.pack.refusal_for(lang)
        query = query or question
        t0 = time.perf_counter()
        found = self.retriever.search(query, filters=filters,
                                      lang=lang if query == question else None,
                                      check_terms=anchor_terms(query, lang))
        answer = Answer(question=question, query=query, decision="answer", text="",
                        sources=found.passages, mode=self.pack.generation.mode,
                        evidence={"best_dense": found.best_dense,
                                  "best_coverage": found.best_coverage})
        answer.timings.retrieval_s = time.perf_counter() - t0
        blocked = self._blocked_term(question)
        if blocked or not has_evidence(found, self.pack.retrieval, lang):
            return self._refuse(answer, refusal, blocked)
        if self.pack.generation.mode == "extractive" or self.generator is None:
            answer.mode = "extractive"
            self._finish(answer, extract(query, found.passages, self.embedder), lang, on_token)
            return answer
        self._generate(answer, lang, history, on_token, adapter or self.adapter, details)
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
                  details: Mapping[str, str] | None) -> None:
        assert self.generator is not None
        refusal = self.pack.refusal_for(lang)
        messages = build_messages(self.pack.system_prompt, refusal, answer.question,
                                  answer.sources, history, details)
        stream = self.generator.stream(messages, self.params(), adapter=adapter)
        pieces: list[str] = []
        for piece in stream:
            pieces.append(piece)
            if on_token:
                on_token(piece)
        raw = "".join(pieces)
        answer.raw_output = raw
        answer.timings.first_token_s = stream.first_token_s
        answer.timings.generation_s = stream.total_s
        answer.timings.tokens = stream.n_tokens
        if _is_refusal(raw, refusal):
            self._refuse(answer, refusal)
            return
        checked = check_answer(raw, answer.sources, answer.question)
        answer.invalid_markers = checked.invalid_markers
        answer.removed_sentences = checked.removed
        sentences = checked.sentences
        if not sentences:
            # Nothing the model wrote is supported by the passages: fall back to quoting them.
            answer.mode = "extractive-fallback"
            sentences = extract(answer.query, answer.sources, self.embedder)
        self._finish(answer, sentences, lang, None)

    def _finish(self, answer: Answer, sentences: list[AnswerSentence], lang: str,
                on_token: TokenFn | None) -> None:
        answer.sentences = sentences
        answer.text = render(sentences)
        if on_token and answer.text:
            on_token(answer.text)
        if not sentences:
            self._refuse(answer, self.pack.refusal_for(lang))
            return
        if self.pack.disclaimer_required and self.pack.disclaimer:
            answer.disclaimer = self.pack.disclaimer_for(lang)
