"""Tables written as text: lines of cells separated by "|", with or without Markdown's rule.

Report excerpts, exports from finance systems and pasted spreadsheets arrive as plain text
whose table rows read "Total current tax expense | 1,062 | 1,018 | 950". Kept as a paragraph,
such a table is one run-on "sentence": the answerer quotes all of it and the checker cannot
tell which year 1,018 belongs to. As a table block each row is read with its column names.

Such exports often put the column heads on more than one line, under an empty first cell
(" | 2019 | 2018" then " | €m | €m"), sometimes below a title line that names only the first
column ("Income tax expense |  | "): those leading lines are merged into one header.
"""

from __future__ import annotations

import re

_RULE = re.compile(r"^\s*\|?(\s*:?-{3,}:?\s*\|)+\s*:?-{0,}:?\s*$")
_BORDER = re.compile(r"(?<!\\)\|")
MIN_ROWS = 2


def _cells(line: str) -> list[str] | None:
    """Every cell of the line, the edge ones too: " | 2019" has an empty first cell (a
    Markdown line's outer pipes are taken off once the whole table is known to have them)."""
    if "|" not in line or _RULE.match(line):
        return None
    return [c.strip().replace("\\|", "|") for c in _BORDER.split(line.strip())]


def _edged(lines: list[str]) -> bool:
    return all(line.strip().startswith("|") and line.strip().endswith("|") for line in lines)


def _merge_header(rows: list[list[str]]) -> list[list[str]]:
    """Leading column-head lines (empty first cell), with the title lines above them, as one
    header; a title line after them is a section of the body ("Overseas tax: |  | ")."""
    heads = 0
    seen_columns = False
    while heads < len(rows) - 1:
        first, rest = rows[heads][0], any(rows[heads][1:])
        if not first and rest:
            seen_columns = True
        elif not (first and not rest and not seen_columns):
            break
        heads += 1
    if not seen_columns:
        return rows
    header = [" ".join(r[j] for r in rows[:heads] if r[j]) for j in range(len(rows[0]))]
    return [header, *rows[heads:]]


def pipe_table(lines: list[str]) -> list[list[str]] | None:
    """The rows (header first) of lines that are all table rows of one width; else None."""
    rows = []
    edged = _edged([line for line in lines if not _RULE.match(line)])
    for line in lines:
        if _RULE.match(line):
            continue  # a Markdown rule under the header
        cells = _cells(line)
        if cells is None:
            return None
        rows.append(cells[1:-1] if edged else cells)
    width = max((len(r) for r in rows), default=0)
    if len(rows) < MIN_ROWS or width < 2:
        return None
    return _merge_header([r + [""] * (width - len(r)) for r in rows])


def split_pipe_runs(lines: list[str]) -> list[tuple[list[list[str]] | None, list[str]]]:
    """The lines in order, as (table rows, lines) runs, rows None for text: a table is
    ``MIN_ROWS`` or more consecutive lines holding a "|" (a Markdown rule line among them)."""
    runs: list[tuple[list[list[str]] | None, list[str]]] = []
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and (_cells(lines[j]) is not None
                                  or (j > i and _RULE.match(lines[j]))):
            j += 1
        rows = pipe_table(lines[i:j]) if j - i >= MIN_ROWS else None
        if rows is not None:
            runs.append((rows, lines[i:j]))
            i = j
            continue
        if runs and runs[-1][0] is None:
            runs[-1][1].append(lines[i])
        else:
            runs.append((None, [lines[i]]))
        i += 1
    return runs
