"""Parse uploaded files into :class:`~knowledge.types.ParsedDocument` blocks, or reject them.

One loader per format (``pdf``, ``docx``, ``html``, ``markdown``, ``text``, ``tabular``), chosen
by a :class:`~knowledge.loaders.registry.Registry` from the file's content rather than its
extension; PDF pages without a text layer are read with OCR (``ocr``) unless the caller says not
to. Every refusal is a :class:`~verirag.errors.DocumentRejected` whose ``reason`` is one
line a user can act on; nothing else escapes for a bad file.

To add a format, write a class that meets :class:`~knowledge.loaders.base.Loader` in its own
module and register it on :data:`DEFAULT_REGISTRY` (or list it below).
"""

from __future__ import annotations

from pathlib import Path

from knowledge.loaders.base import Loader, LoadOptions
from knowledge.loaders.docx import DocxLoader
from knowledge.loaders.html import HtmlLoader
from knowledge.loaders.markdown import MarkdownLoader
from knowledge.loaders.pdf import PdfLoader
from knowledge.loaders.registry import Registry
from knowledge.loaders.tabular import CsvLoader, XlsxLoader
from knowledge.loaders.text import TextLoader
from knowledge.types import ParsedDocument

__all__ = ["DEFAULT_REGISTRY", "Loader", "Registry", "load_document", "supported_suffixes"]

# Order matters: formats with a signature first, markup next, extension-only text formats last.
DEFAULT_REGISTRY = Registry(
    [
        PdfLoader(),
        DocxLoader(),
        XlsxLoader(),
        HtmlLoader(),
        MarkdownLoader(),
        CsvLoader(),
        TextLoader(),
    ]
)


def load_document(path: Path, *, max_bytes: int, name: str | None = None,
                  ocr: bool = True) -> ParsedDocument:
    """Parse ``path`` (shown to users as ``name``, default its file name) into blocks.

    ``ocr`` (the ``ocr`` setting) reads PDF pages that have no text layer with OCR; off, a PDF
    with no text layer at all is rejected and says how to turn it on. Raises
    :class:`~verirag.errors.DocumentRejected` for empty, oversized, unsupported, mislabelled,
    encrypted, corrupt or text-less files; the size check runs before any read.
    """
    options = LoadOptions(ocr=ocr)
    return DEFAULT_REGISTRY.load(Path(path), max_bytes=max_bytes, name=name, options=options)


def supported_suffixes() -> list[str]:
    """Extensions the upload dialog should offer, sorted."""
    return DEFAULT_REGISTRY.suffixes()
