"""Every metric against values worked out by hand on tiny inputs (the arithmetic is in comments)."""

from __future__ import annotations

import math

import pytest

from app.dialog.types import Answer, AnswerSentence
from evals.metrics.answers import bleu, exact_match, lcs_length, rouge_l, token_f1
from evals.metrics.grounding import citation_counts, refusal_scores
from evals.metrics.labels import answer_label
from evals.metrics.retrieval import (
    first_hit_rank,
    gold_recall_at_k,
    hit_at_k,
    mrr_at_k,
    ndcg_at_k,
    recall_curve,
)
from evals.metrics.speed import percentile
from evals.metrics.text import tokens
from knowledge.types import Passage

# Ranks:       1    2     3     4    5
RETRIEVED = ["x", "g1", "g1", "y", "g2"]
GOLD = {"g1", "g2", "g3"}


def test_hit_rate_counts_any_gold_chunk_within_k() -> None:
    assert first_hit_rank(RETRIEVED, GOLD) == 2
    assert hit_at_k(RETRIEVED, GOLD, 1) == 0.0
    assert hit_at_k(RETRIEVED, GOLD, 2) == 1.0
    assert recall_curve(RETRIEVED, GOLD, 4) == [0.0, 1.0, 1.0, 1.0]
    assert first_hit_rank(RETRIEVED, {"nowhere"}) is None


def test_gold_recall_counts_distinct_gold_documents() -> None:
    assert gold_recall_at_k(RETRIEVED, GOLD, 3) == pytest.approx(1 / 3)  # g1 twice is one
    assert gold_recall_at_k(RETRIEVED, GOLD, 5) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        gold_recall_at_k(RETRIEVED, set(), 5)


def test_mrr_is_the_reciprocal_rank_of_the_first_hit_within_k() -> None:
    assert mrr_at_k(RETRIEVED, GOLD, 10) == 0.5
    assert mrr_at_k(RETRIEVED, GOLD, 1) == 0.0
    assert mrr_at_k(["g2"], GOLD, 10) == 1.0


def test_ndcg_gains_once_per_gold_document() -> None:
    # DCG: g1 at rank 2 -> 1/log2(3); the second g1 (rank 3) gains nothing; g2 at 5 -> 1/log2(6).
    # Ideal: three gold documents on top -> 1 + 1/log2(3) + 1/log2(4).
    dcg = 1 / math.log2(3) + 1 / math.log2(6)
    ideal = 1 + 1 / math.log2(3) + 0.5
    assert ndcg_at_k(RETRIEVED, GOLD, 10) == pytest.approx(dcg / ideal)
    assert ndcg_at_k(RETRIEVED, GOLD, 10) == pytest.approx(0.47762, abs=1e-5)
    # Cut at k=2 the ideal list has only two places: 1 + 1/log2(3).
    at_two = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(RETRIEVED, GOLD, 2) == pytest.approx(at_two)
    assert ndcg_at_k(["g1", "g1", "g1"], {"g1"}, 10) == 1.0


def test_tokens_follow_squad_and_split_chinese_into_characters() -> None:
    assert tokens("The Cat, [2] sat.") == ["cat", "sat"]
    assert tokens("$1,561M") == ["1561m"]
    assert tokens("人民币5万元以上[1]。") == ["人", "民", "币", "5", "万", "元", "以", "上"]
    assert tokens("ＡＢＣ１２") == ["abc12"]  # full-width folded


def test_exact_match_after_normalisation_best_over_references() -> None:
    assert exact_match("The cat sat.", ["cat sat"]) == 1.0
    assert exact_match("80万元。", ["80 万元"]) == 1.0
    assert exact_match("a dog", ["cat", "Dog!"]) == 1.0
    assert exact_match("cat", ["cat sat"]) == 0.0
    assert exact_match("cat", []) == 0.0


def test_token_f1_english_and_chinese() -> None:
    # pred: cat sat on mat (4); ref: cat on hat (3); shared: cat, on -> P 2/4, R 2/3, F1 4/7.
    assert token_f1("the cat sat on the mat", ["a cat on a hat"]) == pytest.approx(4 / 7)
    # pred: 人 民 币 5 万 元 以 上 (8); ref: 5 万 元 (3); shared 3 -> P 3/8, R 1, F1 6/11.
    assert token_f1("人民币5万元以上[1]。", ["5万元"]) == pytest.approx(6 / 11)
    assert token_f1("", ["x"]) == 0.0
    assert token_f1("dog", ["cat", "dog"]) == 1.0


def test_rouge_l_is_the_f1_of_the_longest_common_subsequence() -> None:
    assert lcs_length(list("wxyz"), list("wyqz")) == 3
    assert rouge_l("w x y z", ["w y q z"]) == pytest.approx(0.75)  # P = R = 3/4
    assert rouge_l("x y", ["y x y z"]) == pytest.approx(2 / 3)  # LCS 2: P 1, R 1/2
    assert rouge_l("无关", ["相关"]) == pytest.approx(0.5)  # 关 in common: P = R = 1/2


def test_bleu_add_one_smoothing_brevity_and_clipping() -> None:
    assert bleu("w x y z", ["w x y z"]) == pytest.approx(1.0)
    # p1 3/4 (unsmoothed), p2 (1+1)/(3+1), p3 (0+1)/(2+1), p4 (0+1)/(1+1):
    # (3/4 * 1/2 * 1/3 * 1/2)^(1/4) = (1/16)^(1/4)
    assert bleu("w x y z", ["w x q z"]) == pytest.approx(0.5)
    # Every precision is 1 (no 3- or 4-grams: (0+1)/(0+1)); brevity exp(1 - 4/2).
    assert bleu("w x", ["w x y z"]) == pytest.approx(math.exp(-1))
    # "x" clipped to its count in the reference: p1 1/4, p2 (0+1)/(3+1), p3 1/3, p4 1/2.
    assert bleu("x x x x", ["x y"]) == pytest.approx((1 / 96) ** 0.25)
    assert bleu("", ["x"]) == 0.0
    assert bleu("p q r s", ["w x y z"]) == 0.0  # no shared word: smoothing does not rescue it


@pytest.mark.parametrize(("text", "refused", "label"), [
    ("Yes, the trial showed a benefit [1].", False, "yes"),
    ("No. The protocol does not allow it.", False, "no"),
    ("Maybe; the evidence is mixed.", False, "maybe"),
    ("Anything at all", True, "maybe"),
    ("The hospital documents do not say. Please check the full protocol.", False, "maybe"),
    ("Pylorus preservation was not associated with delayed emptying [2].", False, "no"),
    ("Delayed gastric emptying is linked to other complications [2].", False, "yes"),
    ("Note that the dose is halved.", False, "yes"),
    ("Nothing suggests a link.", False, "no"),
    ("是的，被告知道。", False, "yes"),
    ("否", False, "no"),
    ("不确定。", False, "maybe"),
    ("被告没有驾驶证。", False, "no"),
    ("原告与被告签订了合同。", False, "yes"),
    ("医院文件中没有相关规定。", False, "maybe"),
])
def test_answer_label_rule(text: str, refused: bool, label: str) -> None:
    assert answer_label(text, refused=refused) == label


def test_refusal_precision_and_recall() -> None:
    refused = [True, True, False, False, True]
    answerable = [False, True, False, True, False]
    # refused & unanswerable: items 0 and 4 -> P 2/3 (3 refusals), R 2/3 (3 unanswerable)
    assert refusal_scores(refused, answerable) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert refusal_scores([False, False], [True, True]) == (None, None)
    with pytest.raises(ValueError):
        refusal_scores([True], [True, False])


def test_percentiles_interpolate_linearly() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 50) == pytest.approx(2.5)
    assert percentile(values, 95) == pytest.approx(3.85)  # 3 + 0.85 * (4 - 3)
    assert percentile(values, 0) == 1.0 and percentile(values, 100) == 4.0
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def _passage(n: int, text: str) -> Passage:
    return Passage(chunk_id=n, doc_id=n, doc_name=f"doc{n}", text=text, heading_path=(),
                   page=None, score=0.0)


def test_citation_counts_valid_and_supported() -> None:
    sources = [_passage(1, "Stop warfarin 5 days before the procedure and check the INR."),
               _passage(2, "Visiting hours are 14:00 to 20:00.")]
    answer = Answer(question="When is warfarin stopped?", query="", decision="answer", text="",
                    sources=sources, sentences=[
                        AnswerSentence("Warfarin is stopped 5 days before the procedure.", (1,)),
                        AnswerSentence("Aspirin is given at 75 mg.", (2, 5)),  # 5: no passage
                    ])
    counts = citation_counts(answer)
    assert (counts.valid, counts.supported) == (2, 1)
    assert counts.cited
