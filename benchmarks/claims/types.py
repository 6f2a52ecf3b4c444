"""The records the generator hands to the scorer.

Kept apart from the generator so the scorer and the tests can read a ``Case`` without pulling
in jieba or the corpus loaders.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.types import Passage

TRUE_KINDS = ("verbatim", "paraphrase", "table_row", "uncited")
CORRUPT_KINDS = ("number", "unit", "qualifier", "negation", "entity", "wrong_cite", "fragment",
                 "repetition", "echo")


@dataclass(frozen=True)
class Doc:
    """One corpus document cut into passages; ``group`` is the source document it came from
    (a paper, a contract, a report excerpt), so distractors never share it."""

    dataset: str
    corpus_id: str
    group: str
    title: str
    lang: str
    passages: tuple[Passage, ...]


@dataclass(frozen=True)
class TableRow:
    """A data row of a table passage: its label and its (column header, cell) pairs."""

    label: str
    cells: tuple[tuple[str, str], ...]
    rendered: str
    """The row exactly as ``app.dialog.extractive.table_rows`` shows it."""


@dataclass(frozen=True)
class Source:
    """A true statement and where it is written: ``sentence`` is the passage sentence (or the
    table row) that supports ``claim``; ``claim`` is that sentence cleaned for use as an
    answer sentence (reference markers like "[7]" dropped)."""

    doc: Doc
    passage: Passage
    sentence: str
    claim: str
    row: TableRow | None = None


@dataclass(frozen=True)
class Case:
    """One claim to check, with everything ``check_claim`` receives and what it should do.

    ``truth``: True when the claim must be kept. ``origin``: the true claim a corruption was
    derived from ("" for true claims). ``old``/``new``: the token a substitution replaced and
    its replacement, so tests can verify the change is real. ``wrong``: the passage number a
    wrong citation points to (0 when none).
    """

    lang: str
    dataset: str
    kind: str
    truth: bool
    claim: str
    passages: tuple[Passage, ...]
    source_n: int
    cited: tuple[int, ...] = ()
    question: str = ""
    earlier: tuple[str, ...] = ()
    origin: str = ""
    old: str = ""
    new: str = ""
    wrong: int = 0

    @property
    def source_text(self) -> str:
        return self.passages[self.source_n - 1].text
