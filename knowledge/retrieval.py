"""Query -> ranked, citable passages: dense (FAISS) and BM25, fused (knowledge.index.fusion),
one passage per section of a page.

Every passage returned comes from a document that is ``ready`` in SQL, so a vector orphaned by
a crash or a document deleted a moment ago is never shown or cited. The result carries every
signal the dialog layer needs to decide whether the evidence is strong enough to answer at all —
each passage's dense cosine and question-term coverage, and which of the terms the caller asked
about no visible passage contains — so that decision never calls back into the knowledge base.
The reader's access filter is computed once per search and serves all three.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from domains.pack import RetrievalConfig
from knowledge.conditions import conditions_first
from knowledge.index.fusion import rrf_fuse, score_fuse
from knowledge.kb import KnowledgeBase, embedding_text
from knowledge.metadata import file_words, match, preference, title_terms
from knowledge.rerank import Reranker
from knowledge.store import DocumentRow
from knowledge.text.language import text_language
from knowledge.text.tokenize import coverage, search_tokens
from knowledge.types import Passage


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some documents; empty means no restriction.

    ``clearance`` is access control, not a search preference: with it set, a document is
    searchable only if every one of its labels is in it (an unlabelled document always is).
    ``None`` means unrestricted (a local operator); an empty set means "no labels at all".
    """

    doc_ids: frozenset[int] = frozenset()
    doc_names: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    since: datetime | None = None
    until: datetime | None = None
    clearance: frozenset[str] | None = None
    # Not a restriction: documents whose name or title names one of these rank first.
    prefer: frozenset[str] = frozenset()

    @property
    def active(self) -> bool:
        return bool(self.doc_ids or self.doc_names or self.tags or self.since or self.until
                    or self.clearance is not None)

    @property
    def narrows(self) -> bool:
        """Whether anything besides clearance restricts the search."""
        return replace(self, clearance=None).active


@dataclass
class RetrievalResult:
    """Ranked passages plus the evidence signals: ``dense`` (cosine) and ``lexical`` (share of
    the query's key terms present) per passage, and ``unknown_terms``, those of the search's
    ``check_terms`` that no passage the reader may see contains."""

    query: str
    passages: list[Passage]
    dense: dict[int, float] = field(default_factory=dict)
    lexical: dict[int, float] = field(default_factory=dict)
    unknown_terms: list[str] = field(default_factory=list)

    @property
    def best_dense(self) -> float:
        return max((self.dense.get(p.chunk_id, -1.0) for p in self.passages), default=-1.0)

    @property
    def best_coverage(self) -> float:
        return max((self.lexical.get(p.chunk_id, 0.0) for p in self.passages), default=0.0)


class Retriever:
    """Searches one knowledge base according to a pack's retrieval settings."""

    def __init__(self, kb: KnowledgeBase, cfg: RetrievalConfig | None = None,
                 reranker: Reranker | None = None) -> None:
        self.kb = kb
        self.cfg = cfg or kb.pack.retrieval
        self.reranker = reranker

    def allowed_ids(self, filters: Filters) -> set[int] | None:
        """The chunk ids ``filters`` lets a search see; None when it restricts nothing."""
        if not filters.active:
            return None
        docs = self.kb.repo.ready_documents()
        keep = [d.id for d in docs if _doc_matches(d, filters)]
        if not filters.narrows and len(keep) == len(docs):
            return None  # cleared for everything here: skip the id filter's cost
        if not keep:
            return set()
        return self.kb.repo.chunk_ids(keep)

    def search(self, query: str, k: int | None = None, filters: Filters | None = None,
               mode: str | None = None, *, lang: str | None = None,
               check_terms: Sequence[str] = ()) -> RetrievalResult:
        """Top ``k`` passages for ``query`` that ``filters`` allows.

        ``lang`` is the query's language when the caller has detected it already (it picks the
        fusion weights); ``check_terms`` are terms the caller's evidence decision needs to know
        are absent from every visible passage (reported in ``unknown_terms``).
        """
        self.kb.reload()
        k = k or self.cfg.top_k
        mode = mode or self.cfg.mode
        filters = filters or Filters()
        allowed = self.allowed_ids(filters)
        fetch = max(self.cfg.fetch_k, k)
        use_dense = mode == "dense" or (
            # The embedder cannot rank a language it was not trained on (Chinese with the
            # English default): its ranking would only push BM25's good hits down. Cosines
            # are still computed below for the evidence check.
            mode == "hybrid" and (lang or text_language(query)) in self.cfg.dense_languages)
        use_bm25 = mode in ("bm25", "hybrid")
        qvec = self.kb.embedder.embed_query(query) if len(self.kb.dense) else None
        dense_hits = self.kb.dense.search(qvec, fetch, allowed) if (
            use_dense and qvec is not None) else []
        bm25_hits = self.kb.bm25.search(query, fetch, allowed) if use_bm25 else []
        dense, lexical_scores = dict(dense_hits), dict(bm25_hits)
        weights = [self.cfg.dense_weight if use_dense else 0.0,
                   self.cfg.bm25_weight if use_bm25 else 0.0]
        rankings = [[i for i, _ in dense_hits], [i for i, _ in bm25_hits]]
        if self.cfg.fusion == "score" and all(weights):
            # Both scores for every candidate, so neither side's find is ranked as a zero.
            self._fill(dense, [i for i, _ in bm25_hits], qvec)
            missing = {i for i, _ in dense_hits} - lexical_scores.keys()
            if missing:
                lexical_scores.update(self.kb.bm25.search(query, len(missing), missing,
                                                          scope=allowed))
            # Cosines are already on their absolute scale (at most 1); BM25 by the query's.
            fused = score_fuse([dense, lexical_scores], weights, rankings,
                               scales=[1.0, self.kb.bm25.ceiling(query, allowed)])
        else:
            fused = rrf_fuse(rankings, weights)
        passages = self._passages([i for i, _ in fused], dict(fused), filters.clearance)
        passages = self._prefer(passages, query, filters.prefer)
        if self.cfg.group_by == "section":
            passages = best_per_section(passages)
        passages = conditions_first(passages, query)
        if self.reranker is not None:
            passages = self.reranker.rerank(query, passages[: self.cfg.rerank_k])
        passages = passages[:k]
        # Cosine for passages found only by BM25, so the evidence check sees every passage.
        self._fill(dense, [p.chunk_id for p in passages], qvec)
        lexical = {p.chunk_id: coverage(query, embedding_text(p.doc_name, p.heading_path, p.text))
                   for p in passages}
        return RetrievalResult(query, passages, dense, lexical,
                               self._unknown(check_terms, allowed))

    def _prefer(self, passages: list[Passage], query: str, prefer: frozenset[str]
                ) -> list[Passage]:
        """Lift passages of documents whose facts (title, years) match what is asked.

        The lift is ``metadata_boost`` times the best score, scaled by the share of the
        preferences matched, so it reorders near-equals and never buries a much better passage.
        """
        if not passages or self.cfg.metadata_boost == 0:
            return passages
        years, terms = preference(query, sorted(prefer))
        files = {file_words(p.doc_name) for p in passages}
        terms += [t for t in title_terms(query, files) if t not in terms]
        if not (years or terms):
            return passages  # nothing asked of the documents: no facts to read
        docs = {p.doc_id: p.doc_name for p in passages}
        facts = self.kb.repo.document_facts(docs)
        share = {doc_id: match(facts.get(doc_id, {}), name, years, terms)
                 for doc_id, name in docs.items()}
        lift = self.cfg.metadata_boost * max(p.score for p in passages)
        scored = [replace(p, score=p.score + lift * share[p.doc_id]) for p in passages]
        return sorted(scored, key=lambda p: -p.score)  # stable: ties keep the fused order

    def _fill(self, dense: dict[int, float], ids: Sequence[int], qvec: np.ndarray | None) -> None:
        """Add the cosine of each of ``ids`` that ``dense`` lacks (one filtered search)."""
        missing = {i for i in ids if i not in dense}
        if missing and qvec is not None:
            dense.update(self.kb.dense.search(qvec, len(missing), missing))

    def unknown_terms(self, terms: Sequence[str], filters: Filters | None = None) -> list[str]:
        """The terms no passage the reader may see contains (case-insensitive words).

        Checked against the same filters as the search: otherwise whether the answerer refuses
        would tell an uncleared reader that a restricted document mentions a name.
        """
        return self._unknown(terms, self.allowed_ids(filters) if filters is not None else None)

    def documents_mention(self, doc_ids: Iterable[int], terms: Sequence[str]) -> bool:
        """Whether any chunk of these documents holds one of ``terms``: a question's word that
        a quoted passage leaves out may still be the subject of the document it comes from."""
        allowed = self.kb.repo.chunk_ids(doc_ids)
        return bool(allowed) and len(self._unknown(terms, allowed)) < len(terms)

    def _unknown(self, terms: Sequence[str], allowed: set[int] | None) -> list[str]:
        bm25 = self.kb.bm25
        return [t for t in terms
                if not all(bm25.knows(tok, allowed) for tok in search_tokens(t))]

    def _passages(self, ids: list[int], scores: dict[int, float],
                  clearance: frozenset[str] | None) -> list[Passage]:
        """Load passages in rank order, dropping any whose document is not ready.

        Clearance is checked again here, on the rows actually returned: a restricted document
        indexed between ``allowed_ids`` and the search must not slip through.
        """
        by_id = {p.chunk_id: p for p, labels in self.kb.repo.ready_passages(ids)
                 if clearance is None or set(labels) <= clearance}
        return [replace(by_id[i], score=scores[i]) for i in ids if i in by_id]


def section_key(p: Passage) -> tuple[int, int | None, tuple[str, ...]]:
    """What a passage is a part of for ranking: its section (heading path) on its page.

    Small chunks match precisely; the section is the unit a reader wants listed once. The page
    is part of the key so a section running over fifty pages is not one unit, and the heading
    path so two sections, or a table (its caption ends its path) and the text that introduces
    it, sharing a page stay two.
    """
    return (p.doc_id, p.page, p.heading_path)


def best_per_section(passages: Sequence[Passage]) -> list[Passage]:
    """The best-ranked passage of each section, in rank order.

    A long page or section cut into ten chunks would otherwise fill the top ten with itself
    and push every other document out: a section ranks by its best chunk, and that chunk,
    with its own citation, stands for it.
    """
    seen: set[tuple[int, int | None, tuple[str, ...]]] = set()
    kept = []
    for p in passages:
        key = section_key(p)
        if key not in seen:
            seen.add(key)
            kept.append(p)
    return kept


def _doc_matches(doc: DocumentRow, f: Filters) -> bool:
    if f.clearance is not None and not set(doc.labels or ()) <= f.clearance:
        return False
    if f.doc_ids and doc.id not in f.doc_ids:
        return False
    if f.doc_names and doc.name not in f.doc_names:
        return False
    if f.tags and not f.tags.intersection(doc.tags or []):
        return False
    uploaded = doc.uploaded_at.replace(tzinfo=None) if doc.uploaded_at else None
    if f.since and uploaded and uploaded < f.since.replace(tzinfo=None):
        return False
    return not (f.until and uploaded and uploaded > f.until.replace(tzinfo=None))
