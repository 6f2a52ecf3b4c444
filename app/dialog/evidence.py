"""Is there enough evidence to answer? The decision that stands between a question and a guess.

One passage must (1) be semantically close to the question (cosine >= the pack's
``min_score``; skipped for languages the embedder does not serve), (2) contain at least
``min_coverage`` of the question's key terms; and (3) every proper name the question is
anchored on ("the Manchester office") must occur somewhere in the knowledge base: a passage
about office hours in general does not answer a question about an office the documents never
mention. Names are checked against the whole knowledge base, not the passage, because the
institution's own name ("Northbridge") is rarely repeated in the passage holding the figure.
The parties of "the agreement between A and B" only say which document is meant, and an
excerpt of a contract (a clause, a schedule) seldom repeats them all: one of them known is
enough; none known, and the document is not there.
Either of the first two signals alone is easy to fool.

The decision is taken from the retrieval result alone: the answerer asks the search to check
:func:`anchor_terms` and the result reports which of them are unknown, together with each
passage's cosine and coverage. Nothing here calls back into the knowledge base.
"""

from __future__ import annotations

import re

from domains.pack import RetrievalConfig
from knowledge.retrieval import RetrievalResult
from knowledge.text.tokenize import coverage
from knowledge.types import Passage

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


_PARTIES = re.compile(r"\bbetween\s+(.+?\s+and\s+.+?)(?=[:?;]|$)")
_QUOTED_TITLE = re.compile(r"[\"“”][^\"“”]{3,}[\"“”]")
# legal forms every contract repeats: knowing "Inc" says nothing about which contract it is
_LEGAL_FORMS = frozenset({"Inc", "Ltd", "Llc", "Corporation", "Corp", "Company", "Limited",
                          "Plc", "Group", "Holding", "Holdings", "Pty", "Partners", "Bank"})


def party_names(question: str) -> set[str]:
    """The names inside "between A and B" (the parties that identify a contract)."""
    question = question.strip()
    spans = [m.span(1) for m in _PARTIES.finditer(question)]
    return {name for name in anchor_names(question) if name not in _LEGAL_FORMS
            and any(question.find(name, a) in range(a, b) for a, b in spans)}


def content_of(question: str) -> str:
    """The question without what only says which document is meant: a quoted title and
    "between A and B" ("In the "Agency Agreement" between X and Y: is there a right of first
    refusal?" asks about a right of first refusal)."""
    stripped = _QUOTED_TITLE.sub(" ", question)
    # "between Q2 of FY2024 and FY2023" is a period, not parties: only names are stripped
    return _PARTIES.sub(" ", stripped) if party_names(question) else stripped


# A drug's international nonproprietary name, written in lower case, by its WHO stem
# ("zorvatinib": -tinib, a kinase inhibitor; "apixaban": -xaban): a name like a capitalised
# one, so a question about a drug no document names is not answered from another drug's rule.
_DRUG = re.compile(
    r"\b[a-z]{3,}(?:mab|tinib|ciclib|parib|pril|sartan|olol|statin|conazole|mycin|micin|"
    r"cillin|ciclovir|navir|previr|buvir|parin|xaban|gatran|floxacin|cycline|prazole|dipine|"
    r"lukast|afil|gliptin|gliflozin|glutide|dronate|setron|tidine|triptan|azepam|azolam|"
    r"barbital|profen|platin|rubicin|taxel|tecan|relin|lutamide)\b")


def anchor_drugs(question: str) -> list[str]:
    """Drug names in an English question that are written in lower case (``_DRUG``)."""
    return list(dict.fromkeys(_DRUG.findall(question.lower())))


def anchor_terms(question: str, lang: str) -> list[str]:
    """The terms the search must check the knowledge base knows (``check_terms``).

    Only English questions are checked: capitalisation marks names there and nowhere else,
    and a drug's name is known by its stem.
    """
    if lang != "en":
        return []
    names = anchor_names(question)
    known = {n.lower() for n in names}
    return [*names, *(d for d in anchor_drugs(question) if d not in known)]


LONG_QUESTION_TERMS = 10


def has_evidence(found: RetrievalResult, cfg: RetrievalConfig, lang: str) -> bool:
    """Whether ``found`` supports an answer to a question in ``lang``.

    ``found`` must come from a search given ``check_terms=anchor_terms(question, lang)``.
    """
    if lang == "en" and found.unknown_terms:
        unknown = set(found.unknown_terms)
        parties = party_names(found.query)
        if unknown - parties or parties <= unknown:
            return False
    use_dense = lang in cfg.dense_languages
    # cover what is asked: not the title and parties naming the document, and not every one
    # of a long list of alternatives
    content = content_of(found.query)

    def covered(p: Passage) -> float:
        return max(found.lexical.get(p.chunk_id, 0.0),
                   coverage(content, p.text, cap=LONG_QUESTION_TERMS))

    return any(
        covered(p) >= cfg.min_coverage
        and (not use_dense or found.dense.get(p.chunk_id, -1.0) >= cfg.min_score)
        for p in found.passages)
