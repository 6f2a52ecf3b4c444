"""Averages and changes worked out from one table row, or nothing when anything is a guess."""

from __future__ import annotations

import pytest

from app.dialog.arithmetic import asks_for_calculation, calculate, operation, parse_cell
from app.services import Runtime
from knowledge.types import Passage

TABLE = ("| USDm | 2019 | 2018 | 2017 |\n| --- | --- | --- | --- |\n"
         "| Borrowings | 863.4 | 754.7 | 753.9 |\n"
         "| Net income (loss) | (12.5) | 40.0 | 35.0 |\n"
         "| Discount rate | 2.5% | 2.4% | 3.2% |\n"
         "| Other borrowings | 10.0 | 12.0 | 14.0 |")


def _passages(*texts: str) -> list[Passage]:
    return [Passage(i, i, f"report-{i}.txt", t, ("Annual report",), None, 1.0)
            for i, t in enumerate(texts, 1)]


def test_a_change_between_two_years_is_later_minus_earlier_with_the_working() -> None:
    answer = calculate("What is the change in borrowings between 2018 and 2019?",
                       _passages("Revenue rose.", TABLE))
    assert answer is not None and answer.citations == (2,)
    assert "863.4 - 754.7 = 108.7" in answer.text
    assert answer.evidence.startswith("USDm: Borrowings; 2019: 863.4")


def test_an_average_over_a_range_of_years_uses_every_year_in_it() -> None:
    answer = calculate("What is the average discount rate from 2017 to 2019?", _passages(TABLE))
    assert answer is not None
    assert "(3.2% + 2.4% + 2.5%) / 3 = 2.7%" in answer.text


def test_percentage_change_and_negative_cells_in_brackets() -> None:
    answer = calculate("What was the percentage change in borrowings from 2017 to 2018?",
                       _passages(TABLE))
    assert answer is not None and "= 0.11%" in answer.text
    assert parse_cell("(12.5)").amount == -12.5 and parse_cell("$ (6,986)").amount == -6986
    assert parse_cell("2.5%").percent and parse_cell("n/a") is None
    # growth from a loss has no meaningful percentage
    assert calculate("What was the percentage change in net income from 2019 to 2018?",
                     _passages(TABLE)) is None


@pytest.mark.parametrize("question", [
    "Why did borrowings increase from 2018 to 2019?",            # asks for a reason
    "What is the change in borrowings in 2019?",                 # one period only
    "What is the change in revenue from 2018 to 2019?",          # no row says revenue
    "What is the change in the percentage of borrowings from 2018 to 2019?",  # not a % row
    "What is the change in borrowings from 2015 to 2016?",       # no such columns
    "What is the difference between average borrowings and net income from 2018 to 2019?",
])
def test_nothing_is_computed_when_anything_would_be_a_guess(question: str) -> None:
    assert calculate(question, _passages(TABLE)) is None


def test_two_rows_that_fit_equally_well_are_a_guess() -> None:
    twin = TABLE.replace("Other borrowings", "Borrowings")
    assert calculate("What is the change in borrowings from 2018 to 2019?", _passages(twin)) is None


def test_the_operation_named_first_counts_and_weighted_average_is_a_name() -> None:
    assert operation("What was the change in the average price from 2018 to 2019?") == "change"
    assert operation("What is the average of the change in price?") is None  # two-step
    assert operation("What was the change in weighted average shares?") == "change"
    assert operation("What is the weighted average exercise price?") is None
    assert asks_for_calculation("How much did revenue increase from 2018 to 2019?")
    assert not asks_for_calculation("What was revenue in 2019?")


def test_chinese_change_question() -> None:
    table = ("| 项目 | 2023年 | 2022年 |\n| --- | --- | --- |\n| 营业收入 | 412.36 | 389.17 |")
    answer = calculate("营业收入从2022年到2023年增加了多少？", _passages(table), lang="zh")
    assert answer is not None and "412.36 - 389.17 = 23.19" in answer.text
    assert answer.text.startswith("根据表格计算")


def test_the_answerer_works_out_a_change_from_an_ingested_text_table(
        fresh_runtime: Runtime) -> None:
    """End to end: a report pasted as text, its table found, the change computed and cited;
    a question about a figure the table states is answered by quoting its row instead."""
    from knowledge.ingest import TextDoc

    report = ("Northbridge Bank annual report 2019.\n\n"
              "Key figures | 2019 | 2018\n"
              "Net interest income | 4,421.8 | 4,029.3\n"
              "Operating expenses | 2,310.0 | 2,295.5")
    ingestor = fresh_runtime.resources.ingestor("finance")
    assert ingestor.ingest_texts([TextDoc("report-2019.txt", report)]).count("indexed") == 1
    answerer = fresh_runtime.resources.answerer("finance", with_generator=False)
    answer = answerer.answer("What was the change in net interest income from 2018 to 2019?")
    assert answer.decision == "answer" and answer.mode == "calculated"
    assert "4,421.8 - 4,029.3 = 392.5 [1]" in answer.text
    assert answer.sources[0].doc_name == "report-2019.txt"
    lookup = answerer.answer("What was net interest income in 2019?")
    assert lookup.decision == "answer" and lookup.mode != "calculated"
    assert "4,421.8" in lookup.text
    # which year was higher: compared from the row, never answered by a quoted sentence
    peak = answerer.answer("In which year were operating expenses higher?")
    assert peak.decision == "answer" and peak.mode == "calculated"
    assert "higher in 2019 (2019: 2,310.0; 2018: 2,295.5)" in peak.text
