"""Weighted reciprocal-rank fusion: exact scores, weights and a repeatable order."""

from __future__ import annotations

import pytest

from knowledge.index.fusion import rrf_fuse, score_fuse


def test_scores_match_the_formula() -> None:
    fused = rrf_fuse([[1, 2, 3], [3, 1]], weights=[1.0, 1.0], k=60)
    assert [chunk_id for chunk_id, _ in fused] == [1, 3, 2]
    scores = dict(fused)
    assert scores[1] == pytest.approx(1 / 61 + 1 / 62)
    assert scores[3] == pytest.approx(1 / 63 + 1 / 61)
    assert scores[2] == pytest.approx(1 / 62)


def test_weights_decide_which_ranking_wins() -> None:
    dense, keyword = [10, 20], [20, 10]
    assert rrf_fuse([dense, keyword], weights=[1.0, 1.0])[0][0] == 10  # tie: id order
    assert rrf_fuse([dense, keyword], weights=[1.0, 3.0])[0][0] == 20
    scores = dict(rrf_fuse([dense, keyword], weights=[0.25, 0.75], k=0))
    assert scores[20] == pytest.approx(0.25 / 2 + 0.75 / 1)


def test_weight_zero_disables_a_ranking_entirely() -> None:
    fused = rrf_fuse([[1, 2], [99, 2, 1]], weights=[1.0, 0.0])
    assert fused == rrf_fuse([[1, 2]], weights=[1.0])
    assert 99 not in dict(fused)


def test_ties_break_by_best_single_rank_then_id() -> None:
    # k=0: 10 scores 1/1, 30 scores 1/1, 20 scores 1/2 + 1/2. All tie at 1.0.
    fused = rrf_fuse([[10, 20], [30, 20]], weights=[1.0, 1.0], k=0)
    assert [chunk_id for chunk_id, _ in fused] == [10, 30, 20]
    assert [score for _, score in fused] == pytest.approx([1.0, 1.0, 1.0])


def test_equal_sums_added_in_a_different_order_still_tie() -> None:
    # 5 scores .1/1 + .1/2 + .1/1 + .1/2 = 0.3 and 8 scores .1/2 + .1/1 + ... which floating
    # point makes 0.30000000000000004: a real tie, so the lower id must come first.
    fused = rrf_fuse([[5, 8], [8, 5], [5, 8], [8, 5]], weights=[0.1] * 4, k=0)
    assert [chunk_id for chunk_id, _ in fused] == [5, 8]


def test_an_id_repeated_within_a_ranking_counts_once_at_its_best_rank() -> None:
    assert dict(rrf_fuse([[7, 7, 8]], weights=[1.0], k=0)) == {7: 1.0, 8: 1 / 3}


def test_limit_cuts_the_result() -> None:
    rankings = [[1, 2, 3, 4], [4, 3]]
    assert len(rrf_fuse(rankings, weights=[1, 1], limit=2)) == 2
    assert rrf_fuse(rankings, weights=[1, 1], limit=2) == rrf_fuse(rankings, weights=[1, 1])[:2]
    assert rrf_fuse(rankings, weights=[1, 1], limit=0) == []


def test_empty_input_fuses_to_nothing() -> None:
    assert rrf_fuse([], weights=[]) == []
    assert rrf_fuse([[], []], weights=[1.0, 1.0]) == []


@pytest.mark.parametrize(
    ("rankings", "weights", "k", "message"),
    [
        ([[1]], [1.0, 1.0], 60, "1 rankings but 2 weights"),
        ([[1]], [-1.0], 60, "weights must be >= 0"),
        ([[1]], [float("nan")], 60, "weights must be >= 0"),
        ([[1]], [1.0], -1, "k must be >= 0"),
    ],
)
def test_invalid_arguments_are_rejected(
    rankings: list[list[int]], weights: list[float], k: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        rrf_fuse(rankings, weights, k=k)


# -- score fusion ---------------------------------------------------------------------------

def test_score_fusion_keeps_the_margin_that_rrf_throws_away() -> None:
    # Dense is sure of 1 (0.9 vs 0.2); BM25 barely prefers 2 (10.0 vs 9.5). RRF calls it a
    # tie broken by id order; score fusion sides with the retriever that is sure.
    dense = {1: 0.9, 2: 0.2}
    bm25 = {2: 10.0, 1: 9.5}
    assert score_fuse([dense, bm25], [1.0, 1.0])[0][0] == 1
    scores = dict(score_fuse([dense, bm25], [1.0, 1.0]))
    assert scores[1] == pytest.approx(0.9 / 0.9 + 9.5 / 10.0)
    assert scores[2] == pytest.approx(0.2 / 0.9 + 10.0 / 10.0)


def test_score_fusion_with_one_weight_ranks_exactly_as_that_retriever() -> None:
    dense = {1: 0.3, 2: 0.8, 3: 0.5}
    bm25 = {1: 7.0, 2: 1.0, 4: 3.0}
    only_dense = score_fuse([dense, bm25], [1.0, 0.0])
    assert [i for i, _ in only_dense] == [2, 3, 1]  # 4 is BM25's alone: not nominated
    only_bm25 = score_fuse([dense, bm25], [0.0, 2.0])
    assert [i for i, _ in only_bm25] == [1, 4, 2]


def test_score_fusion_counts_a_missing_or_negative_score_as_zero() -> None:
    fused = dict(score_fuse([{1: 0.5, 2: -0.2}, {3: 4.0}], [1.0, 1.0]))
    assert fused == {1: pytest.approx(1.0), 2: 0.0, 3: pytest.approx(1.0)}


def test_score_fusion_only_returns_what_a_weighted_retriever_nominated() -> None:
    dense = {1: 0.9, 2: 0.8, 3: 0.1}  # 3 was scored for the evidence check, not found
    fused = score_fuse([dense, {2: 5.0}], [1.0, 1.0], candidates=[[1, 2], [2]])
    assert [i for i, _ in fused] == [2, 1]


def test_score_fusion_rejects_bad_weights() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        score_fuse([{1: 1.0}], [-1.0])
    with pytest.raises(ValueError, match="one each"):
        score_fuse([{1: 1.0}, {1: 1.0}], [1.0])


def test_score_fusion_on_absolute_scales_keeps_a_weak_match_weak() -> None:
    # BM25's best match covers a fifth of what the query could score: divided by its own best
    # it would count as perfect and outvote a close cosine.
    dense = {1: 0.82, 2: 0.40}
    bm25 = {2: 2.0, 1: 0.5}
    by_own_best = score_fuse([dense, bm25], [1.0, 1.0])
    assert by_own_best[0][0] == 2
    absolute = score_fuse([dense, bm25], [1.0, 1.0], scales=[1.0, 10.0])
    assert absolute[0][0] == 1
    assert dict(absolute)[1] == pytest.approx(0.82 + 0.05)
    with pytest.raises(ValueError, match="scales"):
        score_fuse([dense, bm25], [1.0, 1.0], scales=[1.0])
