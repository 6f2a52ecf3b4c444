"""Plain data passed between the knowledge layer's stages and up to the app."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["heading", "paragraph", "table", "list", "code"]


@dataclass(frozen=True)
class Block:
    """One structural unit of a document, in reading order.

    Headings carry ``level`` (1 = top). Tables carry ``rows`` (first row is the header) so the
    chunker can keep a small table whole or split a large one by rows with the header repeated;
    their ``text`` is the same table rendered as Markdown.
    """

    kind: BlockKind
    text: str
    page: int | None = None
    level: int = 0
    rows: tuple[tuple[str, ...], ...] | None = None


@dataclass
class ParsedDocument:
    """What a loader extracts from one file: blocks in order plus file-level metadata."""

    name: str
    mime: str
    blocks: list[Block]
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n\n".join(b.text for b in self.blocks)


@dataclass(frozen=True)
class ChunkDraft:
    """A piece of a document ready to embed; ``start``/``end`` index ``ParsedDocument.text``."""

    text: str
    heading_path: tuple[str, ...]
    page: int | None
    start: int
    end: int
    kind: BlockKind = "paragraph"


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with everything a citation needs to point back to its source."""

    chunk_id: int
    doc_id: int
    doc_name: str
    text: str
    heading_path: tuple[str, ...]
    page: int | None
    score: float
    start: int = 0
    end: int = 0

    @property
    def location(self) -> str:
        """Human-readable place in the document: page and/or heading path."""
        parts = []
        if self.page is not None:
            parts.append(f"p. {self.page}")
        if self.heading_path:
            parts.append(" > ".join(self.heading_path))
        return ", ".join(parts)
