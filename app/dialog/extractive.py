"""Extractive answers: the sentences or table rows of the passages that best answer it.

Faithful by construction, so it is a pack's choice where exact wording matters (legal) or the
base model is small, and the fallback when a generated answer keeps no supported sentence.
Sentences are ranked by cosine similarity to the question plus question-term coverage. A table
passage (Markdown rows) offers each row instead, its cells named by the header ("Indication:
Atrial fibrillation; Target INR: 2.5"): a bare "| Atrial fibrillation | 2.5 |" does not say
what 2.5 is. Every word still comes from the passage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.dialog.injection import looks_like_instruction
from app.dialog.types import AnswerSentence
from knowledge.embedding import Embedder
from knowledge.loaders.base import markdown_cells
from knowledge.text.sentences import split_sentences, token_spans
from knowledge.text.tokenize import coverage
from knowledge.types import Passage

MAX_SENTENCES = 2
MAX_CANDIDATES = 60


WINDOW_TOKENS = 40
MIN_TOKENS = 6
_TABLE_SEPARATOR = re.compile(r"^\|(\s*:?-{3,}:?\s*\|)+$")


def table_rows(text: str) -> list[str] | None:
    """A Markdown table passage's data rows, each cell named by its column; None if not one."""
    lines = [line.strip() for line in text.strip().split("\n")]
    if (len(lines) < 3 or not _TABLE_SEPARATOR.match(lines[1])
            or not all(line.startswith("|") and line.endswith("|") for line in lines)):
        return None
    header = markdown_cells(lines[0])
    rows = []
    for line in lines[2:]:
        cells = markdown_cells(line)
        named = [f"{name}: {cell}" if name else cell
                 for name, cell in zip(header, cells, strict=False) if cell]
        if named:
            rows.append("; ".join(named))
    return rows


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


@dataclass(frozen=True)
class Candidate:
    """A quotable sentence or row of passage ``n``; ``context`` is what it is ranked by."""

    n: int
    text: str
    context: str


def candidate_sentences(passages: Sequence[Passage]) -> list[Candidate]:
    out: list[Candidate] = []
    for n, p in enumerate(passages, 1):
        rows = table_rows(p.text)
        if rows is not None:
            # A row is ranked with the table's caption or section ("Table 2. DOAC dose for
            # atrial fibrillation"): "DOAC: Apixaban; ...: 5 mg" alone never mentions it.
            title = p.heading_path[-1] if p.heading_path else ""
            out.extend(Candidate(n, row, f"{title}: {row}" if title else row)
                       for row in rows if not looks_like_instruction(row))
            continue
        for start, end in split_sentences(p.text):
            for piece in _windows(p.text[start:end].strip()):
                # a heading line ("5.1 Single-name limit") names a topic, it answers nothing
                if len(token_spans(piece)) >= MIN_TOKENS and not looks_like_instruction(piece):
                    out.append(Candidate(n, piece, piece))
    return out[:MAX_CANDIDATES]


def extract(question: str, passages: Sequence[Passage], embedder: Embedder,
            max_sentences: int = MAX_SENTENCES) -> list[AnswerSentence]:
    candidates = candidate_sentences(passages)
    if not candidates:
        return []
    qvec = embedder.embed_query(question)
    vecs = embedder.embed_documents([c.context for c in candidates])
    cos = vecs @ qvec
    cov = np.array([coverage(question, c.context) for c in candidates])
    rank_bonus = np.array([0.05 * (len(passages) - c.n) for c in candidates])
    score = cos + 0.5 * cov + rank_bonus
    order = np.argsort(-score, kind="stable")[:max_sentences]
    best = float(score[order[0]])
    chosen = [i for i in order if score[i] >= best - 0.15]
    chosen.sort(key=lambda i: (candidates[i].n, i))  # keep reading order within passages
    return [AnswerSentence(candidates[i].text, (candidates[i].n,)) for i in chosen]
