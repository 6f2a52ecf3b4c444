"""Opening a citation in its document: the page highlighted, personal data masked, access kept."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image

from app.auth.principal import Grant, Principal
from app.services import Runtime
from app.sources import open_source
from domains.pack import RedactionConfig
from knowledge.pages import passage_chars, render_page
from verirag.errors import AuthError

PASSAGE = "Warfarin is stopped five days before a planned procedure."
EMAIL = "anticoag.clinic@example-hospital.org"


def _pdf(path: Path, lines: list[str]) -> Path:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for line in lines:
        pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def _pixels(png: bytes, colour: tuple[int, int, int]) -> int:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(1 for p in image.getdata() if p == colour)


def test_the_passage_is_found_by_its_letters_whatever_the_spacing() -> None:
    page = "Section 3\r\nWarfarin is stopped  five days\r\nbefore a planned procedure.\r\nEnd"
    marked = passage_chars(page, PASSAGE)
    assert "".join(page[i] for i in sorted(marked)).replace("\r\n", " ").startswith("Warfarin")
    assert page.index("Section") not in marked and page.index("End") not in marked
    assert passage_chars(page, "Page 3") == set(), "short lines would match anywhere"


def test_a_pdf_page_is_rendered_with_the_passage_highlighted_and_emails_masked(
        tmp_path: Path) -> None:
    path = _pdf(tmp_path / "protocol.pdf", ["Anticoagulation protocol", PASSAGE,
                                            f"Questions: {EMAIL}"])
    masked = render_page(path, 1, PASSAGE, RedactionConfig(enabled=True, kinds=["email"]))
    plain = render_page(path, 1, PASSAGE, RedactionConfig(enabled=False))
    assert masked.found and (masked.page, masked.pages) == (1, 1)
    assert Image.open(io.BytesIO(masked.png)).size[0] > 900
    assert _pixels(masked.png, (0, 0, 0)) > 20 * _pixels(plain.png, (0, 0, 0)) + 500, \
        "the e-mail address is covered in black"
    with pytest.raises(Exception, match="has 1 pages, not a page 3"):
        render_page(path, 3, PASSAGE, RedactionConfig())


def test_originals_are_kept_for_files_and_pruned_with_their_documents(
        fresh_runtime: Runtime, tmp_path: Path) -> None:
    res = fresh_runtime.resources
    first = _pdf(tmp_path / "protocol.pdf", ["Anticoagulation protocol", PASSAGE])
    res.ingestor("medical").ingest([first])
    kb = res.kb("medical")
    (doc,) = kb.documents()
    store = kb.originals
    assert store is not None and store.find(doc.sha256) is not None
    (tmp_path / "v2").mkdir()
    second = _pdf(tmp_path / "v2" / "protocol.pdf", ["Anticoagulation protocol v2", PASSAGE])
    assert res.ingestor("medical").ingest([second]).results[0].outcome == "replaced"
    (new,) = kb.documents()
    assert [p.name for p in store.root.iterdir()] == [new.sha256], \
        "the replaced version's file is gone"
    store.path(new.sha256).unlink()  # as if indexed before originals were kept
    assert res.ingestor("medical").ingest([second]).results[0].outcome == "duplicate"
    assert store.find(new.sha256) is not None, "uploading it again brings it back"
    kb.delete_document(new.id)
    assert list(store.root.iterdir()) == []


def test_a_cited_pdf_passage_opens_on_its_page_for_cleared_readers_only(
        fresh_runtime: Runtime, tmp_path: Path) -> None:
    res = fresh_runtime.resources
    res.ingestor("legal").ingest([_pdf(tmp_path / "falcon.pdf", [
        "Project Falcon", "The break fee under the merger agreement is 12 million euros."])],
        labels=["restricted"])
    kb = res.kb("legal")
    (chunk_id,) = kb.ready_chunk_ids()
    partner = Principal("partner", (Grant("legal", "viewer", frozenset({"restricted"})),))
    seen = open_source(fresh_runtime, "legal", chunk_id, partner)
    assert seen.doc_name == "falcon.pdf" and "admins only" in seen.note
    assert seen.page is None and seen.original is None, \
        "legal masks personal data: a viewer reads the masked passage, not the page image"
    assert [cited for _, cited in seen.context] == [True]
    admin = Principal("boss", (Grant("legal", "admin", frozenset({"restricted"})),))
    shown = open_source(fresh_runtime, "legal", chunk_id, admin)
    assert shown.original is not None and shown.page is not None and shown.page.found
    trainee = Principal("trainee", (Grant("legal", "viewer"),))
    with pytest.raises(AuthError) as refused:
        open_source(fresh_runtime, "legal", chunk_id, trainee)
    assert "falcon" not in str(refused.value)


def test_other_formats_show_the_passage_between_its_neighbours(fresh_runtime: Runtime,
                                                               tmp_path: Path) -> None:
    doc = tmp_path / "rules.md"
    doc.write_text("# Rules\n\n## Deposit\n\nThe deposit is 425 euros.\n\n## Refund\n\n"
                   "Refunds are paid within 12 days.\n\n## Noise\n\nMusic stops at 23:00.\n")
    res = fresh_runtime.resources
    res.ingestor("legal").ingest([doc])
    kb = res.kb("legal")
    refund = next(c for c in kb.repo.ready_chunk_sources() if "12 days" in c.text)
    seen = open_source(fresh_runtime, "legal", refund.chunk_id)
    assert seen.page is None and [cited for _, cited in seen.context].count(True) == 1
    assert any("12 days" in text for text, cited in seen.context if cited)
    assert "not kept" not in seen.note, "a Markdown file's original is kept too"
