"""Fusion of the dense and BM25 retrievers' results into one ranking.

Two methods, chosen per pack (``retrieval.fusion``):

- ``score`` (the default): each retriever's scores are divided by the highest score it could
  give this query — a cosine stays as it is (at most 1), a BM25 score is divided by the sum of
  the query terms' IDFs (what a passage holding every term many times would reach) — and
  combined as a weighted sum. Unlike RRF this keeps *how well* each retriever matched: BM25
  finding two of a long question's eight terms on a filing page is a weak match even when no
  page does better, and dividing by that page's own score (min-max over the candidates) would
  call it perfect. Measured on the shared sets (docs/benchmarks.md), this one choice of scale
  let one weight per pack beat both retrievers on table QA, where BM25 is strong, and on long
  filing pages, where it is weak. With a weight of 0 a retriever neither scores nor nominates,
  so the other ranks exactly as it does alone. Every candidate needs both scores (the
  retriever computes the missing one), or a candidate only one side found is ranked as if the
  other side scored it 0.
- ``rrf``: weighted reciprocal-rank fusion, ranks only. Kept for packs tuned with it; it loses
  to its better input when one retriever is much weaker (on long SEC-filing pages BM25 dragged
  fused recall@10 from dense's 0.55 to 0.39).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def _check_weights(n: int, weights: Sequence[float]) -> None:
    if n != len(weights):
        raise ValueError(f"got {n} rankings but {len(weights)} weights; pass one each")
    if any(not math.isfinite(w) or w < 0 for w in weights):
        raise ValueError(f"fusion weights must be >= 0, got {list(weights)}")


def _ordered(scores: dict[int, float], best_rank: dict[int, int]) -> list[tuple[int, float]]:
    # Rounding the sort key keeps mathematically equal sums (added in another order) tied.
    order = sorted(scores, key=lambda i: (-round(scores[i], 12), best_rank[i], i))
    return [(chunk_id, scores[chunk_id]) for chunk_id in order]


def score_fuse(
    scores: Sequence[Mapping[int, float]],
    weights: Sequence[float],
    candidates: Sequence[Sequence[int]] | None = None,
    scales: Sequence[float] | None = None,
) -> list[tuple[int, float]]:
    """Fuse per-retriever scores into (id, score) pairs, best first.

    ``scores[i]`` maps chunk ids to retriever i's raw score. ``candidates[i]`` lists the ids
    retriever i itself returned (best first; default: all keys of ``scores[i]``): the fused
    result holds the ids some retriever with a weight above 0 returned, so a weight of 0 means
    that retriever neither scores nor nominates. Each score is divided by ``scales[i]`` (the
    highest score retriever i could give; default: its best score over the result's ids) and
    floored at 0; fused = sum of weight * normalised score. Ties are broken by the best rank in
    any nominating list, then by id.
    """
    _check_weights(len(scores), weights)
    lists = [list(c) for c in candidates] if candidates is not None else [
        sorted(s, key=lambda i, s=s: -s[i]) for s in scores]
    if len(lists) != len(scores):
        raise ValueError(f"got {len(scores)} score maps but {len(lists)} candidate lists")
    if scales is not None and len(scales) != len(scores):
        raise ValueError(f"got {len(scores)} score maps but {len(scales)} scales")
    best_rank: dict[int, int] = {}
    for ranking, weight in zip(lists, weights, strict=True):
        if weight == 0:
            continue
        for rank, chunk_id in enumerate(ranking, start=1):
            best_rank[chunk_id] = min(best_rank.get(chunk_id, rank), rank)
    fused = dict.fromkeys(best_rank, 0.0)
    for n, (side, weight) in enumerate(zip(scores, weights, strict=True)):
        if weight == 0:
            continue
        top = scales[n] if scales is not None else max(
            (side.get(i, 0.0) for i in fused), default=0.0)
        if top <= 0:
            continue
        for chunk_id in fused:
            fused[chunk_id] += weight * max(side.get(chunk_id, 0.0), 0.0) / top
    return _ordered(fused, best_rank)


def rrf_fuse(
    rankings: Sequence[Sequence[int]],
    weights: Sequence[float],
    k: int = 60,
    limit: int | None = None,
) -> list[tuple[int, float]]:
    """Fuse rankings (best first) into (id, score) pairs, best first.

    score(id) = sum of ``weights[i] / (k + rank_i(id))`` over the rankings that contain it, rank
    counted from 1. A weight of 0 disables its ranking entirely, so an id only it returned is not
    in the result. Equal scores are ordered by the id's best rank in any enabled ranking, then
    by id, so the output is the same on every run. An id repeated within one ranking counts at
    its first (best) position.
    """
    _check_weights(len(rankings), weights)
    if k < 0:
        raise ValueError(f"the RRF constant k must be >= 0, got {k}")
    scores: dict[int, float] = {}
    best_rank: dict[int, int] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        if weight == 0:
            continue
        seen: set[int] = set()
        for rank, chunk_id in enumerate(ranking, start=1):
            if chunk_id in seen:
                continue
            seen.add(chunk_id)
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight / (k + rank)
            best_rank[chunk_id] = min(best_rank.get(chunk_id, rank), rank)
    ordered = _ordered(scores, best_rank)
    return ordered if limit is None else ordered[: max(limit, 0)]
