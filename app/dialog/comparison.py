"""Which year a figure peaked, and in how many years it passed a threshold, read off one row.

"In which year was net income the highest?" and "How many years did revenue exceed $5,000
million?" are answered by no sentence of a report: the table row holds the answer, spread over
its year columns. Quoting a sentence that mentions net income is a confident wrong answer, and
quoting the row leaves the comparison to the reader. So, as for a change or an average
(``arithmetic``), the answerer finds the one row the question names, reads every year column
of it, and says the result together with every figure it compared: each is a cell of the
cited row.

A threshold is compared in the units the table is written in ("exceed $2 thousand" against a
table in thousands compares 2 with the cells): questions about a table are asked in its units,
and the figures shown let the reader check. Nothing is computed when the row is a guess, when
fewer than two year columns hold numbers (three for "the highest": of two columns, the row
is likelier from another company's table than the one asked about), when the columns measure
different things, or when two years tie for the highest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.dialog.arithmetic import parse_cell, pick_row, question_terms, same_measure
from app.dialog.quantities import YEAR
from app.dialog.tables import Row, row_text
from app.dialog.types import AnswerSentence
from knowledge.types import Passage

_HIGH = r"highest|largest|greatest|biggest|most|maximum|higher|larger|greater|bigger|more"
_LOW = r"lowest|smallest|least|minimum|lower|smaller|less|fewer"
_WHICH_YEAR = re.compile(
    rf"\b(?:in\s+)?which\s+(?:fiscal\s+)?(?:year|period)\b.*?\b(?:({_HIGH})|({_LOW}))\b|"
    rf"哪一?年.*?(?:(最高|最多|最大|更高|更多|更大)|(最低|最少|最小|更低|更少|更小))", re.I)
_HOW_MANY_YEARS = re.compile(
    r"\bhow many (?:fiscal )?(?:years|periods)\b.*?\b(?:(exceed(?:ed|s)?|above|over|more than|"
    r"greater than|higher than)|(below|under|less than|lower than|fewer than))\s*"
    r"[$€£¥]?\s*(\d[\d,]*(?:\.\d+)?)", re.I)
_SUPERLATIVE = frozenset({"most", "least", "maximum", "minimum", "最高", "最多", "最大", "最低",
                          "最少", "最小"})
_COMPARISON_WORDS = frozenset({
    "year", "years", "period", "periods", "fiscal", "which", "exceed", "exceeded", "exceeds",
    "above", "below", "greater", "higher", "lower", "less", "fewer", "least", "thousand",
    "million", "billion", *_HIGH.split("|"), *_LOW.split("|")})


def asks_for_comparison(question: str) -> bool:
    """Whether the question asks which year a figure peaked or in how many it passed a bar:
    only a comparison of the row's cells answers it, never a quoted sentence."""
    return bool(_WHICH_YEAR.search(question) or _HOW_MANY_YEARS.search(question))


def _year_cells(row: Row) -> list[tuple[str, float, str]]:
    """(year, amount, cell) for every column naming exactly one year and holding a number."""
    out = []
    for name, cell in row:
        years = YEAR.findall(name)
        if len(years) == 1 and (value := parse_cell(cell)) is not None:
            out.append((years[0], value.amount, value.text))
    return out


def compare(question: str, passages: Sequence[Passage], lang: str = "en"
            ) -> AnswerSentence | None:
    """The comparison answered with the figures compared, citing the row; None when unsure."""
    which = _WHICH_YEAR.search(question)
    count = None if which else _HOW_MANY_YEARS.search(question)
    if which is None and count is None:
        return None
    terms = [t for t in question_terms(question) if t not in _COMPARISON_WORDS]
    best = pick_row(terms, passages)
    if best is None:
        return None
    cells = _year_cells(best.row)
    years = [y for y, _, _ in cells]
    if len(cells) < 2 or len(set(years)) != len(years) or not same_measure(
            [name for name, _ in best.row if YEAR.search(name)]):
        return None
    figures = "; ".join(f"{y}: {text}" for y, _, text in cells)
    # the answer says it in the question's words ("larger", "exceeded"): the reader asked so
    if which is not None:
        word = next(w for w in which.groups() if w)
        if len(cells) < 3 and (word.lower().endswith("est") or word.lower() in _SUPERLATIVE):
            return None  # "the highest" of two columns: the table asked about has more years
        high = bool(which[1] or which[3])
        target = (max if high else min)(a for _, a, _ in cells)
        winners = [y for y, a, _ in cells if a == target]
        if len(winners) != 1:
            return None
        if lang == "zh":
            text = f"根据表格：「{best.label}」在{winners[0]}年{word}（{figures}）。"
        else:
            text = (f"Read from the table: \"{best.label}\" is {word.lower()} in {winners[0]} "
                    f"({figures}).")
    else:
        assert count is not None
        bar = float(count[3].replace(",", ""))
        above = count[1] is not None
        hits = [y for y, a, _ in cells if (a > bar if above else a < bar)]
        word = (count[1] or count[2]).lower()
        verb = "exceeded" if word.startswith("exceed") else f"was {word}"
        text = (f"Read from the table: \"{best.label}\" {verb} {count[3]} in {len(hits)} of "
                f"the {len(cells)} years ({figures}).")
    return AnswerSentence(text, (best.n,), evidence=row_text(best.row))
