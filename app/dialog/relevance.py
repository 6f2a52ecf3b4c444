"""Does a checked answer answer the question that was asked?

Every sentence the checker keeps is true to its passage; a true sentence about something else
is still a confident wrong answer ("When does the initial term expire?" answered with the
sentence naming the agreement's parties and date). Five tests, each a property of the
question, not of any one document:

- **coverage**: the answer (with its passages' headings) names at least a third of the
  question's key terms (of a question naming its contract, of what it asks, ten at most).
  Measured on covidqa-mini and pubmedqa-mini answers: the wrong ones below this named 0-33 %
  of the question, the correct ones 36 % or more.
- **focus**: the sentences themselves carry at least one of the words the question asks
  about: its key terms less the names it uses to say where to look (capitalised or quoted
  words: the agreement's title and parties are in every passage of it; "term" and "expire"
  are the question) and less the words that only shape a question ("how long", "take").
- **specificity**: the sentences, or the documents they come from, name the question's most
  specific term: of its focus terms, the one the fewest retrieved passages mention ("renewal"
  in "the renewal term", when every passage says "term"). A quote from a document that never
  says it answers a neighbouring question from another paper or contract. Not for yes/no
  questions: a clause answers "does it allow ...?" in its own words.
- **answer type**: a question asking how much or how many needs a number in the answer (a
  year, a section number "Note 6", a code "CA72-4" do not count; "多少钱" needs money); one
  asking how long or when needs a time, date or duration, "on what date" a date;
  "What is X?" needs a sentence saying what X is ("X is ...", "X refers to ...", "... known as
  X"), not one that only mentions it.
- **years and people**: every year the question names, and every person a Chinese question
  names the way judgments do ("张某乙", "郭2某"), is in the answer or in the passages it cites
  (their text, headings or document names).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from app.dialog.evidence import LONG_QUESTION_TERMS, content_of
from app.dialog.quantities import YEAR, quantities
from app.dialog.types import AnswerSentence
from knowledge.text.tokenize import coverage, key_terms, stem
from knowledge.types import Passage

MIN_ANSWER_COVERAGE = 0.34

_HOW_MUCH = re.compile(
    r"\bhow (?:much|many)\b|\bwhat (?:is|was|were|are) the (?:\w+ )?(?:number|amount|total|"
    r"value|price|cost|size|estimate|rate|ratio|percentage|proportion|count)\b|多少|几个|几名|"
    r"几人|几次|金额是|数额", re.I)
_HOW_LONG = re.compile(r"\bhow (?:long|soon|quickly|often)\b|\bwithin (?:what|how)\b|"
                       r"\bby when\b|多久|多长时间|多长|几天|几个月|几年|期限", re.I)
_WHEN = re.compile(r"^\s*when\b|\bwhat (?:date|year|day|time)\b|\bon which date\b|何时|"
                   r"什么时候|哪一年|哪年|哪天|几月|何日", re.I)
# "on what date" asks for a calendar date: "for a period of hours" is a time, not a date
_ASKS_DATE = re.compile(r"\b(?:what|which) (?:date|day|year)\b|哪一年|哪年|哪天|何日|几月几日|"
                        r"什么日期|哪一天", re.I)
_DATE = re.compile(
    r"\b(?:jan(?:uary)?|feb(?:ruary)?|march|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b|"
    rf"\b\d{{1,4}}[/.-]\d{{1,2}}[/.-]\d{{1,4}}\b|{YEAR.pattern}|\d{{1,2}}\s*[月日号]", re.I)
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
    # a Chinese numeral counts with what it counts ("三人", "五万元"), not inside a word
    # ("一直", "统一")
    r"[一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟]+\s*(?:元|万|亿|人|名|次|个|岁|"
    r"年|月|日|天|周|小时|分钟|倍|件|项|份|户|套|辆|股|%|成)", re.I)
# "赔偿多少钱" asks for money: an amount in 元 or another currency, not a count
_HOW_MUCH_MONEY = re.compile(r"多少钱|多少元|金额|数额|价款|赔偿多少|补偿多少|how much money")
_MONEY = frozenset({"cny", "usd", "gbp", "eur", "hkd"})
# numbers that name rather than count: "Note 6", "Section 5.1", "第3条", and the digits of a
# code or an anonymised name ("CA72-4", "COVID-19", "朱x9")
_NOT_AN_AMOUNT = re.compile(
    r"\b(?:note|section|article|table|figure|fig\.|item|part|schedule|exhibit|appendix|"
    r"chapter|clause|rule|step|no\.|page|paragraph)\s*\d[\d.]*|第\s*\d+\s*[条款章节项页]|"
    r"[A-Za-z]+[A-Za-z0-9-]*?\d[A-Za-z0-9-]*", re.I)
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


def _mentioned_in(text: str) -> Callable[[str], bool]:
    """Whether ``text`` mentions a term (by stem; Chinese by substring), tokenised once."""
    words = {stem(t) for t in key_terms(text)}
    lowered = text.lower()
    return lambda t: stem(t) in words or (not t.isascii() and t in lowered)


def mentions(text: str, terms: Sequence[str]) -> bool:
    return any(map(_mentioned_in(text), terms))


# "What is X?" / "什么是X" asks for a definition: the answer says what X is, not only that
# it exists ("There are ETFs for lots of different things" does not say what an ETF is)
# not "What is the population of X?" nor "What is X's rate?": those ask for an attribute
_WHAT_IS = re.compile(r"^\s*what\s+(?:is|are)\s+(?:an?\s+)?(?!the\b)((?:(?!\bof\b|'s\b|’s\b)"
                      r"[^?]){2,60}?)\s*\??\s*$", re.I)
_WHAT_IS_ZH = re.compile(r"^\s*(?:什么是(.{1,20}?)|(.{1,20}?)是什么)\s*[？?]?\s*$")
_PREPOSITIONS = frozenset({"for", "of", "to", "with", "in", "on", "about", "from", "by", "at",
                          "like", "used"})
# "X is linked with ..." and "X is expressed in ..." say something about X, not what it is
_DEFINES = (r"(?:(?:is|are|was|were)(?!\s+(?:\w+ly\s+)?(?:linked|associated|related|involved|"
            r"expressed|required|located|found|reported|thought|believed|considered|used|needed|"
            r"observed|detected|shown|caused|induced|regulated|mediated|activated|implicated|"
            r"affected|increased|decreased|elevated|reduced|present|important|essential)\b)|"
            r"means?|refers?\s+to|stands?\s+for|describes?|consists?\s+of)")


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
    # "the mean incubation period was 5.2 days" measures it; it does not say what it is
    return bool(re.search(rf"\b{head}\w*\b[^.;]{{0,80}}?\b{_DEFINES}\b(?!\s*(?:about|around|"
                          rf"approximately|roughly|nearly|over|under|~)?\s*[\d$€£¥])", lowered) or
                re.search(rf"\b(?:called|known as|termed|defined as)\b[^.;]{{0,40}}\b{head}",
                          lowered))


def has_answer_type(question: str, text: str) -> bool:
    """A number for "how much", a date, year or duration for "when", what a thing is for
    "what is X?"; anything otherwise."""
    if (defined := _defines(question, text)) is not None:
        return defined
    if _ASKS_DATE.search(question):
        return bool(_DATE.search(text))
    if _HOW_LONG.search(question) or _WHEN.search(question):
        return bool(_TIME.search(text))
    if _HOW_MUCH.search(question):
        amounts = _NOT_AN_AMOUNT.sub(" ", text)
        if _HOW_MUCH_MONEY.search(question):
            return any(q.unit in _MONEY for q in quantities(amounts))
        return any(not q.is_year for q in quantities(amounts)) or bool(
            _NUMBER_WORD.search(YEAR.sub(" ", amounts)))
    return True


# Chinese judgments name people as "张某", "李某某", "张某乙", "郭2某" (or, anonymised again,
# "贾x9"): who the question is about, so an answer about someone else answers another question
_ZH_PERSON = re.compile(r"[\u4e00-\u9fff](?:某{1,2}[甲乙丙丁戊己庚辛]?|\d+某|[xX×]\d+)")


def names_the_people(question: str, text: str) -> bool:
    """Every person a Chinese question names that way is in ``text`` (answer and sources)."""
    return all(name in text for name in _ZH_PERSON.findall(question))


def names_the_years(question: str, text: str) -> bool:
    """Every year the question names is in ``text`` (the answer and its sources): a 2023
    figure does not answer a question about 2021."""
    found = set(YEAR.findall(text))
    return all(year in found for year in YEAR.findall(question))


# a yes/no question ("Consider the NDA; does it allow ...", "是否存在同案犯？") is answered by
# the clause or finding it asks about, in whatever words the document uses
_POLAR = re.compile(r"^\s*(?:is|are|was|were|do|does|did|can|could|should|has|have|had|will|"
                    r"would|may|must)\b", re.I)
_POLAR_ZH = re.compile(r"是否|有没有|吗\s*[？?]?\s*$")


def is_polar(question: str) -> bool:
    """A yes/no question, also after a clause naming the document it is about."""
    last = re.split(r"[:;：；]", question.strip())[-1]
    return bool(_POLAR.search(last) or _POLAR_ZH.search(question))


# words that grade what is asked rather than name it ("the major products", "the main causes"):
# rare in the passages, but a document listing AMD's products need not call them major
# and words that frame the question about it ("the impact of X", "for 2019 and 2018
# respectively", "in fiscal 2019"): what is asked about is X
_EVALUATIVE = frozenset({"main", "major", "key", "primary", "principal", "important", "common",
                         "significant", "different", "various", "current", "specific",
                         "particular", "general", "overall", "typical", "usual", "best",
                         "impact", "impacts", "effect", "effects", "role", "roles", "purpose",
                         "reason", "reasons", "importance", "significance", "respectively",
                         "fiscal", "period", "periods"})


def most_specific_terms(question: str, passages: Sequence[Passage]) -> list[str]:
    """The question's focus terms that the fewest of the retrieved passages mention.

    The word that sets a question apart from its neighbours ("criteria" in "important criteria
    for selecting vaccine vectors", "renewal" in "the renewal term") is rare among the passages
    its other words found; an answer that never mentions it answers a neighbouring question.
    """
    focus = [t for t in focus_terms(question) if t not in _EVALUATIVE and not t.isdigit()]
    said = [_mentioned_in(p.text) for p in passages]
    counts = {t: sum(1 for mentioned in said if mentioned(t)) for t in focus}
    present = [t for t in focus if counts[t]]
    fewest = min((counts[t] for t in present), default=0)
    return [t for t in present if counts[t] == fewest]


DocumentsMention = Callable[[Iterable[int], Sequence[str]], bool]
"""Whether any of these documents (ids) holds one of these terms anywhere in its text."""


def answers_the_question(question: str, sentences: Sequence[AnswerSentence],
                         sources: Sequence[Passage],
                         documents_mention: DocumentsMention | None = None) -> bool:
    """Whether the answer is about what was asked (the five tests above).

    ``documents_mention`` looks the most specific term up in the cited documents when the
    cited passages leave it out; without it such an answer is refused."""
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
    if focus and not mentions(text, focus):
        return False
    # the year, or the specific term, may be stated once earlier in the cited passage
    sourced = f"{headings} {text} {' '.join(p.text for p in cited)}"
    specific = [] if is_polar(content) else most_specific_terms(content, sources)
    if specific and not mentions(sourced, specific) and (
            documents_mention is None
            or not documents_mention({p.doc_id for p in cited}, specific)):
        return False
    return (has_answer_type(question, text) and names_the_years(question, sourced)
            and names_the_people(question, sourced))
