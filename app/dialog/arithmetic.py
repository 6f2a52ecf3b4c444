"""Averages, changes and growth rates worked out from one table row, with the working shown.

Analysts ask "what is the change in net revenue from 2018 to 2019?" of tables that give the
two years and never the difference. Quoting the row is a wrong answer (the row does not say
the change) and letting the model do the sum is worse (a 135M model invents it). Instead the
answerer finds the one row and the columns the question names, computes, and says how:
every input is a cell of the cited row, so the answer is traceable to the passage even though
its result is not written there.

It computes only when nothing is left to guess: the question names an operation this module
knows and (for a change) two periods; exactly one row's label carries the question's terms
better than any other row; and each named period is exactly one column. Otherwise it returns
None and the question is answered (or refused) as any other.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.dialog.quantities import YEAR
from app.dialog.tables import Row, row_text, table_cells
from app.dialog.types import AnswerSentence
from knowledge.text.tokenize import key_terms, stem
from knowledge.types import Passage

_OPS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("pct_change", re.compile(
        r"\b(?:percent(?:age)?|%)\s*(?:change|increase|decrease|growth|decline)\b|"
        r"\bgrowth rate\b|\brate of (?:change|growth|increase)\b|"
        r"增长率|增幅|降幅|变动率|变化率|同比增长|百分比变化", re.I)),
    ("average", re.compile(r"\b(?:average|mean)\b|平均", re.I)),
    ("change", re.compile(
        r"\b(?:change|difference|increase|decrease|growth|decline|rise|fall|drop)\b|"
        r"\b(?:increased|decreased|grew|declined|rose|fell|dropped)\s+by\b|"
        r"增加|减少|增长|下降|变化|变动|差额|相差", re.I)),
)
# "why did revenue increase from 2018 to 2019?" asks for a reason, not a number
_ASKS_WHY = re.compile(r"^\s*(?:why|how come|what (?:caused|drove|led|explains?)|explain|"
                       r"what (?:is|was|were) the (?:reason|cause|driver))|为什么|原因", re.I)
_FROM_TO = re.compile(r"from\s+\D{0,12}?((?:19|20)\d{2})\D{1,20}?to\s+\D{0,12}?((?:19|20)\d{2})",
                      re.I)
_RANGE = re.compile(r"((?:19|20)\d{2})\s*(?:-|–|to|through|至|到)\s*((?:19|20)\d{2})|"
                    r"between\s+((?:19|20)\d{2})\s+and\s+((?:19|20)\d{2})", re.I)
# not an operation but part of a name: "weighted average shares", "weighted-average rate"
_WEIGHTED = re.compile(r"\bweighted[- ]average\b|加权平均", re.I)
# "the difference between average salaries and average bonuses" compares two rows
_TWO_THINGS = re.compile(r"\bdifference between\s+(?!(?:fiscal\s+|fy\s*)?(?:19|20)\d{2})", re.I)
_NUMBER = re.compile(r"^\(?([-−–]?)\s*([$€£¥]?)\s*\(?([-−–]?)(\d[\d,]*(?:\.\d+)?)\)?\s*(%?)\)?$")
_OP_WORDS = frozenset({
    "average", "mean", "change", "difference", "increase", "decrease", "growth", "decline",
    "rise", "fall", "drop", "increased", "decreased", "grew", "declined", "rose", "fell",
    "dropped", "percentage", "percent", "rate", "period", "year", "years", "fiscal", "fy",
    "between", "value", "amount", "company", "table", "respectively", "much",
    "平均", "增加", "减少", "增长", "下降", "变化", "变动", "差额", "增长率", "年"})


@dataclass(frozen=True)
class _Value:
    amount: float
    text: str
    percent: bool
    currency: str


def parse_cell(cell: str) -> _Value | None:
    """A cell holding one number: "1,062", "(9)" (negative), "$ 133", "2.5%", "-8.7"."""
    text = " ".join(cell.split())
    m = _NUMBER.match(text)
    if m is None:
        return None
    sign_a, currency, sign_b, digits, percent = m.groups()
    negative = bool(sign_a or sign_b) or ("(" in text and text.endswith(")"))
    amount = float(digits.replace(",", ""))
    return _Value(-amount if negative else amount, text, bool(percent), currency)


def operation(question: str) -> str | None:
    """The computation a question asks for, or None: the one named first ("the change in
    weighted average shares" is a change; "the average price" an average)."""
    question = _WEIGHTED.sub(" ", question)
    found = [(m.start(), i, name) for i, (name, rx) in enumerate(_OPS)
             if (m := rx.search(question))]
    if not found:
        return None
    first = min(found)[2]
    if first == "average" and len(found) > 1:
        return None  # "the average year-on-year change": a computation of computations
    return first


def _periods(question: str, op: str) -> list[str]:
    """The years named, in the order the computation uses them (earlier first for changes)."""
    if op == "average" and (m := _RANGE.search(question)):
        lo, hi = sorted(int(y) for y in m.groups() if y)
        if hi - lo <= 10:
            return [str(y) for y in range(lo, hi + 1)]
    if m := _FROM_TO.search(question):
        return [m[1], m[2]]
    years = list(dict.fromkeys(YEAR.findall(question)))
    return sorted(years) if op != "average" else years


def question_terms(question: str) -> list[str]:
    """The words that name the row: not the operation, not the periods."""
    return [t for t in key_terms(question)
            if t not in _OP_WORDS and not YEAR.fullmatch(t) and not t.isdigit()]


def _label_score(terms: Sequence[str], label: str) -> float:
    words = {stem(w) for w in key_terms(label)}
    lowered = label.lower()
    found = sum(1 for t in terms if stem(t) in words or (not t.isascii() and t in lowered))
    return found / len(terms) if terms else 0.0


@dataclass(frozen=True)
class _Pick:
    n: int
    row: Row
    label: str
    score: float
    precision: float
    """The share of the label's own terms the question names: "Borrowings" fits a question
    about borrowings better than "Other borrowings" does."""


def _rows(passages: Sequence[Passage], terms: Sequence[str]) -> list[_Pick]:
    """Every row with a label, scored by the question terms its label carries; a row under a
    section line ("Net income per share:" above "Basic") is scored with the section too."""
    picks = []
    for n, p in enumerate(passages, 1):
        section = ""
        for row in table_cells(p.text) or []:
            label = next((cell for _, cell in row if parse_cell(cell) is None), "")
            if len(row) == 1 and label:
                section = label
                continue
            if label:
                score = max(_label_score(terms, label), _label_score(terms, f"{section} {label}"))
                precision = _label_score(key_terms(label), " ".join(terms))
                picks.append(_Pick(n, row, label, score, precision))
    return sorted(picks, key=lambda p: (-p.score, -p.precision))


def pick_row(terms: Sequence[str], passages: Sequence[Passage]) -> _Pick | None:
    """The one row the question's ``terms`` name, or None when that would be a guess: the row
    must carry at least half of them, and two when there are two or more ("total costs" is
    not "Employee severance and related costs"), and no other row may fit as well."""
    picks = _rows(passages, terms) if terms else []
    if (not picks or picks[0].score < 0.5 or picks[0].score * len(terms) < min(2, len(terms))
            or any(_rivals(picks[0], other) for other in picks[1:])):
        return None
    return picks[0]


_DATE_WORDS = re.compile(
    r"(?:19|20)\d{2}|\b(?:fiscal|fy|years?|ended|ending|as|of|at|the|january|february|march|"
    r"april|may|june|july|august|september|october|november|december|\d{1,2})\b|[,.]|年",
    re.I)


def _rivals(best: _Pick, other: _Pick) -> bool:
    """Whether ``other`` fits the question as well as ``best``: as well in the same table, or
    with the same share of the question's terms in another table (which table the question
    means is then a guess)."""
    if other.row == best.row or other.score < best.score:
        return False
    return other.n != best.n or other.precision == best.precision


def _rest(header: str) -> str:
    """A column header without its period ("2019 Amount" -> "amount")."""
    return " ".join(_DATE_WORDS.sub(" ", header).lower().split())


def _column(row: Row, year: str, terms: Sequence[str]) -> tuple[str, _Value] | None:
    """The one numeric cell of ``row`` whose column names ``year`` (ties: question terms)."""
    found = [(name, v) for name, cell in row
             if year in YEAR.findall(name) and (v := parse_cell(cell)) is not None]
    if len(found) > 1:
        scored = sorted(found, key=lambda f: -_label_score(terms, f[0]))
        if _label_score(terms, scored[0][0]) == _label_score(terms, scored[1][0]):
            return None
        found = scored[:1]
    return found[0] if len(found) == 1 else None


def same_measure(cols: Sequence[str]) -> bool:
    """The chosen columns measure one thing: "2019 Amount" and "2018 % of sales" do not."""
    rests = {r for r in (_rest(c) for c in cols) if r}
    return len(rests) <= 1


_ASKS_PERCENT = re.compile(r"\b(?:percent(?:age)?|per cent)\b|%|百分比|比例|占比", re.I)


def _fmt(x: float, like: Sequence[_Value], percent_result: bool = False) -> str:
    rounded = round(x, 2)
    if rounded == int(rounded):
        body = f"{abs(int(rounded)):,}"
    else:
        body = f"{abs(rounded):,.2f}".rstrip("0").rstrip(".")
    currency = like[0].currency if not percent_result and like and all(
        v.currency == like[0].currency for v in like) else ""
    percent = "%" if percent_result or (like and all(v.percent for v in like)) else ""
    return f"{'-' if rounded < 0 else ''}{currency}{body}{percent}"


def _sentence(op: str, label: str, cols: list[str], vals: list[_Value], lang: str) -> str | None:
    a = [v.amount for v in vals]
    if op == "average":
        result = sum(a) / len(a)
        working = f"({' + '.join(v.text for v in vals)}) / {len(vals)} = {_fmt(result, vals)}"
        if lang == "zh":
            return f"根据表格计算：「{label}」{'、'.join(cols)}的平均值为 {working}。"
        return (f"Worked out from the table: the average of \"{label}\" for "
                f"{', '.join(cols[:-1])} and {cols[-1]} is {working}.")
    if op == "pct_change":
        if a[0] <= 0:
            return None  # growth from zero or from a loss has no meaningful percentage
        result = (a[1] - a[0]) / a[0] * 100
        working = (f"({vals[1].text} - {vals[0].text}) / {vals[0].text} = "
                   f"{_fmt(result, vals, percent_result=True)}")
    else:
        result = a[1] - a[0]
        working = f"{vals[1].text} - {vals[0].text} = {_fmt(result, vals)}"
    if lang == "zh":
        name = "变动百分比" if op == "pct_change" else "变动"
        return f"根据表格计算：「{label}」从{cols[0]}到{cols[1]}的{name}为 {working}。"
    name = "percentage change" if op == "pct_change" else "change"
    return (f"Worked out from the table: the {name} in \"{label}\" from {cols[0]} to {cols[1]} "
            f"is {working}.")


def _request(question: str) -> tuple[str, list[str]] | None:
    """The operation and the periods of a question asking for a figure worked out over two
    or more periods ("why" questions ask for a reason); None otherwise."""
    op = operation(question)
    if op is None or _ASKS_WHY.search(question):
        return None
    years = _periods(question, op)
    return (op, years) if len(years) >= 2 else None


def asks_for_calculation(question: str) -> bool:
    """Whether the question asks for a number worked out over periods (a row quoted as it is
    does not answer it)."""
    return _request(question) is not None


def calculate(question: str, passages: Sequence[Passage], lang: str = "en"
              ) -> AnswerSentence | None:
    """The computed answer with its working, citing the row's passage; None when unsure."""
    request = _request(question)
    if request is None or _TWO_THINGS.search(question):
        return None
    op, years = request
    if op != "average" and len(years) != 2:
        return None
    terms = question_terms(question)
    best = pick_row(terms, passages)
    if best is None:
        return None
    cells = [_column(best.row, y, terms) for y in years]
    if any(c is None for c in cells):
        return None
    cols = [c[0] for c in cells if c is not None]
    vals = [c[1] for c in cells if c is not None]
    if len(set(cols)) != len(cols) or not same_measure(cols):
        return None
    if op == "pct_change" and any(v.percent for v in vals):
        return None  # a change of percentages: in points or relative? the question rarely says
    if op != "pct_change" and _ASKS_PERCENT.search(question) and not all(
            v.percent or "%" in c for v, c in zip(vals, cols, strict=True)):
        return None  # "the change in the percent of sales" is not a change in sales
    text = _sentence(op, best.label, cols, vals, lang)
    if text is None:
        return None
    return AnswerSentence(text, (best.n,), evidence=row_text(best.row))
