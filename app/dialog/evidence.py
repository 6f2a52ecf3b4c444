"""Is there enough evidence to answer? The decision that stands between a question and a guess.

One passage must (1) be semantically close to the question (cosine >= the pack's
``min_score``; skipped for languages the embedder does not serve), (2) contain at least
``min_coverage`` of the question's key terms; and (3) every proper name the question is
anchored on ("the Manchester office") must occur somewhere in the knowledge base: a passage
about office hours in general does not answer a question about an office the documents never
mention. Names are checked against the whole knowledge base, not the passage, because the
institution's own name ("Northbridge") is rarely repeated in the passage holding the figure.
Either of the first two signals alone is easy to fool.

The decision is taken from the retrieval result alone: the answerer asks the search to check
:func:`anchor_terms` and the result reports which of them are unknown, together with each
passage's cosine and coverage. Nothing here calls back into the knowledge base.
"""

from __future__ import annotations

import re

from domains.pack import RetrievalConfig
from knowledge.retrieval import RetrievalResult

# Capitalised words that are not the first word of a sentence: names of places, firms, drugs.
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)(?<![.!?])\b([A-Z][a-z]{2,}(?:[-'][A-Za-z]+)*)")
_NOT_NAMES = frozenset({"The", "What", "When", "Which", "Who", "How", "Does", "Is", "Are",
                        "Can", "Should", "Please", "Monday", "Friday", "English", "Chinese"})


def anchor_names(question: str) -> list[str]:
    """Proper names in an English question (capitalised words not opening a sentence)."""
    names = []
    for match in _NAME.finditer(question.strip()):
        word = match.group(1)
        if word not in _NOT_NAMES:
            names.append(word.split("'")[0])
    return list(dict.fromkeys(names))


def anchor_terms(question: str, lang: str) -> list[str]:
    """The terms the search must check the knowledge base knows (``check_terms``).

    Only English questions are checked: capitalisation marks names there and nowhere else.
    """
    return anchor_names(question) if lang == "en" else []


def has_evidence(found: RetrievalResult, cfg: RetrievalConfig, lang: str) -> bool:
    """Whether ``found`` supports an answer to a question in ``lang``.

    ``found`` must come from a search given ``check_terms=anchor_terms(question, lang)``.
    """
    if lang == "en" and found.unknown_terms:
        return False
    use_dense = lang in cfg.dense_languages
    return any(
        found.lexical.get(p.chunk_id, 0.0) >= cfg.min_coverage
        and (not use_dense or found.dense.get(p.chunk_id, -1.0) >= cfg.min_score)
        for p in found.passages)
