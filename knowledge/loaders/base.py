"""The contract every format loader meets, and the text clean-up they all share.

Normalisation here is deliberately light: legal and clinical text is cited verbatim, so we do
not apply NFKC (it would turn full-width Chinese punctuation and ligature-like symbols into
something the author did not write). We only unify line endings, strip trailing spaces and
collapse runs of blank lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from knowledge.types import Block, ParsedDocument

_TRAILING_SPACE = re.compile(r"[ \t\u3000]+$", re.MULTILINE)
_BLANK_RUN = re.compile(r"\n{3,}")
# Han ideographs, CJK punctuation and full-width forms: scripts written without spaces.
CJK_CLASS = "[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]"
_CJK_CHAR = re.compile(CJK_CLASS)


@runtime_checkable
class Loader(Protocol):
    """One file format: recognise it from its first bytes, then parse it into blocks.

    ``sniff`` sees the file's first bytes and its lower-cased suffix. For ZIP containers the
    registry passes the archive's member names instead (``b"PK\\x03\\x04\\n"`` followed by one name
    a line), because the bytes at the start of an OOXML file do not say whether it is a Word
    document or a workbook. ``suffixes`` are the extensions the loader answers for when the
    content itself is not recognisable (plain text formats) and what ``supported_suffixes`` lists.
    """

    mime: str
    label: str
    suffixes: tuple[str, ...]

    def sniff(self, head: bytes, suffix: str) -> bool: ...

    def load(self, path: Path, name: str) -> ParsedDocument: ...


@dataclass(frozen=True)
class LoadOptions:
    """Choices the caller makes for a whole load, passed through the registry to the loader.

    They are the caller's (settings), not the loader's: one registry serves a process where OCR
    is on and a test, or a deployment, where it is off.
    """

    ocr: bool = True  # read pages that have no text layer (scans) with OCR


@runtime_checkable
class OptionsLoader(Loader, Protocol):
    """A loader whose work depends on :class:`LoadOptions` (the PDF loader: OCR of scans)."""

    def load_with(self, path: Path, name: str, options: LoadOptions) -> ParsedDocument: ...


def library_message(exc: BaseException, path: Path, name: str) -> str:
    """A parser's complaint cut to one short line, naming the file as the user knows it.

    Users see this inside "corrupt or unreadable …"; the library's wording helps support staff,
    but an upload's temp path means nothing to the person who uploaded it.
    """
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    first = first.replace(str(path), name)
    return first if len(first) <= 120 else first[:119] + "…"


def human_size(size: float) -> str:
    """Sizes the way the limits are configured: binary units, one decimal, no trailing .0."""
    if size < 1024:
        return f"{int(size)} bytes"
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            break
    return f"{size:.1f}".removesuffix(".0") + f" {unit}"


def normalize_text(text: str) -> str:
    """Unify line endings, strip trailing spaces, collapse blank-line runs; nothing more."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    text = text.replace("\u00a0", " ")
    text = _TRAILING_SPACE.sub("", text)
    return _BLANK_RUN.sub("\n\n", text).strip("\n")


def is_cjk(char: str) -> bool:
    return bool(char) and _CJK_CHAR.match(char) is not None


def display_width(line: str) -> int:
    """Width on the page: an ideograph is as wide as two Latin letters."""
    return sum(2 if is_cjk(c) else 1 for c in line)


def reaches_margin(line: str, widest: int) -> bool:
    """Whether a line runs (nearly) to the right margin, so the text probably wrapped there.

    ``widest`` is the longest line on the page or in the file; below 40 columns nothing has
    wrapped (a cover page, a list of short headings) and no line counts as margin-wide.
    """
    return widest >= 40 and display_width(line) >= 0.8 * widest


def join_wrapped(lines: Iterable[str]) -> str:
    """Join lines a layout engine wrapped, without inventing spaces inside Chinese text.

    A space between two ideographs would change how the text tokenises (and looks wrong when
    quoted back), so CJK neighbours are glued directly; Latin words get one space; a trailing
    hyphen is kept and glued ("follow-" + "up").
    """
    out = ""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if not out:
            out = line
        elif out.endswith("-") or is_cjk(out[-1]) or is_cjk(line[0]):
            out += line
        else:
            out += " " + line
    return out


def clean_rows(rows: Iterable[Sequence[str]]) -> tuple[tuple[str, ...], ...]:
    """Drop empty rows, trim empty edge columns, pad to one width; header = first row kept.

    Spreadsheets and HTML often carry blank padding rows and columns; a table whose rows have
    different widths renders as broken Markdown and confuses the row-wise chunker.
    """
    cells = [[" ".join(c.split()) for c in row] for row in rows]
    cells = [row for row in cells if any(row)]
    if not cells:
        return ()
    first = min(next(i for i, c in enumerate(row) if c) for row in cells)
    last = max(max(i for i, c in enumerate(row) if c) for row in cells)
    width = last - first + 1
    trimmed = [row[first : last + 1] for row in cells]
    return tuple(tuple(row + [""] * (width - len(row))) for row in trimmed)


_CELL_BORDER = re.compile(r"(?<!\\)\|")


def markdown_cells(line: str) -> list[str]:
    """The cells of one pipe-table line, the reverse of ``markdown_table`` ("\\|" is a "|")."""
    stripped = line.strip().removeprefix("|")
    if stripped.endswith("|") and not stripped.endswith("\\|"):
        stripped = stripped[:-1]
    return [cell.strip().replace("\\|", "|") for cell in _CELL_BORDER.split(stripped)]


def markdown_table(rows: tuple[tuple[str, ...], ...]) -> str:
    """Render rows as a GitHub-style pipe table; the first row is the header."""

    def line(row: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"

    if not rows:
        return ""
    header, *body = rows
    sep = "| " + " | ".join("---" for _ in header) + " |"
    return "\n".join([line(header), sep, *(line(r) for r in body)])


def table_block(rows: Iterable[Sequence[str]], page: int | None = None) -> Block | None:
    """A table block with its Markdown rendering, or None when the table holds no text."""
    cleaned = clean_rows(rows)
    if not cleaned:
        return None
    return Block("table", markdown_table(cleaned), page=page, rows=cleaned)
