"""Claim-level support: the wrong answers a new user saw, each caught; true claims kept."""

from __future__ import annotations

import pytest

from app.dialog.citations import CheckedStream, Numbering, check_answer, render
from app.dialog.claims import check_claim
from app.dialog.quantities import quantities
from app.dialog.types import AnswerSentence
from knowledge.types import Passage


def _p(i: int, text: str, heading: tuple[str, ...] = (), name: str = "doc.md") -> Passage:
    return Passage(chunk_id=i, doc_id=i, doc_name=name, text=text, heading_path=heading,
                   page=None, score=1.0)


HANDS = _p(1, "Surgical scrub: use chlorhexidine 4% for 2 minutes before the first case. "
              "Rub hands with alcohol hand rub for 20–30 seconds until dry.", ("Hand hygiene",))
POTASSIUM = _p(2, "Potassium chloride may be given at up to 10 mmol/h on general wards, and up "
                  "to 40 mmol/h in intensive care with cardiac monitoring.",
               ("Potassium replacement",))
TABLE = _p(3, "| Item | 2022 | 2023 |\n|---|---|---|\n| Revenue | 5.2 | 6.1 |\n"
              "| Net income | 1.1 | 1.4 |", ("Table 3 Income statement (£m)",))
VALVES = _p(4, "Do not give apixaban to patients with mechanical heart valves.",
            ("Anticoagulation",))
ZH = _p(5, "普通病房补钾速度不超过10 mmol/h，重症监护室不超过40 mmol/h。", ("补钾",))
ZH_MONEY = _p(6, "2023年本行净利润为1.2亿元，较上年增长8%。", ("经营情况",))
SEPSIS = _p(7, "Start the bundle immediately if infection is suspected and any one of the "
               "following is present. The patient must rest. The patient doesn't respond.",
            ("4. The one-hour bundle",))


def _verdict(claim: str, passage: Passage, question: str = "") -> tuple[bool, str]:
    result = check_claim(claim, [passage], cited=[1], question=question)
    return result.kept, result.reason


@pytest.mark.parametrize(("claim", "passage", "reason"), [
    ("A: 4 hours [1]", HANDS, "fragment"),
    ("Rub hands with alcohol hand rub for 4 hours [1].", HANDS, "number"),
    ("Rub hands with alcohol hand rub for 20–30 minutes until dry [1].", HANDS, "number"),
    ("4. **Monitoring of [1]", HANDS, "fragment"),
    ("APPROVED [1].", HANDS, "fragment"),
    ("The one-hour bundle [1]", SEPSIS, "fragment"),  # a heading said back, seen in the UI
    ("What is zorvatinib reserved for [1]?", HANDS, "question"),
    ("Potassium chloride may be given at up to 40 mmol/h on general wards [1].", POTASSIUM,
     "qualifier"),
    ("Potassium chloride may be given at up to 10 mmol per day on general wards [1].",
     POTASSIUM, "number"),
    ("Revenue in 2023 was 5.2 [1].", TABLE, "qualifier"),
    ("Give apixaban to patients with mechanical heart valves [1].", VALVES, "negation"),
    ("Do not give rivaroxaban to patients with mechanical heart valves [1].", VALVES, "term"),
    ("普通病房补钾速度不超过40 mmol/h。", ZH, "qualifier"),
    ("2023年本行净利润为1.2万元。", ZH_MONEY, "number"),
    ("2022年本行净利润为1.2亿元。", ZH_MONEY, "qualifier"),
])
def test_wrong_claims_are_removed_with_their_reason(claim: str, passage: Passage,
                                                    reason: str) -> None:
    assert _verdict(claim, passage) == (False, reason)


@pytest.mark.parametrize(("claim", "passage"), [
    ("Rub hands with alcohol hand rub for 20–30 seconds until dry [1].", HANDS),
    ("According to the documents, rub hands with alcohol hand rub for 20-30 seconds [1].",
     HANDS),
    ("In intensive care, potassium chloride may be given at up to 40 mmol/h [1].", POTASSIUM),
    ("Potassium chloride may be given at up to 10 mmol per hour on general wards [1].",
     POTASSIUM),
    ("Revenue in 2022 was 5.2 [1].", TABLE),
    ("Item: Net income; 2022: 1.1; 2023: 1.4", TABLE),
    ("Do not give apixaban to patients with mechanical heart valves [1].", VALVES),
    ("重症监护室不超过40 mmol/h。", ZH),
    ("重症监护室补钾速度不超过40 mmol/h。", ZH),  # the subject from the first clause
    ("2023年本行净利润为1.2亿元。", ZH_MONEY),
    ("The patient must rest [1].", SEPSIS),  # short, led by "The": not a heading
    ("The patient doesn't respond [1]", SEPSIS),
])
def test_claims_a_passage_states_are_kept(claim: str, passage: Passage) -> None:
    assert _verdict(claim, passage) == (True, "")


def test_a_claim_that_only_restates_the_question_is_an_echo() -> None:
    question = "How long should I rub my hands with alcohol hand rub?"
    kept, reason = _verdict("You should rub your hands with alcohol hand rub.", HANDS, question)
    assert (kept, reason) == (False, "echo")


def test_a_repeated_sentence_is_shown_once() -> None:
    raw = ("Revenue in 2022 was 5.2 [1]. Revenue in 2022 was 5.2 [1]. "
           "In 2022 revenue was 5.2 [1].")
    checked = check_answer(raw, [TABLE])
    assert [s.text for s in checked.sentences] == ["Revenue in 2022 was 5.2."]
    assert checked.removed == ["repeated: Revenue in 2022 was 5.2.",
                               "repeated: In 2022 revenue was 5.2."]


def test_wrong_citation_is_replaced_by_the_passage_that_supports_it() -> None:
    result = check_claim("Potassium chloride may be given at up to 10 mmol/h on general wards.",
                         [HANDS, POTASSIUM], cited=[1])
    assert result.kept and result.citations == (2,) and result.attributed
    assert result.evidence == POTASSIUM.text


def test_only_checked_sentences_are_streamed_and_numbered_in_order_of_use() -> None:
    shown: list[AnswerSentence] = []
    numbering = Numbering()
    stream = CheckedStream([HANDS, POTASSIUM], "potassium on wards",
                           lambda s: shown.append(numbering.sentence(s)))
    draft = ("Potassium chloride may be given at up to 10 mmol/h on general wards [2]. "
             "The INR is approximately 2.8% [1]. Rub hands for 20–30 seconds until dry [1].")
    for i in range(0, len(draft), 7):  # the model's pieces
        stream.feed(draft[i : i + 7])
        assert all("2.8" not in s.text for s in shown)  # the invented sentence never shows
    stream.finish()
    assert [s.citations for s in shown] == [(1,), (2,)]
    assert numbering.passages([HANDS, POTASSIUM]) == [POTASSIUM, HANDS]
    assert render(shown) == ("Potassium chloride may be given at up to 10 mmol/h on general "
                             "wards [1]. Rub hands for 20–30 seconds until dry [2].")


def test_a_table_row_renders_as_a_small_table() -> None:
    row = AnswerSentence("Item: Revenue; 2022: 5.2", (1,), row=(("Item", "Revenue"),
                                                                ("2022", "5.2")))
    assert render([row]) == "| Item | 2022 |\n|---|---|\n| Revenue | 5.2 [1] |"


def test_numbers_are_read_with_magnitude_unit_and_rate() -> None:
    (a,) = quantities("£12.0 million")
    assert (a.value, a.unit) == (12e6, "gbp")
    (b,) = quantities("每小时10毫摩尔")
    assert (b.unit, b.per) == ("mmol", "hour")
    first, second = quantities("give 15-20 g of glucose")
    assert first.unit == second.unit == "g"
    (year,) = quantities("FY2023")
    assert year.is_year


def test_a_range_from_another_column_of_the_row_is_not_the_target() -> None:
    """Table 1 gives target INR 2.5 and acceptable range 2.0-3.0: "the target INR is 2.0-3.0"
    takes the range for the target (a whole number written "2.0" is a measured value too)."""
    table = ("| Indication | Target INR | Acceptable range |\n| --- | --- | --- |\n"
             "| Atrial fibrillation | 2.5 | 2.0-3.0 |")
    passages = [_p(1, table, ("Table 1. Target INR by indication",))]
    wrong = check_claim("The target INR is 2.0-3.0 [1].", passages, cited=[1])
    assert not wrong.kept
    right = check_claim("The target INR for atrial fibrillation is 2.5 [1].", passages, cited=[1])
    assert right.kept
    assert check_claim("The acceptable range is 2.0-3.0 [1].", passages, cited=[1]).kept
