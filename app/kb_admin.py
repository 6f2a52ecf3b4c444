"""Changing and searching a pack's knowledge base on someone's behalf: checked and audited.

The CLI and the Documents page both come through here, so an upload, a delete, a relabel or a
re-index is recorded in the audit log the same way whoever starts it, and a search shows a
user only what their clearance allows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.auth.principal import Principal
from app.services import Runtime
from knowledge.ingest import FileResult, IngestReport
from knowledge.retrieval import Filters, RetrievalResult
from knowledge.store import DocumentRow
from verirag.errors import AuthError

OnFile = Callable[[int, int, FileResult], None]


def _audit_upload(rt: Runtime, pack: str, actor: str, report: IngestReport,
                  labels: list[str]) -> None:
    rt.audit.record(actor, "upload", pack, labels=sorted(labels),
                    files=[{"name": r.name, "outcome": r.outcome, "reason": r.reason,
                            "doc_id": r.doc_id} for r in report.results])


def ingest_paths(rt: Runtime, pack: str, paths: list[Path], *, actor: str,
                 tags: list[str] | None = None, labels: list[str] | None = None,
                 on_file: OnFile | None = None) -> IngestReport:
    report = rt.ingestor(pack).ingest(paths, tags=tags or [], labels=labels or [],
                                      on_file=on_file)
    _audit_upload(rt, pack, actor, report, labels or [])
    return report


def ingest_uploads(rt: Runtime, pack: str, files: list[tuple[str, bytes]], *, actor: str,
                   tags: list[str] | None = None, labels: list[str] | None = None,
                   on_file: OnFile | None = None) -> IngestReport:
    report = rt.ingest_uploads(pack, files, tags=tags, labels=labels, on_file=on_file)
    _audit_upload(rt, pack, actor, report, labels or [])
    return report


def visible_documents(rt: Runtime, pack: str, principal: Principal | None
                      ) -> tuple[list[DocumentRow], int]:
    """The documents ``principal`` may see listed, and how many others there are.

    A document's name can itself be confidential ("merger-project-falcon.md"), so editors
    and viewers see only documents whose labels they are cleared for. Pack admins see all:
    they are the ones who fix labels.
    """
    docs = rt.kb(pack).documents()
    if principal is None or principal.role(pack) == "admin":
        return docs, 0
    clearance = principal.clearance(pack)
    shown = [d for d in docs if set(d.labels or ()) <= clearance]
    return shown, len(docs) - len(shown)


def delete_document(rt: Runtime, pack: str, doc_id: int, *, actor: str,
                    principal: Principal | None = None) -> str:
    if principal is not None and doc_id not in {
            d.id for d in visible_documents(rt, pack, principal)[0]}:
        raise AuthError(f"{principal.name} may not delete document {doc_id} in '{pack}': it "
                        "does not exist or carries an access label they are not cleared for")
    name = rt.kb(pack).delete_document(doc_id)
    rt.audit.record(actor, "delete", pack, doc_id=doc_id, name=name)
    return name


def set_labels(rt: Runtime, pack: str, doc_id: int, labels: list[str], *,
               actor: str) -> tuple[str, list[str]]:
    name, before, after = rt.kb(pack).set_labels(doc_id, labels)
    rt.audit.record(actor, "label", pack, doc_id=doc_id, name=name, before=before, after=after)
    return name, after


def rebuild(rt: Runtime, pack: str, *, actor: str,
            progress: Callable[[int, int], None] | None = None) -> int:
    n = rt.kb(pack).rebuild(progress=progress)
    rt.audit.record(actor, "reindex", pack, passages=n)
    return n


def search(rt: Runtime, pack: str, query: str, k: int,
           principal: Principal | None = None) -> RetrievalResult:
    """Top passages for ``query``; a signed-in user only ever sees what they are cleared for."""
    filters = Filters(clearance=principal.clearance(pack)) if principal else Filters()
    return rt.retriever(pack).search(query, k=k, filters=filters)
