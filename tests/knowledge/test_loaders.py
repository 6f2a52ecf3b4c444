"""What a user sees after uploading a file: the blocks it became, or the one-line reason why not."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from knowledge.loaders import load_document, supported_suffixes
from knowledge.loaders.zipguard import check_zip
from knowledge.types import Block, ParsedDocument
from verirag.errors import DocumentRejected

MB = 1024 * 1024
LIMIT = 50 * MB
DOMAINS = Path(__file__).resolve().parents[2] / "domains"
BUNDLED = sorted(p for p in DOMAINS.glob("*/docs/*") if p.is_file())


def load(path: Path, **kwargs: object) -> ParsedDocument:
    return load_document(path, max_bytes=LIMIT, **kwargs)  # type: ignore[arg-type]


def rejection(path: Path, max_bytes: int = LIMIT, name: str | None = None) -> str:
    with pytest.raises(DocumentRejected) as caught:
        load_document(path, max_bytes=max_bytes, name=name)
    assert caught.value.name == (name or path.name)
    return caught.value.reason


def headings(doc: ParsedDocument) -> list[tuple[str, int]]:
    return [(b.text, b.level) for b in doc.blocks if b.kind == "heading"]


def tables(doc: ParsedDocument) -> list[Block]:
    return [b for b in doc.blocks if b.kind == "table"]


def write(tmp_path: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    return path


def test_supported_suffixes_cover_every_format() -> None:
    suffixes = supported_suffixes()
    assert suffixes == sorted(suffixes)
    for suffix in [".csv", ".docx", ".htm", ".html", ".md", ".pdf", ".txt", ".xlsx"]:
        assert suffix in suffixes


# --- PDF -------------------------------------------------------------------------------------


def test_pdf_blocks_carry_their_page_number(protocol_pdf: Path) -> None:
    doc = load(protocol_pdf)
    assert doc.mime == "application/pdf"
    assert doc.metadata["pages"] == "3"
    page_of = {b.text: b.page for b in doc.blocks}
    assert page_of["3 Dosing"] == 1
    assert page_of["Monitoring And Follow Up"] == 2
    assert page_of["4 Reversal"] == 3
    assert all(b.page in {1, 2, 3} for b in doc.blocks)


def test_pdf_numbered_headings_nest_by_numbering_depth(protocol_pdf: Path) -> None:
    found = dict(headings(load(protocol_pdf)))
    assert found["ANTICOAGULATION PROTOCOL"] == 1
    assert found["3 Dosing"] == 2
    assert found["3.2 Dose adjustment"] == 3
    assert found["4 Reversal"] == 2
    assert "Monitoring And Follow Up" in found


def test_pdf_wrapped_lines_are_one_paragraph_and_table_rows_are_not_headings(
    protocol_pdf: Path, wrapped_paragraph: str
) -> None:
    doc = load(protocol_pdf)
    paragraphs = [b.text for b in doc.blocks if b.kind == "paragraph"]
    assert wrapped_paragraph in paragraphs
    assert "INR Range" not in dict(headings(doc))
    assert any("Below 2.0" in text and "Increase 10%" in text for text in paragraphs)


def test_pdf_running_header_and_page_numbers_are_dropped(protocol_pdf: Path) -> None:
    text = load(protocol_pdf).text
    assert "St. Aldhelm Hospital" not in text
    assert "Page 1 of" not in text


def test_chinese_pdf_round_trips_without_spaces_between_wrapped_lines(
    tmp_path: Path, write_lines_pdf: Callable[[Path, list[list[str]]], Path]
) -> None:
    path = write_lines_pdf(
        tmp_path / "规程.pdf",
        [
            [
                "第一章 总则",
                "第一条 为了规范抗凝治疗的临床应用，保障患者用药安全，",
                "根据有关规定，制定本规程。",
            ],
            ["一、适用范围", "本规程适用于全院住院患者（含日间病房）。"],
        ],
    )
    doc = load(path)
    assert headings(doc) == [("第一章 总则", 1), ("一、适用范围", 2)]
    body = [b for b in doc.blocks if b.kind == "paragraph"]
    assert (
        body[0].text
        == "第一条 为了规范抗凝治疗的临床应用，保障患者用药安全，根据有关规定，制定本规程。"
    )
    assert body[1].page == 2 and "（含日间病房）" in body[1].text


def test_short_pdf_page_still_finds_its_headings(
    tmp_path: Path, write_lines_pdf: Callable[[Path, list[list[str]]], Path]
) -> None:
    lines = ["WARFARIN CARD", "3 Dosing", "Give 5 mg daily.", "3.1 Elderly", "Give 2 mg."]
    doc = load(write_lines_pdf(tmp_path / "card.pdf", [lines]))
    assert headings(doc) == [("WARFARIN CARD", 1), ("3 Dosing", 2), ("3.1 Elderly", 3)]
    paragraphs = [b.text for b in doc.blocks if b.kind == "paragraph"]
    assert paragraphs == ["Give 5 mg daily.", "Give 2 mg."]


def test_encrypted_pdf_asks_for_the_password_to_be_removed(encrypted_pdf: Path) -> None:
    assert rejection(encrypted_pdf) == "encrypted PDF: remove the password and upload again"


def test_pdf_without_text_says_how_to_turn_ocr_on(blank_pdf: Path) -> None:
    with pytest.raises(DocumentRejected) as caught:  # OCR on: tests/knowledge/test_ocr.py
        load_document(blank_pdf, max_bytes=LIMIT, ocr=False)
    assert caught.value.reason == (
        "no extractable text (scanned? OCR is off: set ocr = true in $VERIRAG_HOME/config.toml "
        "or VERIRAG_OCR=true)"
    )


@pytest.mark.parametrize(
    "content", [b"%PDF-1.4\nthis is not really a pdf\n", b"%PDF-1.7\n1 0 obj\n<< /Type"]
)
def test_corrupt_pdf_is_rejected_with_the_library_reason(tmp_path: Path, content: bytes) -> None:
    reason = rejection(write(tmp_path, "broken.pdf", content))
    assert reason.startswith("corrupt or unreadable PDF (")
    assert reason.endswith(")") and "\n" not in reason


# --- DOCX ------------------------------------------------------------------------------------


def test_docx_keeps_body_order_with_the_table_between_paragraphs(policy_docx: Path) -> None:
    doc = load(policy_docx)
    assert doc.metadata["title"] == "Anticoagulation Policy"
    kinds = [(b.kind, b.text.split("\n")[0]) for b in doc.blocks]
    table_at = kinds.index(("table", "| Drug | Dose |"))
    assert kinds[table_at - 1] == ("paragraph", "Doses are listed below.")
    assert kinds[table_at + 1] == ("paragraph", "Check renal function first.")


def test_docx_headings_take_their_level_from_the_style(policy_docx: Path) -> None:
    assert headings(load(policy_docx)) == [
        ("Anticoagulation Policy", 1),
        ("Scope", 1),
        ("Dose table", 2),
        ("第二章 剂量调整", 1),
    ]


def test_docx_table_keeps_rows_with_the_header_first(policy_docx: Path) -> None:
    (table,) = tables(load(policy_docx))
    assert table.rows == (("Drug", "Dose"), ("Warfarin", "5 mg"), ("Apixaban", "5 mg bd"))
    assert table.text.splitlines()[:2] == ["| Drug | Dose |", "| --- | --- |"]


def test_docx_list_paragraphs_become_one_list_and_chinese_survives(policy_docx: Path) -> None:
    doc = load(policy_docx)
    lists = [b.text for b in doc.blocks if b.kind == "list"]
    assert lists == ["- Record the INR.\n- Record the weight."]
    assert doc.blocks[-1].text == "肾功能不全患者应减量，并每周监测INR。"


@pytest.mark.parametrize(
    ("name", "members", "reason_start"),
    [
        ("broken.docx", {"word/document.xml": "<w:document"}, "corrupt or unreadable DOCX ("),
        ("broken.xlsx", {"xl/workbook.xml": "<w"}, "corrupt or unreadable XLSX ("),
    ],
)
def test_corrupt_office_file_is_rejected(
    tmp_path: Path, name: str, members: dict[str, str], reason_start: str
) -> None:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types")
        for member, content in members.items():
            archive.writestr(member, content)
    assert rejection(path).startswith(reason_start)


def test_truncated_docx_is_a_corrupt_container(tmp_path: Path, policy_docx: Path) -> None:
    path = write(tmp_path, "policy.docx", policy_docx.read_bytes()[:3000])
    assert rejection(path).startswith("corrupt or unreadable ZIP container (")


def test_library_reason_names_the_upload_not_the_temp_file(
    tmp_path: Path, policy_docx: Path
) -> None:
    temp = tmp_path / "upload-1234.tmp"
    with zipfile.ZipFile(policy_docx) as source, zipfile.ZipFile(temp, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"wordprocessingml.document.main+xml", b"ms-word.document.macroEnabled.main+xml"
                )
            target.writestr(item, data)
    reason = rejection(temp, name="macros.docx")
    assert reason.startswith("corrupt or unreadable DOCX (file 'macros.docx' is not a Word file")
    assert str(tmp_path) not in reason


# --- HTML ------------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html><head><title>Sepsis  Bundle | StaffNet</title><style>p {color: red}</style>
<script>var tracking = "do not index me";</script></head>
<body>
<a href="#main">Skip to main content</a>
<header><nav><a href="/">Home</a> <a href="/policies">Policies</a></nav></header>
<main id="main">
<article>
<header><h1>Adult Sepsis Bundle</h1></header>
<p>Start the bundle within
one hour.<br>Escalate if lactate rises.</p>
<div>Loose text in a <b>div</b> is kept.</div>
<h2>Antibiotics</h2>
<ul><li>Take cultures first<ul><li>two sets</li></ul></li><li>Give antibiotics</li></ul>
<table><thead><tr><th>Lactate</th><th>Action</th></tr></thead>
<tbody><tr><td>Below 2.0</td><td>Repeat in 6 h</td></tr>
<tr><td>4.0 or more</td><td>Call ICU</td></tr></tbody></table>
<pre>NEWS2 &gt;= 5
  -> screen</pre>
</article>
</main>
<aside>Related links</aside>
<footer>© 2024 St. Aldhelm · Cookie settings</footer>
<form><label>Search</label><input name="q"></form>
</body></html>"""


def test_html_keeps_content_and_drops_page_chrome(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "sepsis.html", PAGE))
    text = doc.text
    assert doc.metadata["title"] == "Sepsis Bundle | StaffNet"
    for chrome in [
        "do not index me",
        "color: red",
        "Skip to",
        "Policies",
        "Related links",
        "Cookie",
        "Search",
    ]:
        assert chrome not in text
    assert headings(doc) == [("Adult Sepsis Bundle", 1), ("Antibiotics", 2)]
    paragraphs = [b.text for b in doc.blocks if b.kind == "paragraph"]
    assert paragraphs == [
        "Start the bundle within one hour.\nEscalate if lactate rises.",
        "Loose text in a div is kept.",
    ]


def test_html_lists_tables_and_code(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "sepsis.html", PAGE))
    by_kind = {b.kind: b for b in doc.blocks}
    assert by_kind["list"].text == "- Take cultures first\n  - two sets\n- Give antibiotics"
    assert by_kind["table"].rows == (
        ("Lactate", "Action"),
        ("Below 2.0", "Repeat in 6 h"),
        ("4.0 or more", "Call ICU"),
    )
    assert by_kind["code"].text == "NEWS2 >= 5\n  -> screen"


def test_html_in_gbk_with_meta_charset_decodes(tmp_path: Path) -> None:
    page = (
        '<html><head><meta charset="gbk"><title>跌倒预防</title></head>'
        "<body><h1>一、目的</h1><p>降低跌倒\n发生率。</p></body></html>"
    )
    doc = load(write(tmp_path, "fall.html", page, encoding="gbk"))
    assert doc.metadata["title"] == "跌倒预防"
    assert doc.blocks[1].text == "降低跌倒发生率。"


def test_html_with_nothing_but_chrome_has_no_text(tmp_path: Path) -> None:
    page = "<html><body><nav>Home</nav><script>x()</script><footer>©</footer></body></html>"
    assert rejection(write(tmp_path, "empty.html", page)) == "no text found"


# --- Markdown --------------------------------------------------------------------------------

MARKDOWN = """---
title: Sepsis Guideline
owner: Deteriorating Patient Group
---
# Sepsis

Screen every patient
with NEWS2 of 5 or more.

## Lactate thresholds ##

| Lactate | Action |
|:--------|-------:|
| Below 2.0 | Repeat |
| 4.0 or more | Call \\| ICU |

- give oxygen
- take cultures
  within 1 hour

```text
# not a heading
```
"""


def test_markdown_structure(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "sepsis.md", MARKDOWN))
    assert doc.metadata["title"] == "Sepsis Guideline"
    assert "owner" not in doc.text
    assert headings(doc) == [("Sepsis", 1), ("Lactate thresholds", 2)]
    assert [b.kind for b in doc.blocks] == [
        "heading",
        "paragraph",
        "heading",
        "table",
        "list",
        "code",
    ]
    assert doc.blocks[1].text == "Screen every patient\nwith NEWS2 of 5 or more."
    assert doc.blocks[3].rows == (
        ("Lactate", "Action"),
        ("Below 2.0", "Repeat"),
        ("4.0 or more", "Call | ICU"),
    )
    assert doc.blocks[4].text == "- give oxygen\n- take cultures\n  within 1 hour"
    assert doc.blocks[5].text == "# not a heading"


# --- Plain text ------------------------------------------------------------------------------


def test_gbk_chinese_text_decodes_and_numbering_becomes_headings(tmp_path: Path) -> None:
    text = (
        "第一章 总则\n\n第一条 为了规范抗凝治疗，制定本规程。\n\n一、适用范围\n\n"
        "本规程适用于全院住院患者（含日间病房）。\n\n（一）门诊患者\n\n门诊患者参照执行：每周复查INR。\n"
    )
    doc = load(write(tmp_path, "规程.txt", text, encoding="gbk"))
    assert doc.metadata["encoding"] == "gb18030"
    assert headings(doc) == [("第一章 总则", 1), ("一、适用范围", 2), ("（一）门诊患者", 3)]
    assert "本规程适用于全院住院患者（含日间病房）。" in doc.text  # full-width punctuation kept
    assert "门诊患者参照执行：每周复查INR。" in doc.text


def test_short_gbk_snippet_is_not_mistaken_for_korean(tmp_path: Path) -> None:
    doc = load(write(tmp_path, "note.txt", "Warfarin 5 mg 每日一次，监测INR。", encoding="gbk"))
    assert doc.text == "Warfarin 5 mg 每日一次，监测INR。"


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        ("\ufeff1. PURPOSE\r\n\r\nBOM and CRLF.  \r\n", "utf-8"),
        ("1. PURPOSE\n\n\n\n\nBOM and CRLF.", "utf-8"),
        ("1. PURPOSE\n\nBOM and CRLF.", "utf-16"),
    ],
)
def test_text_normalises_line_endings_blank_runs_and_bom(
    tmp_path: Path, raw: str, encoding: str
) -> None:
    doc = load(write(tmp_path, "policy.txt", raw, encoding=encoding))
    assert doc.text == "1. PURPOSE\n\nBOM and CRLF."
    assert doc.blocks[0].kind == "heading"


@pytest.mark.parametrize(
    ("line", "is_heading"),
    [
        ("1. PURPOSE", True),
        ("3.2 Dose adjustment", True),
        ("第三章 附则", True),
        ("二、职责分工", True),
        ("Section 4 Reporting", True),
        ("Section 4 of the Act applies", False),
        ("DEFINITIONS", True),
        ("Dose Adjustment In Renal Impairment", True),
        ("12.5 mg of warfarin daily", False),
        ("1.1 This policy applies to all staff.", False),
        ("第一条 为了规范抗凝治疗，制定本规程。", False),
        ("The dose is reduced in renal impairment", False),
        ("5.2 Own interest conflicts. The Firm must not act", False),
    ],
)
def test_text_heading_heuristic(tmp_path: Path, line: str, is_heading: bool) -> None:
    doc = load(write(tmp_path, "policy.txt", f"{line}\n\nBody text follows here."))
    assert (doc.blocks[0].kind == "heading") is is_heading


@pytest.mark.parametrize("text", ["Net Revenue 2023", "DEFINITIONS\n\n第三章 附则"])
def test_text_of_heading_like_lines_only_is_kept_as_text(tmp_path: Path, text: str) -> None:
    """A one-line note is its own content; read as headings only, it would index nothing."""
    doc = load(write(tmp_path, "note.txt", text))
    assert [b.kind for b in doc.blocks] == ["paragraph"] * len(text.split("\n\n"))
    assert [b.text for b in doc.blocks] == text.split("\n\n")


def test_hard_wrapped_numbered_paragraph_is_not_a_heading(tmp_path: Path) -> None:
    text = (
        "1. PURPOSE\n\n"
        "1.1 This procedure explains how the Firm identifies and manages conflicts\n"
        "before it accepts instructions from a new client.\n"
    )
    doc = load(write(tmp_path, "conflicts.txt", text))
    assert headings(doc) == [("1. PURPOSE", 1)]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", "binary content, not text"),
        (bytes(range(0x80, 0x100)) * 8, "cannot decode text: not UTF-8 or a known encoding"),
    ],
)
def test_undecodable_text_is_rejected(tmp_path: Path, content: bytes, reason: str) -> None:
    assert rejection(write(tmp_path, "notes.txt", content)) == reason


# --- CSV and XLSX ----------------------------------------------------------------------------


def test_csv_rows_keep_the_header_and_guess_the_delimiter(tmp_path: Path) -> None:
    content = '\n药品;剂量;备注\n华法林;3 mg;"每日一次; 晚间"\n阿哌沙班;5 mg;\n'
    doc = load(write(tmp_path, "doses.csv", content, encoding="gbk"))
    (table,) = doc.blocks
    assert table.kind == "table"
    assert table.rows == (
        ("药品", "剂量", "备注"),
        ("华法林", "3 mg", "每日一次; 晚间"),
        ("阿哌沙班", "5 mg", ""),
    )


def test_xlsx_sheets_become_heading_and_table(limits_xlsx: Path) -> None:
    doc = load(limits_xlsx)
    assert [(b.kind, b.text.split("\n")[0]) for b in doc.blocks] == [
        ("heading", "Limits"),
        ("table", "| Desk | VaR limit (£m) | Approved | Active |"),
        ("heading", "联系人"),
        ("table", "| 部门 | 电话 |"),
    ]
    assert doc.blocks[1].rows == (
        ("Desk", "VaR limit (£m)", "Approved", "Active"),
        ("Rates", "4", "2024-01-01", "TRUE"),
        ("FX", "2.5", "2024-03-31", "FALSE"),
    )


def test_xlsx_uploaded_as_temp_file_uses_the_display_name(
    tmp_path: Path, limits_xlsx: Path
) -> None:
    temp = tmp_path / "upload-7f3a.tmp"
    temp.write_bytes(limits_xlsx.read_bytes())
    doc = load(temp, name="Market limits.xlsx")
    assert doc.name == "Market limits.xlsx"
    assert doc.blocks[0].text == "Limits"


# --- Guards and sniffing ---------------------------------------------------------------------


def test_empty_file_is_rejected(tmp_path: Path) -> None:
    assert rejection(write(tmp_path, "empty.pdf", b"")) == "empty file"


def test_oversize_file_is_rejected_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "big.txt", "x" * 3000)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was opened")

    monkeypatch.setattr(Path, "open", refuse)
    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert rejection(path, max_bytes=2048) == "file is 2.9 KB; the limit is 2 KB"


def test_size_reason_uses_megabytes(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    with path.open("wb") as handle:
        handle.truncate(int(212.4 * MB))  # sparse: no 200 MB written to disk
    assert rejection(path, max_bytes=50 * MB) == "file is 212.4 MB; the limit is 50 MB"


@pytest.mark.parametrize(
    ("name", "reason_start"),
    [
        ("setup.exe", "unsupported file type '.exe'; supported: .csv, .docx, .htm, .html"),
        ("README", "unsupported file type (no extension); supported: .csv"),
    ],
)
def test_unsupported_type_lists_what_is_supported(
    tmp_path: Path, name: str, reason_start: str
) -> None:
    assert rejection(write(tmp_path, name, b"MZ\x90\x00binary")).startswith(reason_start)


def test_legacy_office_file_says_how_to_convert(tmp_path: Path) -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100
    assert rejection(write(tmp_path, "contract.doc", ole)) == (
        "legacy Office format: save it as .docx or .xlsx and upload again"
    )


def test_pdf_named_txt_is_loaded_as_pdf(tmp_path: Path, protocol_pdf: Path) -> None:
    renamed = write(tmp_path, "protocol.txt", protocol_pdf.read_bytes())
    doc = load(renamed)
    assert doc.mime == "application/pdf"
    assert doc.blocks[0].page == 1


def test_docx_named_xlsx_is_loaded_as_docx(tmp_path: Path, policy_docx: Path) -> None:
    doc = load(write(tmp_path, "policy.xlsx", policy_docx.read_bytes()))
    assert doc.mime.endswith("wordprocessingml.document")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("report.pdf", b"Quarterly report\n\nAll fine.", "not a PDF: content looks like text"),
        ("report.pdf", b"\x89PNG\r\n\x1a\n\x00\x00", "not a PDF: content looks like an image"),
        ("policy.docx", None, "not a Word document (.docx): content looks like a ZIP archive"),
    ],
)
def test_mislabelled_file_says_what_it_looks_like(
    tmp_path: Path, name: str, content: bytes | None, reason: str
) -> None:
    path = tmp_path / name
    if content is None:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("photos/cat.jpg", b"not really")
    else:
        path.write_bytes(content)
    assert rejection(path) == reason


def test_zip_bomb_disguised_as_docx_is_refused(zip_bomb: Path) -> None:
    reason = rejection(zip_bomb)
    assert reason.startswith("archive member 'word/document.xml' is compressed")
    assert reason.endswith("(limit 100:1): possible zip bomb")


def test_zip_total_uncompressed_size_is_limited(tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("xl/workbook.xml", b"x" * 4096)
    with pytest.raises(DocumentRejected, match=r"archive expands to 4 KB \(limit 1 KB\)"):
        check_zip(path, "big.xlsx", max_total=1024)


def test_whitespace_and_rules_only_is_no_text(tmp_path: Path) -> None:
    assert rejection(write(tmp_path, "blank.txt", "   \n\n-----\n\t\n")) == "no text found"


def test_display_name_is_used_for_suffix_and_messages(tmp_path: Path) -> None:
    path = write(tmp_path, "tmpk2j4", "# Title\n\nBody.")
    doc = load(path, name="guide.md")
    assert doc.name == "guide.md" and doc.mime == "text/markdown"
    assert rejection(write(tmp_path, "tmp9", b""), name="guide.md") == "empty file"


# --- Bundled sample packs --------------------------------------------------------------------


@pytest.mark.skipif(not BUNDLED, reason="no sample pack documents under domains/*/docs")
@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_bundled_document_loads(path: Path) -> None:
    doc = load(path)
    assert doc.text.strip()
    assert all(b.text.strip() for b in doc.blocks)
    if path.suffix.lower() in {".docx", ".html", ".htm", ".md"}:
        assert any(b.kind == "heading" for b in doc.blocks)
