"""Clarify only when the evidence depends on it: a dose question without an age is answered
when the protocol gives one dose (with the condition it holds under), and asked about when the
protocol gives different doses for different ages.

The pure tests read conditions with the bundled medical pack's own ``conditions`` patterns; the
dialog tests index two small protocols into a fresh medical knowledge base and talk to the real
manager (extractive, no generator).
"""

from __future__ import annotations

import pytest

from app.dialog import conditions as c
from app.dialog.phrases import en
from app.models import ModelRegistry
from app.services import Runtime
from domains.pack import Pack, SlotConfig, load_pack
from verirag.settings import load_settings


@pytest.fixture(scope="module")
def medical() -> Pack:
    return load_pack("medical")


def _slot(pack: Pack, name: str) -> SlotConfig:
    return next(s for s in pack.slots if s.name == name)


def _keys(text: str, pack: Pack, slot: str = "age") -> list[str]:
    return [x.key for x in c.distinct(c.conditions_in(text, _slot(pack, slot), pack))]


# --- reading conditions -------------------------------------------------------------------------


@pytest.mark.parametrize("same", [
    ["aged 80 years or more", "80 years or over", "age 80 years or more", "80岁以上"],
    ["adults", "aged 18 and over", "18 years and over", "成人", "adult patients"],
    ["children", "paediatric patients", "under 18 years", "儿童", "18岁以下"],
])
def test_one_band_written_several_ways_is_one_condition(same: list[str],
                                                        medical: Pack) -> None:
    keys = {key for text in same for key in _keys(text, medical)}
    assert len(keys) == 1, keys


def test_different_bands_and_groups_are_different_conditions(medical: Pack) -> None:
    assert len(_keys("Adults: 340 mg. Children aged 6 to 17 years: 120 mg.", medical)) == 2
    assert len(_keys("aged over 75 years; aged 75 or over", medical)) == 2  # >75 vs >=75
    assert _keys("older adults and the elderly", medical) == ["word:older adult",
                                                              "word:elderly"]


def test_what_is_not_an_age_is_no_age_condition(medical: Pack) -> None:
    text = ("systolic blood pressure below 90 mmHg; 500 mL over 15 minutes; a reaction within "
            "the last 10 years; renal impairment; CrCl 30-49 mL/min")
    assert _keys(text, medical) == []


def test_a_group_written_with_its_band_is_the_band(medical: Pack) -> None:
    found = c.conditions_in("Children aged 6 to 17 years: 120 mg", _slot(medical, "age"),
                            medical)
    assert [(x.key, x.text) for x in found] == [("band:6-17", "Children aged 6 to 17 years")]


def test_a_slot_without_conditions_is_read_by_its_values() -> None:
    tier = SlotConfig(name="tier", description="the cover tier",
                      values=["Bronze", "Silver", "Gold"])
    pack = load_pack("medical")
    text = "| Bronze | £1,000 |\n| Silver | £2,500 |\n| Gold | £5,000 |"
    assert [x.key for x in c.conditions_in(text, tier, pack)] == [
        "value:bronze", "value:silver", "value:gold"]
    assert not c.can_tell(SlotConfig(name="x", description="anything"))


# --- deciding -------------------------------------------------------------------------------------


def test_one_condition_is_answered_with_it_and_two_are_asked_about(medical: Pack) -> None:
    age = _slot(medical, "age")
    one = ["The maximum daily dose of zorvatinib is 340 mg.",
           "This protocol applies to adults aged 18 years and over."]
    ask, notes = c.dependence([age], one, medical)
    assert ask == [] and notes["age"].key == "band:18-"
    assert c.describe(notes["age"], age, medical, "en") == "adults (aged 18 and over)"
    assert c.describe(notes["age"], age, medical, "zh") == "成人（18岁及以上）"

    two = [*one, "(a) Reduce to 2.5 mg twice daily if aged 80 years or more."]
    assert c.dependence([age], two, medical) == ([age], {})
    assert c.dependence([age], ["Give 340 mg."], medical) == ([], {})


def test_a_question_about_children_is_not_asked_for_an_age_because_adults_differ(
        medical: Pack) -> None:
    age = _slot(medical, "age")
    texts = ["Adults: the maximum daily dose is 340 mg.",
             "Children aged 6 to 17 years: the maximum daily dose is 120 mg."]
    assert c.dependence([age], texts, medical)[0] == [age]
    ask, notes = c.dependence([age], texts, medical, asked=["child"])
    assert ask == [] and notes["age"].text == "Children aged 6 to 17 years"


def test_a_slot_the_passages_cannot_show_is_still_asked_for(medical: Pack) -> None:
    blind = SlotConfig(name="weight", description="body weight", required_for=[])
    assert c.dependence([blind], ["Give 340 mg."], medical) == ([blind], {})


def test_an_answer_that_already_names_the_condition_needs_no_note(medical: Pack) -> None:
    age = _slot(medical, "age")
    adult = c.normalise("adults", age, medical)
    assert c.states("For adults aged 18 and over the maximum is 340 mg.", adult, age, medical)
    assert not c.states("The maximum daily dose is 340 mg.", adult, age, medical)


def test_a_sentence_about_another_drug_is_no_condition_on_this_one(medical: Pack) -> None:
    asked = c.entity_values("What rivaroxaban dose is used for atrial fibrillation?", medical)
    assert asked == {"medications": {"rivaroxaban"}}
    assert c.about_another("(a) Apixaban: reduce to 2.5 mg if aged 80 years or more.", asked,
                           medical)
    assert not c.about_another("Rivaroxaban 15 mg once daily in adults.", asked, medical)
    assert not c.about_another("Adults aged 18 and over.", asked, medical)


# --- whole conversations on small protocols ------------------------------------------------------

ZORVATINIB = """# Zorvatinib prescribing protocol

## 1. Scope

This protocol applies to adults aged 18 years and over with chronic myeloid leukaemia.

## 2. Dosing

Zorvatinib is taken once daily with food. The maximum daily dose of zorvatinib is 340 mg.
Blood counts are checked every two weeks for the first three months.
"""

VELMORASTAT = """# Velmorastat prescribing protocol

## 1. Dosing

The maximum daily dose of velmorastat depends on the patient's age.
Adults: the maximum daily dose of velmorastat is 300 mg.
Children aged 6 to 17 years: the maximum daily dose of velmorastat is 120 mg.
"""


@pytest.fixture(scope="module")
def protocols(tmp_path_factory: pytest.TempPathFactory, models: ModelRegistry) -> Runtime:
    """A medical knowledge base holding only the two protocols above."""
    home = tmp_path_factory.mktemp("clarify")
    paths = []
    for name, text in (("zorvatinib-protocol.md", ZORVATINIB),
                       ("velmorastat-protocol.md", VELMORASTAT)):
        path = home / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    rt = Runtime(load_settings(home=home / "data"), models)
    report = rt.resources.ingestor("medical").ingest(paths)
    assert report.count("indexed") == 2, report.summary
    return rt


def test_one_maximum_dose_is_given_with_its_condition_not_asked_about(
        protocols: Runtime) -> None:
    dm = protocols.dialog("medical", with_generator=False)
    result = dm.turn(dm.start(), "What is the maximum daily dose of zorvatinib?")
    assert result.answer.decision == "answer", result.answer.text
    assert "340 mg" in result.answer.text
    assert result.state.awaiting == [] and "age" not in result.state.slots
    quoted = " ".join(s.text for s in result.answer.sentences)
    if "adults" not in quoted.lower():
        assert result.answer.text.endswith(en.CONDITION_NOTE.format(
            condition="adults (aged 18 and over)", slot="the patient age in years"))
    assert {p.doc_name for _, p in result.answer.cited_passages()} == {"zorvatinib-protocol.md"}


def test_doses_that_differ_by_age_are_asked_about_then_answered(protocols: Runtime) -> None:
    dm = protocols.dialog("medical", with_generator=False)
    sid = dm.start()
    asked = dm.turn(sid, "What is the maximum daily dose of velmorastat?")
    assert asked.answer.decision == "clarify"
    assert asked.answer.text == ("To answer about dosing, I need to know the patient age in "
                                 "years. Could you tell me?")
    assert asked.state.awaiting == ["age"]

    told = dm.turn(sid, "9")
    assert told.state.slots["age"].value == "9"
    assert told.answer.decision == "answer", told.answer.text
    assert {p.doc_name for _, p in told.answer.cited_passages()} == {"velmorastat-protocol.md"}


def test_no_detail_is_asked_for_about_a_drug_no_document_names(protocols: Runtime) -> None:
    """Velmorastat's doses differ by age, but a question about imatinib, which no protocol
    here names, is refused: asking the patient's age would promise an answer (the lower-case
    drug name was no anchor, so the age was asked for)."""
    dm = protocols.dialog("medical", with_generator=False)
    result = dm.turn(dm.start(), "What is the maximum daily dose of imatinib?")
    assert result.answer.decision == "refuse", result.answer.text
    assert result.state.awaiting == []


def test_a_dose_question_that_names_the_group_is_answered_for_it(protocols: Runtime) -> None:
    dm = protocols.dialog("medical", with_generator=False)
    result = dm.turn(dm.start(), "What is the maximum daily dose of velmorastat for children?")
    assert result.answer.decision == "answer", result.answer.text
    assert result.state.awaiting == []
    assert "children" in result.answer.text.lower()
