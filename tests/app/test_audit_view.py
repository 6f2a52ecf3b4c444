"""Every action verirag audits reads as a sentence, from rows the real services wrote."""

from __future__ import annotations

from app import kb_admin
from app.audit_view import ACTIONS, describe
from app.auth.principal import Principal
from app.conversations import delete_conversation, rename_conversation
from app.services import Runtime
from knowledge.ingest import TextDoc


def test_rows_the_services_write_read_as_sentences(fresh_runtime: Runtime, tmp_path) -> None:
    rt = fresh_runtime
    rt.users.add("ada", "ada password", actor="setup")
    rt.users.grant("ada", "*", "admin", ["restricted"], actor="setup")
    rt.users.authenticate("ada", "ada password")
    key, _ = rt.keys.create("ada", actor="setup", label="Open WebUI")
    rt.keys.revoke(key, actor="setup")
    doc = tmp_path / "policy.md"
    doc.write_text("# Retention\n\nClient files are kept for seven years after closing.\n")
    report = kb_admin.ingest_paths(rt, "legal", [doc], actor="ada", labels=["restricted"])
    doc_id = report.results[0].doc_id
    assert doc_id is not None
    kb_admin.set_labels(rt, "legal", doc_id, [], actor="ada")
    ada = Principal("ada", rt.users.principal("ada").grants)
    dm = rt.dialog("legal", principal=ada, with_generator=False)
    result = dm.turn(dm.start(), "How long are client files kept after closing?")
    rt.sessions.feedback(result.turn_id, -1, "cite the table", actor="ada")
    rename_conversation(rt.sessions, rt.audit, result.session_id, "Retention", ada)
    delete_conversation(rt.sessions, rt.audit, result.session_id, ada)
    kb_admin.delete_document(rt, "legal", doc_id, actor="ada")
    rt.resources.ingestor("legal").ingest_texts([TextDoc("x.md", "# X\n\nSome text.")])

    entries = rt.audit.search()
    assert {e.action for e in entries} <= set(ACTIONS)
    said = {e.action: describe(e) for e in entries}
    assert said["answer"].startswith("asked “How long are client files kept")
    assert "answered, citing 1 passage(s)" in said["answer"]
    assert said["upload"] == "uploaded policy.md: indexed (labels restricted)"
    assert said["label"] == "relabelled policy.md: restricted → none"
    assert said["feedback"] == "rated turn 1 down: “cite the table”"
    assert said["key_add"].startswith("created API key vr-") and "(Open WebUI)" in said["key_add"]
    assert said["role_grant"] == "made ada admin of *, cleared for restricted"
    assert said["conversation_delete"] == "deleted the conversation “Retention”"
    for entry in entries:
        assert not describe(entry).startswith(f"{entry.action}:"), entry
