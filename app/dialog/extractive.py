"""Extractive answers: verbatim sentences from the passages that best answer the question.

Faithful by construction, so it is a pack's choice where exact wording matters (legal) or the
base model is small, and the fallback when a generated answer keeps no supported sentence.
Sentences are ranked by cosine similarity to the question plus question-term coverage.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.dialog.injection import looks_like_instruction
from app.dialog.types import AnswerSentence
from knowledge.embedding import Embedder
from knowledge.text.sentences import split_sentences, token_spans
from knowledge.text.tokenize import coverage
from knowledge.types import Passage

MAX_SENTENCES = 2
MAX_CANDIDATES = 60


WINDOW_TOKENS = 40
MIN_TOKENS = 6


def _windows(text: str) -> list[str]:
    """A run-on "sentence" (a table flattened by PDF extraction) cut into verbatim windows."""
    spans = token_spans(text)
    if len(spans) <= WINDOW_TOKENS * 3 // 2:
        return [text]
    step = WINDOW_TOKENS // 2
    out = []
    for i in range(0, len(spans) - step, step):
        window = spans[i : i + WINDOW_TOKENS]
        out.append(text[window[0][0] : window[-1][1]])
    return out


def candidate_sentences(passages: Sequence[Passage]) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for n, p in enumerate(passages, 1):
        for start, end in split_sentences(p.text):
            for piece in _windows(p.text[start:end].strip()):
                # a heading line ("5.1 Single-name limit") names a topic, it answers nothing
                if len(token_spans(piece)) >= MIN_TOKENS and not looks_like_instruction(piece):
                    out.append((n, piece))
    return out[:MAX_CANDIDATES]


def extract(question: str, passages: Sequence[Passage], embedder: Embedder,
            max_sentences: int = MAX_SENTENCES) -> list[AnswerSentence]:
    candidates = candidate_sentences(passages)
    if not candidates:
        return []
    qvec = embedder.embed_query(question)
    vecs = embedder.embed_documents([s for _, s in candidates])
    cos = vecs @ qvec
    cov = np.array([coverage(question, s) for _, s in candidates])
    rank_bonus = np.array([0.05 * (len(passages) - n) for n, _ in candidates])
    score = cos + 0.5 * cov + rank_bonus
    order = np.argsort(-score, kind="stable")[:max_sentences]
    best = float(score[order[0]])
    chosen = [i for i in order if score[i] >= best - 0.15]
    chosen.sort(key=lambda i: (candidates[i][0], i))  # keep reading order within passages
    return [AnswerSentence(candidates[i][1], (candidates[i][0],)) for i in chosen]
