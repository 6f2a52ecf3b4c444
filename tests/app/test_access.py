"""Access control: who may do what, and that a restricted passage never reaches the wrong user.

Real database, real argon2 hashes, real retrieval on the legal pack (extractive: no generator).
"""

from __future__ import annotations

import io
import json
import threading

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from app import kb_admin
from app.audit import write_entries
from app.auth.principal import Grant, Principal
from app.auth.records import UserRow
from app.cli.context import CliContext
from app.cli.main import app
from app.conversations import WITHHELD, load_turns
from app.dialog.cache import AnswerCache
from app.dialog.sessions import SessionNotFound
from app.services import Runtime
from knowledge.ingest import TextDoc
from knowledge.retrieval import Filters
from tests.conftest import Cli
from verirag.errors import AuthError, LoginThrottled, SessionRevoked, VeriragError

PUBLIC = TextDoc("engagement-terms.md", "# Engagement terms\n\nInvoices are payable within "
                 "30 days of the invoice date. Late payment accrues interest at 2% per month.")
SECRET = TextDoc("merger-project-falcon.md", "# Project Falcon\n\nThe firm advises Orion "
                 "Holdings on the acquisition of Falcon Logistics. The agreed purchase price is "
                 "EUR 412 million, payable at completion on 30 June.")
QUESTION = "What is the agreed purchase price for Falcon Logistics?"


@pytest.fixture
def legal(fresh_runtime: Runtime) -> Runtime:
    """The legal pack with one public and one restricted document."""
    ingestor = fresh_runtime.resources.ingestor("legal")
    ingestor.ingest_texts([PUBLIC])
    report = ingestor.ingest_texts([SECRET], labels=["Restricted "])
    assert report.count("indexed") == 1
    return fresh_runtime


def _people(rt: Runtime) -> tuple[Principal, Principal]:
    users = rt.users
    for name in ("partner", "trainee"):
        users.add(name, "correct horse battery", actor="test")
    users.grant("partner", "legal", "viewer", ["restricted"], actor="test")
    users.grant("trainee", "legal", "viewer", actor="test")
    return users.principal("partner"), users.principal("trainee")


def test_two_users_same_question_only_the_cleared_one_sees_the_restricted_passage(
        legal: Runtime) -> None:
    partner, trainee = _people(legal)
    cleared = legal.dialog("legal", principal=partner)
    result = cleared.turn(cleared.start(), QUESTION)
    assert result.answer.decision == "answer"
    assert "412" in result.answer.text
    assert [p.doc_name for _, p in result.answer.cited_passages()] == ["merger-project-falcon.md"]

    blocked = legal.dialog("legal", principal=trainee)
    result = blocked.turn(blocked.start(), QUESTION)
    assert result.answer.decision == "refuse"
    assert "412" not in result.answer.text
    assert all(p.doc_name != "merger-project-falcon.md" for p in result.answer.sources)

    # What the audit log says each one was shown: the trainee's retrieval held no secret chunk.
    secret_ids = legal.resources.retriever("legal").allowed_ids(
        Filters(doc_names=frozenset({SECRET.name})))
    assert secret_ids
    answers = {e.actor: e.detail for e in legal.audit.search(action="answer")}
    assert secret_ids & set(answers["partner"]["retrieved_chunk_ids"])
    assert not secret_ids & set(answers["trainee"]["retrieved_chunk_ids"])


def test_relabelling_takes_effect_on_the_next_search(legal: Runtime) -> None:
    _, trainee = _people(legal)
    kb = legal.resources.kb("legal")
    doc = next(d for d in kb.documents() if d.name == "merger-project-falcon.md")
    cache = AnswerCache()
    manager = legal.dialog("legal", principal=trainee, cache=cache)
    assert manager.turn(manager.start(), QUESTION).answer.decision == "refuse"
    revision = kb.revision()
    kb.set_labels(doc.id, [])
    assert kb.revision() > revision, "a relabel moves the revision: cached answers expire"
    again = manager.turn(manager.start(), QUESTION)
    assert again.answer.decision == "answer" and not again.cached


def test_a_user_cannot_resume_another_users_conversation(legal: Runtime) -> None:
    partner, trainee = _people(legal)
    session = legal.dialog("legal", principal=partner).start()
    with pytest.raises(SessionNotFound, match="of yours"):
        legal.dialog("legal", principal=trainee).turn(session, QUESTION)


def test_roles_gate_actions_and_a_role_on_star_covers_every_pack() -> None:
    viewer = Principal("v", (Grant("legal", "viewer"),))
    assert viewer.can("legal", "chat") and not viewer.can("legal", "upload")
    assert not viewer.can("medical", "chat")
    with pytest.raises(AuthError, match="needs the editor role"):
        viewer.require("legal", "delete")
    boss = Principal("b", (Grant("*", "admin"), Grant("legal", "viewer", frozenset({"x"}))))
    assert boss.role("legal") == "admin" and boss.can("finance", "users")
    assert boss.clearance("legal") == {"x"} and boss.clearance("finance") == frozenset()
    assert boss.packs(["finance", "legal"]) == ["finance", "legal"]


def test_chat_needs_a_role_on_the_pack(fresh_runtime: Runtime) -> None:
    outsider = Principal("o", (Grant("medical", "admin"),))
    with pytest.raises(AuthError, match="may not chat in 'legal'"):
        fresh_runtime.dialog("legal", principal=outsider)


def test_passwords_are_salted_argon2_and_logins_are_audited(fresh_runtime: Runtime) -> None:
    users = fresh_runtime.users
    users.add("ana", "same password", actor="test")
    users.add("ben", "same password", actor="test")
    with users.sessions() as s:
        hashes = [u.password_hash for u in s.query(UserRow).order_by(UserRow.name)]
    assert all(h.startswith("$argon2id$") for h in hashes) and hashes[0] != hashes[1]
    assert "same password" not in "".join(hashes)

    assert users.authenticate("ana", "same password").name == "ana"
    for name, password in (("ana", "wrong password"), ("nobody", "same password")):
        with pytest.raises(AuthError, match=r"^wrong user name or password$"):
            users.authenticate(name, password)
    actions = [(e.actor, e.action) for e in fresh_runtime.audit.search()
               if e.action.startswith("login")]
    assert actions[:2] == [("ana", "login"), ("ana", "login_failed")]
    assert actions[2][0].startswith("unknown:") and actions[2][1] == "login_failed"


def test_a_password_typed_into_the_name_field_never_reaches_the_audit_log(
        fresh_runtime: Runtime) -> None:
    users = fresh_runtime.users
    users.add("ana", "right password", actor="test")
    for _ in range(2):
        with pytest.raises(AuthError):
            users.authenticate("right password", "right password")
    log = json.dumps([e.to_json() for e in fresh_runtime.audit.search()])
    assert "right password" not in log
    failed = [e.actor for e in fresh_runtime.audit.search(action="login_failed")]
    assert len(failed) == 2 and failed[0] == failed[1], "the same typed name, one fingerprint"


def test_parallel_wrong_logins_check_no_more_passwords_than_the_limit(
        fresh_runtime: Runtime) -> None:
    users = fresh_runtime.users
    users.add("ana", "right password", actor="test")
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            users.authenticate("ana", "guess guess")
        except LoginThrottled:
            outcomes.append("throttled")
        except AuthError:
            outcomes.append("checked")

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("checked") == users.max_failures == 5
    assert outcomes.count("throttled") == 7


def test_a_password_reset_lifts_the_lockout_as_the_message_says(fresh_runtime: Runtime) -> None:
    users = fresh_runtime.users
    users.add("ana", "right password", actor="test")
    for _ in range(users.max_failures):
        with pytest.raises(AuthError):
            users.authenticate("ana", "guess guess")
    with pytest.raises(LoginThrottled, match="ask an admin to reset the password"):
        users.authenticate("ana", "right password")
    users.set_password("ana", "a new password", actor="admin")
    assert users.authenticate("ana", "a new password").name == "ana"


def test_a_password_change_ends_earlier_sign_ins(fresh_runtime: Runtime) -> None:
    users = fresh_runtime.users
    users.add("ana", "right password", actor="test")
    earlier = users.authenticate("ana", "right password").signed_in_at
    assert users.principal("ana", signed_in_at=earlier).signed_in_at == earlier
    users.set_password("ana", "a new password", actor="ana")
    with pytest.raises(SessionRevoked, match="was changed; sign in again"):
        users.principal("ana", signed_in_at=earlier)
    later = users.authenticate("ana", "a new password").signed_in_at
    assert users.principal("ana", signed_in_at=later).name == "ana"


def test_repeated_failures_throttle_even_the_right_password(fresh_runtime: Runtime) -> None:
    settings = fresh_runtime.resources.settings.model_copy(update={"login_max_failures": 3})
    rt = Runtime(settings, fresh_runtime.resources.models)
    rt.users.add("ana", "right password", actor="test")
    for _ in range(3):
        with pytest.raises(AuthError):
            rt.users.authenticate("ana", "guess guess")
    with pytest.raises(LoginThrottled, match="too many failed logins for 'ana'; try again in"):
        rt.users.authenticate("ana", "right password")


@pytest.mark.parametrize(("name", "password", "message"), [
    ("bad name!", "long enough", "invalid user name"),
    ("ok", "short", "too short"),
])
def test_bad_user_input_is_refused_clearly(fresh_runtime: Runtime, name: str, password: str,
                                           message: str) -> None:
    with pytest.raises(VeriragError, match=message):
        fresh_runtime.users.add(name, password, actor="test")


def test_cli_manages_users_and_exports_the_audit_log(legal: Runtime,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIRAG_HOME", str(legal.resources.settings.home))
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> str:
        result = runner.invoke(app, list(args), input=stdin, catch_exceptions=False,
                               obj=CliContext(lambda: Runtime(resources=legal.resources)))
        assert result.exit_code == 0, result.output
        return result.output

    run("users", "add", "root", "--admin", "--password-stdin", stdin="root password\n")
    run("users", "add", "clerk", "--password-stdin", stdin="clerk password\n")
    run("users", "grant", "clerk", "legal", "editor", "--clearance", "restricted")
    listing = run("users", "list")
    flat = " ".join(listing.split())
    assert "*: admin" in flat and "legal: editor" in flat and "[restricted]" in flat
    run("users", "revoke", "clerk", "legal")
    assert "(none)" in run("users", "list")
    secret = next(d for d in legal.resources.kb("legal").documents() if d.name == SECRET.name)
    assert secret.labels == ["restricted"]
    out = run("kb", "label", "legal", str(secret.id), "restricted", "Partners")
    assert "merger-project-falcon.md: labels partners, restricted" in out

    lines = [json.loads(x) for x in run("audit", "export", "--action", "role_grant").splitlines()]
    assert [(x["detail"]["user"], x["detail"]["role"]) for x in lines] == [
        ("root", "admin"), ("clerk", "editor")]
    assert all(x["actor"].startswith("cli") for x in lines)
    out = run("audit", "export", "--format", "csv", "--since", "2000-01-01")
    assert out.splitlines()[0] == "id,at,actor,action,pack,detail"
    assert any(",role_revoke,legal," in line for line in out.splitlines())
    labelled = json.loads(run("audit", "export", "--action", "label"))["detail"]
    assert (labelled["before"], labelled["after"]) == (["restricted"], ["partners", "restricted"])


def test_audit_export_rejects_an_unknown_format() -> None:
    with pytest.raises(VeriragError, match="unknown audit format 'xml'"):
        write_entries([], "xml", io.StringIO())


def test_whether_a_restricted_document_names_something_does_not_leak(legal: Runtime) -> None:
    """The answerer refuses questions about names no passage contains; that check must not
    look into documents the reader is not cleared for, or a refusal reveals that they do."""
    retriever = legal.resources.retriever("legal")
    uncleared = Filters(clearance=frozenset())
    cleared = Filters(clearance=frozenset({"restricted"}))
    assert retriever.unknown_terms(["Orion Holdings"], cleared) == []
    assert retriever.unknown_terms(["Orion Holdings"], uncleared) == ["Orion Holdings"]
    assert retriever.unknown_terms(["Invoices"], uncleared) == []


def test_an_admin_of_one_pack_reads_only_that_packs_audit_rows(fresh_runtime: Runtime) -> None:
    audit = fresh_runtime.audit
    audit.record("lee", "answer", "legal", question="the Falcon merger terms?")
    audit.record("fay", "upload", "finance", files=[{"name": "q3.pdf"}])
    audit.record("lee", "login")
    packs = fresh_runtime.resources.pack_names()
    finance_admin = Principal("fin", (Grant("finance", "admin"),))
    seen = audit.search_for(finance_admin, packs)
    assert [(e.actor, e.pack) for e in seen] == [("fay", "finance")]
    assert audit.search_for(finance_admin, packs, pack="legal") == []
    assert "Falcon" not in json.dumps([e.to_json() for e in seen])
    root = Principal("root", (Grant("*", "admin"),))
    assert len(audit.search_for(root, packs)) == 3
    with pytest.raises(AuthError, match="may not read the audit log"):
        audit.search_for(Principal("v", (Grant("finance", "editor"),)), packs)


def _editor(rt: Runtime, clearance: tuple[str, ...] = ()) -> Principal:
    rt.users.add("ed", "editor password", actor="test")
    rt.users.grant("ed", "legal", "editor", list(clearance), actor="test")
    return rt.users.principal("ed")


def test_an_uncleared_upload_with_restricted_content_does_not_learn_its_name(
        legal: Runtime) -> None:
    ed = _editor(legal)
    report = kb_admin.ingest_uploads(legal, "legal", [("notes.md", SECRET.text.encode())],
                                     actor=ed.name, principal=ed)
    (result,) = report.results
    assert result.outcome == "duplicate"
    assert "falcon" not in result.reason.lower() and "not cleared" in result.reason
    audit = json.dumps([e.to_json() for e in legal.audit.search(action="upload")])
    assert "falcon" not in audit.lower()


def test_an_uncleared_upload_cannot_replace_a_restricted_document(legal: Runtime) -> None:
    ed = _editor(legal)
    report = kb_admin.ingest_uploads(
        legal, "legal", [(SECRET.name, b"# Project Falcon\n\nNothing to see here.")],
        actor=ed.name, principal=ed)
    (result,) = report.results
    assert result.outcome == "rejected" and "not cleared to see" in result.reason
    (secret,) = [d for d in legal.resources.kb("legal").documents() if d.name == SECRET.name]
    assert secret.labels == ["restricted"] and secret.status == "ready"
    assert "412" in " ".join(p.text for p in legal.resources.retriever("legal").search(
        "Falcon purchase price").passages)


def test_a_cleared_replacement_keeps_the_documents_labels(legal: Runtime) -> None:
    ed = _editor(legal, ("restricted",))
    report = kb_admin.ingest_uploads(
        legal, "legal", [(SECRET.name, b"# Project Falcon\n\nThe price is now EUR 430 million.")],
        actor=ed.name, principal=ed)
    assert report.results[0].outcome == "replaced"
    (secret,) = [d for d in legal.resources.kb("legal").documents() if d.name == SECRET.name]
    assert secret.labels == ["restricted"], "a new version never drops a restriction"
    (row,) = legal.audit.search(action="upload")
    assert row.detail["files"][0]["outcome"] == "replaced" and row.actor == "ed"


def test_a_viewer_cannot_upload_through_the_service(legal: Runtime) -> None:
    _, trainee = _people(legal)
    with pytest.raises(AuthError, match="may not upload"):
        kb_admin.ingest_uploads(legal, "legal", [("x.md", b"# X\n\nText.")],
                                actor=trainee.name, principal=trainee)


def test_a_relabelled_document_is_withheld_from_a_resumed_conversation(
        legal: Runtime) -> None:
    partner, trainee = _people(legal)
    dm = legal.dialog("legal", principal=partner)
    sid = dm.start()
    assert "412" in dm.turn(sid, QUESTION).answer.text
    pack = legal.resources.pack("legal")
    (before,) = load_turns(legal.sessions, legal.engine, sid, pack, partner)
    assert "412" in before.citations[0].text

    secret = next(d for d in legal.resources.kb("legal").documents() if d.name == SECRET.name)
    kb_admin.set_labels(legal, "legal", secret.id, ["restricted", "board"], actor="admin")
    partner = legal.users.principal("partner")
    (after,) = load_turns(legal.sessions, legal.engine, sid, pack, partner)
    assert after.citations[0].text == WITHHELD and "412" not in after.citations[0].text
    assert "412" not in after.answer and "withheld" in after.answer
    with pytest.raises(AuthError, match="not trainee's"):
        load_turns(legal.sessions, legal.engine, sid, pack, trainee)


def test_an_audit_row_edited_or_deleted_outside_verirag_is_found(
        fresh_runtime: Runtime) -> None:
    cli = Cli(lambda: Runtime(resources=fresh_runtime.resources))
    audit = fresh_runtime.audit
    for n in range(4):
        audit.record("ana", "upload", "legal", files=[{"name": f"f{n}.md"}])
    assert audit.verify().intact and audit.verify().rows == 4
    ok = cli("audit", "verify")
    assert ok.exit_code == 0 and "audit log intact: 4 rows" in ok.output

    with fresh_runtime.engine.begin() as conn:  # what someone with sqlite3 could do
        conn.execute(text("UPDATE audit_log SET actor = 'bob' WHERE id = 2"))
    verdict = audit.verify()
    assert verdict.broken_at == 2 and "content was changed" in verdict.reason
    bad = cli("audit", "verify")
    assert bad.exit_code == 1 and "broken at row 2" in bad.output

    with fresh_runtime.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'ana' WHERE id = 2"))
        conn.execute(text("DELETE FROM audit_log WHERE id = 3"))
    verdict = audit.verify()
    assert verdict.broken_at == 4 and "previous row is broken" in verdict.reason
