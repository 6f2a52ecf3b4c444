"""Rows of a Markdown table passage, each cell named by its column header.

A bare "| Atrial fibrillation | 2.5 |" does not say what 2.5 is; "Indication: Atrial
fibrillation; Target INR: 2.5" does. The checker compares claims with such rows, the
extractive answerer quotes them, and the renderer shows one as a small table again.
"""

from __future__ import annotations

import re

from knowledge.loaders.base import markdown_cells

_TABLE_SEPARATOR = re.compile(r"^\|(\s*:?-{3,}:?\s*\|)+$")
Row = tuple[tuple[str, str], ...]


def table_cells(text: str) -> list[Row] | None:
    """A Markdown table passage's data rows as (column, cell) pairs; None if not a table.

    Empty cells are left out; a cell under an empty header keeps "" as its column name.
    """
    lines = [line.strip() for line in text.strip().split("\n")]
    if (len(lines) < 3 or not _TABLE_SEPARATOR.match(lines[1])
            or not all(line.startswith("|") and line.endswith("|") for line in lines)):
        return None
    header = markdown_cells(lines[0])
    rows: list[Row] = []
    for line in lines[2:]:
        pairs = tuple((name, cell) for name, cell in
                      zip(header, markdown_cells(line), strict=False) if cell)
        if pairs and not _repeats_header(pairs):
            rows.append(pairs)
    return rows


def _repeats_header(row: Row) -> bool:
    """A row whose every cell is its column's name: a page header repeated under itself
    ("| Common Scams and Schemes | Danville, CA |" twice) names a topic and says nothing."""
    return all(" ".join(cell.split()).casefold() == " ".join(name.split()).casefold()
               for name, cell in row)


def row_text(row: Row) -> str:
    """The row as one line: "Column: cell; Column: cell"."""
    return "; ".join(f"{name}: {cell}" if name else cell for name, cell in row)


def table_rows(text: str) -> list[str] | None:
    """A Markdown table passage's data rows, each cell named by its column; None if not one."""
    cells = table_cells(text)
    return None if cells is None else [row_text(row) for row in cells]
