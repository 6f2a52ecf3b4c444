"""Changing and searching a pack's knowledge base on someone's behalf: checked and audited.

The CLI and the Documents page both come through here, so an upload, a delete, a relabel or a
re-index is recorded in the audit log the same way whoever starts it, and a search shows a
user only what their clearance allows.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from app.auth.principal import Principal
from app.services import Runtime
from knowledge.ingest import FileResult, IngestReport
from knowledge.kb import normalize_labels
from knowledge.retrieval import Filters, RetrievalResult
from knowledge.store import DocumentRow
from verirag.errors import AuthError

OnFile = Callable[[int, int, FileResult], None]


def _audited(rt: Runtime, pack: str, actor: str, labels: list[str],
             on_file: OnFile | None) -> OnFile:
    """``on_file`` that first writes the file's upload row, as soon as the file is done.

    Row by row rather than one row after the batch: an ingest killed half-way has indexed
    documents, and each of them must already be in the log.
    """

    def record(i: int, n: int, r: FileResult) -> None:
        rt.audit.record(actor, "upload", pack, labels=sorted(labels),
                        files=[{"name": r.name, "outcome": r.outcome, "reason": r.reason,
                                "doc_id": r.doc_id}])
        if on_file:
            on_file(i, n, r)

    return record


def ingest_paths(rt: Runtime, pack: str, paths: list[Path], *, actor: str,
                 tags: list[str] | None = None, labels: list[str] | None = None,
                 on_file: OnFile | None = None) -> IngestReport:
    return rt.resources.ingestor(pack).ingest(
        paths, tags=tags or [], labels=labels or [],
        on_file=_audited(rt, pack, actor, labels or [], on_file))


def _clearance(pack: str, principal: Principal | None) -> frozenset[str] | None:
    """What an uploader may see of the existing documents (None: everything)."""
    if principal is None:
        return None
    principal.require(pack, "upload")
    return None if principal.role(pack) == "admin" else principal.clearance(pack)


def ingest_uploads(rt: Runtime, pack: str, files: list[tuple[str, bytes]], *, actor: str,
                   tags: list[str] | None = None, labels: list[str] | None = None,
                   on_file: OnFile | None = None,
                   principal: Principal | None = None) -> IngestReport:
    """Index uploaded bytes under their original names (the web app's upload).

    Browsers hand over bytes, the ingestor reads files: each upload is written to a private
    temp folder under a safe name and indexed under the name the user chose, so citations
    name the user's file, never a temp path. The temp copies are removed afterwards. With a
    ``principal`` the upload neither names nor replaces a document they are not cleared for.
    """
    clearance = _clearance(pack, principal)
    with tempfile.TemporaryDirectory(prefix="verirag-upload-") as tmp:
        names: dict[Path, str] = {}
        for i, (filename, data) in enumerate(files):
            display = Path(filename.replace("\\", "/")).name or f"upload-{i}"
            path = Path(tmp) / f"{i:04d}{Path(display).suffix[:16]}"
            path.write_bytes(data)
            names[path] = display
        return rt.resources.ingestor(pack).ingest(
            list(names), tags=tags or [], labels=labels or [], names=names,
            on_file=_audited(rt, pack, actor, labels or [], on_file), clearance=clearance)


def visible_documents(rt: Runtime, pack: str, principal: Principal | None
                      ) -> tuple[list[DocumentRow], int]:
    """The documents ``principal`` may see listed, and how many others there are.

    A document's name can itself be confidential ("merger-project-falcon.md"), so editors
    and viewers see only documents whose labels they are cleared for. Pack admins see all:
    they are the ones who fix labels.
    """
    docs = rt.resources.kb(pack).documents()
    if principal is None or principal.role(pack) == "admin":
        return docs, 0
    clearance = principal.clearance(pack)
    shown = [d for d in docs if set(d.labels or ()) <= clearance]
    return shown, len(docs) - len(shown)


def _require_visible(rt: Runtime, pack: str, doc_id: int, action: str,
                     principal: Principal) -> DocumentRow:
    """The role for ``action``, and a document the principal may see (returned): an editor
    cannot delete or relabel what they are not cleared to know exists."""
    principal.require(pack, action)
    doc = next((d for d in visible_documents(rt, pack, principal)[0] if d.id == doc_id), None)
    if doc is None:
        raise AuthError(f"{principal.name} may not {action} document {doc_id} in '{pack}': it "
                        "does not exist or carries an access label they are not cleared for")
    return doc


def delete_document(rt: Runtime, pack: str, doc_id: int, *, actor: str,
                    principal: Principal | None = None) -> str:
    if principal is not None:
        _require_visible(rt, pack, doc_id, "delete", principal)
    name = rt.resources.kb(pack).delete_document(doc_id)
    rt.audit.record(actor, "delete", pack, doc_id=doc_id, name=name)
    return name


def _require_only_added(principal: Principal, pack: str, doc: DocumentRow,
                        labels: list[str]) -> None:
    wanted = set(normalize_labels(labels))
    dropped = set(doc.labels or ()) - wanted
    if dropped:
        raise AuthError(f"{principal.name} may not remove the label(s) "
                        f"{', '.join(sorted(dropped))}: ask an admin of '{pack}' to lift "
                        "a document's restriction")
    if not wanted <= principal.clearance(pack):
        unheld = ", ".join(sorted(wanted - principal.clearance(pack)))
        raise AuthError(f"{principal.name} may only add labels they are cleared for, not "
                        f"{unheld}")


def set_labels(rt: Runtime, pack: str, doc_id: int, labels: list[str], *,
               actor: str, principal: Principal | None = None) -> tuple[str, list[str]]:
    """Replace a document's access labels. An editor may restrict a document further, with
    labels they are cleared for, but only the pack's admins may lift a restriction: an
    editor who can read an HR file must not be able to make it readable by everyone."""
    if principal is not None:
        current = _require_visible(rt, pack, doc_id, "label", principal)
        if principal.role(pack) != "admin":
            _require_only_added(principal, pack, current, labels)
    name, before, after = rt.resources.kb(pack).set_labels(doc_id, labels)
    rt.audit.record(actor, "label", pack, doc_id=doc_id, name=name, before=before, after=after)
    return name, after


def rebuild(rt: Runtime, pack: str, *, actor: str,
            progress: Callable[[int, int], None] | None = None) -> int:
    n = rt.resources.kb(pack).rebuild(progress=progress)
    rt.audit.record(actor, "reindex", pack, passages=n)
    return n


def search(rt: Runtime, pack: str, query: str, k: int,
           principal: Principal | None = None) -> RetrievalResult:
    """Top passages for ``query``; a signed-in user only ever sees what they are cleared for."""
    if principal is not None:
        principal.require(pack, "chat")
    filters = Filters(clearance=principal.clearance(pack)) if principal else Filters()
    return rt.resources.retriever(pack).search(query, k=k, filters=filters)
