"""Tables in a PDF page, found in pypdf's layout text (columns are runs of spaces).

pypdf's plain extraction gives a table's cells as a run of words ("Indication Target INR
Acceptable range ... Atrial fibrillation or atrial flutter 2.5 2.0-3.0 Long term"), which no
chunker can keep whole and no citation can quote as a row. Its layout mode keeps each line at
its position, so a table reads as lines whose pieces, separated by 3 or more spaces, start at
the same columns. The rules:

- A header is a line of at least 3 pieces; its piece starts are the column starts.
- A line directly under a row (no blank line between) whose pieces all start at column starts
  continues that row: wrapped cell text ("range" under "Acceptable"). It starts a new row
  instead when it has a piece in the first column and another, unless the table separates
  its rows with blank lines (then a first-column piece right under a row is wrapped text).
- After a blank line, a line continues the table only as a new row: a piece in the first
  column and in at least one other. Anything else ends it ("3.4 INR monitoring"), unless
  lines without a first-column piece lead straight into a new row: a row whose cells are
  centred vertically starts its taller cells above its first column's text.
- A table needs a header and at least 2 rows, every row's pieces on column starts.

Left out: tables without 3-space gaps (narrow columns set by ruling lines), tables with an
empty first column, and a table continued on the next page (each page's part is a table of
its own, headed by its first row unless the PDF repeats the header).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GAP = re.compile(r" {3,}")
_TOLERANCE = 2  # columns of slack for a piece that starts a character early or late
MIN_COLUMNS = 3
MIN_ROWS = 2


@dataclass(frozen=True)
class PageTable:
    """A table found on a page: ``first`` to ``last`` are its layout line numbers."""

    first: int
    last: int
    rows: tuple[tuple[str, ...], ...]  # the first is the header


def _pieces(line: str) -> list[tuple[int, str]]:
    """(start column, text) of each run of text separated by 3 or more spaces."""
    out, position = [], 0
    for part in _GAP.split(line.rstrip()):
        start = line.index(part, position) if part else position
        if part.strip():
            out.append((start + len(part) - len(part.lstrip()), part.strip()))
        position = start + len(part)
    return out


def _column(start: int, text: str, starts: list[int]) -> int | None:
    """The column a piece starts in; None when it starts elsewhere or runs into the next
    column (a paragraph line under a table, not a wrapped cell)."""
    for i, column in enumerate(starts):
        if abs(start - column) <= _TOLERANCE:
            following = starts[i + 1] if i + 1 < len(starts) else None
            if following is not None and start + len(text) > following + _TOLERANCE:
                return None
            return i
    return None


def find_tables(lines: list[str]) -> list[PageTable]:
    """The tables in one page's layout lines, in order, never overlapping."""
    tables: list[PageTable] = []
    i = 0
    while i < len(lines):
        table = _table_at(lines, i)
        if table is None:
            i += 1
            continue
        tables.append(table)
        i = table.last + 1
    return tables


def _table_at(lines: list[str], first: int) -> PageTable | None:
    header = _pieces(lines[first])
    if len(header) < MIN_COLUMNS:
        return None
    starts = [start for start, _ in header]
    if any(_column(start, text, starts) != i for i, (start, text) in enumerate(header)):
        return None
    # First read every first-column line as a new row; if most rows then turn out to follow
    # a blank line, read again with lines right under a row as its wrapped text.
    scan = _Scan(lines, first, starts, spaced=False)
    if scan.after_blank > scan.direct:
        scan = _Scan(lines, first, starts, spaced=True)
    if len(scan.rows) < 1 + MIN_ROWS:
        return None
    cells = tuple(tuple(" ".join(parts) for parts in row) for row in scan.rows)
    return PageTable(first, scan.last, cells)


class _Scan:
    """One reading of the lines under a header: the rows and where the table ends."""

    def __init__(self, lines: list[str], first: int, starts: list[int], *, spaced: bool) -> None:
        header = _pieces(lines[first])
        self.rows: list[list[list[str]]] = [[[text] for _, text in header]]
        self.last = first
        self.after_blank = self.direct = 0  # data rows (after the first) by what precedes
        blank_before = False
        above: list[tuple[int, str]] = []  # cell text waiting for the row it sits above
        for i in range(first + 1, len(lines)):
            pieces = _pieces(lines[i])
            if not pieces:
                if above:
                    break
                blank_before = True
                continue
            columns = [_column(start, text, starts) for start, text in pieces]
            if any(c is None for c in columns):
                break
            placed = [(c, text) for c, (_, text) in zip(columns, pieces, strict=True)
                      if c is not None]
            new_row = columns[0] == 0 and len(set(columns)) >= 2
            if spaced and new_row and not blank_before and not above:
                new_row = False  # wrapped text of the row above, in two of its columns
            if not new_row and (blank_before or above):
                if 0 in columns:
                    break
                above.extend(placed)
                blank_before = False
                continue
            if new_row:
                if len(self.rows) > 1:
                    if blank_before or above:
                        self.after_blank += 1
                    else:
                        self.direct += 1
                self.rows.append([[] for _ in starts])
            for column, text in [*above, *placed]:
                self.rows[-1][column].append(text)
            above, self.last, blank_before = [], i, False
