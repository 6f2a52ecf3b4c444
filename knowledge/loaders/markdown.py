"""Markdown: the block structure (headings, pipe tables, lists, fenced code), not the inline one.

A line-based reader covers what policy and guideline authors write, and keeps pipe tables as
rows so the chunker can repeat their header. Inline markup (``**bold**``, links) is left in the
text: it is readable to the model and citations quote it faithfully. What this leaves out:
indented code blocks, HTML blocks and reference-style link definitions, which come through as
plain paragraphs.
"""

from __future__ import annotations

import re
from pathlib import Path

from knowledge.loaders.base import markdown_cells, normalize_text, table_block
from knowledge.loaders.decoding import decode_text
from knowledge.types import Block, ParsedDocument

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$")
_LIST_ITEM = re.compile(r"^\s*([-*+]|\d{1,9}[.)])\s+\S")
_RULE = re.compile(r"^ {0,3}([-*_])( *\1){2,} *$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_QUOTE = re.compile(r"^ {0,3}> ?")


class MarkdownLoader:
    mime = "text/markdown"
    label = "Markdown file"
    suffixes = (".md", ".markdown")

    def sniff(self, head: bytes, suffix: str) -> bool:
        return suffix in self.suffixes

    def load(self, path: Path, name: str) -> ParsedDocument:
        text, encoding = decode_text(path.read_bytes(), name)
        lines = normalize_text(text).split("\n")
        metadata = {"encoding": encoding}
        lines = _strip_front_matter(lines, metadata)
        blocks = _parse(lines)
        first_heading = next((b for b in blocks if b.kind == "heading" and b.level == 1), None)
        if "title" not in metadata and first_heading is not None:
            metadata["title"] = first_heading.text
        return ParsedDocument(name=name, mime=self.mime, blocks=blocks, metadata=metadata)


def _strip_front_matter(lines: list[str], metadata: dict[str, str]) -> list[str]:
    """YAML front matter is metadata, not text; keep only its ``title``."""
    if not lines or lines[0].strip() != "---":
        return lines
    for end in range(1, min(len(lines), 100)):
        if lines[end].strip() in {"---", "..."}:
            for line in lines[1:end]:
                key, _, value = line.partition(":")
                if key.strip().lower() == "title" and value.strip():
                    metadata["title"] = value.strip().strip("\"'")
            return lines[end + 1 :]
    return lines


def _starts_block(lines: list[str], i: int) -> bool:
    line = lines[i]
    return bool(
        _ATX.match(line)
        or _FENCE.match(line)
        or _QUOTE.match(line)
        or _RULE.match(line)
        or _is_table_start(lines, i)
    )


def _is_table_start(lines: list[str], i: int) -> bool:
    return (
        "|" in lines[i]
        and i + 1 < len(lines)
        and "-" in lines[i + 1]
        and bool(_TABLE_SEPARATOR.match(lines[i + 1]))
    )


def _parse(lines: list[str]) -> list[Block]:
    blocks: list[Block] = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if not line.strip() or _RULE.match(line):
            i += 1
        elif fence := _FENCE.match(line):
            marker = fence[1]
            j = i + 1
            while j < n and not lines[j].strip().startswith(marker):
                j += 1
            code = "\n".join(lines[i + 1 : j]).strip("\n")
            if code.strip():
                blocks.append(Block("code", code))
            i = j + 1
        elif heading := _ATX.match(line):
            if heading[2] and heading[2].strip():
                blocks.append(Block("heading", heading[2].strip(), level=len(heading[1])))
            i += 1
        elif _is_table_start(lines, i):
            rows = [markdown_cells(line)]
            i += 2
            while i < n and lines[i].strip() and "|" in lines[i]:
                rows.append(markdown_cells(lines[i]))
                i += 1
            block = table_block(rows)
            if block is not None:
                blocks.append(block)
        elif _LIST_ITEM.match(line):
            i = _read_list(lines, i, blocks)
        elif _QUOTE.match(line):
            j = i
            while j < n and _QUOTE.match(lines[j]):
                j += 1
            quoted = [_QUOTE.sub("", q, count=1) for q in lines[i:j]]
            blocks.extend(_parse(quoted))
            i = j
        else:
            i = _read_paragraph(lines, i, blocks)
    return blocks


def _read_list(lines: list[str], i: int, blocks: list[Block]) -> int:
    """A list runs over blank lines while the next line is another item or indented."""
    items: list[str] = []
    n = len(lines)
    while i < n:
        line = lines[i]
        if line.strip():
            lazy = items and not line.startswith((" ", "\t")) and not _LIST_ITEM.match(line)
            if lazy and _starts_block(lines, i):
                break
            items.append(line)
            i += 1
            continue
        after = next((j for j in range(i, n) if lines[j].strip()), n)
        if after < n and (_LIST_ITEM.match(lines[after]) or lines[after].startswith("  ")):
            i = after
            continue
        break
    blocks.append(Block("list", "\n".join(items)))
    return i


def _read_paragraph(lines: list[str], i: int, blocks: list[Block]) -> int:
    """Lines up to a blank line or a new block; a setext underline turns them into a heading."""
    start, n = i, len(lines)
    while i < n and lines[i].strip():
        if i > start and _SETEXT.match(lines[i]):
            level = 1 if lines[i].strip().startswith("=") else 2
            blocks.append(Block("heading", " ".join(" ".join(lines[start:i]).split()), level=level))
            return i + 1
        if i > start and (_starts_block(lines, i) or _LIST_ITEM.match(lines[i])):
            break
        i += 1
    blocks.append(Block("paragraph", "\n".join(lines[start:i])))
    return i
