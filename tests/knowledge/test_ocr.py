"""Scanned PDFs: pages that are only pictures are read with OCR, or refused with how to turn it on.

The scan is made here the way a scanner makes one: text drawn into an image, the image saved
as a PDF page (no text layer at all). It is read with the real PP-OCR models that ship inside
``rapidocr-onnxruntime``, through the same entry points an upload takes. The Chinese page needs
a CJK font on the machine (``fonts-noto-cjk``); without one that page is drawn in English and
only the Chinese check is skipped. OCR costs seconds a page, so each file is read once per
module.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont
from pypdf import PdfWriter

from app.models import ModelRegistry
from app.services import Runtime
from knowledge.loaders import load_document
from knowledge.loaders.base import LoadOptions
from knowledge.loaders.ocr import OcrEngine, OcrLine, OcrUnavailable, ScanReader, paragraphs
from knowledge.loaders.pdf import OCR_OFF, PdfLoader
from knowledge.loaders.registry import Registry
from knowledge.retrieval import Retriever
from knowledge.types import ParsedDocument
from verirag.errors import DocumentRejected
from verirag.settings import load_settings

MAX_BYTES = 10_000_000
DPI = 150  # a common archive scanning resolution
PAGE = (1240, 880)  # pixels at DPI: an A5 sheet, landscape
ENGLISH = [
    "Discharge Summary",
    "",
    "Warfarin is started at 5 mg daily for most adults.",
    "Check the INR after three days and adjust the dose.",
    "",
    "Vitamin K reverses major bleeding.",
]
CHINESE = ["出院小结", "", "肾功能不全患者应减量", "每周监测凝血功能"]
ENGLISH_WORDS = ["discharge", "warfarin", "adults", "inr", "dose", "vitamin", "bleeding"]
CJK_FONT_GLOBS = ("NotoSansCJK*.tt[cf]", "NotoSerifCJK*.tt[cf]", "NotoSans*SC*.[ot]tf",
                  "wqy-*.tt[cf]", "*[Hh]ei*.tt[cf]")


def _cjk_font() -> Path | None:
    for root in (Path("/usr/share/fonts"), Path("/usr/local/share/fonts")):
        for pattern in CJK_FONT_GLOBS:
            found = sorted(root.rglob(pattern)) if root.is_dir() else []
            if found:
                return found[0]
    return None


CJK_FONT = _cjk_font()


def _scan_page(lines: list[str], font: ImageFont.FreeTypeFont) -> Image.Image:
    """Black text on a white sheet, greyscale, as a flatbed scanner returns it."""
    page = Image.new("L", PAGE, 255)
    draw = ImageDraw.Draw(page)
    y = 90
    for line in lines:
        if line:
            draw.text((100, y), line, fill=0, font=font)
        y += 46 if line else 40
    return page


def _save_pdf(path: Path, pages: list[Image.Image]) -> Path:
    first, *rest = pages
    first.save(path, "PDF", save_all=True, append_images=rest, resolution=DPI)
    return path


@dataclass(frozen=True)
class Scan:
    path: Path
    chinese: bool  # page 2 is Chinese (a CJK font was found)


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Scan:
    english = ImageFont.load_default(size=34)
    if CJK_FONT is not None:
        second = _scan_page(CHINESE, ImageFont.truetype(str(CJK_FONT), 34))
    else:
        second = _scan_page(["Page two", "", "Apixaban needs no INR checks."], english)
    folder = tmp_path_factory.mktemp("scans")
    path = _save_pdf(folder / "discharge-scan.pdf", [_scan_page(ENGLISH, english), second])
    return Scan(path, CJK_FONT is not None)


@pytest.fixture(scope="module")
def scanned(scan: Scan) -> ParsedDocument:
    return load_document(scan.path, max_bytes=MAX_BYTES)


def _page_text(doc: ParsedDocument, page: int) -> str:
    return "\n".join(b.text for b in doc.blocks if b.page == page)


def _squeezed(text: str) -> str:
    """Lower case without spaces: PP-OCR sometimes drops the space between English words."""
    return "".join(text.split()).lower()


def test_a_scanned_pdf_has_no_text_layer(scan: Scan) -> None:
    with pytest.raises(DocumentRejected) as caught:
        load_document(scan.path, max_bytes=MAX_BYTES, ocr=False)
    assert caught.value.reason == OCR_OFF
    assert "set ocr = true" in OCR_OFF and "VERIRAG_OCR=true" in OCR_OFF


def test_ocr_reads_the_scanned_pages_with_their_page_numbers(scanned: ParsedDocument) -> None:
    assert {b.page for b in scanned.blocks} == {1, 2}
    assert scanned.metadata["ocr_pages"] == "1,2"
    assert "pages_without_text" not in scanned.metadata
    first = _squeezed(_page_text(scanned, 1))
    assert [w for w in ENGLISH_WORDS if w not in first] == []
    assert "5mg" in first


def test_ocr_keeps_reading_order_and_paragraphs(scanned: ParsedDocument) -> None:
    texts = [b.text for b in scanned.blocks if b.page == 1]
    assert len(texts) == 3  # heading, the two-line paragraph, the last line
    assert _squeezed(texts[0]) == "dischargesummary"
    assert "warfarin" in _squeezed(texts[1]) and "adjustthedose" in _squeezed(texts[1])
    assert _squeezed(texts[2]).startswith("vitamink")


def test_ocr_reads_a_chinese_page(scan: Scan, scanned: ParsedDocument) -> None:
    if not scan.chinese:
        pytest.skip("no CJK font on this machine to draw the Chinese page with")
    second = "".join(_page_text(scanned, 2).split())
    for phrase in ["出院小结", "肾功能不全", "减量", "每周监测"]:
        assert phrase in second


def test_mixed_pdf_reads_text_pages_as_text_and_ocrs_only_the_scan(
        tmp_path: Path, scan: Scan) -> None:
    mixed = _mixed_pdf(tmp_path, scan.path)
    doc = load_document(mixed, max_bytes=MAX_BYTES)
    assert doc.metadata["ocr_pages"] == "2"
    assert _page_text(doc, 1) == "Anticoagulation clinic opens at 08:30 on weekdays."
    assert "warfarin" in _squeezed(_page_text(doc, 2))
    # With OCR off the typed page still loads and the scanned one is only listed.
    off = load_document(mixed, max_bytes=MAX_BYTES, ocr=False)
    assert {b.page for b in off.blocks} == {1}
    assert off.metadata["pages_without_text"] == "2"


def test_a_scan_with_nothing_legible_is_rejected(blank_pdf: Path) -> None:
    with pytest.raises(DocumentRejected) as caught:
        load_document(blank_pdf, max_bytes=MAX_BYTES)
    assert caught.value.reason.startswith("no text found: OCR read nothing on its 1 scanned page")


def test_a_white_page_is_not_sent_to_the_engine(tmp_path: Path) -> None:
    white = _save_pdf(tmp_path / "white.pdf", [Image.new("L", PAGE, 255)])
    registry = Registry([PdfLoader(ScanReader(_no_engine))])  # asking for it would fail
    with pytest.raises(DocumentRejected) as caught:
        registry.load(white, max_bytes=MAX_BYTES)
    assert caught.value.reason.startswith("no text found: OCR read nothing")


def _mixed_pdf(folder: Path, scan: Path) -> Path:
    """A typed page followed by the first page of ``scan``."""
    typed = FPDF()
    typed.add_page()
    typed.set_font("Helvetica", size=11)
    typed.cell(0, 7, "Anticoagulation clinic opens at 08:30 on weekdays.")
    typed_path = folder / "typed.pdf"
    typed.output(str(typed_path))
    writer = PdfWriter()
    writer.append(str(typed_path))
    writer.append(str(scan), pages=[0])
    mixed = folder / "mixed.pdf"
    with mixed.open("wb") as handle:
        writer.write(handle)
    return mixed


def _no_engine() -> OcrEngine:
    raise OcrUnavailable("the OCR engine cannot be loaded (No module named 'rapidocr')")


def test_without_an_engine_a_scan_says_so_and_typed_pages_still_load(
        tmp_path: Path, scan: Scan) -> None:
    registry = Registry([PdfLoader(ScanReader(_no_engine))])
    with pytest.raises(DocumentRejected) as caught:
        registry.load(scan.path, max_bytes=MAX_BYTES)
    assert caught.value.reason.startswith("no extractable text (scanned? OCR is on but cannot "
                                          "run: the OCR engine cannot be loaded")
    doc = registry.load(_mixed_pdf(tmp_path, scan.path), max_bytes=MAX_BYTES,
                        options=LoadOptions(ocr=True))
    assert {b.page for b in doc.blocks} == {1} and doc.metadata["pages_without_text"] == "2"


def _box(text: str, top: float, left: float = 100, height: float = 40) -> OcrLine:
    return OcrLine(text, left, top, left + 20 * len(text), top + height)


def test_paragraphs_follow_vertical_gaps_and_join_split_lines() -> None:
    single = [_box("Title", 100), _box("first line of a", 200), _box("paragraph", 255),
              _box("second", 360), _box("part", 360, left=400)]
    assert paragraphs(single) == [["Title"], ["first line of a", "paragraph"], ["second part"]]
    # Double-spaced text keeps its lines together; only the wider gap starts a paragraph.
    double = [_box(f"line {i}", 100 + 80 * i) for i in range(4)] + [_box("next", 500)]
    assert paragraphs(double) == [["line 0", "line 1", "line 2", "line 3"], ["next"]]
    assert paragraphs([_box("肾功能", 100), _box("不全", 100, left=170)]) == [["肾功能不全"]]
    assert paragraphs([]) == []


@pytest.fixture
def ocr_off_runtime(tmp_path: Path, models: ModelRegistry,
                    monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    monkeypatch.setenv("VERIRAG_OCR", "false")
    yield Runtime(load_settings(home=tmp_path / "ocr-off-home"), models)


def test_scan_is_indexed_and_found_with_its_page(fresh_runtime: Runtime, scan: Scan) -> None:
    assert fresh_runtime.resources.settings.ocr is True  # on by default
    report = fresh_runtime.resources.ingestor("medical").ingest([scan.path])
    assert [r.outcome for r in report.results] == ["indexed"], report.results
    found = Retriever(fresh_runtime.resources.kb("medical")).search("warfarin daily dose")
    assert found.passages, "the OCR'd passage was not retrieved"
    top = found.passages[0]
    assert top.doc_name == "discharge-scan.pdf" and top.page == 1
    assert "warfarin" in _squeezed(top.text)


def test_setting_ocr_off_rejects_the_scan_and_says_how_to_turn_it_on(
        ocr_off_runtime: Runtime, scan: Scan) -> None:
    assert ocr_off_runtime.resources.settings.ocr is False
    report = ocr_off_runtime.resources.ingestor("medical").ingest([scan.path])
    (result,) = report.results
    assert result.outcome == "rejected" and result.reason == OCR_OFF
    assert ocr_off_runtime.resources.kb("medical").documents() == []
