"""The HTTP API: a FastAPI app over one ``Runtime``, served by uvicorn.

One process holds the models once and serves every pack; answers run on a bounded pool of
worker threads (``app.api.pool``) so the event loop keeps answering health checks, metrics
and other clients. Start-up loads the models and indexes the bundled packs in the background:
``/healthz`` answers at once, ``/readyz`` and the ``/v1`` routes once that is done. Stopping
(Ctrl-C, SIGTERM) refuses new connections, lets answers in flight finish and be recorded,
then exits.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api import chat, documents, errors, ops
from app.api.deps import ApiOptions, ApiState
from app.services import Runtime
from verirag.errors import VeriragError

log = logging.getLogger(__name__)
UPLOAD_OVERHEAD = 1 << 20  # multipart boundaries and form fields around the files


class Guard:
    """Outermost ASGI layer: body size limits, the not-ready gate, and per-route metrics.

    A declared length over the limit is refused before one byte is read (a 200 MB upload);
    the server holds a body to the length it declared. A body sent without a length (chunked)
    is read up to the limit first, then handed on.
    Latency is measured to the last byte sent, so a streamed answer counts whole.
    """

    def __init__(self, app: ASGIApp, state: ApiState) -> None:
        self.app, self.state = app, state

    def _limit(self, path: str) -> tuple[int, str]:
        if path.endswith("/documents"):
            settings = self.state.rt.resources.settings
            return (settings.max_upload_bytes + UPLOAD_OVERHEAD,
                    f"an upload may hold {settings.max_upload_mb:g} MB in all; send fewer or "
                    "smaller files")
        limit = self.state.options.max_json_bytes
        return limit, (f"the request body is over {limit // 1024} KB; send one question, not "
                       "a document (upload documents to /v1/packs/PACK/documents)")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, started = scope["path"], time.perf_counter()
        status = {"code": 500}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self._observe(scope, status["code"], time.perf_counter() - started)

        limit, advice = self._limit(path)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _reply(sending, 413, advice, "request_too_large")
            return
        if path.startswith("/v1/") and not self.state.ready:
            reason = self.state.startup_error or "loading models and indexing the packs"
            await _reply(sending, 503, f"not ready: {reason}; retry shortly", "not_ready",
                         "server_error")
            return
        if declared is None and scope["method"] in ("POST", "PUT", "PATCH"):
            receive = await _buffered(receive, limit)
            if receive is None:
                await _reply(sending, 413, advice, "request_too_large")
                return
        await self.app(scope, receive, sending)

    def _observe(self, scope: Scope, code: int, seconds: float) -> None:
        route = scope.get("route")
        name = getattr(route, "path", None) or "unmatched"
        self.state.metrics.requests.labels(scope["method"], name, str(code)).inc()
        self.state.metrics.latency.labels(name).observe(seconds)


async def _buffered(receive: Receive, limit: int) -> Receive | None:
    """The whole body, read up to ``limit`` (None past it), replayed to the app."""
    parts, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        parts.append(message.get("body", b""))
        size += len(parts[-1])
        if size > limit:
            return None
        if not message.get("more_body"):
            break
    body, sent = b"".join(parts), False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _reply(send: Send, status: int, message: str, code: str,
                 kind: str = "invalid_request_error") -> None:
    payload = json.dumps(errors.body(message, code, kind)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


def _warm(state: ApiState) -> None:
    """Index the bundled packs on a first run and load every model a pack answers with."""
    res = state.rt.resources
    if state.options.index_bundled:
        res.ensure_bundled_indexed()
    for name in res.pack_names():
        pack = res.pack(name)
        res.kb(name).embedder.embed_query("")  # a question's model may be its own (onnx-int8)
        if pack.generation.mode == "generate":
            res.generator(pack)
    state.rt.keys  # noqa: B018 (migrates the key tables before the first request)


def create_app(rt: Runtime, options: ApiOptions | None = None) -> FastAPI:
    state = ApiState(rt, options or ApiOptions())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async def warm() -> None:
            try:
                await asyncio.to_thread(_warm, state)
                state.ready = True
            except VeriragError as exc:
                state.startup_error = str(exc)
                log.error("verirag API not ready: %s", exc)
            except Exception as exc:  # a bug or the machine (memory, a missing library)
                state.startup_error = f"{type(exc).__name__}: {exc} (details in the log)"
                log.exception("verirag API failed to start")

        task = asyncio.create_task(warm())
        yield
        task.cancel()
        await asyncio.to_thread(state.pool.shutdown)

    app = FastAPI(title="verirag", version="1", lifespan=lifespan,
                  summary="Grounded, cited answers from your own documents, over OpenAI's "
                          "chat-completions protocol.")
    app.state.api = state
    errors.install(app)
    for router in (ops.router, chat.router, documents.router):
        app.include_router(router)
    app.add_middleware(Guard, state=state)
    return app


class Background:
    """The API on a free localhost port in a thread of this process (tests, the benchmark):
    ``with Background(app) as url:`` waits until it accepts connections, and on exit stops
    it as SIGTERM would, letting answers in flight finish."""

    def __init__(self, app: FastAPI, timeout_graceful_s: int = 60) -> None:
        self.server = uvicorn.Server(uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", lifespan="on",
            timeout_graceful_shutdown=timeout_graceful_s))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise VeriragError("the API server did not start; see its log above")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join()

    def __exit__(self, *_: object) -> None:
        self.stop()


def serve(rt: Runtime, host: str, port: int, options: ApiOptions | None = None,
          **uvicorn_options: Any) -> None:
    """Run until stopped; answers in flight get ``answer_timeout_s`` to finish."""
    opts = options or ApiOptions()
    config = uvicorn.Config(create_app(rt, opts), host=host, port=port,
                            timeout_graceful_shutdown=int(opts.answer_timeout_s),
                            log_level="info", **uvicorn_options)
    uvicorn.Server(config).run()
