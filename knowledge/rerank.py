"""Optional second-stage ranking with a local cross-encoder (e.g. a BGE or MS MARCO reranker).

A cross-encoder reads question and passage together, so it orders the fused candidates far
better than either first-stage score, at the cost of one forward pass per candidate. It only
reorders: which passages exist, and the evidence scores the answer decision uses, are
unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from knowledge.types import Passage
from verirag.errors import ModelNotFound


class Reranker(Protocol):
    def rerank(self, query: str, passages: Sequence[Passage]) -> list[Passage]: ...


class CrossEncoderReranker:
    """A sentence-transformers ``CrossEncoder`` loaded from a local directory."""

    def __init__(self, path: Path, device: str = "cpu", max_length: int = 512) -> None:
        from sentence_transformers import CrossEncoder

        if not (Path(path) / "config.json").is_file():
            raise ModelNotFound(f"reranker path {path} holds no model (no config.json); "
                                "fix VERIRAG_RERANKER_PATH")
        self.path = Path(path)
        self._model = CrossEncoder(str(path), device=device, local_files_only=True,
                                   max_length=max_length)

    def rerank(self, query: str, passages: Sequence[Passage]) -> list[Passage]:
        if not passages:
            return []
        scores = self._model.predict([(query, p.text) for p in passages],
                                     show_progress_bar=False)
        ranked = sorted(zip(passages, scores, strict=True), key=lambda ps: -float(ps[1]))
        return [replace(p, score=float(s)) for p, s in ranked]
