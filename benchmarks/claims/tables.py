"""TAT-QA tables as Markdown table passages, and table rows as claims.

TAT-QA stores a table as lines of " | "-joined cells with one to three header lines (a caption
such as "Years Ended September 30,", then the column names) and section lines ("Net sales:").
A loader would give the checker a Markdown table, so that is what we build: the last header
line becomes the Markdown header (the earlier ones go to the heading path, where a caption
lives), and a long table is split by rows with the header repeated, as the chunker does.

A row claim mirrors what an extractive answer shows: the whole row with each cell named by its
column (``app.dialog.extractive.table_rows``), the label with one named cell, or a sentence
"<label> in <column> was <value>".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from app.dialog.extractive import table_rows
from benchmarks.claims.types import Doc, Source, TableRow
from knowledge.loaders.base import markdown_cells, markdown_table

ROWS_PER_PASSAGE = 12
_MONTH = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.I)
_YEARISH = re.compile(r"^(?:fiscal |fy\s?)?(?:19|20)\d{2}$", re.I)


@dataclass(frozen=True)
class Table:
    captions: tuple[str, ...]
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _header_like(cell: str) -> bool:
    """A cell that names a column rather than holding a value: a year, a date, words."""
    return (not any(ch.isdigit() for ch in cell) or bool(_YEARISH.match(cell))
            or bool(_MONTH.search(cell)) or sum(ch.isalpha() for ch in cell) >= 2)


def _carried(cells: list[str]) -> list[str]:
    """A caption line's cells with each spanning cell carried over the empty ones after it."""
    out, last = [], ""
    for i, cell in enumerate(cells):
        last = cell or (last if i else "")
        out.append(last)
    return out


def parse_table(text: str) -> Table | None:
    lines = [line for line in text.split("\n") if line.strip()]
    grid = [[" ".join(c.split()) for c in line.split("|")] for line in lines]
    if not grid:
        return None
    width = max(len(r) for r in grid)
    grid = [r + [""] * (width - len(r)) for r in grid]
    first_data = next((i for i, r in enumerate(grid)
                       if r[0] and any(c and not _header_like(c) for c in r[1:])), None)
    if first_data is None or width < 2:
        return None
    named = [i for i in range(first_data) if sum(1 for c in grid[i][1:] if c) >= 2]
    if not named and not (first_data == 0 and all(grid[0]) and len(grid) > 1):
        return None
    h = named[-1] if named else 0  # a header of ranges ("1–90 | 91–180") looks like data
    header = grid[h]
    names = [c for c in header[1:] if c]
    if len(set(names)) < len(names) and len(named) >= 2:
        # "£m | £m" under "2019 | 2018": the column names are the two lines together
        upper = _carried(grid[named[-2]])
        header = [header[0], *(f"{u} {c}".strip() for u, c in zip(upper[1:], header[1:],
                                                                 strict=True))]
    rows = []
    for r in grid[h + 1:]:
        if r[0] and r[0] == header[0]:
            break  # a second table under the same caption: keep the first
        rows.append(tuple(r))
    captions = tuple(" ".join(c for c in grid[i] if c) for i in range(h))
    if not any(any(c and not _header_like(c) for c in r[1:]) for r in rows):
        return None
    return Table(tuple(c for c in captions if c), tuple(header), tuple(rows))


def table_passages(table: Table) -> list[str]:
    """The table as Markdown passages of at most ``ROWS_PER_PASSAGE`` rows, header repeated."""
    out = []
    for i in range(0, len(table.rows), ROWS_PER_PASSAGE):
        out.append(markdown_table((table.header, *table.rows[i:i + ROWS_PER_PASSAGE])))
    return out


def _rows_of(text: str) -> list[TableRow]:
    shown = table_rows(text)
    if shown is None:
        return []
    lines = [line.strip() for line in text.strip().split("\n")]
    header = markdown_cells(lines[0])
    out = []
    for line, rendered in zip(lines[2:], shown, strict=False):
        cells = markdown_cells(line)
        label = cells[0] if cells else ""
        named = tuple((name, cell) for name, cell in zip(header[1:], cells[1:], strict=False)
                      if cell)
        row = TableRow(label, named, rendered)
        if label and named and render_row(RowClaim(row, "row", header[0])) == rendered:
            out.append(row)
    return out


def row_sources(doc: Doc) -> list[Source]:
    """Every data row of the document's table passages that has a label and a value."""
    out = []
    for passage in doc.passages:
        for row in _rows_of(passage.text):
            if any(any(ch.isdigit() for ch in v) for _, v in row.cells):
                out.append(Source(doc, passage, row.rendered, row.rendered, row))
    return out


@dataclass(frozen=True)
class RowClaim:
    """A claim about one table row: ``form`` "row" (every named cell, as extractive shows it),
    "cell" (the label and the cells in ``cols``) or "sentence" (one cell said in words)."""

    row: TableRow
    form: str
    corner: str = ""
    cols: tuple[int, ...] = ()

    def with_cells(self, cells: tuple[tuple[str, str], ...], label: str | None = None
                   ) -> RowClaim:
        row = TableRow(self.row.label if label is None else label, cells, self.row.rendered)
        return replace(self, row=row)


def value_cols(row: TableRow) -> list[int]:
    """Columns whose cell holds a number (the ones worth stating or corrupting)."""
    return [i for i, (name, v) in enumerate(row.cells) if name and any(c.isdigit() for c in v)]


def _tidy_value(value: str) -> str:
    return re.sub(r"([$€£])\s+", r"\1", value)


def render_row(claim: RowClaim) -> str:
    row = claim.row
    if claim.form == "row":
        first = f"{claim.corner}: {row.label}" if claim.corner else row.label
        return "; ".join([first, *(f"{n}: {v}" if n else v for n, v in row.cells)])
    label = row.label.rstrip(":").strip()
    if claim.form == "cell":
        return "; ".join([label, *(f"{row.cells[i][0]}: {row.cells[i][1]}" for i in claim.cols)])
    name, value = row.cells[claim.cols[0]]
    prep = "in " if _header_like(name) and any(ch.isdigit() for ch in name) else ""
    return f"{label} {prep}{name} was {_tidy_value(value)}."


def corner_of(text: str) -> str:
    """The header's first cell of a Markdown table passage (the row label's column name)."""
    first = text.strip().split("\n")[0]
    cells = markdown_cells(first)
    return cells[0] if cells else ""
