"""One verdict per asked question: ``correct``, ``refused`` or ``confidently_wrong``.

String metrics (F1, ROUGE-L) average away the failure a user notices most: a fluent answer
that is wrong. Refusing is a cost; answering wrongly is a harm. So each question gets exactly
one of three outcomes, and the summary reports their shares:

- ``refused``: the system did not answer. ``refuse`` and also ``clarify`` (it asked the user
  for a missing detail instead) and ``social`` (small talk): none of them states a fact that
  could be wrong.
- ``correct`` (answered only):
  - a label reference (yes / no / maybe): the label the answer expresses
    (``labels.answer_label``) equals the gold label;
  - otherwise any of: the normalised answer contains a normalised reference as a whole
    phrase (``contains_reference``); every number of a reference occurs in the answer
    (``numbers_match``; the reference must hold at least one number); token F1 against the
    best reference is at least ``F1_THRESHOLD``.
- ``confidently_wrong``: answered and not correct. An unanswerable question that was answered
  is always confidently wrong, whatever its references say.

``None`` (left out of the shares): nothing was asked (a retrieval-only run), or the question
is answerable but has no reference to judge the answer against.

The checks are lenient on purpose (a long answer that contains "five days" is correct): they
decide whether the answer says the right thing, not whether it says it well. The number rule
is the loosest: "5 mg" satisfies a reference of "5 g". Its numbers are unsigned ("day -6"
reads as 6, so a range "15-29" is two numbers, not 15 and -29).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from typing import Literal

from evals.metrics.answers import token_f1
from evals.metrics.labels import answer_label
from evals.metrics.text import strip_citations
from knowledge.text.cjk import CJK

Outcome = Literal["correct", "refused", "confidently_wrong"]
OUTCOMES: tuple[Outcome, ...] = ("correct", "confidently_wrong", "refused")
F1_THRESHOLD = 0.5
NUMBER_TOLERANCE = 1e-6  # relative

# A thousands-grouped number ("1,234.5") or a plain one ("12", "12.0"); no sign, see above.
# A group is exactly three digits: "December 31,2018" (a table header typed without its
# space) is 31 and 2018, not 31,201 and 8.
_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?![\d])(?:\.\d+)?|\d+(?:\.\d+)?")
_SPACE = re.compile(r"\s+")


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def _is_cjk(ch: str) -> bool:
    return bool(CJK.match(ch))


def normalize_phrase(text: str) -> str:
    """Casefolded, NFKC-folded text with citation markers removed, whitespace collapsed and
    punctuation stripped from both ends.

    Whitespace next to a CJK character is dropped, because Chinese is written without spaces
    and a reference typed as "入院 时" must still match "入院时"; spaces between Latin words
    stay, so "80 万元" and "cost 80" keep their word edges.
    """
    text = unicodedata.normalize("NFKC", strip_citations(text)).casefold()
    text = _SPACE.sub(" ", text).strip()
    chars = list(text)
    kept = [ch for i, ch in enumerate(chars)
            if not (ch == " " and (_is_cjk(chars[i - 1]) or _is_cjk(chars[i + 1])))]
    start, end = 0, len(kept)
    while start < end and _is_punct(kept[start]):
        start += 1
    while end > start and _is_punct(kept[end - 1]):
        end -= 1
    return "".join(kept[start:end]).strip()


def _word_char(ch: str) -> bool:
    return ch.isalnum() and not _is_cjk(ch)


def contains_reference(answer: str, reference: str) -> bool:
    """The normalised reference occurs in the normalised answer, not inside a longer word.

    The edge check keeps "5" from matching "15 mg" and "no" from matching "not"; a Chinese
    edge needs no check, as Chinese words are not delimited.
    """
    ref = normalize_phrase(reference)
    if not ref:
        return False
    text = normalize_phrase(answer)
    start = text.find(ref)
    while start != -1:
        end = start + len(ref)
        left_ok = start == 0 or not (_word_char(text[start - 1]) and _word_char(ref[0]))
        right_ok = end == len(text) or not (_word_char(text[end]) and _word_char(ref[-1]))
        if left_ok and right_ok:
            return True
        start = text.find(ref, start + 1)
    return False


def numbers(text: str) -> list[float]:
    """The numbers written in ``text`` (NFKC digits, thousands separators and % ignored)."""
    clean = unicodedata.normalize("NFKC", strip_citations(text))
    return [float(m.group().replace(",", "")) for m in _NUMBER.finditer(clean)]


def numbers_match(answer: str, reference: str) -> bool:
    """Every number of the reference occurs in the answer; False when the reference has none,
    since "the numbers agree" says nothing about a reference without numbers."""
    wanted = numbers(reference)
    if not wanted:
        return False
    found = numbers(answer)
    return all(any(math.isclose(w, f, rel_tol=NUMBER_TOLERANCE) for f in found)
               for w in wanted)


def answer_is_correct(answer: str, references: Sequence[str],
                      label_gold: str | None = None) -> bool:
    """Whether an answer says what a reference says (the rules in the module docstring)."""
    if label_gold is not None:
        return answer_label(answer) == label_gold
    refs = [r for r in references if r.strip()]
    if any(contains_reference(answer, r) or numbers_match(answer, r) for r in refs):
        return True
    return bool(refs) and token_f1(answer, refs) >= F1_THRESHOLD


def answer_outcome(decision: str | None, answer: str | None, references: Sequence[str], *,
                   answerable: bool, label_gold: str | None = None) -> Outcome | None:
    """The outcome of one asked question, or None when it cannot be judged (see module)."""
    if decision is None:
        return None
    answered = decision == "answer"
    if not answerable:
        return "confidently_wrong" if answered else "refused"
    if label_gold is None and not any(r.strip() for r in references):
        return None
    if not answered:
        return "refused"
    correct = answer_is_correct(answer or "", references, label_gold)
    return "correct" if correct else "confidently_wrong"


def outcome_shares(outcomes: Sequence[str | None]) -> dict[str, float | int | None]:
    """Share of each outcome among the judged questions, plus ``n_outcomes`` (their count);
    the shares are None when no question was judged (a retrieval-only run)."""
    judged = [o for o in outcomes if o is not None]
    n = len(judged)
    out: dict[str, float | int | None] = {
        key: (sum(1 for o in judged if o == key) / n if n else None) for key in OUTCOMES}
    out["n_outcomes"] = n
    return out
