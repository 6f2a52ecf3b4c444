"""Pick a loader by what a file *is*, guard the door, and hand back clean blocks.

Extensions lie: systems export HTML as ``.doc``, users rename PDFs to ``.txt``. So loaders are
asked in order whether they recognise the first bytes (magic numbers first, then markup, then
plain-text formats by extension), and the extension only decides among formats that have no
signature. Size and zip-bomb checks run before any parser touches the file, because the parsers
read whole files into memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from knowledge.loaders.base import Loader, LoadOptions, OptionsLoader, human_size
from knowledge.loaders.decoding import looks_binary
from knowledge.loaders.zipguard import ZIP_MAGIC, check_zip, zip_listing
from knowledge.types import ParsedDocument
from verirag.errors import DocumentRejected

HEAD_BYTES = 8192
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_KNOWN_BINARIES = (
    (ZIP_MAGIC, "a ZIP archive"),
    (_OLE_MAGIC, "a legacy Office file (.doc/.xls)"),
    (b"\x89PNG", "an image"),
    (b"\xff\xd8\xff", "an image"),
    (b"GIF8", "an image"),
    (b"II*\x00", "an image"),
    (b"MM\x00*", "an image"),
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a program"),
)


class Registry:
    """Loaders in the order they are asked; the first whose ``sniff`` says yes parses the file."""

    def __init__(self, loaders: Iterable[Loader] = ()) -> None:
        self._loaders: list[Loader] = list(loaders)

    def register(self, loader: Loader, *, first: bool = False) -> None:
        """Add a format; ``first`` lets a more specific loader pre-empt a built-in one."""
        if first:
            self._loaders.insert(0, loader)
        else:
            self._loaders.append(loader)

    def suffixes(self) -> list[str]:
        return sorted({s for loader in self._loaders for s in loader.suffixes})

    def load(self, path: Path, *, max_bytes: int, name: str | None = None,
             options: LoadOptions | None = None) -> ParsedDocument:
        """Guard, choose and parse; ``options`` (default: OCR on) reach an ``OptionsLoader``."""
        name = name or path.name
        size = path.stat().st_size
        if size == 0:
            raise DocumentRejected(name, "empty file")
        if size > max_bytes:
            raise DocumentRejected(
                name, f"file is {human_size(size)}; the limit is {human_size(max_bytes)}"
            )
        suffix = (Path(name).suffix or path.suffix).lower()
        loader = self.choose(path, name, suffix)
        try:
            if isinstance(loader, OptionsLoader):
                document = loader.load_with(path, name, options or LoadOptions())
            else:
                document = loader.load(path, name)
        except RecursionError as exc:  # a parser library followed hostile nesting too far
            raise DocumentRejected(name, "its structure is nested too deeply to read; save it "
                                         "again from the program that made it") from exc
        # Rules of dashes or dots carry no meaning and would become chunks of their own.
        blocks = [b for b in document.blocks if any(c.isalnum() for c in b.text)]
        if not blocks:
            raise DocumentRejected(name, "no text found")
        return replace(document, name=name, blocks=blocks)

    def choose(self, path: Path, name: str, suffix: str) -> Loader:
        """The loader for this file, or a rejection that says what the content looks like."""
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
        if head.startswith(ZIP_MAGIC):
            check_zip(path, name)
            head = zip_listing(path, name)
        for loader in self._loaders:
            if loader.sniff(head, suffix):
                return loader
        raise DocumentRejected(name, self._unrecognised(head, suffix))

    def _unrecognised(self, head: bytes, suffix: str) -> str:
        looks_like = _describe(head)
        for loader in self._loaders:
            if suffix in loader.suffixes:
                return f"not a {loader.label}: content looks like {looks_like}"
        if head.startswith(_OLE_MAGIC):
            return "legacy Office format: save it as .docx or .xlsx and upload again"
        shown = f"'{suffix}'" if suffix else "(no extension)"
        return f"unsupported file type {shown}; supported: {', '.join(self.suffixes())}"


def _describe(head: bytes) -> str:
    for magic, what in _KNOWN_BINARIES:
        if head.startswith(magic):
            return what
    return "binary data" if looks_binary(head) else "text"
