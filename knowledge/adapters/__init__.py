"""Thin adapters that let a verirag knowledge base serve LangChain and LlamaIndex pipelines.

Each adapter wraps a :class:`~knowledge.retrieval.Retriever`, so a chain built in either
ecosystem gets the same hybrid (dense + BM25) search, the same ``ready``-documents-only guarantee
and the same filters as verirag's own dialog manager, and every result carries the metadata a
citation needs. The frameworks are imported only by the modules that adapt to them
(``knowledge.adapters.langchain``, ``knowledge.adapters.llamaindex``): this package itself and the
rest of ``knowledge`` stay free of them, so neither is needed to ingest or answer.

Left out on purpose: writing through the frameworks (their vector-store and ingestion
interfaces). Documents enter verirag through its own ingestor, which redacts, chunks and keeps
SQL and the indexes consistent; a second write path would bypass all of that.
"""

from __future__ import annotations

from typing import Any

from knowledge.retrieval import RetrievalResult
from knowledge.types import Passage

CITATION_KEYS = ("pack", "chunk_id", "doc_id", "doc_name", "page", "heading_path", "location",
                 "start", "end", "score", "dense_score", "coverage")
"""Metadata keys every adapted result carries, the same in both ecosystems."""


def citation_metadata(passage: Passage, result: RetrievalResult, pack: str) -> dict[str, Any]:
    """The metadata one passage carries out of verirag, identical for both frameworks.

    ``score`` is the fused (RRF) rank score, useful only for ordering; ``dense_score`` is the
    cosine similarity and ``coverage`` the share of question terms found in the passage, which
    are what a caller should threshold on to decide whether the evidence is strong enough.
    ``heading_path`` is a list (not a tuple) so the metadata survives a JSON round trip unchanged.
    """
    dense = result.dense.get(passage.chunk_id)
    lexical = result.lexical.get(passage.chunk_id)
    return {
        "pack": pack,
        "chunk_id": passage.chunk_id,
        "doc_id": passage.doc_id,
        "doc_name": passage.doc_name,
        "page": passage.page,
        "heading_path": list(passage.heading_path),
        "location": passage.location,
        "start": passage.start,
        "end": passage.end,
        "score": passage.score,
        "dense_score": float(dense) if dense is not None else None,
        "coverage": float(lexical) if lexical is not None else None,
    }
