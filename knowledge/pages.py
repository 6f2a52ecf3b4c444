"""A cited PDF page as a picture: the passage highlighted, personal data blacked out.

The reader of a citation wants to see the page itself — the table as laid out, the heading
above it — not only the extracted passage. The page is rendered with pdfium; the passage is
found on it by its letters and digits (extraction reflows whitespace and table cells, so the
comparison ignores everything else), line by line, and every character of a line found is
highlighted. Where the pack masks personal data in what it indexes, the same detectors run
over the page's text and those characters are covered in black: a page image must not show
what the passage hid.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from domains.pack import RedactionConfig
from knowledge.redact import redaction_spans
from verirag.errors import KnowledgeBaseError

SCALE = 1.6  # 115 dpi: a page is readable at the width of a chat column
MIN_LINE = 8  # letters and digits: shorter lines ("Page 3", "2024") would match anywhere
HIGHLIGHT = (255, 214, 0, 110)
MASK = (0, 0, 0, 255)


@dataclass(frozen=True)
class PageImage:
    png: bytes
    page: int
    pages: int
    found: bool
    """Whether the passage was found on the page (else the page is shown unmarked)."""


def _alnum(text: str) -> tuple[str, list[int]]:
    """``text``'s letters and digits, lower-cased, and where each came from in ``text``."""
    keep = [(ch.lower(), i) for i, ch in enumerate(text) if ch.isalnum()]
    return "".join(ch for ch, _ in keep), [i for _, i in keep]


def passage_chars(page_text: str, passage: str) -> set[int]:
    """Indices of ``page_text`` characters that belong to lines of ``passage``."""
    flat, where = _alnum(page_text)
    marked: set[int] = set()
    for line in passage.splitlines():
        needle, _ = _alnum(line.strip("|# "))
        if len(needle) < MIN_LINE:
            continue
        start = flat.find(needle)
        if start >= 0:
            marked.update(range(where[start], where[start + len(needle) - 1] + 1))
    return marked


def render_page(path: Path, page: int, passage: str, redaction: RedactionConfig,
                scale: float = SCALE) -> PageImage:
    """Page ``page`` (1-based) of the PDF at ``path`` as a PNG, the passage highlighted."""
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise KnowledgeBaseError(f"{path.name}: the stored original cannot be opened as a "
                                 f"PDF ({exc}); upload the document again") from exc
    try:
        if not 1 <= page <= len(pdf):
            raise KnowledgeBaseError(f"{path.name} has {len(pdf)} pages, not a page {page}")
        pdf_page = pdf[page - 1]
        height = pdf_page.get_height()
        text_page = pdf_page.get_textpage()
        text = text_page.get_text_range()
        marked = passage_chars(text, passage)
        masked = {i for start, end in redaction_spans(text, redaction) for i in range(start, end)}
        image = pdf_page.render(scale=scale).to_pil().convert("RGBA")
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        for indices, colour in ((marked - masked, HIGHLIGHT), (masked, MASK)):
            for i in sorted(indices):
                left, bottom, right, top = text_page.get_charbox(i)
                if right > left:
                    draw.rectangle((left * scale, (height - top) * scale - 1,
                                    right * scale + 1, (height - bottom) * scale + 1),
                                   fill=colour)
        out = io.BytesIO()
        Image.alpha_composite(image, overlay).convert("RGB").save(out, format="PNG",
                                                                  optimize=True)
        return PageImage(out.getvalue(), page, len(pdf), bool(marked))
    finally:
        pdf.close()
