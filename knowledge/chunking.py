"""Cut a parsed document into citable chunks that follow its structure.

A chunk belongs to exactly one section (the heading path above it), so a citation's heading
is always right and a retrieved passage never mixes two topics. Headings are not repeated in
the chunk text: the caller prepends the path when embedding, and the stored text stays an
exact slice of ``ParsedDocument.text`` that the UI can highlight.

Within a section, small paragraphs are packed together up to ``chunk_size`` tokens (see
``count_tokens``); a paragraph larger than that is cut on sentence boundaries with whole
sentences of overlap, and a single sentence larger than that is cut by tokens. Tables are
never mixed with prose: a small one stays whole, a large one is split by rows with the header
row repeated in every piece, so each piece can be read (and cited) on its own. A table's
caption ("Table 2. DOAC dose by creatinine clearance", ending the text just above it) is the
last entry of its pieces' heading path: the rows alone rarely say what the table is about,
and the path is embedded, searched and shown in the citation with them.

We cut spans ourselves instead of using ``langchain_text_splitters``: its ``add_start_index``
recovers offsets with ``str.find``, which lands on the wrong occurrence when a sentence repeats
(boilerplate clauses do), and its separators know nothing of abbreviations or Chinese
punctuation. Left out on purpose: overlap between separately packed paragraphs (a paragraph is
already a natural unit) and splitting a single table row that alone exceeds the budget (a row
is the smallest unit that keeps its meaning).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from domains.pack import ChunkingConfig
from knowledge.text.sentences import count_tokens, split_sentences, token_spans
from knowledge.types import Block, ChunkDraft, ParsedDocument

_SEPARATOR = "\n\n"  # how ParsedDocument.text joins blocks
_MARKDOWN_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
# "Table 2. DOAC dose ..." / "表 3：不良贷款情况" closing the block above a table.
_CAPTION = re.compile(
    r"(?:^|(?<=[.!?。！？:：])\s*)((?:(?i:table|tab\.)\s*(?:\d+(?:\.\d+)?|[A-Z])\b|"
    r"表\s*(?:\d+|[一二三四五六七八九十]+))[.:：]?\s*[^\n]{3,160}?)\s*$")


@dataclass(frozen=True)
class _Span:
    """A stretch of ``doc.text`` with its token count and the page it starts on."""

    start: int
    end: int
    tokens: int
    page: int | None


def chunk_document(doc: ParsedDocument, cfg: ChunkingConfig) -> list[ChunkDraft]:
    """Chunks of ``doc`` in reading order; the same input always gives the same chunks."""
    text = doc.text
    chunks: list[ChunkDraft] = []
    path: tuple[str, ...] = ()
    levels: tuple[int, ...] = ()  # the heading level of each entry of ``path``
    pending: list[_Span] = []
    previous: Block | None = None

    def flush() -> None:
        if pending:
            chunks.append(_prose_chunk(text, pending, path))
            pending.clear()

    for block, start in _with_offsets(doc.blocks):
        if not block.text.strip():
            continue
        before, previous = previous, block
        if block.kind == "heading":
            flush()
            path, levels = _descend(path, levels, block)
            continue
        span = _strip(text, start, start + len(block.text), block.page)
        if block.kind == "table":
            flush()
            caption = _caption(before)
            chunks.extend(_table_chunks(block, span, (*path, caption) if caption else path, cfg))
        elif span.tokens > cfg.chunk_size:
            flush()
            units = list(_units(text, span, block.kind == "code", cfg))
            for i, j in _windows(units, cfg.chunk_size, cfg.chunk_overlap):
                chunks.append(_prose_chunk(text, units[i:j], path))
        else:
            if pending and sum(s.tokens for s in pending) + span.tokens > cfg.chunk_size:
                flush()
            pending.append(span)
    flush()
    return chunks


def render_markdown_table(rows: Sequence[Sequence[str]]) -> str:
    """Render rows (the first is the header) as a Markdown table, one line per row."""
    return "\n".join(_table_lines(rows))


def _with_offsets(blocks: Sequence[Block]) -> Iterator[tuple[Block, int]]:
    position = 0
    for block in blocks:
        yield block, position
        position += len(block.text) + len(_SEPARATOR)


def _descend(
    path: tuple[str, ...], levels: tuple[int, ...], heading: Block
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """A heading closes every open heading of its level or deeper, then opens itself.

    Levels are compared, not depths: a document whose sections start at ``##`` (no ``#``)
    has sibling sections, not each nested in the one before; skipped levels are not padded.
    """
    level = max(1, heading.level)
    keep = 0
    while keep < len(levels) and levels[keep] < level:
        keep += 1
    return (*path[:keep], " ".join(heading.text.split())), (*levels[:keep], level)


def _strip(text: str, start: int, end: int, page: int | None) -> _Span:
    segment = text[start:end]
    left = start + len(segment) - len(segment.lstrip())
    right = start + len(segment.rstrip())
    return _Span(left, right, count_tokens(text[left:right]), page)


def _prose_chunk(text: str, spans: Sequence[_Span], path: tuple[str, ...]) -> ChunkDraft:
    start, end = spans[0].start, spans[-1].end
    return ChunkDraft(text[start:end], path, spans[0].page, start, end, "paragraph")


def _units(text: str, block: _Span, by_line: bool, cfg: ChunkingConfig) -> Iterator[_Span]:
    """The pieces a too-large block is cut from: sentences (lines for code), then tokens.

    A sentence longer than ``chunk_size`` is cut into runs of a few tokens rather than into
    chunk-sized runs, so the windowing below can overlap inside it as it does between sentences.
    """
    body = text[block.start : block.end]
    pieces = _line_spans(body) if by_line else split_sentences(body)
    step = (
        min(cfg.chunk_size, max(1, cfg.chunk_overlap // 2))
        if cfg.chunk_overlap
        else (cfg.chunk_size)
    )
    for s, e in pieces:
        unit = _strip(text, block.start + s, block.start + e, block.page)
        if unit.tokens <= cfg.chunk_size:
            yield unit
            continue
        tokens = token_spans(text[unit.start : unit.end])
        for k in range(0, len(tokens), step):
            first = unit.start if k == 0 else unit.start + tokens[k][0]
            last = unit.start + tokens[k + step][0] if k + step < len(tokens) else unit.end
            yield _strip(text, first, last, block.page)


def _line_spans(body: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    position = 0
    for line in body.split("\n"):
        if line.strip():
            spans.append((position, position + len(line)))
        position += len(line) + 1
    return spans


def _windows(units: Sequence[_Span], size: int, overlap: int) -> list[tuple[int, int]]:
    """Index ranges [i, j) of units, each within ``size`` tokens, consecutive ones sharing
    whole units worth at most ``overlap`` tokens; every window adds at least one new unit."""
    windows: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        total, j = units[i].tokens, i + 1
        while j < len(units) and total + units[j].tokens <= size:
            total += units[j].tokens
            j += 1
        windows.append((i, j))
        if j == len(units):
            break
        k, shared = j, 0
        while (
            k - 1 > i
            and shared + units[k - 1].tokens <= overlap
            and shared + units[k - 1].tokens + units[j].tokens <= size
        ):
            k -= 1
            shared += units[k].tokens
        i = k
    return windows


def _table_chunks(
    block: Block, span: _Span, path: tuple[str, ...], cfg: ChunkingConfig
) -> list[ChunkDraft]:
    """One chunk for a small table, else row groups that each repeat the header.

    Every piece cites the whole source table's span: the pieces are re-rendered, so no
    narrower slice of the document matches their text.
    """
    if block.rows:
        lines = _table_lines(block.rows)
        header_size = 2
    else:
        lines = [line for line in block.text.strip().split("\n") if line.strip()]
        header_size = 2 if len(lines) > 1 and _MARKDOWN_RULE.match(lines[1]) else 1
    header, body = lines[:header_size], lines[header_size:]
    header_tokens = count_tokens("\n".join(header))
    body_tokens = [count_tokens(line) for line in body]

    def draft(table_text: str) -> ChunkDraft:
        return ChunkDraft(table_text, path, block.page, span.start, span.end, "table")

    if header_tokens + sum(body_tokens) <= cfg.chunk_size and len(body) <= cfg.table_max_rows:
        return [draft(block.text.strip())]
    chunks: list[ChunkDraft] = []
    group: list[str] = []
    total = header_tokens
    for line, tokens in zip(body, body_tokens, strict=True):
        if group and (total + tokens > cfg.chunk_size or len(group) >= cfg.table_max_rows):
            chunks.append(draft("\n".join([*header, *group])))
            group, total = [], header_tokens
        group.append(line)
        total += tokens
    if group or not chunks:
        chunks.append(draft("\n".join([*header, *group])))
    return chunks


def _caption(block: Block | None) -> str | None:
    """The table caption that ends ``block`` (the block just above a table), if any."""
    if block is None or block.kind not in ("paragraph", "list"):
        return None
    text = block.text.strip()
    if text.endswith((".", "。")):
        return None  # a sentence about the table ("Table 2 gives the doses."), not its title
    match = _CAPTION.search(text)
    return " ".join(match.group(1).split()) if match else None


def _table_lines(rows: Sequence[Sequence[str]]) -> list[str]:
    width = max(len(row) for row in rows)

    def line(row: Sequence[str]) -> str:
        cells = [_cell(c) for c in row] + [""] * (width - len(row))
        return "| " + " | ".join(cells) + " |"

    return [line(rows[0]), "| " + " | ".join(["---"] * width) + " |", *map(line, rows[1:])]


def _cell(value: str) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")
