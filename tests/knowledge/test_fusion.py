"""Weighted reciprocal-rank fusion: exact scores, weights and a repeatable order."""

from __future__ import annotations

import pytest

from knowledge.index.fusion import rrf_fuse


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
