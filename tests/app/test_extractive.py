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


def test_the_row_that_answers_is_quoted_with_its_header(runtime: Runtime) -> None:
    passage = Passage(7, 1, "anticoagulation-protocol.pdf", TABLE, ("3.3 Target INR",), 2, 1.0)
    sentences = extract("What is the target INR for a mechanical mitral valve?", [passage],
                        runtime.resources.kb("medical").embedder)
    assert MITRAL in [s.text for s in sentences]
    assert all(s.citations == (1,) and s.text.startswith("Indication: ") for s in sentences)
