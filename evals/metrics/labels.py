"""Mapping a free-text answer to a closed label (yes / no / maybe), for label accuracy.

Datasets like PubMedQA and CUAD's yes/no questions are scored by label, but the assistant
answers in sentences (or, extractively, by quoting). The rule, applied in order:

1. A refusal, or an answer saying the documents do not say ("do not say", "not mentioned",
   "没有相关", "未提及", ...) -> ``maybe``: the honest "cannot tell" of the label set.
2. A label word at the start of the normalised answer -> that label: yes / no / maybe, and
   their near forms (yeah, nope, possibly, unclear, uncertain; 是/对/有 -> yes, 否/不/没有 ->
   no, 可能/不确定 -> maybe, the longer Chinese forms tested first).
3. Otherwise a negation in the first sentence (not, no, never, none, neither, nor, cannot,
   without, "n't"; 不/没/未/无/非) -> ``no``, else ``yes``: a quoted sentence that states a
   fact affirms it, one that negates it denies it.

The rule is crude on purpose: it is documented and deterministic, so two configurations are
mapped the same way, which is all a comparison needs.
"""

from __future__ import annotations

import re

from evals.metrics.text import normalize, strip_citations
from knowledge.text.cjk import HAN

_DONT_KNOW = re.compile(
    r"do(?:es)? not (?:say|state|mention|contain|specify|provide|include)|"
    r"(?:not|never) (?:stated|mentioned|specified|addressed)|no information|"
    r"cannot (?:be )?(?:determined|answer)|没有相关|未提及|没有提及|没有说明|无法确定|无法回答")
_START = (
    ("maybe", ("maybe", "possibly", "perhaps", "unclear", "uncertain", "it is unclear",
               "不确定", "可能", "也许", "或许")),
    ("yes", ("yes", "yeah", "yep", "correct", "是的", "是", "对", "有")),
    ("no", ("no", "nope", "not", "否", "不", "没有", "没", "无")),
)
_NEGATION_WORDS = frozenset(("not", "no", "never", "none", "neither", "nor", "cannot",
                             "without", "nothing", "nobody"))
_NEGATION_ZH = re.compile(r"[不没未无非]")
_SENTENCE_END = re.compile(r"[.!?。！？;；\n]")


def _starts_with(norm: str, word: str) -> bool:
    if not norm.startswith(word):
        return False
    if HAN.match(word):
        # "是否" and "有无" ask rather than answer; "是" alone at the start answers.
        return not norm.startswith(("是否", "有无", "有没有", "是不是"))
    rest = norm[len(word):]
    return not rest or not rest[0].isalnum()


def answer_label(text: str, refused: bool = False) -> str:
    """The label an answer expresses under the module's rule."""
    clean = strip_citations(text)
    if refused or _DONT_KNOW.search(clean.lower()):
        return "maybe"
    norm = normalize(clean)
    for label, words in _START:
        for word in sorted(words, key=len, reverse=True):
            if _starts_with(norm, word):
                return label
    first = _SENTENCE_END.split(clean.strip(), maxsplit=1)[0].lower()
    words = set(re.findall(r"[a-z]+", first))
    if words & _NEGATION_WORDS or "n't" in first or _NEGATION_ZH.search(first):
        return "no"
    return "yes"
