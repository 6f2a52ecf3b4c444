"""Small generated documents for the loader tests, built fresh in each test's tmp_path.

Every fixture is a real file made by the library a user's software would have used (fpdf2,
pypdf, python-docx, openpyxl), except the Chinese PDF: no CJK font ships with the test
environment, so that one is written by hand with a ToUnicode map, which is how real Chinese
PDFs make their text extractable.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from fpdf import FPDF
from openpyxl import Workbook
from pypdf import PdfWriter

WRAPPED = (
    "Warfarin is started at 5 mg daily for most adults. Elderly patients and those with liver "
    "disease start at a lower dose, usually 2 mg, and the INR is checked after three days."
)


class _ProtocolPdf(FPDF):
    """A running header and a page-number footer on every page, as hospital PDFs have."""

    def header(self) -> None:
        self.set_font("Helvetica", size=8)
        self.cell(0, 6, "St. Aldhelm Hospital | Protocol AC-01", new_x="LMARGIN", new_y="NEXT")

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", size=8)
        self.cell(0, 6, f"Page {self.page_no()} of {{nb}}")


def _line(pdf: FPDF, text: str) -> None:
    pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")


@pytest.fixture
def wrapped_paragraph() -> str:
    """The paragraph ``protocol_pdf`` wraps over several lines."""
    return WRAPPED


@pytest.fixture
def protocol_pdf(tmp_path: Path) -> Path:
    """Three pages: numbered headings, a wrapped paragraph, table-like rows, Title Case heading."""
    pdf = _ProtocolPdf()
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    _line(pdf, "ANTICOAGULATION PROTOCOL")
    _line(pdf, "3 Dosing")
    pdf.multi_cell(0, 6, WRAPPED, new_x="LMARGIN", new_y="NEXT")
    _line(pdf, "3.2 Dose adjustment")
    pdf.multi_cell(0, 6, "Adjust the weekly dose by INR as follows.", new_x="LMARGIN", new_y="NEXT")
    for left, right in [("INR Range", "Weekly Dose"), ("Below 2.0", "Increase 10%")]:
        pdf.cell(45, 6, left)
        pdf.cell(45, 6, right, new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    _line(pdf, "Monitoring And Follow Up")
    pdf.multi_cell(0, 6, "Check the INR weekly until it is stable.", new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    _line(pdf, "4 Reversal")
    pdf.multi_cell(0, 6, "Give vitamin K for major bleeding.", new_x="LMARGIN", new_y="NEXT")
    path = tmp_path / "protocol.pdf"
    pdf.output(str(path))
    return path


@pytest.fixture
def blank_pdf(tmp_path: Path) -> Path:
    """A page with a drawing and no text: what a scan without OCR looks like to pypdf."""
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60)
    path = tmp_path / "scan.pdf"
    pdf.output(str(path))
    return path


@pytest.fixture
def encrypted_pdf(tmp_path: Path, protocol_pdf: Path) -> Path:
    writer = PdfWriter(clone_from=protocol_pdf)
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    path = tmp_path / "locked.pdf"
    with path.open("wb") as handle:
        writer.write(handle)
    return path


@pytest.fixture
def write_lines_pdf() -> Callable[[Path, list[list[str]]], Path]:
    """Write pages of lines (any script) as a PDF with an Identity-H font and a ToUnicode CMap."""

    def write(path: Path, pages: list[list[str]]) -> Path:
        chars = sorted({c for page in pages for line in page for c in line})
        cid = {c: i + 1 for i, c in enumerate(chars)}
        pairs = "\n".join(f"<{cid[c]:04X}> <{ord(c):04X}>" for c in chars)
        cmap = (
            "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
            "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
            f"{len(chars)} beginbfchar\n{pairs}\nendbfchar\n"
            "endcmap CMapName currentdict /CMap defineresource pop end end"
        ).encode()
        page_ids = [7 + 2 * i for i in range(len(pages))]
        kids = " ".join(f"{p} 0 R" for p in page_ids)
        objects = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
            b"<< /Type /Font /Subtype /Type0 /BaseFont /SimSun /Encoding /Identity-H "
            b"/DescendantFonts [4 0 R] /ToUnicode 5 0 R >>",
            b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /SimSun /CIDSystemInfo "
            b"<< /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
            b"/FontDescriptor 6 0 R /DW 1000 /CIDToGIDMap /Identity >>",
            b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream",
            b"<< /Type /FontDescriptor /FontName /SimSun /Flags 4 /FontBBox [0 -200 1000 900] "
            b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 700 /StemV 80 >>",
        ]
        for page_id, lines in zip(page_ids, pages, strict=True):
            codes = ["".join(f"{cid[c]:04X}" for c in line) for line in lines]
            ops = [
                f"BT /F1 12 Tf 72 {760 - 20 * j} Td <{code}> Tj ET" for j, code in enumerate(codes)
            ]
            content = "\n".join(ops).encode()
            objects.append(
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (page_id + 1)
            )
            objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        out = bytearray(b"%PDF-1.7\n")
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
        out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
            len(objects) + 1,
            xref,
        )
        path.write_bytes(bytes(out))
        return path

    return write


@pytest.fixture
def policy_docx(tmp_path: Path) -> Path:
    """Title, headings (one in a WPS-style Chinese "标题 1"), a list, and a table mid-body."""
    doc = Document()
    doc.core_properties.title = "Anticoagulation Policy"
    doc.add_paragraph("Anticoagulation Policy", style="Title")
    doc.add_heading("Scope", level=1)
    doc.add_paragraph("This policy covers adult inpatients.")
    doc.add_heading("Dose table", level=2)
    doc.add_paragraph("Doses are listed below.")
    table = doc.add_table(rows=3, cols=2)
    for row, values in zip(
        table.rows, [("Drug", "Dose"), ("Warfarin", "5 mg"), ("Apixaban", "5 mg bd")], strict=True
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    doc.add_paragraph("Check renal function first.")
    doc.add_paragraph("Record the INR.", style="List Bullet")
    doc.add_paragraph("Record the weight.", style="List Bullet")
    chinese = doc.styles.add_style("标题 1", WD_STYLE_TYPE.PARAGRAPH)
    doc.add_paragraph("第二章 剂量调整", style=chinese)
    doc.add_paragraph("肾功能不全患者应减量，并每周监测INR。")
    path = tmp_path / "policy.docx"
    doc.save(str(path))
    return path


@pytest.fixture
def limits_xlsx(tmp_path: Path) -> Path:
    """Two sheets with data (one padded with a blank first row and column) and one empty sheet."""
    wb = Workbook()
    limits = wb.active
    limits.title = "Limits"
    limits.append([])
    limits.append([None, "Desk", "VaR limit (£m)", "Approved", "Active"])
    limits.append([None, "Rates", 4.0, dt.datetime(2024, 1, 1), True])
    limits.append([None, "FX", 2.5, dt.date(2024, 3, 31), False])
    wb.create_sheet("Empty")
    contacts = wb.create_sheet("联系人")
    contacts.append(["部门", "电话"])
    contacts.append(["风险管理部", "3360"])
    path = tmp_path / "limits.xlsx"
    wb.save(str(path))
    return path


@pytest.fixture
def zip_bomb(tmp_path: Path) -> Path:
    """20 MB of zeros that compress about 1000:1, dressed up as a Word document."""
    path = tmp_path / "invoice.docx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as member:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(20):
                member.write(chunk)
    return path
