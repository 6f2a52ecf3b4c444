"""Correct / refused / confidently wrong: the verdict a reader of the report trusts most."""

from __future__ import annotations

import pytest

from evals.metrics.correctness import (
    answer_outcome,
    contains_reference,
    numbers,
    numbers_match,
    outcome_shares,
)


def _outcome(answer: str, references: list[str], *, decision: str = "answer",
             answerable: bool = True, label: str | None = None) -> str | None:
    return answer_outcome(decision, answer, references, answerable=answerable, label_gold=label)


def test_numbers_ignore_thousands_separators_percent_signs_and_trailing_zeros() -> None:
    assert numbers("Revenue was 1,234.5 million, up 12% (from 12.0 %) [3]") == [
        1234.5, 12.0, 12.0]
    assert numbers("１２ mg") == [12.0], "full-width digits are NFKC-folded"
    assert numbers("December 31,2018") == [31.0, 2018.0], "a group has three digits"
    assert numbers_match("It rose by 12 %.", "12%")
    assert numbers_match("about 1234.50 units", "1,234.5")
    assert numbers_match("Give 15 mg once daily", "15 mg")
    assert not numbers_match("Give 15 mg once daily", "5 mg"), "15 is not 5"
    assert not numbers_match("1234.51", "1,234.5")
    assert not numbers_match("5 days, see passage [6]", "5 days (last dose on day -6)"), \
        "every gold number must occur; a citation marker is not a number of the answer"
    assert not numbers_match("anything at all", "within one hour"), "gold without a number"


def test_contains_reference_normalises_but_keeps_word_edges() -> None:
    assert contains_reference("WITHIN ONE HOUR of recognising sepsis.", "within one hour.")
    assert contains_reference("Stop it  five\ndays before.", "five days")
    assert contains_reference("患者 入院时 应评估", "入院时")
    assert contains_reference("费用为 80万元。", "80 万元")
    assert not contains_reference("Give 15 mg", "5")
    assert not contains_reference("It is nothing", "no")
    assert not contains_reference("anything", "  ...  ")


def test_answers_are_correct_by_containment_number_or_f1() -> None:
    assert _outcome("Warfarin is stopped five days before the procedure.",
                    ["five days before"]) == "correct"
    assert _outcome("The dose is 15 mg daily.", ["15 mg once daily with food"]) == "correct"
    # F1 of "stopped five days before surgery" vs "five days before a procedure" >= 0.5
    assert _outcome("stopped five days before surgery", ["five days before a procedure"]
                    ) == "correct"
    assert _outcome("Antibiotics are given after two days.", ["within one hour"]
                    ) == "confidently_wrong"
    assert _outcome("No", ["yes"], label="yes") == "confidently_wrong"
    assert _outcome("Yes, it does [1].", ["yes"], label="yes") == "correct"


def test_refusals_clarifications_and_unanswerable_questions() -> None:
    assert _outcome("I cannot answer that.", ["five days"], decision="refuse") == "refused"
    assert _outcome("Which drug do you mean?", ["five days"], decision="clarify") == "refused"
    assert _outcome("The fee is 3 euros.", [], answerable=False) == "confidently_wrong"
    assert _outcome("The fee is 3 euros.", ["3 euros"], answerable=False) == \
        "confidently_wrong", "answering an unanswerable question is wrong even if it matches"
    assert _outcome("Not in the documents.", [], decision="refuse", answerable=False) == \
        "refused"
    assert _outcome("Some answer.", []) is None, "answerable without a reference: not judged"
    assert _outcome("Some answer.", ["  "], decision="refuse") is None
    assert answer_outcome(None, None, ["x"], answerable=True) is None, "nothing was asked"


def test_shares_sum_to_one_over_judged_questions() -> None:
    shares = outcome_shares(["correct", "correct", "refused", "confidently_wrong", None])
    assert shares["n_outcomes"] == 4
    assert (shares["correct"], shares["confidently_wrong"], shares["refused"]) == (
        0.5, 0.25, 0.25)
    assert outcome_shares([None, None]) == {"correct": None, "confidently_wrong": None,
                                            "refused": None, "n_outcomes": 0}
    assert sum(v for k, v in outcome_shares(["correct"] * 3 + ["refused"] * 4).items()
               if k != "n_outcomes") == pytest.approx(1.0)
