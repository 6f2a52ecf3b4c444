"""Corruptions of a table-row claim: a cell's number, a value moved under another column (the
2019 figure said for 2018), a currency or percent swapped, or the row label replaced by
another table's label.

They work on the row's cells, not on the rendered text, so a header such as "2019" is never
mistaken for a value to change.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from benchmarks.claims.edits import NUMBER_TEXT, Corruption, absent, changed_number, number_values
from benchmarks.claims.tables import RowClaim, render_row, value_cols

_CELL_NUMBER = re.compile(NUMBER_TEXT)
_STOP = frozenset(["total", "other", "net", "of", "and", "the", "in", "for", "to", "a"])


def _value(cell: str) -> float | None:
    m = _CELL_NUMBER.search(cell)
    return float(m.group().replace(",", "")) if m else None


def _result(claim: RowClaim, changed: RowClaim, old: str, new: str) -> Corruption | None:
    before, after = render_row(claim), render_row(changed)
    return Corruption(after, old, new) if after != before else None


def corrupt_number(claim: RowClaim, passage: str, rng: random.Random) -> Corruption | None:
    cols = [i for i in (claim.cols or tuple(value_cols(claim.row))) if _value(claim.row.cells[i][1])
            is not None]
    rng.shuffle(cols)
    for i in cols:
        name, cell = claim.row.cells[i]
        m = _CELL_NUMBER.search(cell)
        if m is None:
            continue
        new = changed_number(m.group(), passage, rng)
        if new is None:
            continue
        cells = list(claim.row.cells)
        cells[i] = (name, cell[:m.start()] + new + cell[m.end():])
        return _result(claim, claim.with_cells(tuple(cells)), m.group(), new)
    return None


def corrupt_qualifier(claim: RowClaim, rng: random.Random) -> Corruption | None:
    """The value said under another column whose own value differs (for a whole row: two
    columns' values swapped)."""
    cols = value_cols(claim.row)
    cells = list(claim.row.cells)
    pairs = [(i, j) for i in (claim.cols or tuple(cols)) for j in cols
             if i != j and cells[i][0] != cells[j][0]
             and _value(cells[i][1]) is not None and _value(cells[j][1]) is not None
             and _value(cells[i][1]) != _value(cells[j][1])]
    if not pairs:
        return None
    i, j = rng.choice(pairs)
    if claim.form == "row":
        cells[i], cells[j] = (cells[i][0], cells[j][1]), (cells[j][0], cells[i][1])
        changed = claim.with_cells(tuple(cells))
    else:
        cells[j] = (cells[j][0], cells[i][1])
        changed = RowClaim(claim.row, claim.form, claim.corner, (j,)).with_cells(tuple(cells))
    return _result(claim, changed, cells[i][0], cells[j][0])


def corrupt_unit(claim: RowClaim, passage: str, rng: random.Random) -> Corruption | None:
    """A currency swapped ($ -> €) or a percentage stated as an amount (12% -> $12)."""
    cols = list(claim.cols or tuple(value_cols(claim.row)))
    rng.shuffle(cols)
    for i in cols:
        name, cell = claim.row.cells[i]
        for old, new in (("$", "€"), ("€", "$"), ("£", "$")):
            if old in cell and absent(new, passage):
                cells = list(claim.row.cells)
                cells[i] = (name, cell.replace(old, new))
                return _result(claim, claim.with_cells(tuple(cells)), old, new)
        if cell.rstrip().endswith("%") and absent("$", passage):
            cells = list(claim.row.cells)
            cells[i] = (name, "$" + cell.rstrip().rstrip("%").strip())
            return _result(claim, claim.with_cells(tuple(cells)), "%", "$")
    return None


def corrupt_entity(claim: RowClaim, passage: str, labels: Sequence[str], rng: random.Random
                   ) -> Corruption | None:
    """The row label replaced by a label of another table that this passage does not have."""
    old = claim.row.label
    old_words = {w.lower() for w in re.findall(r"[A-Za-z]+", old)} - _STOP
    if not old_words:
        return None
    for new in rng.sample(list(labels), min(len(labels), 40)):
        new_words = {w.lower() for w in re.findall(r"[A-Za-z]+", new)} - _STOP
        if (new_words and not new_words & old_words and absent(new, passage)
                and number_values(new) <= number_values(passage)):
            return _result(claim, claim.with_cells(claim.row.cells, label=new), old, new)
    return None
