"""A section whose heading negates the question's condition is read after those that do not."""

from __future__ import annotations

from knowledge.conditions import conditions_first, negated_conditions
from knowledge.types import Passage

QUESTION = "Conscious, able to swallow, glucose 3.2 - what should I give?"


def _section(chunk_id: int, heading: str) -> Passage:
    return Passage(chunk_id, 1, "diabetes.html", "Give ...", ("4. Hypoglycaemia", heading),
                   None, 1.0 - chunk_id / 10)


def test_a_heading_negating_a_stated_condition_is_found() -> None:
    assert negated_conditions("4.2 Conscious but confused or unable to swallow", QUESTION) == {
        "able"}
    assert negated_conditions("4.3 Unconscious or fitting", QUESTION) == {"conscious"}
    assert negated_conditions("Patients not eligible", "Which patients are eligible?") == {
        "eligible"}


def test_the_same_negation_in_the_question_or_a_noun_compound_is_no_conflict() -> None:
    assert negated_conditions("4.2 Unable to swallow", "unable to swallow: what to give?") == set()
    assert negated_conditions("Non-Disclosure Agreement", "May the disclosure be oral?") == set()
    assert negated_conditions("5. Fluid intake", "How do I take it?") == set()


def test_the_opposite_case_moves_behind_keeping_the_order() -> None:
    unable = _section(1, "4.2 Conscious but confused or unable to swallow safely")
    able = _section(2, "4.1 Conscious, orientated and able to swallow")
    unconscious = _section(3, "4.3 Unconscious or fitting")
    after = _section(4, "4.4 After treatment")
    ranked = conditions_first([unable, able, unconscious, after], QUESTION)
    assert [p.chunk_id for p in ranked] == [2, 4, 1, 3]
