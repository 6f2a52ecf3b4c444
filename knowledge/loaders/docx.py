"""DOCX: the body in reading order, with headings from styles and tables kept as rows.

python-docx's ``doc.paragraphs`` and ``doc.tables`` are separate lists, which loses where each
table sits; we walk ``doc.element.body`` instead, descending into content controls (``w:sdt``)
that wrap real text. Heading levels come from the style name (English or Chinese Word, and WPS's
"标题 1") or, for custom styles, the outline level Word itself uses for its navigation pane.
What this leaves out: headers, footers, footnotes, comments, and automatic numbering text
("1.2", "a)"), which Word computes at display time and does not store in the paragraph.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml.etree import XMLSyntaxError

from knowledge.loaders.base import library_message, normalize_text, table_block
from knowledge.loaders.zipguard import ZIP_MAGIC
from knowledge.types import Block, ParsedDocument
from verirag.errors import DocumentRejected

_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)
_TITLE_STYLES = frozenset({"title", "标题"})
_LIST_STYLE = re.compile(r"list|列表|列出段落", re.IGNORECASE)
_TOC_STYLE = re.compile(r"^(toc|目录)", re.IGNORECASE)
_DOCX_ERRORS = (
    PackageNotFoundError,
    zipfile.BadZipFile,
    XMLSyntaxError,
    KeyError,
    ValueError,
    AttributeError,
)


class DocxLoader:
    mime = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    label = "Word document (.docx)"
    suffixes = (".docx",)

    def sniff(self, head: bytes, suffix: str) -> bool:
        return head.startswith(ZIP_MAGIC) and b"\nword/" in head

    def load(self, path: Path, name: str) -> ParsedDocument:
        try:
            document = Document(str(path))
            blocks = list(_blocks(document))
            title = (document.core_properties.title or "").strip()
        except DocumentRejected:
            raise
        except _DOCX_ERRORS as exc:
            reason = f"corrupt or unreadable DOCX ({library_message(exc, path, name)})"
            raise DocumentRejected(name, reason) from exc
        metadata = {"title": title} if title else {}
        return ParsedDocument(name=name, mime=self.mime, blocks=blocks, metadata=metadata)


def _body_items(document: DocxDocument, parent: Any) -> Iterator[Paragraph | Table]:
    for child in parent.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, document)
        elif child.tag == qn("w:tbl"):
            yield Table(child, document)
        elif child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _body_items(document, content)


def _blocks(document: DocxDocument) -> Iterator[Block]:
    list_items: list[str] = []
    for item in _body_items(document, document.element.body):
        if isinstance(item, Table):
            if list_items:
                yield Block("list", "\n".join(list_items))
                list_items = []
            block = table_block(_table_rows(item))
            if block is not None:
                yield block
            continue
        text = normalize_text(item.text)
        style = (item.style.name or "") if item.style is not None else ""
        if not text or _TOC_STYLE.match(style):
            continue
        level = _heading_level(item, style)
        if level is None and _is_list(item, style):
            list_items.append("- " + text.replace("\n", " "))
            continue
        if list_items:
            yield Block("list", "\n".join(list_items))
            list_items = []
        if level is not None:
            yield Block("heading", " ".join(text.split()), level=level)
        else:
            yield Block("paragraph", text)
    if list_items:
        yield Block("list", "\n".join(list_items))


def _heading_level(paragraph: Paragraph, style: str) -> int | None:
    if match := _HEADING_STYLE.match(style.strip()):
        return int(match[1])
    if style.strip().lower() in _TITLE_STYLES:
        return 1
    outline = _outline_level(paragraph._p.pPr)
    style_obj = paragraph.style
    depth = 0
    while outline is None and style_obj is not None and depth < 10:
        outline = _outline_level(style_obj.element.pPr)
        style_obj = style_obj.base_style
        depth += 1
    return outline + 1 if outline is not None and outline < 9 else None


def _outline_level(ppr: Any) -> int | None:
    """``w:outlineLvl`` 0–8 marks a heading level 1–9 in Word's navigation pane; 9 is body."""
    if ppr is None:
        return None
    element = ppr.find(qn("w:outlineLvl"))
    if element is None:
        return None
    value = element.get(qn("w:val"), "")
    return int(value) if value.isdigit() else None


def _is_list(paragraph: Paragraph, style: str) -> bool:
    ppr = paragraph._p.pPr
    return bool(_LIST_STYLE.search(style)) or (ppr is not None and ppr.numPr is not None)


def _table_rows(table: Table) -> list[list[str]]:
    """Cell text per row; a horizontally merged cell is kept once, not repeated per column."""
    rows = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            cells.append("" if cell._tc is previous else cell.text)
            previous = cell._tc
        rows.append(cells)
    return rows
