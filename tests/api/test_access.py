"""Keys and roles at the API, and bad input: a 4xx with a JSON error, nothing leaked or changed."""

from __future__ import annotations

import socket
from datetime import timedelta
from urllib.parse import urlparse

import httpx
import pytest
from openai import AuthenticationError, NotFoundError, OpenAI, PermissionDeniedError

from app.api.deps import ApiOptions
from app.api.server import Background, create_app
from tests.api.conftest import Api, wait_ready
from tests.conftest import Cli

QUESTION = {"model": "legal", "messages": [
    {"role": "user", "content": "Which law governs the mutual NDA?"}]}


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()["error"]["message"]


def test_no_key_a_bad_key_and_a_revoked_key_get_401(api: Api) -> None:
    with api.client(None) as c:
        assert "no API key" in _error(c.post("/v1/chat/completions", json=QUESTION), 401)
    with api.client("vr-00000000-" + "x" * 43) as c:
        assert "not valid" in _error(c.get("/v1/models"), 401)
    key = api.key("api-leaver", "legal", "viewer")
    with api.client(key) as c:
        assert c.get("/v1/models").status_code == 200
        api.rt.keys.revoke(key.split("-")[1], actor="test")
        message = _error(c.post("/v1/chat/completions", json=QUESTION), 401)
    assert "revoked" in message
    with pytest.raises(AuthenticationError):
        OpenAI(base_url=f"{api.url}/v1", api_key=key, max_retries=0).models.list()


def test_an_expired_key_and_a_disabled_role_stop_working(api: Api) -> None:
    api.key("api-temp", "legal", "viewer")
    key, _ = api.rt.keys.create("api-temp", actor="test", expires_in=timedelta(seconds=-1))
    with api.client(key) as c:
        assert "expired" in _error(c.get("/v1/models"), 401)
    key = api.key("api-moved", "legal", "viewer")
    api.rt.users.revoke("api-moved", "legal", actor="test")
    with api.client(key) as c:
        assert c.get("/v1/models").json()["data"] == []
        assert "viewer role" in _error(c.post("/v1/chat/completions", json=QUESTION), 403)


def test_a_pack_without_a_role_is_403_and_an_unknown_one_404(api: Api) -> None:
    client = OpenAI(base_url=f"{api.url}/v1", api_key=api.key("api-lawyer", "legal", "viewer"),
                    max_retries=0)
    with pytest.raises(PermissionDeniedError):
        client.chat.completions.create(model="medical",
                                       messages=[{"role": "user", "content": "dose?"}])
    with pytest.raises(NotFoundError, match="GET /v1/models"):
        client.chat.completions.create(model="astrology",
                                       messages=[{"role": "user", "content": "hi"}])
    with api.client(api.key("api-lawyer", "legal", "viewer")) as c:
        message = _error(c.get("/v1/packs/medical/documents"), 403)
        assert "anticoagulation" not in message
        assert _error(c.get("/v1/models/medical"), 404) == \
            _error(c.get("/v1/models/astrology"), 404).replace("astrology", "medical"), \
            "an existing pack without a role reads exactly like one that does not exist"


@pytest.mark.parametrize(("body", "status", "says"), [
    (b"{not json", 400, "not valid JSON"),
    (b'{"model": "legal", "messages": []}', 400, "messages"),
    (b'{"model": "legal", "messages": [{"role": "assistant", "content": "hi"}]}', 400,
     "last message must be the user"),
    (b'{"model": "legal", "messages": [{"role": "user", "content": "   "}]}', 400,
     "question is empty"),
    (b'{"model": "legal", "n": 3, "messages": [{"role": "user", "content": "hi"}]}', 400,
     "n=1"),
])
def test_malformed_requests_get_400_saying_what_to_fix(api: Api, body: bytes, status: int,
                                                       says: str) -> None:
    with api.client(api.key("api-reader", "legal", "viewer")) as c:
        before = len(api.rt.audit.search(action="answer"))
        response = c.post("/v1/chat/completions", content=body,
                          headers={"Content-Type": "application/json"})
        assert says in _error(response, status)
        assert len(api.rt.audit.search(action="answer")) == before, "nothing was answered"


def test_oversized_text_and_wrong_content_type(api: Api) -> None:
    with api.client(api.key("api-reader", "legal", "viewer")) as c:
        megabyte = {"model": "legal", "messages": [{"role": "user", "content": "a" * 1_000_000}]}
        assert "limit is" in _error(c.post("/v1/chat/completions", json=megabyte), 400)
        two = {"model": "legal", "messages": [{"role": "user", "content": "a" * 2_000_000}]}
        assert "over 1024 KB" in _error(c.post("/v1/chat/completions", json=two), 413)
        plain = c.post("/v1/chat/completions", content=b"What is the notice period?",
                       headers={"Content-Type": "text/plain"})
        assert plain.status_code == 400 and plain.json()["error"]["message"]
        assert _error(c.get("/v1/nothing-here"), 404)


def test_a_200_mb_upload_is_refused_before_it_is_read(api: Api) -> None:
    """The declared length is enough: the server answers 413 without reading the body."""
    key = api.key("api-editor", "legal", "editor")
    address = urlparse(api.url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(b"POST /v1/packs/legal/documents HTTP/1.1\r\nHost: localhost\r\n"
                     b"Authorization: Bearer " + key.encode() + b"\r\n"
                     b"Content-Type: multipart/form-data; boundary=x\r\n"
                     b"Content-Length: 209715200\r\n\r\n")
        received = b""
        while b"}}" not in received and (part := sock.recv(65536)):
            received += part
    reply = received.decode()
    assert reply.startswith("HTTP/1.1 413") and "50 MB in all" in reply


def test_keys_are_shown_once_stored_hashed_listed_and_revoked(cli: Cli) -> None:
    assert cli("users", "add", "dana", "--password-stdin", input="password123\n").exit_code == 0
    made = cli("users", "key", "add", "dana", "--expires", "30d", "--label", "Open WebUI")
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    assert key.startswith("vr-")
    rt = cli.factory()
    assert rt.keys.principal(key).name == "dana"
    listed = cli("users", "key", "list", "dana").output
    assert "Open WebUI" in listed and "active" in listed and key not in listed
    with rt.engine.connect() as conn:
        stored = str(conn.exec_driver_sql("select * from api_keys").fetchall())
    assert key.split("-", 2)[2] not in stored, "only a hash of the key is stored"
    assert cli("users", "key", "revoke", key.split("-")[1]).exit_code == 0
    assert "revoked" in cli("users", "key", "list").output
    assert "no user 'nobody'" in str(cli("users", "key", "add", "nobody").exception)
    assert "90d" in str(cli("users", "key", "add", "dana", "--expires", "soon").exception)
    actions = [e.action for e in rt.audit.search(actor=None)]
    assert actions.count("key_add") == 1 and "key_revoke" in actions


def test_an_upload_sent_as_json_is_told_to_use_multipart(api: Api) -> None:
    with api.client(api.key("api-editor", "legal", "editor")) as c:
        response = c.post("/v1/packs/legal/documents", json={"files": ["contract.pdf"]})
    assert "files" in _error(response, 400)


def test_an_answer_over_the_time_limit_gets_504(api: Api) -> None:
    key = api.key("api-reader", "legal", "viewer")
    with Background(create_app(api.rt, ApiOptions(workers=1, answer_timeout_s=0.001))) as url:
        wait_ready(url)
        response = httpx.post(f"{url}/v1/chat/completions", json=QUESTION, timeout=60,
                              headers={"Authorization": f"Bearer {key}"})
    assert "took longer" in _error(response, 504)


def test_a_streamed_request_is_refused_before_the_stream_starts(api: Api) -> None:
    """Errors a client can fix come as a status, not inside a 200 event stream."""
    other = api.client(api.key("api-other", "legal", "viewer"))
    first = other.post("/v1/chat/completions", json=QUESTION).json()["verirag"]["session_id"]
    with api.client(api.key("api-reader", "legal", "viewer")) as c:
        theirs = {**QUESTION, "stream": True, "session_id": first}
        assert "of yours" in _error(c.post("/v1/chat/completions", json=theirs), 404)
        adapter = {**QUESTION, "stream": True, "adapter": "v1"}
        assert "adapters" in _error(c.post("/v1/chat/completions", json=adapter), 403)
        escape = {**QUESTION, "adapter": "../../medical/v1"}
        assert _error(c.post("/v1/chat/completions", json=escape), 400)
        bad = {"model": "legal", "stream": True,
               "messages": [{"role": "assistant", "content": "hi"}]}
        assert "last message" in _error(c.post("/v1/chat/completions", json=bad), 400)
    other.close()
