"""Document-level facts found at ingest, and how a search prefers the documents they match.

A question often names *which* document it is about before what it asks: "3M's FY2018 capital
expenditure", "Northbridge's 2023 CET1 ratio". Small chunks rarely repeat the company or the
year, so the document says them once — in its file name, title and first headings — and
ingest keeps them with the document (``DocumentRow.meta``): ``title`` and ``years``. A search
then ranks the passages of documents that match what the question (or the dialog's slots)
names — a year, or a word that tells the candidates apart by name ("Microsoft" among filings
of forty companies) — ahead of equally good passages of documents that do not, by a bounded
boost rather than a filter: a fact read wrongly from a file name can cost a place, never hide
the answer.

Years come from the name, the title and the headings of the first page only: the body of an
annual report mentions every comparison year, which would make each report "about" all of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from knowledge.text.tokenize import key_terms
from knowledge.types import ParsedDocument

# 2018, FY2018, FY 2018, 2018年, 2018/19 (the first year); not inside longer numbers.
_YEAR = re.compile(r"(?<![\d.,])(?:FY\s?)?((?:19|20)\d\d)(?![\d.,]\d)", re.IGNORECASE)
_FY_SHORT = re.compile(r"\bFY\s?'?(\d\d)\b", re.IGNORECASE)
_HEADINGS_READ = 8
# A legal form says what kind of entity a party is, not which one: nearly every contract's and
# filing's name holds one, so "Inc" in a question would prefer whichever candidates happen to
# spell it out (cuad lost 0.05 recall@10 to exactly that).
# The forms also found glued to a name in EDGAR-style file names ("IVILLAGEINC_03_17_1999"):
# cut off so the name itself can match the question's "iVillage". Short forms ("co", "sa")
# end too many ordinary words to be cut.
_GLUED_FORMS = ("incorporated", "corporation", "company", "limited", "inc", "corp", "llc",
                "ltd", "plc", "llp", "gmbh")
ENTITY_FORMS = frozenset({
    *_GLUED_FORMS, "co", "lp", "ag", "sa", "nv", "bv", "pte", "pty",
    "公司", "有限公司", "股份有限公司"})
_GLUED_FORM = re.compile(rf"^([a-z0-9]{{4,}}?)(?:{'|'.join(_GLUED_FORMS)})$")
# A file extension, not any dot: Path.stem would cut "EX-10.16-SPONSORSHIP AGREEMENT" at ".16".
_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,4}$")


def years_in(text: str) -> set[str]:
    """Four-digit years (1900-2099) a text names, FY18 read as 2018."""
    found = {m.group(1) for m in _YEAR.finditer(text)}
    found |= {f"20{m.group(1)}" for m in _FY_SHORT.finditer(text)}
    return found


def document_facts(name: str, parsed: ParsedDocument) -> dict[str, Any]:
    """``title`` and ``years`` of a document, from its name, title and first headings."""
    headings = [b.text for b in parsed.blocks if b.kind == "heading"][:_HEADINGS_READ]
    first_page = [b.text for b in parsed.blocks[:_HEADINGS_READ]
                  if b.kind == "heading" and (b.page or 1) == 1]
    title = parsed.metadata.get("title") or next(iter(headings), "")
    years = years_in(" ".join([name, title, *first_page]))
    facts: dict[str, Any] = {}
    if title:
        facts["title"] = " ".join(title.split())[:300]
    if years:
        facts["years"] = sorted(years)
    return facts


def preference(query: str, prefer: Iterable[str] = ()) -> tuple[set[str], list[str]]:
    """What a search prefers: the years the query names, and the caller's terms (slot values)."""
    return years_in(query), [t.lower() for t in prefer if t.strip()]


def file_words(doc_name: str) -> str:
    """A file name as words, lower-cased: "MICROSOFT_2023_10K.pdf" -> "microsoft 2023 10k"."""
    base = _EXTENSION.sub("", doc_name.replace("\\", "/").rsplit("/", 1)[-1])
    return re.sub(r"[_\-.#/:]+", " ", base).lower()


def naming(doc_name: str, facts: Mapping[str, Any]) -> str:
    """The words that name a document: its file name and title, lower-cased."""
    return f"{file_words(doc_name)} {facts.get('title', '')}".lower()


def title_terms(query: str, names: Iterable[str]) -> list[str]:
    """The question's words that tell the candidate documents apart by file name
    ("microsoft", "nda", "华信银行"): in the name of some candidates, not all. A word every
    name holds ("report") prefers none; years are matched as years. File names, not titles:
    a paper's title is a sentence about its topic, and its words in a question say what is
    asked, not which document — preferring them lost 0.03 recall@10 on covidqa."""
    named = [name_words(n) for n in names]
    if len(named) < 2:
        return []
    return [t for t in key_terms(query) if not years_in(t) and t not in ENTITY_FORMS
            and 0 < sum(t in words for words in named) < len(named)]


def name_words(name: str) -> set[str]:
    """The words of a document's name, each also without a legal form glued to its end."""
    words = set(key_terms(name))
    return words | {m.group(1) for w in words if (m := _GLUED_FORM.match(w))}


def match(facts: Mapping[str, Any], doc_name: str, years: set[str], terms: list[str]) -> float:
    """Share of the preferences (each year asked, each term) a document's facts satisfy.

    A document that states no year neither matches nor contradicts a year: it gets no boost,
    as does one about another year. A term matches a word of the name or title.
    """
    wanted = (1 if years else 0) + len(terms)
    if not wanted:
        return 0.0
    hits = 1 if years and years & set(facts.get("years") or ()) else 0
    named = naming(doc_name, facts)
    words = name_words(named)
    hits += sum(1 for t in terms if t in words or (" " in t and t in named))
    return hits / wanted
