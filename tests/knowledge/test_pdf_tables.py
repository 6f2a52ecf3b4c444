"""Tables in PDFs: found in the layout text, kept as rows, chunked whole with their header."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from domains.pack import load_pack
from knowledge.chunking import chunk_document
from knowledge.loaders import load_document
from knowledge.loaders.pdf_tables import find_tables

INR_TABLE = """\
Table 1. Target INR by indication

Indication                              Target INR       Acceptable          Usual duration
                                                         range

Atrial fibrillation or atrial flutter   2.5              2.0-3.0             Long term

First provoked DVT or PE                2.5              2.0-3.0             3 months

Recurrent VTE while INR in              3.5              3.0-4.0             Long term; discuss
therapeutic range                                                            with haematology

3.4 INR monitoring
Check the INR daily until it is within range on two consecutive days.""".splitlines()


def test_a_layout_table_becomes_rows_with_wrapped_cells_joined() -> None:
    (table,) = find_tables(INR_TABLE)
    assert table.rows == (
        ("Indication", "Target INR", "Acceptable range", "Usual duration"),
        ("Atrial fibrillation or atrial flutter", "2.5", "2.0-3.0", "Long term"),
        ("First provoked DVT or PE", "2.5", "2.0-3.0", "3 months"),
        ("Recurrent VTE while INR in therapeutic range", "3.5", "3.0-4.0",
         "Long term; discuss with haematology"),
    )
    # It ends before the next heading: that line is the document's again.
    assert INR_TABLE[table.last + 2] == "3.4 INR monitoring"


def test_a_row_whose_tall_cell_starts_above_its_first_column() -> None:
    lines = """\
DOAC           CrCl 50 or more      CrCl 30-49

Apixaban       5 mg twice daily     5 mg twice daily

                                    110 mg twice daily if
Dabigatran     150 mg twice daily   high bleeding risk
                                    otherwise 150 mg

(a) Apixaban: reduce to 2.5 mg twice daily in two of three cases.""".splitlines()
    (table,) = find_tables(lines)
    assert table.rows[-1] == ("Dabigatran", "150 mg twice daily",
                              "110 mg twice daily if high bleeding risk otherwise 150 mg")
    assert lines[table.last + 2].startswith("(a) Apixaban")


def test_a_paragraph_right_under_the_table_is_not_swallowed_by_its_last_row() -> None:
    lines = [
        "Grade    Description    PD band",
        "NB1      Exceptional    0.00% - 0.03%",
        "NB2      Very strong    0.03% - 0.08%",
        "Grades are reviewed every year by the credit committee and approved by the board.",
    ]
    (table,) = find_tables(lines)
    assert table.last == 2 and table.rows[-1] == ("NB2", "Very strong", "0.03% - 0.08%")


def test_text_that_only_looks_spaced_is_not_a_table() -> None:
    justified = [
        "The   lender   may   call   the   loan   if   any   covenant   is   breached.",
        "Notice is given in writing to the borrower at its registered office address.",
        "",
        "Signed:   J. Smith   Date:   1 March 2024",
    ]
    two_columns = ["Name      Value", "Alpha     1", "Beta      2", "Gamma     3"]
    header_only = ["Drug      Dose      Route", "", "Some text follows here."]
    for lines in (justified, two_columns, header_only):
        assert find_tables(lines) == [], lines


def test_a_pdf_table_is_loaded_as_rows_and_chunked_whole(tmp_path: Path) -> None:
    rows = [("Total group exposure", "Approval authority", "Rating condition"),
            ("Up to 5 million", "Credit Officer", "NB1 to NB6"),
            ("5 million to 25 million", "Senior Credit Officer", "NB1 to NB7"),
            ("Above 250 million", "Board Risk Committee", "Any grade")]
    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    pdf.add_page()
    pdf.cell(0, 8, "6 Approval authorities", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 6, "Credit approval is based on the total exposure to the group.",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    with pdf.table(col_widths=(60, 60, 50), text_align="LEFT", borders_layout="NONE",
                   line_height=7) as table:
        for values in rows:
            row = table.row()
            for value in values:
                row.cell(value)
    pdf.ln(4)
    pdf.multi_cell(0, 6, "Every credit decision requires an independent sign-off.",
                   new_x="LMARGIN", new_y="NEXT")
    path = tmp_path / "credit.pdf"
    pdf.output(str(path))

    doc = load_document(path, max_bytes=10_000_000)
    tables = [b for b in doc.blocks if b.kind == "table"]
    assert len(tables) == 1 and tables[0].rows == tuple(rows) and tables[0].page == 1
    assert any("independent sign-off" in b.text for b in doc.blocks if b.kind == "paragraph")
    chunks = chunk_document(doc, load_pack("finance").chunking)
    (table_chunk,) = [c for c in chunks if c.kind == "table"]
    assert table_chunk.text.startswith("| Total group exposure | Approval authority |")
    assert "| Above 250 million | Board Risk Committee | Any grade |" in table_chunk.text
    assert table_chunk.heading_path == ("6 Approval authorities",)
