"""CSV and XLSX: every sheet as one table block whose rows the chunker splits later.

Rows stay rows here (header first) rather than being rendered one passage per row: the chunker
decides how many rows fit a passage and repeats the header in each. Cell values are written
the way a reader sees them in a plain cell (3.0 as "3", dates as ISO dates); number formats such
as percentages and currency are not applied, since openpyxl only gives the stored value.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import zipfile
from pathlib import Path
from xml.etree.ElementTree import ParseError

from lxml.etree import XMLSyntaxError
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from knowledge.loaders.base import library_message, table_block
from knowledge.loaders.decoding import decode_text
from knowledge.loaders.zipguard import ZIP_MAGIC
from knowledge.types import Block, ParsedDocument
from verirag.errors import DocumentRejected

_DELIMITERS = (",", "\t", ";", "|")
_SNIFF_LINES = 50
_XLSX_ERRORS = (
    InvalidFileException,
    zipfile.BadZipFile,
    KeyError,
    ValueError,
    TypeError,
    ParseError,
    XMLSyntaxError,
)


class CsvLoader:
    mime = "text/csv"
    label = "CSV file"
    suffixes = (".csv",)

    def sniff(self, head: bytes, suffix: str) -> bool:
        return suffix in self.suffixes

    def load(self, path: Path, name: str) -> ParsedDocument:
        text, encoding = decode_text(path.read_bytes(), name)
        delimiter = _guess_delimiter(text)
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        except csv.Error as exc:
            raise DocumentRejected(name, f"malformed CSV ({exc})") from exc
        block = table_block(rows)
        metadata = {"encoding": encoding, "delimiter": delimiter}
        return ParsedDocument(
            name=name, mime=self.mime, blocks=[block] if block else [], metadata=metadata
        )


def _guess_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most consistent number of columns.

    ``csv.Sniffer`` guesses quote characters too and is easily fooled by prose in cells; here
    only the delimiter is guessed, and a comma wins ties.
    """
    sample = "\n".join(text.split("\n", _SNIFF_LINES)[:_SNIFF_LINES])
    best, best_score = ",", (0, 0)
    for delimiter in _DELIMITERS:
        try:
            widths = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
        except csv.Error:
            continue
        if not widths:
            continue
        common = max(set(widths), key=widths.count)
        score = (widths.count(common), common) if common > 1 else (0, 0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


class XlsxLoader:
    mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    label = "Excel workbook (.xlsx)"
    suffixes = (".xlsx",)

    def sniff(self, head: bytes, suffix: str) -> bool:
        return head.startswith(ZIP_MAGIC) and b"\nxl/" in head

    def load(self, path: Path, name: str) -> ParsedDocument:
        # A file handle, not the path: openpyxl refuses paths without an Excel extension, and
        # uploads arrive as temp files.
        with path.open("rb") as handle, path.open("rb") as formulas_handle:
            try:
                workbook = load_workbook(handle, read_only=True, data_only=True)
                formulas = load_workbook(formulas_handle, read_only=True, data_only=False)
                try:
                    blocks = _sheet_blocks(workbook, formulas)
                    title = (workbook.properties.title or "").strip()
                finally:
                    workbook.close()
                    formulas.close()
            except _XLSX_ERRORS as exc:
                reason = f"corrupt or unreadable XLSX ({library_message(exc, path, name)})"
                raise DocumentRejected(name, reason) from exc
        metadata = {"title": title} if title else {}
        return ParsedDocument(name=name, mime=self.mime, blocks=blocks, metadata=metadata)


def _sheet_blocks(workbook: Workbook, formulas: Workbook) -> list[Block]:
    """A heading with the sheet name, then the sheet as one table; empty sheets are skipped.

    A formula cell shows the value Excel cached when it saved the file; a file written by a
    program that never calculated (no cached value) shows the formula itself ("=SUM(B2:B4)")
    rather than an empty cell that reads as "no value".
    """
    blocks: list[Block] = []
    for sheet, source in zip(workbook.worksheets, formulas.worksheets, strict=True):
        rows = [[_cell(value if value is not None else formula)
                 for value, formula in itertools.zip_longest(row, raw)]
                for row, raw in zip(sheet.iter_rows(values_only=True),
                                    source.iter_rows(values_only=True), strict=False)]
        block = table_block(rows)
        if block is not None:
            blocks += [Block("heading", sheet.title, level=1), block]
    return blocks


def _cell(value: object) -> str:
    """A stored cell value as the text a reader would expect to see."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.15g}"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)
