"""Documents over HTTP: the same rules as the Documents page, effective while the server runs."""

from __future__ import annotations

import httpx

from tests.api.conftest import Api

NOTICE = (b"# Services agreement\n\nThe notice period for terminating the services agreement "
          b"is 45 days.\n")
SECRET = (b"# Project Falcon\n\nThe break fee payable under the Project Falcon merger agreement "
          b"is 12 million euros.\n")
NOTICE_Q = "What is the notice period for terminating the services agreement?"
SECRET_Q = "What is the break fee under the Project Falcon merger agreement?"


def _ask(c: httpx.Client, question: str) -> dict:
    response = c.post("/v1/chat/completions", json={
        "model": "legal", "messages": [{"role": "user", "content": question}]})
    assert response.status_code == 200, response.text
    body = response.json()
    return {"text": body["choices"][0]["message"]["content"], **body["verirag"]}


def _upload(c: httpx.Client, name: str, data: bytes, labels: list[str] | None = None
            ) -> httpx.Response:
    return c.post("/v1/packs/legal/documents", files=[("files", (name, data))],
                  data={"labels": labels or []})


def test_an_upload_answers_at_once_and_a_delete_takes_it_back(fresh_api: Api) -> None:
    editor = fresh_api.client(fresh_api.key("ed", "legal", "editor"))
    reader = fresh_api.client(fresh_api.key("vi", "legal", "viewer"))
    added = _upload(editor, "services.md", NOTICE)
    assert added.status_code == 201, added.text
    (file,) = added.json()["files"]
    assert file["outcome"] == "indexed" and file["doc_id"]
    first = _ask(reader, NOTICE_Q)
    assert first["decision"] == "answer" and "45 days" in first["text"]
    assert [s["document"] for s in first["sources"]] == ["services.md"]
    assert _ask(reader, NOTICE_Q)["cached"]
    found = reader.get("/v1/packs/legal/search", params={"q": "notice period", "k": 3}).json()
    assert found["data"][0]["document"] == "services.md"
    listed = reader.get("/v1/packs/legal/documents").json()
    assert [d["name"] for d in listed["data"]] == ["services.md"]
    assert reader.delete(f"/v1/packs/legal/documents/{file['doc_id']}").status_code == 403
    gone = editor.delete(f"/v1/packs/legal/documents/{file['doc_id']}")
    assert gone.json() == {"id": file["doc_id"], "name": "services.md", "deleted": True}
    after = _ask(reader, NOTICE_Q)
    assert not after["cached"] and after["decision"] == "refuse", \
        "a document change invalidates the cached answer"
    actions = [(e.actor, e.action) for e in fresh_api.rt.audit.search(pack="legal")]
    assert ("ed", "upload") in actions and ("ed", "delete") in actions


def test_a_restricted_document_reaches_only_callers_cleared_for_it(fresh_api: Api) -> None:
    admin = fresh_api.client(fresh_api.key("boss", "legal", "admin"))
    cleared = fresh_api.client(fresh_api.key("partner", "legal", "viewer", ("restricted",)))
    other = fresh_api.client(fresh_api.key("trainee", "legal", "editor"))
    doc_id = _upload(admin, "falcon.md", SECRET, ["restricted"]).json()["files"][0]["doc_id"]
    assert "12 million" in _ask(cleared, SECRET_Q)["text"]
    refused = _ask(other, SECRET_Q)
    assert refused["decision"] == "refuse" and not refused["cached"], \
        "the cleared caller's cached answer never reaches someone not cleared"
    assert "12 million" not in refused["text"]
    listed = other.get("/v1/packs/legal/documents").json()
    assert listed["data"] == [] and listed["not_shown"] == 1
    assert other.get("/v1/packs/legal/search", params={"q": "break fee"}).json()["data"] == []
    for attempt in (other.delete(f"/v1/packs/legal/documents/{doc_id}"),
                    other.put(f"/v1/packs/legal/documents/{doc_id}/labels",
                              json={"labels": []})):
        assert attempt.status_code == 403 and "falcon" not in attempt.text
    editor = fresh_api.client(fresh_api.key("senior", "legal", "editor", ("restricted", "hr")))
    lifted = editor.put(f"/v1/packs/legal/documents/{doc_id}/labels", json={"labels": []})
    assert lifted.status_code == 403 and "admin" in lifted.json()["error"]["message"], \
        "an editor cannot make a restricted document readable by everyone"
    more = editor.put(f"/v1/packs/legal/documents/{doc_id}/labels",
                      json={"labels": ["restricted", "hr"]})
    assert more.json()["labels"] == ["hr", "restricted"], "but may restrict it further"
    relabel = admin.put(f"/v1/packs/legal/documents/{doc_id}/labels", json={"labels": []})
    assert relabel.json()["labels"] == []
    assert "12 million" in _ask(other, SECRET_Q)["text"]


def test_a_rejected_upload_says_why_and_changes_nothing(fresh_api: Api) -> None:
    editor = fresh_api.client(fresh_api.key("ed", "legal", "editor"))
    viewer = fresh_api.client(fresh_api.key("vi", "legal", "viewer"))
    revision = fresh_api.rt.resources.kb("legal").revision()
    rejected = _upload(editor, "tool.exe", b"MZ\x90\x00\x03" + bytes(200))
    assert rejected.status_code == 422
    body = rejected.json()
    assert body["files"][0]["outcome"] == "rejected" and body["files"][0]["reason"]
    assert body["error"]["message"].startswith("nothing was indexed: tool.exe: ")
    assert _upload(viewer, "services.md", NOTICE).status_code == 403
    no_files = editor.post("/v1/packs/legal/documents", data={"labels": ["x"]})
    assert no_files.status_code == 400 and "files" in no_files.json()["error"]["message"]
    assert editor.get("/v1/packs/legal/documents").json()["data"] == []
    assert fresh_api.rt.resources.kb("legal").revision() == revision
