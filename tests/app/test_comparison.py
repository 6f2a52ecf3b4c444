"""Which year a figure peaked and in how many years it passed a bar, read off one table row."""

from __future__ import annotations

import pytest

from app.dialog.comparison import asks_for_comparison, compare
from knowledge.types import Passage

TABLE = ("| | 2019 | 2018 | 2017 |\n|---|---|---|---|\n"
         "| Net income | 3,120 | 4,501 | 2,998 |\n"
         "| Current income tax expense | 2.5 | 1.9 | 3.1 |\n"
         "| Revenue | 10,000 | 9,000 | 8,000 |")
PASSAGES = [Passage(1, 1, "results.md", TABLE, ("Income statement",), None, 1.0)]


def test_the_year_a_figure_peaked_is_named_with_every_figure_compared() -> None:
    answer = compare("In which year is net income the highest?", PASSAGES)
    assert answer is not None and answer.citations == (1,)
    assert answer.text == ('Read from the table: "Net income" is highest in 2018 '
                           "(2019: 3,120; 2018: 4,501; 2017: 2,998).")
    lowest = compare("In which year was revenue lower?", PASSAGES)
    assert lowest is not None and "lower in 2017" in lowest.text


def test_years_above_a_figure_are_counted_in_the_tables_units() -> None:
    answer = compare("How many years did the Current income tax expense exceed $2 thousand?",
                     PASSAGES)
    assert answer is not None
    assert "exceeded 2 in 2 of the 3 years" in answer.text
    below = compare("How many years was revenue below 9,500?", PASSAGES)
    assert below is not None and "was below 9,500 in 2 of the 3 years" in below.text


@pytest.mark.parametrize("question", [
    "What was revenue in 2019?",                      # not a comparison
    "In which year was the silver price larger?",     # no row names it
    "In which year were sales the highest?",          # no row names it either
])
def test_nothing_is_compared_when_it_would_be_a_guess(question: str) -> None:
    assert compare(question, PASSAGES) is None


def test_a_tie_for_the_highest_year_is_not_resolved_by_guessing() -> None:
    tied = TABLE.replace("| Revenue | 10,000 | 9,000 |", "| Revenue | 10,000 | 10,000 |")
    assert compare("In which year was revenue the highest?",
                   [Passage(1, 1, "r.md", tied, (), None, 1.0)]) is None


def test_only_a_comparison_answers_a_comparison_question() -> None:
    assert asks_for_comparison("In which year was net income the highest?")
    assert asks_for_comparison("How many years did revenue exceed $5,000 million?")
    assert asks_for_comparison("哪一年净利润最高？")
    assert not asks_for_comparison("How many years does the lease run?")


def test_the_highest_of_two_columns_is_not_answered_but_the_higher_is() -> None:
    two = ("| | 2018 | 2017 |\n|---|---|---|\n| Net income | 4,794,757 | 5,809,018 |")
    passages = [Passage(1, 1, "other.md", two, (), None, 1.0)]
    assert compare("In which year is net income the highest?", passages) is None
    higher = compare("In which year was net income higher?", passages)
    assert higher is not None and "higher in 2017" in higher.text
