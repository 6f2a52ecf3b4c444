"""String metrics of an answer against reference answers: EM, token F1, ROUGE-L, BLEU.

All work on ``text.tokens`` (SQuAD normalisation, one token per CJK character) and take the
best score over the references, as SQuAD does with several gold answers.

- Exact match: the token lists are equal.
- Token F1 (SQuAD): harmonic mean of precision and recall of the multiset of shared tokens;
  1.0 when both are empty, 0.0 when only one is.
- ROUGE-L: F1 (beta = 1) of the longest common subsequence, P = LCS/|candidate|,
  R = LCS/|reference|.
- BLEU: sentence BLEU (Papineni et al. 2002) with uniform weights over 1..4-grams, clipped
  counts against the maximum count in any reference, the brevity penalty against the
  reference closest in length (shorter wins a tie), and add-one smoothing of the 2..4-gram
  precisions, p_n = (matches_n + 1) / (candidate n-grams + 1), the unigram precision left
  as is (Lin & Och 2004; NLTK's ``SmoothingFunction().method2``): one missing 4-gram does not
  zero a short sentence, but an answer sharing no word with the reference still scores 0.
  An empty candidate scores 0.

A generated answer is a sentence or two while references are often a few words, so EM is
mostly 0 and F1/ROUGE-L reward containing the reference; read them relative to another config
on the same questions, not as absolute quality.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from evals.metrics.text import tokens

BLEU_ORDER = 4


def exact_match(prediction: str, references: Sequence[str]) -> float:
    pred = tokens(prediction)
    return max((1.0 if pred == tokens(ref) else 0.0 for ref in references), default=0.0)


def _f1(pred: Sequence[str], ref: Sequence[str]) -> float:
    if not pred or not ref:
        return 1.0 if pred == ref else 0.0
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, references: Sequence[str]) -> float:
    pred = tokens(prediction)
    return max((_f1(pred, tokens(ref)) for ref in references), default=0.0)


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Longest common subsequence by dynamic programming, one row at a time."""
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        row = [0]
        for j, y in enumerate(b, 1):
            row.append(prev[j - 1] + 1 if x == y else max(prev[j], row[j - 1]))
        prev = row
    return prev[-1]


def _rouge_l(pred: Sequence[str], ref: Sequence[str]) -> float:
    lcs = lcs_length(pred, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


def rouge_l(prediction: str, references: Sequence[str]) -> float:
    pred = tokens(prediction)
    return max((_rouge_l(pred, tokens(ref)) for ref in references), default=0.0)


def _ngrams(toks: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))


def bleu(prediction: str, references: Sequence[str], order: int = BLEU_ORDER) -> float:
    pred = tokens(prediction)
    refs = [tokens(r) for r in references]
    if not pred or not refs:
        return 0.0
    log_sum = 0.0
    for n in range(1, order + 1):
        counts = _ngrams(pred, n)
        max_ref: Counter[tuple[str, ...]] = Counter()
        for ref in refs:
            max_ref |= _ngrams(ref, n)
        matches = sum(min(c, max_ref[g]) for g, c in counts.items())
        if n == 1 and matches == 0:
            return 0.0
        smooth = 0 if n == 1 else 1
        log_sum += math.log((matches + smooth) / (sum(counts.values()) + smooth))
    closest = min((len(r) for r in refs), key=lambda length: (abs(length - len(pred)), length))
    brevity = 1.0 if len(pred) > closest else math.exp(1 - closest / len(pred))
    return brevity * math.exp(log_sum / order)


def answer_scores(prediction: str, references: Sequence[str]) -> dict[str, float]:
    """The four string metrics, keyed as in the report."""
    return {"em": exact_match(prediction, references), "f1": token_f1(prediction, references),
            "rouge_l": rouge_l(prediction, references), "bleu": bleu(prediction, references)}
