"""Answer normalisation for string metrics: SQuAD's rules, plus character tokens for Chinese.

SQuAD's ``normalize_answer``: lowercase, delete punctuation ("1,561" -> "1561"), drop the
articles a/an/the, collapse whitespace. Extended for what a RAG answer contains: citation
markers ``[n]`` are removed first, text is NFKC-folded (full-width digits and letters in
Chinese documents), every Unicode punctuation character counts as punctuation (，。？…), and
each CJK character is its own token (Chinese has no spaces; word segmentation would make
scores depend on the segmenter). Latin runs, digits included, stay whole words:
"80万元" -> ["80", "万", "元"].
"""

from __future__ import annotations

import re
import string
import unicodedata

from knowledge.text.cjk import CJK

_MARKER = re.compile(r"\[\d{1,3}(?:\s*[,，]\s*\d{1,3})*\]")
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
_ASCII_PUNCT = frozenset(string.punctuation)


def strip_citations(text: str) -> str:
    return _MARKER.sub("", text)


def _is_punct(ch: str) -> bool:
    return ch in _ASCII_PUNCT or unicodedata.category(ch).startswith("P")


def normalize(text: str) -> str:
    """SQuAD-normalised text (CJK characters left adjacent; see ``tokens``)."""
    text = unicodedata.normalize("NFKC", strip_citations(text)).lower()
    text = "".join(ch for ch in text if not _is_punct(ch))
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    """Normalised tokens: whitespace-separated words, with every CJK character on its own."""
    out: list[str] = []
    for word in normalize(text).split():
        run = ""
        for ch in word:
            if CJK.match(ch):
                if run:
                    out.append(run)
                    run = ""
                out.append(ch)
            else:
                run += ch
        if run:
            out.append(run)
    return out
