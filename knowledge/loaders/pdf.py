"""PDF: text per page with pypdf, rebuilt into paragraphs, lists and guessed headings.

A PDF stores positioned lines, not paragraphs. We rejoin wrapped lines (a line that ends a
sentence well short of the page's widest line closes its paragraph), drop running headers,
footers and page numbers that repeat on most pages (they would otherwise be indexed once per
page and pollute every heading path), and guess headings from numbering and capitalisation.
Tables are found in pypdf's layout text (``pdf_tables``) and kept as rows; a page with a
table is read from the layout text throughout, any other page from the plain text. A page
with no text layer (a scan) is read with OCR when ``LoadOptions.ocr`` is on (``ocr.py``): its
recognised paragraphs then go through the same heading, list and running-line rules. What this
leaves out: tables the layout text does not show as columns, and tables on scanned pages.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections import Counter
from pathlib import Path

from pypdf import PageObject, PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

from knowledge.loaders.base import (
    LoadOptions,
    clean_rows,
    display_width,
    join_wrapped,
    library_message,
    markdown_table,
    normalize_text,
    reaches_margin,
)
from knowledge.loaders.headings import (
    Guess,
    assign_levels,
    ends_full_stop,
    ends_sentence,
    guess_heading,
    is_numbered,
)
from knowledge.loaders.ocr import OcrUnavailable, ScanReader
from knowledge.loaders.pdf_tables import PageTable, find_tables
from knowledge.text.cjk import CJK_TEXT_CHARS
from knowledge.types import Block, BlockKind, ParsedDocument
from verirag.errors import DocumentRejected

_BULLET = re.compile(r"^([•●▪◦‣·\-–*]|\(?[a-zA-Z0-9]{1,3}\)|\([ivx]{1,4}\))\s+\S")
# Edge lines that are only a page number, after digits are replaced by "#" (see _edge_key).
_PAGE_NUMBER = re.compile(
    r"""^(
        -\s*\#\s*-                                  # - 3 -
      | ((page|p\.)\s*)?\#(\s*(of|/)\s*\#)?          # 3, page 3, 3 of 12, p. 3/12
      | 第\s*\#\s*页(\s*[,，/]?\s*共\s*\#\s*页)?     # 第3页 共12页
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_EDGE_LINES = 2
_CONTINUING = (",", "，", "、", "-", "–", "(", "（")
# Layout text spaces CJK characters by their positions; a space between two is never text.
_CJK_GAP = re.compile(f"(?<=[{CJK_TEXT_CHARS}]) (?=[{CJK_TEXT_CHARS}])")
Line = str | PageTable
Draft = tuple[BlockKind, str, int, Guess | None, tuple[tuple[str, ...], ...] | None]
# Library failures on malformed files: pypdf raises its own errors, but a broken object graph
# also surfaces as the builtins below (it indexes dicts and arrays straight from the file).
_PDF_ERRORS = (PyPdfError, ValueError, KeyError, IndexError, TypeError, AttributeError, zlib.error)
OCR_OFF = ("no extractable text (scanned? OCR is off: set ocr = true in $VERIRAG_HOME/config.toml "
           "or VERIRAG_OCR=true)")
log = logging.getLogger(__name__)


class PdfLoader:
    """PDF text per page; pages without a text layer go to ``scans`` (OCR) when options allow.

    ``scans`` loads its OCR engine on the first scanned page and keeps it, so one loader (the
    one in the default registry) loads the models once per process, and never if no scan comes.
    """

    mime = "application/pdf"
    label = "PDF"
    suffixes = (".pdf",)

    def __init__(self, scans: ScanReader | None = None) -> None:
        self.scans = scans if scans is not None else ScanReader()

    def sniff(self, head: bytes, suffix: str) -> bool:
        return b"%PDF-" in head[:1024]

    def load(self, path: Path, name: str) -> ParsedDocument:
        return self.load_with(path, name, LoadOptions())

    def load_with(self, path: Path, name: str, options: LoadOptions) -> ParsedDocument:
        pages, metadata = _read_pages(path, name)
        blank = [i for i, lines in enumerate(pages) if not any(lines)]
        if blank and options.ocr:
            pages = self._ocr(path, name, pages, blank, metadata)
        if not any(line for page in pages for line in page):
            raise DocumentRejected(name, OCR_OFF)
        pages = _drop_running_lines(pages)
        empty = [str(n) for n, lines in enumerate(pages, start=1) if not any(lines)]
        if empty:
            metadata["pages_without_text"] = ",".join(empty)
        drafts: list[Draft] = []
        for number, lines in enumerate(pages, start=1):
            drafts.extend(_page_blocks(lines, number))
        levels = iter(assign_levels([d[3] for d in drafts if d[3] is not None]))
        blocks = [
            Block(kind, text, page=page, level=next(levels) if guess is not None else 0,
                  rows=rows)
            for kind, text, page, guess, rows in drafts
        ]
        return ParsedDocument(name=name, mime=self.mime, blocks=blocks, metadata=metadata)

    def _ocr(self, path: Path, name: str, pages: list[list[Line]], blank: list[int],
             metadata: dict[str, str]) -> list[list[Line]]:
        """``pages`` with the text OCR finds on the ``blank`` ones, paragraphs apart.

        A typed PDF with a blank page or two must still load where the OCR engine cannot, so
        an unavailable engine rejects only a file that has no text without it.
        """
        whole_scan = len(blank) == len(pages)
        try:
            found = self.scans.read(path, name, blank)
        except OcrUnavailable as exc:
            if whole_scan:
                raise DocumentRejected(
                    name, f"no extractable text (scanned? OCR is on but cannot run: {exc})"
                ) from exc
            log.warning("%s: pages %s not read: %s", name, _numbers(blank), exc)
            return pages
        metadata["ocr_pages"] = _numbers(blank)
        out = list(pages)
        for index, paragraphs in found.items():
            out[index] = [line for p in paragraphs for line in [*p, ""]][:-1]
        if whole_scan and not any(line for page in out for line in page):
            count = f"{len(blank)} scanned page{'s' if len(blank) > 1 else ''}"
            raise DocumentRejected(name, f"no text found: OCR read nothing on its {count} "
                                         "(blank, or the scan is too faint or small to read)")
        return out


def _numbers(indexes: list[int]) -> str:
    return ",".join(str(i + 1) for i in indexes)


def _read_pages(path: Path, name: str) -> tuple[list[list[Line]], dict[str, str]]:
    """Each page's non-empty lines, plus title and page count; library errors become reasons."""
    current = 0  # the page being read, for the error message
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentRejected(name, "encrypted PDF: remove the password and upload again")
        metadata = {"pages": str(len(reader.pages))}
        title = reader.metadata.title if reader.metadata else None
        if title and title.strip():
            metadata["title"] = title.strip()
        pages = []
        for page in reader.pages:
            current += 1
            pages.append(_page_lines(page))
    except DocumentRejected:
        raise
    except (FileNotDecryptedError, DependencyError) as exc:
        raise DocumentRejected(name, "encrypted PDF: remove the password and upload again") from exc
    except _PDF_ERRORS as exc:
        where = f"page {current}: " if current else ""
        reason = f"corrupt or unreadable PDF ({where}{library_message(exc, path, name)})"
        raise DocumentRejected(name, reason) from exc
    return pages, metadata


def _page_lines(page: PageObject) -> list[Line]:
    """The page's lines, with each table found in its layout text in place of its lines."""
    layout = normalize_text(page.extract_text(extraction_mode="layout") or "").split("\n")
    tables = find_tables(layout)
    if not tables:
        text = normalize_text(page.extract_text() or "")
        return [" ".join(line.split()) for line in text.split("\n")]
    out: list[Line] = []
    starts = {table.first: table for table in tables}
    skip_to = -1
    for i, line in enumerate(layout):
        if i <= skip_to:
            continue
        if i in starts:
            out.append(starts[i])
            skip_to = starts[i].last
            continue
        # Layout text marks vertical gaps with blank lines; plain text, which the paragraph
        # and heading rules below were made for, has none, so they are left out.
        if line.strip():
            out.append(_CJK_GAP.sub("", " ".join(line.split())))
    return out


def _text(line: Line) -> str:
    return line if isinstance(line, str) else ""


def _edge_key(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip().lower())


def _drop_running_lines(pages: list[list[Line]]) -> list[list[Line]]:
    """Remove page numbers and header/footer lines repeated at the edges of most pages."""
    edges = [_edge_indexes(lines) for lines in pages]
    counts: Counter[str] = Counter()
    for lines, indexes in zip(pages, edges, strict=True):
        counts.update({_edge_key(_text(lines[i])) for i in indexes})
    threshold = max(2, (len(pages) * 6 + 9) // 10)
    running = {key for key, n in counts.items() if n >= threshold}
    cleaned = []
    for lines, indexes in zip(pages, edges, strict=True):
        keys = {i: _edge_key(_text(lines[i])) for i in indexes}
        drop = {i for i, key in keys.items() if key in running or _PAGE_NUMBER.match(key)}
        cleaned.append([line for i, line in enumerate(lines) if i not in drop])
    return cleaned


def _edge_indexes(lines: list[Line]) -> list[int]:
    filled = [i for i, line in enumerate(lines) if isinstance(line, str) and line]
    return sorted(set(filled[:_EDGE_LINES] + filled[-_EDGE_LINES:]))


def _page_blocks(page_lines: list[Line], page: int) -> list[Draft]:
    """One page's lines as paragraphs, list blocks, tables and heading candidates, in order."""
    lines = [_text(line) for line in page_lines]  # a table reads as a gap to its neighbours
    widest = max((display_width(line) for line in lines), default=0)
    out: list[Draft] = []
    items: list[list[str]] = []
    kind: BlockKind = "paragraph"
    closed = False  # the current list item ended a sentence short of the margin

    def flush() -> None:
        nonlocal items, kind, closed
        if items:
            text = "\n".join(join_wrapped(item) for item in items)
            out.append((kind, text, page, None, None))
        items, kind, closed = [], "paragraph", False

    for i, line in enumerate(lines):
        table = page_lines[i]
        if isinstance(table, PageTable):
            flush()
            rows = clean_rows(table.rows)
            out.append(("table", markdown_table(rows), page, None, rows))
            continue
        if not line:
            flush()
            continue
        guess = _heading_at(lines, i, widest)
        if guess is not None:
            flush()
            out.append(("heading", line, page, guess, None))
            continue
        if _BULLET.match(line):
            if kind != "list":
                flush()
                kind = "list"
            items.append([line])
            closed = False
            continue
        if kind == "list" and closed:
            flush()
        if not items:
            items.append([])
        items[-1].append(line)
        if ends_sentence(line) and not reaches_margin(line, widest):
            if kind == "list":
                closed = True
            else:
                flush()
    flush()
    return out


def _heading_at(lines: list[str], i: int, widest: int) -> Guess | None:
    """Whether ``lines[i]`` is a heading, judged with its neighbours on the page."""
    line = lines[i]
    previous = lines[i - 1] if i else ""
    following = lines[i + 1] if i + 1 < len(lines) else ""
    if _continues(previous, widest) or _is_wrapped_start(line, following, widest):
        return None
    guess = guess_heading(line)
    if guess is None or is_numbered(guess):
        return guess
    if _short_open(following, widest) or _short_open(previous, widest):
        return None  # a run of short lines is a table or a list, not a heading
    if guess.rank is None and len(line.split()) == 1 and previous:
        return None  # "Director" under a signature line: a lone word needs a gap above it
    return guess


def _short_open(line: str, widest: int) -> bool:
    """Table rows and list lines: short, no sentence end, not numbered headings."""
    return (
        bool(line)
        and display_width(line) < 0.6 * widest
        and not ends_sentence(line)
        and guess_heading(line, allow_unnumbered=False) is None
    )


def _continues(previous: str, widest: int) -> bool:
    """The line carries on the previous one: it ended on a comma, or ran to the margin."""
    if not previous:
        return False
    if previous.endswith(_CONTINUING):
        return True
    return not ends_full_stop(previous) and reaches_margin(previous, widest)


def _is_wrapped_start(line: str, following: str, widest: int) -> bool:
    """A margin-wide line followed by more body text is a paragraph that wrapped."""
    return (
        bool(following)
        and reaches_margin(line, widest)
        and guess_heading(following) is None
        and not _BULLET.match(following)
    )
