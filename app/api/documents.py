"""A pack's documents over HTTP: list, upload, delete, relabel, search.

The same service functions as the Documents page and the CLI (``app.kb_admin``): the same
rejection rules and one-line reasons, the same audit rows, the same clearance rules (a
document a caller is not cleared for is neither listed, found, replaced, deleted nor
relabelled). Uploads and re-indexing block on embedding, so they run on a worker thread.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app import kb_admin
from app.api.deps import Caller, State, known_pack
from app.api.errors import ApiError
from app.api.schemas import LabelsBody
from knowledge.store import DocumentRow

router = APIRouter(prefix="/v1/packs/{pack}")


def _document(d: DocumentRow) -> dict[str, object]:
    return {"id": d.id, "name": d.name, "status": d.status, "chunks": d.chunk_count,
            "size": d.size, "tags": list(d.tags or []), "labels": list(d.labels or []),
            "uploaded_at": d.uploaded_at.isoformat(), "error": d.error}


@router.get("/documents")
def list_documents(pack: str, state: State, who: Caller) -> dict[str, object]:
    known_pack(state, pack, who)
    shown, hidden = kb_admin.visible_documents(state.rt, pack, who)
    return {"object": "list", "data": [_document(d) for d in shown], "not_shown": hidden}


@router.post("/documents")
async def upload_documents(
        pack: str, state: State, who: Caller,
        files: Annotated[list[UploadFile], File(description="One or more files to index.")],
        labels: Annotated[list[str] | None, Form(description="Access labels.")] = None,
        tags: Annotated[list[str] | None, Form(description="Tags.")] = None) -> JSONResponse:
    known_pack(state, pack, who, "upload")
    if not files:
        raise ApiError(400, "no file in the upload; send them as multipart field 'files'",
                       "no_files")
    data = [(f.filename or f"upload-{i}", await f.read()) for i, f in enumerate(files)]
    report = await run_in_threadpool(
        kb_admin.ingest_uploads, state.rt, pack, data, actor=who.name, tags=tags or [],
        labels=labels or [], principal=who)
    indexed = report.count("indexed") + report.count("replaced") + report.count("duplicate")
    results = [{"name": r.name, "outcome": r.outcome, "reason": r.reason, "chunks": r.chunks,
                "doc_id": r.doc_id} for r in report.results]
    content: dict[str, object] = {"summary": report.summary, "files": results}
    if indexed:
        return JSONResponse(content, status_code=201)
    first = next((r for r in report.results if r.reason), None)
    content["error"] = {"message": f"nothing was indexed: {first.name}: {first.reason}"
                        if first else "nothing was indexed", "type": "invalid_request_error",
                        "code": "document_rejected", "param": None}
    return JSONResponse(content, status_code=422)


@router.delete("/documents/{doc_id}")
def delete_document(pack: str, doc_id: int, state: State, who: Caller) -> dict[str, object]:
    known_pack(state, pack, who, "delete")
    name = kb_admin.delete_document(state.rt, pack, doc_id, actor=who.name, principal=who)
    return {"id": doc_id, "name": name, "deleted": True}


@router.put("/documents/{doc_id}/labels")
def set_labels(pack: str, doc_id: int, labels: LabelsBody, state: State,
               who: Caller) -> dict[str, object]:
    known_pack(state, pack, who, "label")
    name, now = kb_admin.set_labels(state.rt, pack, doc_id, labels.labels, actor=who.name,
                                    principal=who)
    return {"id": doc_id, "name": name, "labels": now}


@router.get("/search")
def search(pack: str, state: State, who: Caller,
           q: Annotated[str, Query(min_length=1, max_length=4000)],
           k: Annotated[int, Query(ge=1, le=50)] = 5) -> dict[str, object]:
    known_pack(state, pack, who)
    found = kb_admin.search(state.rt, pack, q, k, who)
    return {"object": "list", "query": q, "data": [
        {"rank": i, "document": p.doc_name, "doc_id": p.doc_id, "chunk_id": p.chunk_id,
         "location": p.location, "passage": p.text, "score": round(p.score, 4)}
        for i, p in enumerate(found.passages, 1)]}
