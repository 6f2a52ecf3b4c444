"""OCR for PDF pages that have no text layer, so archives of scanned paper can be indexed.

Why it is built this way:

- Only text-less pages are read here. A page with a text layer keeps pypdf's exact text (OCR
  would only add recognition errors), so a PDF that mixes typed and scanned pages works.
- pdfium (``pypdfium2``) renders the whole page as a reader sees it, not just the images in
  it: a scan stored as strips, a page with ``/Rotate``, or text drawn as outlines all come out
  right, and JBIG2 or CCITT scans need no extra decoder.
- The engine is ``rapidocr-onnxruntime``: PP-OCRv4 detection and recognition for Chinese and
  English, shipped as ONNX files inside the wheel (it builds the model paths from its own
  package folder) and run by onnxruntime on the CPU, so nothing is downloaded at run time.
  Loading takes about a second; it happens on the first scanned page, and the
  :class:`ScanReader` keeps the engine. The PDF loader of the loader registry holds one
  reader, so a process loads the models once, and a process that never meets a scan never
  loads them.
- Pages are rendered at :data:`DPI` (300, the usual archive scanning resolution). Text
  detection runs on a copy shrunk to at most 2000 pixels, but each line is recognised from the
  full render: recognising from a shrunk or resampled page makes PP-OCR drop the spaces
  between English words ("thepatientwasreviewed"), which would defeat word search.
- Work on one page is bounded: the render is capped at :data:`MAX_SIDE` pixels on its long
  side (a poster-sized page would otherwise allocate gigabytes), detection runs at most 2000
  pixels and keeps at most 1000 text boxes, so a page costs seconds whatever the file says.
  Each page is logged with its time, the progress a long scan shows.
- Recognised lines are grouped into paragraphs by vertical gaps here; headings, lists and
  running headers are then found by the PDF loader's own rules, as on a text page.

What it leaves out: reading order is top to bottom, so two columns side by side are read across
both, line by line; and a page with any text layer at all (a stamped footer on a scan) is not
OCR'd.
"""

from __future__ import annotations

import logging
import re
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from knowledge.loaders.base import is_cjk, library_message
from verirag.errors import DocumentRejected, VeriragError

if TYPE_CHECKING:  # numpy and pypdfium2 load with the first scanned page, not with the loaders
    import numpy as np
    import pypdfium2
    from numpy.typing import NDArray

    Image = NDArray[np.uint8]

log = logging.getLogger(__name__)

DPI = 300
MAX_SIDE = 4000  # pixels: an A4 or Letter page at 300 DPI fits; larger pages are scaled down
MIN_SCORE = 0.5  # recogniser confidence below which a line is noise (RapidOCR's default)
BLANK_LEVEL = 160  # a render with no pixel darker than this has no ink to read
# A gap between two lines wider than this many line heights starts a new paragraph, unless the
# page's own line spacing is wider (double-spaced text), see ``paragraphs``.
PARAGRAPH_GAP = 0.8
INSTALL_HINT = "pip install 'verirag[ocr]'"
# PP-OCR's recogniser often drops the space after a full stop or comma in English
# ("adults.Elderly"); put it back before a capitalised word, so sentences still split.
_MISSING_SPACE = re.compile(r"(?<=[a-z]{2}[.,;:!?])(?=[A-Z][a-z])")
# pdfium is not thread-safe, and Streamlit serves each browser session on its own thread.
_PDFIUM = threading.Lock()


class OcrUnavailable(VeriragError):
    """OCR is switched on but its engine cannot be loaded (not installed, or broken)."""


@dataclass(frozen=True)
class OcrLine:
    """One recognised run of text and its box on the page image, in pixels (y grows down)."""

    text: str
    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top


class OcrEngine(Protocol):
    """Reads the text on one page image (grey, or BGR as OpenCV orders colour)."""

    def read(self, image: Image) -> list[OcrLine]: ...


class RapidOcrEngine:
    """PP-OCRv4 (Chinese and English) through ``rapidocr-onnxruntime``; loads its models.

    RapidOCR's per-line 180-degree classifier is left off: on upright pages it flips a line in
    five or so and the flipped line reads as noise and is lost. A page is turned instead, as a
    whole, when most of what was found on it could not be read (a page scanned upside down).
    """

    def __init__(self) -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:  # not installed, or OpenCV/onnxruntime cannot load
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise OcrUnavailable(
                f"the OCR engine cannot be loaded ({first[:120]}); install it with {INSTALL_HINT}"
            ) from exc
        # RapidOCR shrinks the whole image to max_side_len before anything else; lift that to
        # our render cap and let only detection shrink ("max": to at most 2000 pixels), so
        # lines are recognised from the full-resolution page. Scores are filtered here.
        self._ocr = RapidOCR(max_side_len=MAX_SIDE, det_limit_type="max", text_score=0.0,
                             use_cls=False)

    def read(self, image: Image) -> list[OcrLine]:
        lines, found = self._read(image)
        if found >= 3 and len(lines) < found / 2:
            import numpy as np

            turned, _ = self._read(np.ascontiguousarray(np.rot90(image, 2)))
            if len(turned) > len(lines):
                return turned  # boxes are on the turned page, where reading order holds
        return lines

    def _read(self, image: Image) -> tuple[list[OcrLine], int]:
        """The lines read with confidence, and how many text boxes were found in all."""
        found, _timings = self._ocr(image)
        lines = []
        for box, text, score in found or []:
            xs = [float(x) for x, _ in box]
            ys = [float(y) for _, y in box]
            words = _MISSING_SPACE.sub(" ", " ".join(str(text).split()))
            if words and float(score) >= MIN_SCORE:
                lines.append(OcrLine(words, min(xs), min(ys), max(xs), max(ys)))
        return lines, len(found or [])


class ScanReader:
    """Renders a PDF's text-less pages and reads them with an OCR engine made on first use.

    ``engine`` builds the engine (default :class:`RapidOcrEngine`); it is called once, when a
    page with ink on it first needs reading, and the engine is kept for every later file.
    """

    def __init__(self, engine: Callable[[], OcrEngine] = RapidOcrEngine, *, dpi: float = DPI,
                 max_side: int = MAX_SIDE) -> None:
        self._make_engine = engine
        self._engine: OcrEngine | None = None
        self._lock = threading.Lock()
        # One page at a time per process: RapidOCR keeps per-call state on the detector, and
        # two pages at once would only share the same cores.
        self._reading = threading.Lock()
        self.dpi = dpi
        self.max_side = max_side

    def engine(self) -> OcrEngine:
        """The engine, loaded now if this is the first page to read; :class:`OcrUnavailable`."""
        with self._lock:
            if self._engine is None:
                log.info("Loading the OCR models (the first scanned page in this process)")
                self._engine = self._make_engine()
            return self._engine

    def read(self, path: Path, name: str, pages: Sequence[int]) -> dict[int, list[list[str]]]:
        """The paragraphs (each a list of lines) of each page in ``pages`` (0-based page
        indexes), in reading order, keyed by page index; a page with nothing legible has ``[]``.

        Raises :class:`OcrUnavailable` when the engine cannot be loaded, and
        :class:`~verirag.errors.DocumentRejected` when pdfium cannot render a page or the
        engine fails on one.
        """
        out: dict[int, list[list[str]]] = {}
        with _opened(path, name) as document:
            for done, index in enumerate(pages, start=1):
                started = time.monotonic()
                image = self._render(document, index, name)
                if int(image.min()) > BLANK_LEVEL:
                    out[index] = []  # a blank page: no need to load or run the engine
                    continue
                engine = self.engine()
                try:
                    with self._reading:
                        lines = engine.read(image)
                except Exception as exc:  # the engine's failure on one page is this file's
                    reason = f"OCR failed on page {index + 1} ({library_message(exc, path, name)})"
                    raise DocumentRejected(name, reason) from exc
                out[index] = paragraphs(lines)
                log.info("OCR %s: page %d (%d of %d), %d lines in %.1f s", name, index + 1,
                         done, len(pages), len(lines), time.monotonic() - started)
        return out

    def _render(self, document: pypdfium2.PdfDocument, index: int, name: str) -> Image:
        """The page in grey at ``dpi``, shrunk so its long side is at most ``max_side``."""
        import pypdfium2

        try:
            with _PDFIUM:
                page = document[index]
                try:
                    width, height = page.get_size()
                    scale = min(self.dpi / 72, self.max_side / max(width, height, 1.0))
                    bitmap = page.render(scale=scale, grayscale=True)
                    pixels = bitmap.to_numpy()
                finally:
                    page.close()
        except pypdfium2.PdfiumError as exc:
            reason = f"corrupt or unreadable PDF (page {index + 1}: {exc})"
            raise DocumentRejected(name, reason) from exc
        return pixels.reshape(pixels.shape[0], pixels.shape[1]).copy()


@contextmanager
def _opened(path: Path, name: str) -> Iterator[pypdfium2.PdfDocument]:
    try:
        import pypdfium2
    except ImportError as exc:
        raise OcrUnavailable(f"pypdfium2 is not installed; install it with {INSTALL_HINT}") \
            from exc
    try:
        with _PDFIUM:
            document = pypdfium2.PdfDocument(path)
    except pypdfium2.PdfiumError as exc:
        raise DocumentRejected(name, f"corrupt or unreadable PDF ({exc})") from exc
    try:
        yield document
    finally:
        with _PDFIUM:
            document.close()


@dataclass(frozen=True)
class _Row:
    """Boxes on one baseline, joined left to right."""

    text: str
    top: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top


def paragraphs(lines: Iterable[OcrLine]) -> list[list[str]]:
    """Recognised boxes as paragraphs of lines, top to bottom.

    Boxes whose middles fall within one another's height are one line (the detector splits a
    line at wide gaps). A gap to the next line wider than :data:`PARAGRAPH_GAP` line heights
    starts a paragraph, or wider than 1.5 times the page's usual line gap, so double-spaced
    text is not cut at every line.
    """
    rows = _rows(lines)
    if not rows:
        return []
    height = statistics.median(row.height for row in rows)
    gaps = [max(0.0, below.top - above.bottom) for above, below in pairwise(rows)]
    usual = statistics.quantiles(gaps, n=4)[0] if len(gaps) >= 2 else 0.0
    limit = max(PARAGRAPH_GAP * height, 1.5 * usual)
    out = [[rows[0].text]]
    for gap, row in zip(gaps, rows[1:], strict=True):
        if gap > limit:
            out.append([])
        out[-1].append(row.text)
    return out


def _rows(lines: Iterable[OcrLine]) -> list[_Row]:
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda b: ((b.top + b.bottom) / 2, b.left)):
        middle = (line.top + line.bottom) / 2
        if rows:
            current = rows[-1]
            top = min(b.top for b in current)
            bottom = max(b.bottom for b in current)
            if top <= middle <= bottom:
                current.append(line)
                continue
        rows.append([line])
    return [
        _Row(_join(b.text for b in sorted(row, key=lambda b: b.left)),
             min(b.top for b in row), max(b.bottom for b in row))
        for row in rows
    ]


def _join(parts: Iterable[str]) -> str:
    """Pieces of one line: a space between words, none between two CJK characters."""
    out = ""
    for part in parts:
        if out and not (is_cjk(out[-1]) and is_cjk(part[0])):
            out += " "
        out += part
    return out
