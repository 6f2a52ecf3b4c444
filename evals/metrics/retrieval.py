"""Ranking metrics of one retrieved list against a set of gold document ids.

The list is the retriever's chunks in rank order, each given as its document's name (the
corpus id). A chunk is relevant when its document is gold; several chunks of one document can
be retrieved, so:

- ``hit_at_k`` (reported as recall@k, the convention of ``shared/evalsets``): 1 if any of the
  first k chunks is relevant;
- ``gold_recall_at_k``: the share of distinct gold documents among the first k chunks;
- ``mrr_at_k``: 1 / rank of the first relevant chunk, 0 past k;
- ``ndcg_at_k``: binary gain, and each gold document gains once (at its best-ranked chunk), so
  a document split into five chunks cannot score more than one found document; the ideal list
  has min(k, |gold|) relevant chunks on top.

Undefined for an empty gold set (unanswerable questions): callers skip those.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence


def first_hit_rank(retrieved: Sequence[str], gold: Collection[str]) -> int | None:
    """1-based rank of the first relevant chunk, or None when none is relevant."""
    return next((i for i, name in enumerate(retrieved, 1) if name in gold), None)


def hit_at_k(retrieved: Sequence[str], gold: Collection[str], k: int) -> float:
    return 1.0 if any(name in gold for name in retrieved[:k]) else 0.0


def gold_recall_at_k(retrieved: Sequence[str], gold: Collection[str], k: int) -> float:
    if not gold:
        raise ValueError("recall is undefined for an empty gold set")
    return len(set(retrieved[:k]) & set(gold)) / len(set(gold))


def mrr_at_k(retrieved: Sequence[str], gold: Collection[str], k: int) -> float:
    rank = first_hit_rank(retrieved[:k], gold)
    return 1.0 / rank if rank else 0.0


def ndcg_at_k(retrieved: Sequence[str], gold: Collection[str], k: int) -> float:
    if not gold:
        raise ValueError("nDCG is undefined for an empty gold set")
    seen: set[str] = set()
    dcg = 0.0
    for rank, name in enumerate(retrieved[:k], 1):
        if name in gold and name not in seen:
            seen.add(name)
            dcg += 1.0 / math.log2(rank + 1)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(k, len(set(gold))) + 1))
    return dcg / ideal


def recall_curve(retrieved: Sequence[str], gold: Collection[str], depth: int) -> list[float]:
    """hit@1..hit@depth, for the recall@k plot."""
    rank = first_hit_rank(retrieved[:depth], gold)
    return [1.0 if rank is not None and rank <= k else 0.0 for k in range(1, depth + 1)]


def retrieval_scores(retrieved: Sequence[str], gold: Collection[str],
                     ks: Sequence[int]) -> dict[str, float]:
    """Every retrieval metric of one question, keyed as in the report (``recall@5``...)."""
    out = {f"recall@{k}": hit_at_k(retrieved, gold, k) for k in ks}
    out["gold_recall@10"] = gold_recall_at_k(retrieved, gold, 10)
    out["mrr@10"] = mrr_at_k(retrieved, gold, 10)
    out["ndcg@10"] = ndcg_at_k(retrieved, gold, 10)
    return out
