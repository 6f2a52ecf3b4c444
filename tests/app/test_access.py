"""Access control: who may do what, and that a restricted passage never reaches the wrong user.

Real database, real argon2 hashes, real retrieval on the legal pack (extractive: no generator).
"""

from __future__ import annotations

import io
import json

import pytest
from typer.testing import CliRunner

from app.audit import write_entries
from app.auth.principal import Grant, Principal
from app.auth.records import UserRow
from app.cli.main import app
from app.dialog.sessions import SessionNotFound
from app.services import Runtime
from knowledge.ingest import TextDoc
from knowledge.retrieval import Filters
from verirag.errors import AuthError, LoginThrottled, VeriragError

PUBLIC = TextDoc("engagement-terms.md", "# Engagement terms\n\nInvoices are payable within "
                 "30 days of the invoice date. Late payment accrues interest at 2% per month.")
SECRET = TextDoc("merger-project-falcon.md", "# Project Falcon\n\nThe firm advises Orion "
                 "Holdings on the acquisition of Falcon Logistics. The agreed purchase price is "
                 "EUR 412 million, payable at completion on 30 June.")
QUESTION = "What is the agreed purchase price for Falcon Logistics?"


@pytest.fixture
def legal(fresh_runtime: Runtime) -> Runtime:
    """The legal pack with one public and one restricted document."""
    ingestor = fresh_runtime.ingestor("legal")
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
    secret_ids = legal.retriever("legal").allowed_ids(
        Filters(doc_names=frozenset({SECRET.name})))
    assert secret_ids
    answers = {e.actor: e.detail for e in legal.audit.search(action="answer")}
    assert secret_ids & set(answers["partner"]["retrieved_chunk_ids"])
    assert not secret_ids & set(answers["trainee"]["retrieved_chunk_ids"])


def test_relabelling_takes_effect_on_the_next_search(legal: Runtime) -> None:
    _, trainee = _people(legal)
    kb = legal.kb("legal")
    doc = next(d for d in kb.documents() if d.name == "merger-project-falcon.md")
    kb.set_labels(doc.id, [])
    manager = legal.dialog("legal", principal=trainee)
    assert manager.turn(manager.start(), QUESTION).answer.decision == "answer"


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
    assert actions == [("ana", "login"), ("ana", "login_failed"), ("nobody", "login_failed")]


def test_repeated_failures_throttle_even_the_right_password(fresh_runtime: Runtime) -> None:
    settings = fresh_runtime.settings.model_copy(update={"login_max_failures": 3})
    rt = Runtime(settings, fresh_runtime.models)
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
    monkeypatch.setenv("VERIRAG_HOME", str(legal.settings.home))
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> str:
        result = runner.invoke(app, list(args), input=stdin, catch_exceptions=False)
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
    secret = next(d for d in legal.kb("legal").documents() if d.name == SECRET.name)
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
    retriever = legal.retriever("legal")
    uncleared = Filters(clearance=frozenset())
    cleared = Filters(clearance=frozenset({"restricted"}))
    assert retriever.unknown_terms(["Orion Holdings"], cleared) == []
    assert retriever.unknown_terms(["Orion Holdings"], uncleared) == ["Orion Holdings"]
    assert retriever.unknown_terms(["Invoices"], uncleared) == []
