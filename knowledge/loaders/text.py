"""Plain text: paragraphs split on blank lines, numbered lines promoted to headings.

Policies and Chinese regulations are often distributed as .txt with their structure carried by
numbering ("1. PURPOSE", "第一章 总则", "一、适用范围"), so those lines become headings with levels
from :mod:`knowledge.loaders.headings`. A line is only considered at the start of a paragraph
or after a line that ended a sentence, so "1. Take two tablets" inside a list that follows
"Patients should:" stays text. Line breaks inside a paragraph are kept as written.
"""

from __future__ import annotations

import re
from pathlib import Path

from knowledge.loaders.base import display_width, normalize_text, reaches_margin, table_block
from knowledge.loaders.decoding import decode_text
from knowledge.loaders.headings import Guess, assign_levels, ends_full_stop, guess_heading
from knowledge.loaders.pipe_text import split_pipe_runs
from knowledge.types import Block, BlockKind, ParsedDocument

_LIST_LINE = re.compile(r"^\s*([-*•·▪]|\d{1,3}[.)]|\(?[a-zA-Z]\))\s+\S")


class TextLoader:
    mime = "text/plain"
    label = "text file"
    suffixes = (".txt",)

    def sniff(self, head: bytes, suffix: str) -> bool:
        return suffix in self.suffixes

    def load(self, path: Path, name: str) -> ParsedDocument:
        text, encoding = decode_text(path.read_bytes(), name)
        blocks = parse_plain_text(normalize_text(text))
        return ParsedDocument(
            name=name, mime=self.mime, blocks=blocks, metadata={"encoding": encoding}
        )


def parse_plain_text(text: str) -> list[Block]:
    """Blocks of normalised text; headings get levels relative to the whole document."""
    drafts: list[tuple[BlockKind, str, Guess | None]] = []
    wrap_width = max((display_width(line) for line in text.split("\n")), default=0)
    tables: dict[int, Block] = {}
    for paragraph in text.split("\n\n"):
        for rows, lines in split_pipe_runs(
                [line for line in paragraph.split("\n") if line.strip()]):
            block = table_block(rows) if rows else None
            if block is not None:
                tables[len(drafts)] = block
                drafts.append(("table", block.text, None))
            else:
                _read_lines(lines, drafts, wrap_width)
    if not tables and all(kind == "heading" for kind, *_ in drafts):
        # Lines that only look like headings ("Net revenue 2023 4,210") with no body under them
        # are the text itself: as headings they would be dropped and the file found empty.
        drafts = [("paragraph", line, None) for _, line, _ in drafts]
    levels = iter(assign_levels([g for *_, g in drafts if g is not None]))
    return [
        tables.get(i) or Block(kind, body_text, level=next(levels) if guess is not None else 0)
        for i, (kind, body_text, guess) in enumerate(drafts)
    ]


def _read_lines(lines: list[str], drafts: list[tuple[BlockKind, str, Guess | None]],
                wrap_width: int) -> None:
    """One paragraph's lines as headings and body text."""
    body: list[str] = []
    for i, line in enumerate(lines):
        may_head = not body or ends_full_stop(lines[i - 1])
        guess = guess_heading(line, allow_unnumbered=True) if may_head else None
        if guess is not None and guess.rank is None and len(lines) > 1:
            guess = None  # Title Case alone is only trusted on a line of its own
        wrapped = i + 1 < len(lines) and reaches_margin(line, wrap_width)
        if guess is not None and wrapped:
            guess = None  # a hard-wrapped numbered paragraph, not a heading
        if guess is None:
            body.append(line)
            continue
        _flush(body, drafts)
        drafts.append(("heading", " ".join(line.split()), guess))
    _flush(body, drafts)


def _flush(body: list[str], drafts: list[tuple[BlockKind, str, Guess | None]]) -> None:
    if not body:
        return
    kind: BlockKind = "list" if all(_LIST_LINE.match(line) for line in body) else "paragraph"
    drafts.append((kind, "\n".join(body), None))
    body.clear()
