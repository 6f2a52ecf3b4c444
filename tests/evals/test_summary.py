"""Per-question records -> per-configuration and per-turn figures, with the counts behind them."""

from __future__ import annotations

from typing import Any

import pytest

from evals.runner import Record
from evals.summary import by_turn, recall_curves, summarize


def _record(**kw: Any) -> Record:
    base: dict[str, Any] = {"config": "c", "item_id": "i", "turn": None, "question": "q",
                            "references": ["a"], "gold_ids": ["g"], "answerable": True,
                            "label_gold": None, "query": "q"}
    return Record(**{**base, **kw})


def test_summary_averages_each_figure_over_the_questions_it_applies_to() -> None:
    records = [
        _record(retrieval={"recall@1": 1.0, "recall@5": 1.0, "recall@10": 1.0,
                           "gold_recall@10": 1.0, "mrr@10": 1.0, "ndcg@10": 1.0},
                first_hit=1, decision="answer", scores={"em": 1.0, "f1": 1.0, "rouge_l": 1.0,
                                                        "bleu": 0.5},
                label_gold="yes", label_pred="yes", citations_valid=2, citations_supported=1,
                timings={"e2e_s": 1.0, "ttft_s": 0.2, "tokens_per_s": 10.0}),
        _record(retrieval={"recall@1": 0.0, "recall@5": 1.0, "recall@10": 1.0,
                           "gold_recall@10": 0.5, "mrr@10": 0.5, "ndcg@10": 0.6},
                first_hit=2, decision="answer", scores={"em": 0.0, "f1": 0.5, "rouge_l": 0.5,
                                                        "bleu": 0.1},
                label_gold="no", label_pred="yes", citations_valid=0,
                timings={"e2e_s": 3.0, "ttft_s": 0.4, "tokens_per_s": 20.0}),
        _record(gold_ids=[], answerable=False, decision="refuse", references=[],
                timings={"e2e_s": 2.0, "ttft_s": 2.0, "tokens_per_s": None}),
        _record(decision="refuse", gold_ids=None, timings={"e2e_s": 4.0, "ttft_s": 4.0}),
    ]
    s = summarize(records, [1, 5, 10])
    assert s["questions"] == 4 and s["n_retrieval"] == 2
    assert s["recall@1"] == 0.5 and s["recall@5"] == 1.0 and s["mrr@10"] == 0.75
    assert s["n_answers"] == 2 and s["em"] == 0.5 and s["f1"] == 0.75
    assert s["n_labels"] == 2 and s["label_acc"] == 0.5
    assert s["answered"] == 0.5  # 2 of 4 asked were not refused
    assert s["cited"] == 0.5  # 1 of the 2 answered has a valid citation
    assert s["n_citations"] == 2 and s["supported"] == 0.5
    # refusals: 2, of which 1 unanswerable -> P 1/2; unanswerable 1, refused -> R 1
    assert (s["refusal_precision"], s["refusal_recall"]) == (0.5, 1.0)
    assert s["e2e_p50_s"] == pytest.approx(2.5) and s["e2e_p95_s"] == pytest.approx(3.85)
    assert s["ttft_p50_s"] == pytest.approx(1.2) and s["tokens_per_s"] == pytest.approx(15.0)


def test_retrieval_only_records_have_no_answer_figures() -> None:
    s = summarize([_record(retrieval={"recall@1": 1.0, "recall@5": 1.0, "recall@10": 1.0,
                                      "gold_recall@10": 1.0, "mrr@10": 1.0, "ndcg@10": 1.0},
                           first_hit=1, timings={"e2e_s": 0.1})], [1, 5, 10])
    assert s["em"] is None and s["answered"] is None and s["refusal_recall"] is None
    assert s["recall@1"] == 1.0 and s["e2e_p50_s"] == 0.1


def test_turn_positions_and_recall_curve() -> None:
    hit = {"recall@1": 1.0, "recall@5": 1.0, "recall@10": 1.0, "gold_recall@10": 1.0,
           "mrr@10": 1.0, "ndcg@10": 1.0}
    miss = {**hit, "recall@1": 0.0, "mrr@10": 1 / 3}
    records = [_record(turn=1, retrieval=hit, first_hit=1),
               _record(turn=2, retrieval=miss, first_hit=3),
               _record(turn=2, retrieval=hit, first_hit=1)]
    turns = by_turn(records, ["c"], [1, 5, 10])
    assert turns["c"][1]["recall@1"] == 1.0 and turns["c"][2]["recall@1"] == 0.5
    assert recall_curves(records, ["c"], 4) == {"c": [2 / 3, 2 / 3, 1.0, 1.0]}


def test_outcome_shares_per_configuration_and_per_turn() -> None:
    records = [_record(turn=1, decision="answer", outcome="correct"),
               _record(turn=1, decision="refuse", outcome="refused"),
               _record(turn=2, decision="answer", outcome="confidently_wrong"),
               _record(turn=2, decision="answer", outcome="correct"),
               _record(turn=2, decision="answer", outcome=None, references=[])]
    s = summarize(records, [1, 5, 10])
    assert s["n_outcomes"] == 4, "the answerable question without a reference is not judged"
    assert (s["correct"], s["confidently_wrong"], s["refused"]) == (0.5, 0.25, 0.25)
    turns = by_turn(records, ["c"], [1, 5, 10])["c"]
    assert (turns[1]["correct"], turns[1]["refused"], turns[1]["n_outcomes"]) == (0.5, 0.5, 2)
    assert turns[2]["n_outcomes"] == 2 and turns[2]["confidently_wrong"] == 0.5
    for summary in (s, turns[1], turns[2]):
        shares = [summary[k] for k in ("correct", "confidently_wrong", "refused")]
        assert sum(v for v in shares if v is not None) == pytest.approx(1.0)


def test_retrieval_only_runs_have_no_outcomes() -> None:
    s = summarize([_record(timings={"e2e_s": 0.1})], [1, 5, 10])
    assert (s["correct"], s["confidently_wrong"], s["refused"], s["n_outcomes"]) == (
        None, None, None, 0)
