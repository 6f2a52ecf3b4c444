"""The questions make-data asks of a passage: each kind, answered by what the passage says.

A question that misreads its sentence would teach the model to answer what the passage does
not say, so the narrow cases matter as much as the matches.
"""

from __future__ import annotations

import pytest

from finetune.questions import probes, table_probes

FEES = ("# Account fees\n\n4.1 The monthly account fee is EUR 4.50. The fee is waived for "
        "customers under 25 years of age. Customers must not share their PIN with anyone. "
        "Staff should verify the identity of every caller. An overdraft means a negative "
        "balance on a current account.")


def kinds(found: list) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    out: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for p in found:
        out.setdefault(p.kind, []).append((p.question, p.answer))
    return out


def test_an_english_passage_yields_each_kind_with_the_sentence_that_answers_it() -> None:
    got = kinds(probes("account-fees.md", FEES, ("Account fees",), 0))
    assert got["heading"] == [("What does the account fees say about account fees?",
                               ("The monthly account fee is EUR 4.50.",
                                "The fee is waived for customers under 25 years of age."))]
    assert got["number"] == [("What is the monthly account fee?",
                              ("The monthly account fee is EUR 4.50.",))], "clause no. dropped"
    assert ("Must customers share their PIN with anyone?",
            ("No, customers must not share their PIN with anyone.",)) in got["yesno"]
    assert ("Should staff verify the identity of every caller?",
            ("Yes, staff should verify the identity of every caller.",)) in got["yesno"]
    assert got["definition"] == [("What does an overdraft mean?",
                                  ("An overdraft means a negative balance on a current "
                                   "account.",))]


def test_a_chinese_passage_gets_chinese_questions() -> None:
    text = ("新入院患者应在入院后2小时内完成首次跌倒风险评估。约束带是指用于限制患者活动的器具。"
            "患者不得自行使用约束带。夜间巡视间隔为2小时。")
    got = kinds(probes("fall-prevention-zh.md", text, ("评估时机",), 0))
    assert got["heading"][0][0] == "《fall prevention》关于“评估时机”有什么规定？"
    assert ("什么是约束带？", ("约束带是指用于限制患者活动的器具。",)) in got["definition"]
    assert ("患者是否可以自行使用约束带？", ("不可以，患者不得自行使用约束带。",)) in got["yesno"]
    assert ("夜间巡视间隔是多少？", ("夜间巡视间隔为2小时。",)) in got["number"]


@pytest.mark.parametrize("sentence", [
    "The fee is waived for customers under 25 years of age.",  # a number, but not the fee
    "It is 5 mg twice daily.",  # what is?
    "No funds may leave an account until verification is complete.",  # "May no funds...?"
    "If there is a conflict, the engagement letter prevails.",
    "Restart warfarin when the INR is below 5.0.",
    "In addition to our fees you will be responsible for disbursements.",
    "DOACs must not be used with a mechanical valve, and are not recommended in APS.",
])
def test_sentences_a_question_would_misread_ask_nothing(sentence: str) -> None:
    found = probes("doc.md", f"# Doc\n\n{sentence}", ("Doc",), 0)
    assert [p.kind for p in found] == ["heading"], [p.question for p in found]


def test_table_cells_are_asked_by_row_and_column() -> None:
    text = ("| Indication | Dose | Frequency |\n|---|---|---|\n"
            "| AF, CrCl 15-29 | 15 mg | once daily |\n| VTE | — | twice daily |")
    got = [(p.question, p.answer) for p in table_probes("anticoagulation-protocol.pdf", text)]
    assert ("In the anticoagulation protocol, what is the dose for AF, CrCl 15-29?",
            ("The dose for AF, CrCl 15-29 is 15 mg.",)) in got
    assert len(got) == 3, "an empty cell asks nothing"
    key_value = ("| Document | SAGH-CG-ACU-009, version 3.1 |\n|---|---|\n"
                 "| Applies to | Adults in the Emergency Department |")
    got = [(p.question, p.answer) for p in table_probes("sepsis-bundle.md", key_value)]
    assert got == [("In the sepsis bundle, what is given for Document?",
                    ("Document: SAGH-CG-ACU-009, version 3.1.",)),
                   ("In the sepsis bundle, what is given for Applies to?",
                    ("Applies to: Adults in the Emergency Department.",))], "rows, no header"
    zh = "| 指标 | 2023年 |\n|---|---|\n| 不良贷款率 | 1.36% |"
    (cell,) = table_probes("annual-report-2023.md", zh)
    assert (cell.question, cell.answer) == ("《annual report 2023》中不良贷款率（2023年）是多少？",
                                            ("不良贷款率（2023年）为1.36%。",))


def test_a_papers_own_reference_numbers_never_reach_the_reply() -> None:
    from finetune.make_data import cite

    quoted = "Some viruses spread through aerosols [10] , and via fomites [11, 12] ."
    assert cite(quoted, 2, "en") == "Some viruses spread through aerosols, and via fomites [2]."
    assert cite("应在2小时内完成评估[3]。", 1, "zh") == "应在2小时内完成评估[1]。"
