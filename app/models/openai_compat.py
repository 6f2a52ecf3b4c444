"""A generator that streams from an OpenAI-compatible HTTP server (vLLM, llama.cpp, TGI...).

This is how a deployment outgrows one process: vLLM started with
``--enable-lora --lora-modules medical=/path/to/adapter`` serves each pack's adapter as a model
named after it, so a request for adapter ``medical`` simply asks for model ``medical``; with
no adapter it asks for the base model.

Only ``POST {base_url}/chat/completions`` with ``stream: true`` is used (and ``GET
{base_url}/models`` when no model name is given). The stdlib ``urllib`` is enough for that, so
this backend adds no dependency. Left out: retries (a failed answer is shown as failed), tool
calls, and non-streaming responses.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from app.models.generator import GenerationParams, GenerationStream, Message
from verirag.errors import ConfigError, GenerationError

DEFAULT_TIMEOUT_S = 120.0
_SETTING = "VERIRAG_OPENAI_BASE_URL"
_SSE_FIELDS = ("data:", "event:", "id:", "retry:", ":")


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _server_message(body: bytes) -> str:
    """The human part of an error body: OpenAI's ``{"error": {"message"}}`` or close kin."""
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        return _one_line(text) or "(empty body)"
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            for key in ("message", "detail", "msg"):
                if err.get(key):
                    return _one_line(str(err[key]))
        elif isinstance(err, str):
            return _one_line(err)
    return _one_line(text)


def _sse_data(lines: Iterable[bytes], url: str) -> Iterator[str]:
    """The ``data`` of each server-sent event; anything that is not SSE is a malformed stream."""
    data: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif not line.startswith(_SSE_FIELDS):
            raise GenerationError(
                f"malformed stream from {url}: expected server-sent 'data:' lines, got "
                f"{_one_line(line, 80)!r}; is {_SETTING} an OpenAI-compatible /v1 endpoint?")
    if data:
        yield "\n".join(data)


class OpenAIGenerator:
    """Streams chat completions from an OpenAI-compatible server; thread-safe, no local model.

    ``model`` is the served base model's name; left None, the first base model the server
    lists under ``/models`` is used (vLLM lists LoRA adapters there too, marked by a parent).
    """

    def __init__(self, base_url: str, model: str | None = None, api_key: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT_S) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"openai_base_url {base_url!r} is not an http(s) URL; set "
                              f"{_SETTING}=http://host:8000/v1")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self._model = model
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self._model or self.base_url

    def base_model(self) -> str:
        """The served base model's name, asked of the server once when not configured."""
        with self._lock:
            if self._model is None:
                self._model = self._discover_model()
            return self._model

    def _discover_model(self) -> str:
        url = f"{self.base_url}/models"
        with self._open(url, None) as resp:
            try:
                listing = json.loads(resp.read())
            except (OSError, http.client.HTTPException, ValueError) as exc:
                raise GenerationError(f"unreadable model list from {url} ({exc}); is "
                                      f"{_SETTING} an OpenAI-compatible /v1 endpoint?") from exc
        entries = listing.get("data") if isinstance(listing, dict) else None
        ids = [e for e in entries or [] if isinstance(e, dict) and e.get("id")]
        if not ids:
            raise GenerationError(f"the server at {url} lists no models; start it with a model")
        bases = [e for e in ids if not e.get("parent")]
        return str((bases or ids)[0]["id"])

    def request_body(self, messages: Sequence[Message], params: GenerationParams,
                     model: str) -> dict[str, Any]:
        """The JSON sent: GenerationParams in OpenAI terms plus vLLM's repetition_penalty."""
        return {
            "model": model, "messages": [dict(m) for m in messages], "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": params.max_new_tokens, "temperature": params.temperature,
            "top_p": params.top_p, "repetition_penalty": params.repetition_penalty,
        }

    def stream(self, messages: Sequence[Message], params: GenerationParams,
               adapter: str | None = None) -> GenerationStream:
        """Nothing is sent until the stream is iterated; errors surface as GenerationError."""
        stream = GenerationStream(iter(()))

        def pieces() -> Iterator[str]:
            model = adapter or self.base_model()
            url = f"{self.base_url}/chat/completions"
            body = json.dumps(self.request_body(messages, params, model)).encode()
            chunks = 0
            usage: int | None = None
            finished = done = False
            with self._open(url, body, adapter=adapter) as resp:
                try:
                    for data in _sse_data(resp, url):
                        if data.strip() == "[DONE]":
                            done = True
                            break
                        event = self._event(data, url)
                        if isinstance(event.get("usage"), dict):
                            tokens = event["usage"].get("completion_tokens")
                            usage = tokens if isinstance(tokens, int) else usage
                        for choice in event.get("choices") or []:
                            if not isinstance(choice, dict):
                                continue
                            finished = finished or bool(choice.get("finish_reason"))
                            text = (choice.get("delta") or {}).get("content")
                            if text:
                                chunks += 1
                                yield text
                except (OSError, http.client.HTTPException) as exc:
                    raise GenerationError(f"the stream from {url} broke off ({exc}); see the "
                                          "generation server's log") from exc
            if not (done or finished):
                raise GenerationError(f"the stream from {url} ended before the answer was "
                                      "complete; see the generation server's log")
            stream.n_tokens = usage if usage is not None else chunks

        stream.pieces = pieces()
        return stream

    @staticmethod
    def _event(data: str, url: str) -> dict[str, Any]:
        try:
            event = json.loads(data)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            raise GenerationError(f"malformed stream from {url}: an event is not a JSON object "
                                  f"({_one_line(data, 80)!r})")
        if "error" in event:
            raise GenerationError(f"the generation server failed mid-answer: "
                                  f"{_server_message(data.encode())}")
        return event

    def _open(self, url: str, body: bytes | None, adapter: str | None = None) -> Any:
        """Send the request; every way it can fail becomes one actionable GenerationError."""
        headers = {"Accept": "text/event-stream" if body else "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(url, data=body, headers=headers,
                                         method="POST" if body is not None else "GET")
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            with exc:
                message = _server_message(exc.read(8192))
            raise GenerationError(f"the generation server at {url} answered HTTP {exc.code}: "
                                  f"{message}; {self._hint(exc.code, adapter)}") from exc
        except urllib.error.URLError as exc:
            raise GenerationError(f"cannot reach the generation server at {url}: "
                                  f"{_reason(exc.reason)}; check {_SETTING} and that the "
                                  "server is running") from exc
        except TimeoutError as exc:
            raise GenerationError(f"the generation server at {url} did not answer within "
                                  f"{self.timeout:g} s; check that it is not overloaded") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise GenerationError(f"cannot talk to the generation server at {url}: "
                                  f"{_reason(exc)}; check {_SETTING}") from exc

    @staticmethod
    def _hint(status: int, adapter: str | None) -> str:
        if status in (401, 403):
            return "check the API key the server expects"
        if status == 404 and adapter:
            return (f"serve the adapter, e.g. vllm serve BASE --enable-lora --lora-modules "
                    f"{adapter}=/path/to/adapter")
        if status == 404:
            return f"check the model name and {_SETTING} (it usually ends in /v1)"
        if status >= 500:
            return "see the generation server's log"
        return "the server rejected the request as sent"


def _reason(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, socket.gaierror):
        return "unknown host"
    return _one_line(str(reason), 120)
