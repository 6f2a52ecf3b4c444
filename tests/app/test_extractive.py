"""Extractive answers quote table rows with their column names, never a bare row of numbers."""

from __future__ import annotations

from app.dialog.extractive import extract, table_rows
from app.services import Runtime
from knowledge.types import Passage

TABLE = ("| Indication | Target INR | Acceptable range |\n| --- | --- | --- |\n"
         "| Atrial fibrillation or atrial flutter | 2.5 | 2.0-3.0 |\n"
         "| Mechanical mitral valve | 3.0 | 2.5-3.5 |\n"
         "| Antiphospholipid syndrome \\| first event | 2.5 | 2.0-3.0 |")
MITRAL = "Indication: Mechanical mitral valve; Target INR: 3.0; Acceptable range: 2.5-3.5"


def test_table_rows_name_each_cell_and_leave_prose_alone() -> None:
    rows = table_rows(TABLE)
    assert rows is not None and rows[1] == MITRAL
    assert rows[2].startswith("Indication: Antiphospholipid syndrome | first event;")
    assert table_rows("Warfarin is stopped 5 days before surgery.") is None
    assert table_rows("| only | a header |\n| --- | --- |") is None
    # A web page's banner repeated as a row names a topic; quoted, it answered "Mortgage
    # scams" with "Common Scams and Schemes: Common Scams and Schemes; Danville, CA: ...".
    banner = ("| Common Scams and Schemes | Danville, CA |\n|---|---|\n"
              "| Common Scams and  Schemes | Danville, CA |\n| Lottery scams | 2023 |")
    assert table_rows(banner) == ["Common Scams and Schemes: Lottery scams; Danville, CA: 2023"]


def test_the_row_that_answers_is_quoted_with_its_header(runtime: Runtime) -> None:
    passage = Passage(7, 1, "anticoagulation-protocol.pdf", TABLE, ("3.3 Target INR",), 2, 1.0)
    sentences = extract("What is the target INR for a mechanical mitral valve?", [passage],
                        runtime.resources.kb("medical").embedder)
    assert MITRAL in [s.text for s in sentences]
    assert all(s.citations == (1,) and s.text.startswith("Indication: ") for s in sentences)


def test_only_statements_are_quoted_not_aims_cut_offs_or_capitalised_runs() -> None:
    from app.dialog.extractive import candidate_sentences
    text = ("To examine whether private care reduces demand for NHS care. "
            "The objective of the present study was to determine whether demand fell. "
            "With a 2 x 2 design, we tested whether demand changed in 2019. "
            "Do patients from urban and rural areas have similar demand for NHS care. "
            "Fiscal 2024 Fiscal 2023 Total Stores at Beginning of Second Quarter Stores Opened "
            "Stores Closed Total Stores at End of Second Quarter. "
            "Table l: Posterior model estimates of percentage of total population infected as "
            "of 28th March 2020. "
            "Private care did not reduce the demand for NHS care in any region studied [4, 7]. "

            "The effect was largest among patients who had")
    quoted = [c.text for c in candidate_sentences([Passage(1, 1, "a.txt", text, (), None, 1.0)])]
    assert quoted == ["Private care did not reduce the demand for NHS care in any region studied."]
    # split inside a sentence: a lower-case start after a full stop is not quoted
    from app.dialog.extractive import _quotable
    assert not _quotable("estimates that a higher share was infected in March.", False, False,
                         previous="Table 1: Posterior model estimates as of 28th March 2020.")
    assert not _quotable("estimates that a higher share was infected in March.", False, False,
                         previous="Table 1: Posterior model estimates as of 28th March 2020")
    assert _quotable("non-compete: for 6 months after the Termination Date.", False, False)
    # a passage that opens in lower case starts inside a sentence chunking cut in two
    assert not _quotable("number of customers will continue to account for most revenue.",
                         False, False)
    assert _quotable("mRNA vaccines were given to 40 patients.", False, False)
    # a passage's last line without a stop: a list item stays, a cut sentence goes
    assert _quotable("Recheck the capillary glucose after 15 minutes", True, False)
    assert not _quotable("The effect was largest among patients who", True, False)
    assert not _quotable("Working capital $ 4,237 $ 3,942 Current ratio 1.6 1.4 Debt $ 250 $ "
                         "300 Equity $ 1,200 $ 1,100.", False, False)
    assert not _quotable("In this section, we will describe the results of operations.", False,
                         False)
    assert not _quotable("Given the gap in the evidence, we conducted a systematic review of "
                         "studies to evaluate the association between smoking and outcomes.",
                         False, False)
    # the open question an introduction starts from is no finding
    assert not _quotable("Private care is increasing, but it is unclear whether this will reduce "
                         "demand on the NHS.", False, False)
    assert _quotable("termination of this agreement, the Recipient shall return it in 10 days.",
                     False, False, previous="5.1 If so requested in writing, and in any event on")
    # a Chinese clause ending in "；" stands alone
    zh = "截至2023年末，本行不良贷款率为1.36%，比上年末下降0.06个百分点；拨备覆盖率218.45%。"
    quoted = [c.text for c in candidate_sentences([Passage(1, 1, "b.md", zh, (), None, 1.0)])]
    assert any("1.36%" in q for q in quoted)


def test_a_quoted_sentence_drops_its_field_label() -> None:
    """"Text: Multiple evanescent white dot syndrome ..." was shown with the label of the
    paper's text field; a structured abstract's "RESULTS:" is the same."""
    from app.dialog.extractive import candidate_sentences
    text = ("Text: Multiple evanescent white dot syndrome was first described in 1984 as a rare "
            "chorioretinopathy. RESULTS: Of 17,137 referrals, 90.4 percent were to the NHS.")
    quoted = [c.text for c in candidate_sentences([Passage(1, 1, "a.txt", text, (), None, 1.0)])]
    assert quoted == [
        "Multiple evanescent white dot syndrome was first described in 1984 as a rare "
        "chorioretinopathy.", "Of 17,137 referrals, 90.4 percent were to the NHS."]
