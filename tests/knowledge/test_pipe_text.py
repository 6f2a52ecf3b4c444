"""Tables written as text ("Total | 1,062 | 1,018") become tables, with their column heads."""

from __future__ import annotations

from app.dialog.tables import table_rows
from knowledge.loaders.text import parse_plain_text

REPORT = ("Income tax expense |  |  | \n"
          " | 2019 | 2018 | 2017\n"
          " | €m | €m | €m\n"
          "United Kingdom corporation tax: |  |  | \n"
          "Current year | 21 | 70 | 27\n"
          "Total current tax expense | 1,062 | 1,018 | 950")


def test_a_pipe_table_in_text_is_a_table_with_merged_column_heads() -> None:
    blocks = parse_plain_text(REPORT)
    assert [b.kind for b in blocks] == ["table"]
    rows = table_rows(blocks[0].text)
    assert rows is not None
    # the heads on two lines (year, then currency) name each column; the title names the first
    assert "Income tax expense: Total current tax expense; 2019 €m: 1,062; 2018 €m: 1,018; " \
           "2017 €m: 950" in rows
    # a title line below the column heads is a section of the body, not part of the header
    assert rows[0] == "Income tax expense: United Kingdom corporation tax:"


def test_text_around_a_table_stays_text_and_edged_rows_lose_their_outer_pipes() -> None:
    blocks = parse_plain_text("Revenue grew in 2019.\n| Year | Revenue |\n|---|---|\n"
                              "| 2019 | 120 |\n| 2018 | 100 |\nSee note 4.")
    assert [b.kind for b in blocks] == ["paragraph", "table", "paragraph"]
    assert table_rows(blocks[1].text) == ["Year: 2019; Revenue: 120", "Year: 2018; Revenue: 100"]


def test_one_line_with_a_pipe_is_not_a_table() -> None:
    blocks = parse_plain_text("Choose yes | no on the form.\nThen sign it.")
    assert [b.kind for b in blocks] == ["paragraph"]
