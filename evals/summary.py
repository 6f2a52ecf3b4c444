"""Per-question records -> one row of figures per configuration (and per turn position).

Each figure is averaged over the questions it is defined for, and the count it rests on is
reported beside it, because a "recall 1.0" over 2 questions is not one over 200:

- retrieval (recall@k, gold_recall@10, MRR@10, nDCG@10): scored questions with gold ids;
- answer strings (EM, F1, ROUGE-L, BLEU): answerable questions with a free-text reference
  (a label reference such as "yes" is scored by label accuracy only: F1 of a sentence against
  "yes" measures nothing);
- label accuracy: questions whose reference is a label (yes/no/maybe);
- ``answered``: share not refused; ``fallback``: share of generated answers the answerer
  replaced by quoted sentences because no generated sentence was supported; ``cited``: share
  of answered ones with >= 1 valid citation;
  ``supported``: share of all valid citations whose passage supports the sentence (micro);
- refusal precision/recall: over every asked question (answerable or not);
- ``correct`` / ``confidently_wrong`` / ``refused``: shares of the judged asked questions,
  summing to 1, over ``n_outcomes`` (``evals.metrics.correctness``: an answerable question
  without a reference is not judged; a clarifying question counts as refused); None in a
  retrieval-only run;
- speed: time to first token (p50), tokens/s (median over generated answers), end-to-end
  p50/p95 (retrieval time alone in a retrieval-only run).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from statistics import fmean
from typing import Any

from evals.metrics.correctness import outcome_shares
from evals.metrics.grounding import refusal_scores
from evals.metrics.speed import median, percentile
from evals.runner import Record

Summary = dict[str, float | int | None]


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return fmean(values) if values else None


def _timing(records: Sequence[Record], key: str) -> list[float]:
    return [v for r in records if (v := r.timings.get(key)) is not None]


def summarize(records: Sequence[Record], ks: Sequence[int]) -> Summary:
    """The figures of one configuration (or one turn position of it)."""
    out: Summary = {"questions": len(records)}
    with_gold = [r for r in records if r.retrieval]
    out["n_retrieval"] = len(with_gold)
    for key in [*(f"recall@{k}" for k in ks), "gold_recall@10", "mrr@10", "ndcg@10"]:
        out[key] = _mean(r.retrieval[key] for r in with_gold)
    scored = [r for r in records if r.scores]
    out["n_answers"] = len(scored)
    for key in ("em", "f1", "rouge_l", "bleu"):
        out[key] = _mean(r.scores[key] for r in scored)
    labelled = [r for r in records if r.label_gold is not None and r.label_pred is not None]
    out["n_labels"] = len(labelled)
    out["label_acc"] = _mean(1.0 if r.label_pred == r.label_gold else 0.0 for r in labelled)
    asked = [r for r in records if r.decision is not None]
    answered = [r for r in asked if r.decision == "answer"]
    out["answered"] = len(answered) / len(asked) if asked else None
    generated = [r for r in answered if r.mode in ("generate", "extractive-fallback")]
    out["fallback"] = _mean(1.0 if r.mode == "extractive-fallback" else 0.0 for r in generated)
    out["cited"] = _mean(1.0 if r.citations_valid else 0.0 for r in answered)
    n_citations = sum(r.citations_valid for r in asked)
    out["n_citations"] = n_citations
    out["supported"] = (sum(r.citations_supported for r in asked) / n_citations
                        if n_citations else None)
    precision, recall = refusal_scores([r.decision == "refuse" for r in asked],
                                       [r.answerable for r in asked])
    out["n_unanswerable"] = sum(1 for r in asked if not r.answerable)
    out["refusal_precision"], out["refusal_recall"] = precision, recall
    out.update(outcome_shares([r.outcome for r in asked]))
    out["ttft_p50_s"] = median(_timing(records, "ttft_s"))
    out["tokens_per_s"] = median(_timing(records, "tokens_per_s"))
    e2e = _timing(records, "e2e_s")
    out["e2e_p50_s"], out["e2e_p95_s"] = percentile(e2e, 50), percentile(e2e, 95)
    return out


def _by(records: Sequence[Record], key: Callable[[Record], Any]) -> dict[Any, list[Record]]:
    groups: dict[Any, list[Record]] = {}
    for r in records:
        groups.setdefault(key(r), []).append(r)
    return groups


def summaries(records: Sequence[Record], configs: Sequence[str],
              ks: Sequence[int]) -> dict[str, Summary]:
    groups = _by(records, lambda r: r.config)
    return {name: summarize(groups.get(name, []), ks) for name in configs}


def by_turn(records: Sequence[Record], configs: Sequence[str],
            ks: Sequence[int]) -> dict[str, dict[int, Summary]]:
    """Multi-turn datasets: the same figures per turn position (1 = opening question)."""
    out: dict[str, dict[int, Summary]] = {}
    for name, group in _by(records, lambda r: r.config).items():
        if name not in configs:
            continue
        turns = _by([r for r in group if r.turn is not None], lambda r: r.turn)
        out[name] = {pos: summarize(turns[pos], ks) for pos in sorted(turns)}
    return out


def recall_curves(records: Sequence[Record], configs: Sequence[str],
                  depth: int) -> dict[str, list[float]]:
    """hit@1..hit@depth per configuration, over questions with gold ids."""
    curves: dict[str, list[float]] = {}
    for name, group in _by(records, lambda r: r.config).items():
        with_gold = [r for r in group if r.retrieval]
        if name not in configs or not with_gold:
            continue
        curves[name] = [
            fmean(1.0 if r.first_hit is not None and r.first_hit <= k else 0.0
                  for r in with_gold)
            for k in range(1, depth + 1)]
    return curves
