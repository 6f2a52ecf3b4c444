"""The OpenAI-compatible backend against a stand-in server, and the registry choosing it.

A real vLLM cannot run here, so each test starts a tiny OpenAI-protocol server on 127.0.0.1
that streams a canned completion and records what it was sent: the client is under test.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from app.models import ModelRegistry
from app.models.generator import GenerationParams
from app.models.openai_compat import OpenAIGenerator
from app.services import Runtime
from verirag.errors import ConfigError, GenerationError
from verirag.settings import load_settings

MESSAGES = [{"role": "system", "content": "Answer from the passages."},
            {"role": "user", "content": "What is the target INR?"}]
PIECES = ["The target", " INR is", " 2.0-3.0 [1]."]
PARAMS = GenerationParams(max_new_tokens=64, temperature=0.7, top_p=0.9, repetition_penalty=1.2)


def chunk(content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    delta = {"content": content} if content is not None else {}
    return {"id": "c1", "object": "chat.completion.chunk", "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def sse(*events: dict[str, Any] | str) -> bytes:
    lines = [f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events]
    return "".join(lines).encode()


def completion(usage: int | None = None) -> bytes:
    events: list[dict[str, Any] | str] = [chunk(p) for p in PIECES]
    events.append(chunk(finish="stop"))
    if usage is not None:
        events.append({"id": "c1", "choices": [], "usage": {"prompt_tokens": 30,
                       "completion_tokens": usage, "total_tokens": 30 + usage}})
    events.append("[DONE]")
    return sse(*events)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/event-stream"


@dataclass
class FakeServer:
    """Records each request; answers with ``reply`` (or ``handler`` for odd behaviours)."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    reply: Reply = field(default_factory=lambda: Reply(body=completion(usage=7)))
    models: list[dict[str, Any]] = field(default_factory=list)
    handler: Callable[[BaseHTTPRequestHandler], None] | None = None
    release: threading.Event = field(default_factory=threading.Event)

    def last_body(self) -> dict[str, Any]:
        return self.requests[-1]["json"]


def _handler_class(state: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            state.requests.append({"method": self.command, "path": self.path,
                                   "headers": dict(self.headers),
                                   "json": json.loads(raw) if raw else None})

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.end_headers()
            self.wfile.write(reply.body)

        def do_GET(self) -> None:
            self._record()
            self._send(Reply(body=json.dumps({"object": "list", "data": state.models}).encode(),
                             content_type="application/json"))

        def do_POST(self) -> None:
            self._record()
            if state.handler is not None:
                state.handler(self)
            else:
                self._send(state.reply)

    return Handler


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeServer]:
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    state = FakeServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(state))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def client(server: FakeServer, **kwargs: Any) -> OpenAIGenerator:
    return OpenAIGenerator(server.url, kwargs.pop("model", "base-model"), timeout=5, **kwargs)


def test_streams_pieces_with_usage_and_timings(server: FakeServer) -> None:
    stream = client(server).stream(MESSAGES, PARAMS)
    assert list(stream) == PIECES
    assert stream.n_tokens == 7, "the server's usage.completion_tokens is the token count"
    assert stream.first_token_s is not None and stream.total_s is not None
    assert 0 <= stream.first_token_s <= stream.total_s
    assert stream.tokens_per_s is None or stream.tokens_per_s > 0


def test_counts_chunks_when_the_server_sends_no_usage(server: FakeServer) -> None:
    server.reply = Reply(body=completion(usage=None))
    stream = client(server).stream(MESSAGES, PARAMS)
    assert "".join(stream) == "".join(PIECES)
    assert stream.n_tokens == len(PIECES)


def test_request_maps_params_and_asks_for_a_stream(server: FakeServer) -> None:
    list(client(server, api_key="sk-test").stream(MESSAGES, PARAMS))
    req = server.requests[-1]
    assert (req["method"], req["path"]) == ("POST", "/v1/chat/completions")
    assert req["headers"]["Authorization"] == "Bearer sk-test"
    body = req["json"]
    assert body["model"] == "base-model"
    assert body["messages"] == MESSAGES
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert (body["max_tokens"], body["temperature"], body["top_p"]) == (64, 0.7, 0.9)
    assert body["repetition_penalty"] == 1.2


@pytest.mark.parametrize("adapter", ["medical", "finance"])
def test_adapter_is_requested_as_the_model(server: FakeServer, adapter: str) -> None:
    """vLLM serves --lora-modules medical=/path as model 'medical'."""
    list(client(server).stream(MESSAGES, PARAMS, adapter=adapter))
    assert server.last_body()["model"] == adapter
    list(client(server).stream(MESSAGES, PARAMS))
    assert server.last_body()["model"] == "base-model"


def test_unnamed_model_is_the_base_the_server_lists(server: FakeServer) -> None:
    server.models = [{"id": "medical", "object": "model", "parent": "/srv/qwen"},
                     {"id": "/srv/qwen", "object": "model", "parent": None}]
    gen = OpenAIGenerator(server.url, timeout=5)
    list(gen.stream(MESSAGES, PARAMS))
    list(gen.stream(MESSAGES, PARAMS))
    assert server.last_body()["model"] == "/srv/qwen"
    assert gen.model_id == "/srv/qwen"
    assert [r["method"] for r in server.requests].count("GET") == 1, "asked once, then cached"


def test_nothing_is_sent_until_the_stream_is_read(server: FakeServer) -> None:
    client(server).stream(MESSAGES, PARAMS)
    assert server.requests == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_server_names_the_setting() -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"
    with pytest.raises(GenerationError) as err:
        list(OpenAIGenerator(url, "m", timeout=5).stream(MESSAGES, PARAMS))
    msg = str(err.value)
    assert f"cannot reach the generation server at {url}" in msg
    assert "connection refused" in msg and "VERIRAG_OPENAI_BASE_URL" in msg
    assert "\n" not in msg


@pytest.mark.parametrize(("status", "body", "adapter", "expected"), [
    (404, {"error": {"message": "The model `medical` does not exist.", "type": "NotFoundError",
                     "code": 404}}, "medical",
     ["HTTP 404", "The model `medical` does not exist.", "--lora-modules medical="]),
    (400, {"object": "error", "message": "max_tokens is too large: 64 > 32"}, None,
     ["HTTP 400", "max_tokens is too large: 64 > 32"]),
    (401, {"error": {"message": "invalid api key"}}, None, ["HTTP 401", "API key"]),
    (500, "Internal Server Error\n  at line 3", None,
     ["HTTP 500", "Internal Server Error at line 3", "server's log"]),
])
def test_http_errors_carry_the_servers_message(server: FakeServer, status: int, body: Any,
                                               adapter: str | None,
                                               expected: list[str]) -> None:
    raw = body if isinstance(body, str) else json.dumps(body)
    server.reply = Reply(status, raw.encode(), "application/json")
    with pytest.raises(GenerationError) as err:
        list(client(server).stream(MESSAGES, PARAMS, adapter=adapter))
    msg = str(err.value)
    assert all(part in msg for part in expected), msg
    assert "\n" not in msg


@pytest.mark.parametrize(("body", "expected"), [
    (b'{"id": "x", "choices": [{"message": {"content": "hi"}}]}', "expected server-sent"),
    (b"<html><body>Bad Gateway</body></html>\n", "expected server-sent"),
    (b"data: {not json\n\n", "not a JSON object"),
    (sse(chunk("The"), chunk(" target")), "ended before the answer was complete"),
    (sse(chunk("The"), {"error": {"message": "CUDA out of memory", "code": 500}}),
     "failed mid-answer: CUDA out of memory"),
])
def test_malformed_or_broken_streams_fail_clearly(server: FakeServer, body: bytes,
                                                 expected: str) -> None:
    server.reply = Reply(body=body)
    with pytest.raises(GenerationError, match=expected):
        list(client(server).stream(MESSAGES, PARAMS))


def test_a_silent_server_times_out(server: FakeServer) -> None:
    def stall(handler: BaseHTTPRequestHandler) -> None:
        server.release.wait(timeout=10)  # bounded; released at teardown

    server.handler = stall
    gen = OpenAIGenerator(server.url, "m", timeout=0.2)
    with pytest.raises(GenerationError, match=r"did not answer within 0\.2 s"):
        list(gen.stream(MESSAGES, PARAMS))


def test_registry_picks_the_openai_backend(tmp_path: Path, server: FakeServer) -> None:
    settings = load_settings(home=tmp_path, generator_backend="openai",
                             openai_base_url=server.url)
    registry = ModelRegistry(settings)
    gen = registry.generator()
    assert isinstance(gen, OpenAIGenerator)
    assert registry.generator() is gen, "one client per server and model"
    named = registry.generator(Path("/srv/models/qwen2.5-7b"))
    assert isinstance(named, OpenAIGenerator) and named is not gen
    list(named.stream(MESSAGES, PARAMS))
    assert server.last_body()["model"] == "/srv/models/qwen2.5-7b", "what `vllm serve PATH` serves"


def test_api_key_setting_reaches_the_server_and_stays_out_of_reprs(
        tmp_path: Path, server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERIRAG_OPENAI_API_KEY", "sk-from-env")
    settings = load_settings(home=tmp_path, generator_backend="openai",
                             openai_base_url=server.url)
    assert "sk-from-env" not in repr(settings)
    list(ModelRegistry(settings).generator(Path("m")).stream(MESSAGES, PARAMS))
    assert server.requests[-1]["headers"]["Authorization"] == "Bearer sk-from-env"


def test_registry_openai_backend_needs_a_url(tmp_path: Path) -> None:
    registry = ModelRegistry(load_settings(home=tmp_path, generator_backend="openai"))
    with pytest.raises(ConfigError, match="VERIRAG_OPENAI_BASE_URL"):
        registry.generator()


def test_non_http_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="VERIRAG_OPENAI_BASE_URL"):
        OpenAIGenerator("localhost:8000/v1", "m")


@pytest.mark.slow
def test_pack_answer_streams_from_the_server(server: FakeServer, runtime: Runtime) -> None:
    """End to end: a pack's question reaches the server with its prompt and adapter."""
    base = runtime.resources.answerer("medical", with_generator=False)
    answerer = type(base)(base.pack, base.retriever, client(server), base.embedder)
    drafted: list[str] = []
    shown: list[str] = []
    answer = answerer.answer("What is the target INR for a patient on warfarin?",
                             on_token=shown.append, on_draft=drafted.append, adapter="medical")
    body = server.last_body()
    assert body["model"] == "medical"
    assert body["messages"][0]["content"].startswith(base.pack.system_prompt.strip())
    assert "What is the target INR for a patient on warfarin?" in body["messages"][-1]["content"]
    assert drafted[: len(PIECES)] == PIECES  # the draft, piece by piece, for a detail view
    assert answer.raw_output == "".join(PIECES)
    # 2.0-3.0 is the acceptable range, not the target: the draft sentence never reaches the
    # reader, who sees only the checked answer that replaced it
    assert "".join(shown).strip() == answer.text
    assert "INR is 2.0-3.0" not in answer.text
    assert answer.timings.tokens == 7
