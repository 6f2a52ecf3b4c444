"""The plain baselines verirag's retrieval must beat, as a short script would write them.

- ``plain dense``: embed each whole corpus document (title and text; the model keeps its first
  256 tokens) with the same MiniLM, rank by cosine. No chunking, no fusion.
- ``plain BM25``: Okapi BM25 (k1 1.5, b 0.75) over lower-cased words for English and
  character bigrams for Chinese, one document per corpus entry.

They deliberately use nothing of verirag (its chunker, tokenizer, index or fusion), so a loss
to them is a loss to the simplest possible pipeline.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[a-z0-9]+")


def plain_dense(model_dir: Path, docs: Sequence[str], queries: Sequence[str], k: int
                ) -> list[list[int]]:
    """Top-``k`` document indexes per query, by cosine of whole-document embeddings."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    model.max_seq_length = 256
    dv = model.encode(list(docs), batch_size=32, normalize_embeddings=True,
                      convert_to_numpy=True, show_progress_bar=False)
    qv = model.encode(list(queries), batch_size=32, normalize_embeddings=True,
                      convert_to_numpy=True, show_progress_bar=False)
    sims = qv @ dv.T
    return [list(np.argsort(-row, kind="stable")[:k]) for row in sims]


def _tokens(text: str) -> list[str]:
    text = text.lower()
    words = _WORD.findall(text)
    han = "".join(_CJK.findall(text))
    return words + [han[i:i + 2] for i in range(len(han) - 1)]


def plain_bm25(docs: Sequence[str], queries: Sequence[str], k: int,
               k1: float = 1.5, b: float = 0.75) -> list[list[int]]:
    """Top-``k`` document indexes per query by Okapi BM25 over words / character bigrams."""
    tfs = [Counter(_tokens(d)) for d in docs]
    lengths = np.array([sum(tf.values()) for tf in tfs], dtype=float)
    avg = float(lengths.mean()) if len(docs) else 0.0
    df: Counter[str] = Counter(t for tf in tfs for t in tf)
    postings: dict[str, list[tuple[int, int]]] = {}
    for i, tf in enumerate(tfs):
        for t, c in tf.items():
            postings.setdefault(t, []).append((i, c))
    n = len(docs)
    out = []
    for q in queries:
        scores = np.zeros(n)
        for t in _tokens(q):
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            for i, c in postings.get(t, ()):
                scores[i] += idf * c * (k1 + 1) / (c + k1 * (1 - b + b * lengths[i] / avg))
        out.append(list(np.argsort(-scores, kind="stable")[:k]))
    return out
