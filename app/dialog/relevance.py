"""Does a checked answer answer the question that was asked?

Every sentence the checker keeps is true to its passage; a true sentence about something else
is still a confident wrong answer ("When does the initial term expire?" answered with the
sentence naming the agreement's parties and date). Four tests, each a property of the
question, not of any one document:

- **coverage**: the answer (with its passages' headings) names at least a third of the
  question's key terms (of a question naming its contract, of what it asks, ten at most).
  Measured on covidqa-mini and pubmedqa-mini answers: the wrong ones below this named 0-33 %
  of the question, the correct ones 36 % or more.
- **focus**: the sentences themselves carry at least one of the words the question asks
  about: its key terms less the names it uses to say where to look (capitalised or quoted
  words: the agreement's title and parties are in every passage of it; "term" and "expire"
  are the question) and less the words that only shape a question ("how long", "take").
- **answer type**: a question asking how much or how many needs a number in the answer (a
  year alone does not count); one asking how long or when needs a time, date or duration;
  "What is X?" needs a sentence saying what X is ("X is ...", "X refers to ...", "... known as
  X"), not one that only mentions it.
- **years**: every year the question names is in the answer or in the passages it cites (their
  text, headings or document names).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.dialog.evidence import LONG_QUESTION_TERMS, content_of
from app.dialog.quantities import quantities
from app.dialog.types import AnswerSentence
from knowledge.text.tokenize import coverage, key_terms, stem
from knowledge.types import Passage

MIN_ANSWER_COVERAGE = 0.34

_HOW_MUCH = re.compile(
    r"\bhow (?:much|many)\b|\bwhat (?:is|was|were|are) the (?:number|amount|total|value|"
    r"price|cost|size)\b|多少|几个|几名|几人|几次|金额是|数额", re.I)
_HOW_LONG = re.compile(r"\bhow (?:long|soon|quickly|often)\b|\bwithin (?:what|how)\b|"
                       r"\bby when\b|多久|多长时间|多长|几天|几个月|几年|期限", re.I)
_WHEN = re.compile(r"^\s*when\b|\bwhat (?:date|year|day|time)\b|\bon which date\b|何时|"
                   r"什么时候|哪一年|哪年|哪天|几月|何日", re.I)
# a time, a date or a span of time, in digits or in words ("within six months", "三年")
_TIME = re.compile(
    r"\b(?:seconds?|minutes?|hours?|days?|weeks?|fortnights?|months?|years?|quarters?|"
    r"daily|weekly|monthly|quarterly|annual(?:ly)?|yearly|immediately|promptly|"
    r"jan(?:uary)?|feb(?:ruary)?|march|apr(?:il)?|may(?=\s+\d)|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|noon|midnight)\b|"
    r"\d{1,2}[:.]\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b|(?<!\d)(?:19|20)\d{2}(?!\d)|"
    r"秒|分钟|小时|天|日|周|星期|月|季度|年|立即|即时", re.I)
_NUMBER_WORD = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred|thousand|million|billion|half|double|twice|none|no)\b|"
    r"[一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟]", re.I)
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_QUESTION_WORDS = frozenset({
    "long", "much", "many", "often", "soon", "quickly", "take", "get", "give", "make", "need",
    "must", "should", "can", "could", "would", "kind", "type", "way", "ways", "according",
    "say", "says", "tell", "explain", "describe", "mean", "means", "anything", "something"})
# double quotes and CJK brackets only: an apostrophe is a possessive ("the firm's policy")
_QUOTED = re.compile(r"[\"“”「」『』《》]([^\"“”「」『』《》]{2,})[\"“”「」『』《》]")


def _named_terms(question: str) -> set[str]:
    """Words the question uses as names: quoted titles and capitalised words after the first."""
    names = {t for q in _QUOTED.findall(question) for t in key_terms(q)}
    words = re.findall(r"[A-Za-z][\w'’-]*", question)
    return names | set(key_terms(" ".join(w for w in words[1:] if w[0].isupper())))


def focus_terms(question: str) -> list[str]:
    """The question's key terms that say what is asked: not names, not question words."""
    named = _named_terms(question)
    return [t for t in key_terms(question) if t not in named and t not in _QUESTION_WORDS]


def _mentions(text: str, terms: Sequence[str]) -> bool:
    words = {stem(t) for t in key_terms(text)}
    lowered = text.lower()
    return any(stem(t) in words or (not t.isascii() and t in lowered) for t in terms)


# "What is X?" / "什么是X" asks for a definition: the answer says what X is, not only that
# it exists ("There are ETFs for lots of different things" does not say what an ETF is)
# not "What is the population of X?" nor "What is X's rate?": those ask for an attribute
_WHAT_IS = re.compile(r"^\s*what\s+(?:is|are)\s+(?:an?\s+)?(?!the\b)((?:(?!\bof\b|'s\b|’s\b)"
                      r"[^?]){2,60}?)\s*\??\s*$", re.I)
_WHAT_IS_ZH = re.compile(r"^\s*(?:什么是(.{1,20}?)|(.{1,20}?)是什么)\s*[？?]?\s*$")
_PREPOSITIONS = frozenset({"for", "of", "to", "with", "in", "on", "about", "from", "by", "at",
                          "like", "used"})
_DEFINES = r"(?:is|are|was|were|means?|refers?\s+to|stands?\s+for|describes?|consists?\s+of)"


def _defines(question: str, text: str) -> bool | None:
    """Whether ``text`` says what the thing a "what is" question names is (None: not one)."""
    if m := _WHAT_IS_ZH.match(question):
        name = (m[1] or m[2]).strip()
        return bool(re.search(re.escape(name) + r".{0,20}?(?:是|指|即|系)", text))
    m = _WHAT_IS.match(question)
    if m is None:
        return None
    words = m[1].lower().split()
    if words[-1] in _PREPOSITIONS or any(w.endswith("ed") for w in words):
        return None  # "What is zorvatinib reserved for?" asks what it is used for
    terms = key_terms(m[1])
    if not terms or len(terms) > 6:
        return None
    head = re.escape(terms[-1].rstrip("s"))
    lowered = text.lower()
    return bool(re.search(rf"\b{head}\w*\b[^.;]{{0,80}}?\b{_DEFINES}\b", lowered) or
                re.search(rf"\b(?:called|known as|termed|defined as)\b[^.;]{{0,40}}\b{head}",
                          lowered))


def has_answer_type(question: str, text: str) -> bool:
    """A number for "how much", a date, year or duration for "when", what a thing is for
    "what is X?"; anything otherwise."""
    if (defined := _defines(question, text)) is not None:
        return defined
    if _HOW_LONG.search(question) or _WHEN.search(question):
        return bool(_TIME.search(text))
    if _HOW_MUCH.search(question):
        return any(not q.is_year for q in quantities(text)) or bool(
            _NUMBER_WORD.search(_YEAR.sub(" ", text)))
    return True


def names_the_years(question: str, text: str) -> bool:
    """Every year the question names is in ``text`` (the answer and its sources): a 2023
    figure does not answer a question about 2021."""
    found = set(_YEAR.findall(text))
    return all(year in found for year in _YEAR.findall(question))


def answers_the_question(question: str, sentences: Sequence[AnswerSentence],
                         sources: Sequence[Passage]) -> bool:
    """Whether the answer is about what was asked (the four tests above)."""
    cited = [sources[n - 1] for n in dict.fromkeys(n for s in sentences for n in s.citations)
             if 0 < n <= len(sources)]
    headings = " ".join(f"{p.doc_name} {' '.join(p.heading_path)}" for p in cited)
    text = " ".join(s.text for s in sentences)
    # a question naming its contract is about what it asks of it, and a clause description
    # pasted as the question lists alternatives no one clause names all of
    content = content_of(question)
    cap = LONG_QUESTION_TERMS if content != question else None
    if coverage(content, f"{headings} {text}", cap=cap) < MIN_ANSWER_COVERAGE:
        return False
    focus = focus_terms(question)
    if focus and not _mentions(text, focus):
        return False
    # the year may be stated once at the top of the passage the sentence comes from
    passages = " ".join(p.text for p in cited)
    return has_answer_type(question, text) and names_the_years(
        question, f"{headings} {text} {passages}")
