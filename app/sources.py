"""A cited source as its reader may see it: the page it comes from, or its place in the text.

A PDF citation opens on the page itself, rendered with the passage highlighted and the
pack's personal-data detectors' finds blacked out (``knowledge.pages``). Other formats show
the passage between the ones before and after it in the document. The original file is
offered for download to readers cleared for the document — but where the pack masks personal
data in what it indexes, only to the pack's admins (the original hands back what the masking
hid); everyone else sees the pages with that data blacked out. Access is checked here, not
in the page: a reader not cleared for the document gets nothing of it, not even its name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.auth.principal import Principal
from app.services import Runtime
from knowledge.pages import PageImage, render_page
from verirag.errors import AuthError

CONTEXT = 1  # passages shown before and after the cited one (non-PDF documents)


@dataclass(frozen=True)
class SourceView:
    doc_name: str
    location: str
    passage: str
    page: PageImage | None = None
    context: tuple[tuple[str, bool], ...] = ()
    """(passage text, is the cited one) around the citation, in document order."""
    original: Path | None = None
    """The original file, when this reader may download it."""
    note: str = ""
    """Why there is no page image or no download, said to the reader."""


def open_source(rt: Runtime, pack: str, chunk_id: int,
                principal: Principal | None = None) -> SourceView:
    """The view of one cited passage for ``principal`` (None: the local CLI, unrestricted)."""
    kb = rt.resources.kb(pack)
    found = kb.repo.ready_passages([chunk_id])
    clearance = None
    if principal is not None:
        principal.require(pack, "chat")
        clearance = principal.clearance(pack)
    if not found or (clearance is not None and not set(found[0][1]) <= clearance):
        raise AuthError(f"passage {chunk_id} of '{pack}' is not in the knowledge base or not "
                        "readable with your clearance")
    passage = found[0][0]
    doc = next(d for d in kb.documents() if d.id == passage.doc_id)
    original = kb.originals.find(doc.sha256) if kb.originals else None
    redaction = kb.pack.redaction
    notes = []
    if original is None:
        notes.append("The original file is not kept (indexed before originals were stored, "
                     "or not a file); upload it again to see its pages.")
    admin = principal is None or principal.role(pack) == "admin"
    if original is not None and redaction.enabled and not admin:
        notes.append("This pack masks personal data: its original files and page images are "
                     "for the pack's admins only; the passage is shown as indexed, masked.")
    page = None
    # A page image shows the original's text; masking on it relies on the PDF's text layer
    # (a scanned page has none), so where the pack masks personal data only its admins, who
    # may download the original anyway, see pages; everyone else reads the masked passage.
    pictured = admin or not redaction.enabled
    if original is not None and doc.mime == "application/pdf" and passage.page and pictured:
        page = render_page(original, passage.page, passage.text, redaction)
        if not page.found:
            notes.append("The passage could not be located on the page (scanned or "
                         "reflowed text); the whole page is shown.")
    chunks = kb.repo.document_chunks([doc.id]).get(doc.id, [])
    at = next((i for i, c in enumerate(chunks) if c.chunk_id == chunk_id), None)
    context = () if at is None or page is not None else tuple(
        (c.text, c.chunk_id == chunk_id) for c in chunks[max(0, at - CONTEXT):at + CONTEXT + 1])
    return SourceView(doc.name, passage.location, passage.text, page, context,
                      original if original is not None and (admin or not redaction.enabled)
                      else None, " ".join(notes))
