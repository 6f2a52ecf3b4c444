"""``/v1/models`` and ``/v1/chat/completions``: each pack a model, each answer checked and cited.

A request runs one dialog turn as its key's user — their roles, their clearance, their own
sessions, audited like a turn in the web app — on a worker of the answer pool. Streaming sends
the checked sentences as the answerer releases them (never the model's raw draft), then the
sources and decision in the last chunk. Should the finished answer differ from what was
streamed (it was refused after the fact as off-topic), the correction follows a rule: what was
streamed was true to its passages, but only the final text is the answer.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from app.api import conversation
from app.api.deps import ApiState, Caller, State, known_pack
from app.api.errors import ApiError, body, classify
from app.api.schemas import ChatRequest, Model, ModelList, Source, Usage, Verirag
from app.auth.principal import Principal
from app.dialog.manager import TurnResult
from app.dialog.sessions import SessionNotFound
from app.dialog.types import Answer

router = APIRouter()
CORRECTION = "\n\n---\n"


@dataclass(frozen=True)
class Outcome:
    result: TurnResult
    content: str
    adapter: str | None


def _model(state: ApiState, name: str, who: Principal) -> Model:
    res = state.rt.resources
    pack = res.pack(name)
    adapter = res.adapter_path(pack) if pack.generation.mode == "generate" else None
    return Model(id=name, created=int(pack.root.stat().st_mtime), title=pack.title,
                 languages=list(pack.languages), answer_mode=pack.generation.mode,
                 adapter=adapter.name if adapter else None, role=who.role(name))


@router.get("/v1/models")
def list_models(state: State, who: Caller) -> ModelList:
    names = who.packs(state.rt.resources.pack_names())
    return ModelList(data=[_model(state, name, who) for name in names])


@router.get("/v1/models/{name}")
def get_model(name: str, state: State, who: Caller) -> Model:
    """One of the caller's packs; another pack is "not found" whether or not it exists, so a
    key cannot be used to learn the names of packs it has no role on."""
    if name not in who.packs(state.rt.resources.pack_names()):
        raise ApiError(404, f"no pack '{name[:64]}' among yours; GET /v1/models lists them",
                       "model_not_found")
    return _model(state, name, who)


def _check(state: ApiState, who: Principal, request: ChatRequest) -> conversation.Conversation:
    """What can be refused before answering — the messages' shape, the adapter role, a named
    session that is not this caller's in this pack — and the conversation they hold."""
    talk = conversation.split(request.messages)
    if request.adapter:
        who.require(request.model, "adapters")
    sessions = state.rt.sessions
    if request.session_id and (sessions.owner(request.session_id) != who.name
                               or sessions.pack_of(request.session_id) != request.model):
        raise SessionNotFound(f"no conversation {request.session_id} of yours in "
                              f"'{request.model}'")
    return talk


def _answer(state: ApiState, who: Principal, request: ChatRequest,
            talk: conversation.Conversation, on_token: Callable[[str], None]) -> Outcome:
    """One turn, on a worker thread (after ``_check``): the session, the answer, and where
    it continues."""
    manager = state.rt.dialog(request.model, principal=who, cache=state.cache)
    generator = manager.answerer.generator
    adapter = (state.rt.resources.attach_pack_adapter(manager.pack, generator, request.adapter)
               if request.adapter and generator is not None else None)
    session_id = conversation.session_for(manager, who.name, talk, request.session_id)
    result = manager.turn(session_id, talk.question, on_token=on_token, adapter=adapter)
    content = conversation.shown_text(result.answer)
    conversation.remember(manager, who.name, talk, session_id, content,
                          result.state.last_turn.index if result.state.last_turn else 0)
    return Outcome(result, content, adapter or manager.answerer.adapter)


def _sources(answer: Answer) -> list[Source]:
    return [Source(n=n, document=p.doc_name, doc_id=p.doc_id, chunk_id=p.chunk_id,
                   location=p.location, passage=p.text, score=round(p.score, 4),
                   supports=[(s.text, s.evidence) for s in answer.sentences if n in s.citations])
            for n, p in answer.cited_passages()]


def _extra(outcome: Outcome) -> dict[str, object]:
    r = outcome.result
    a = r.answer
    return Verirag(decision=a.decision, mode=a.mode, session_id=r.session_id, turn_id=r.turn_id,
                   query=a.query, sources=_sources(a), removed_sentences=a.removed_sentences,
                   disclaimer=a.disclaimer,
                   slots={k: v.value for k, v in r.state.slots.items()}, cached=r.cached,
                   adapter=outcome.adapter).model_dump()


def _usage(answer: Answer) -> dict[str, int]:
    t = answer.timings
    return Usage(prompt_tokens=t.prompt_tokens, completion_tokens=t.tokens,
                 total_tokens=t.prompt_tokens + t.tokens).model_dump()


def _observe(state: ApiState, pack: str, outcome: Outcome) -> None:
    m, a = state.metrics, outcome.result.answer
    m.answers.labels(pack, a.decision).inc()
    m.cache.labels("hit" if outcome.result.cached else "miss").inc()
    if outcome.result.cached:
        return
    m.retrieval.labels(pack).observe(a.timings.retrieval_s)
    if a.timings.tokens_per_s:
        m.tokens_per_s.labels(pack).observe(a.timings.tokens_per_s)


class _FirstToken:
    """Times the first checked text a caller receives, from the moment the request came."""

    def __init__(self, state: ApiState, pack: str, forward: Callable[[str], None]) -> None:
        self.started = time.perf_counter()
        self.seen = False
        self.state, self.pack, self.forward = state, pack, forward

    def __call__(self, piece: str) -> None:
        if piece:
            self.mark()
            self.forward(piece)

    def mark(self) -> None:
        """Also called when the turn is done: one that streamed nothing (a cache hit, a
        refusal, a quoted answer) reaches the caller whole, now."""
        if not self.seen:
            self.seen = True
            self.state.metrics.first_token.labels(self.pack).observe(
                time.perf_counter() - self.started)


@router.post("/v1/chat/completions", response_model=None)
async def chat_completions(request: ChatRequest, state: State,
                           who: Caller) -> dict[str, object] | StreamingResponse:
    known_pack(state, request.model, who)
    talk = await asyncio.to_thread(_check, state, who, request)  # 4xx now, not in a stream
    reply = Reply(f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), request.model)
    if request.stream:
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[str | None] = asyncio.Queue()
        timer = _FirstToken(state, request.model,
                            lambda p: loop.call_soon_threadsafe(pieces.put_nowait, p))
        future = state.pool.submit(lambda: _answer(state, who, request, talk, timer))  # 503: full
        future.add_done_callback(lambda _: pieces.put_nowait(None))
        return StreamingResponse(_stream(state, request, reply, timer, future, pieces),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})
    timer = _FirstToken(state, request.model, lambda _: None)
    future = state.pool.submit(lambda: _answer(state, who, request, talk, timer))
    outcome = await asyncio.wait_for(future, state.options.answer_timeout_s)
    timer.mark()
    _observe(state, request.model, outcome)
    return {"id": reply.id, "object": "chat.completion", "created": reply.created,
            "model": reply.model,
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": outcome.content}}],
            "usage": _usage(outcome.result.answer), "verirag": _extra(outcome)}


@dataclass(frozen=True)
class Reply:
    id: str
    created: int
    model: str

    def chunk(self, delta: dict[str, object], finish: str | None = None,
              **extra: object) -> str:
        return _event({"id": self.id, "object": "chat.completion.chunk",
                       "created": self.created, "model": self.model,
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                                    "logprobs": None}], **extra})

    def usage(self, answer: Answer) -> str:
        return _event({"id": self.id, "object": "chat.completion.chunk",
                       "created": self.created, "model": self.model, "choices": [],
                       "usage": _usage(answer)})


def _event(data: dict[str, object]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _stream(state: ApiState, request: ChatRequest, reply: Reply, timer: _FirstToken,
                  future: asyncio.Future[Outcome],
                  pieces: asyncio.Queue[str | None]) -> AsyncIterator[str]:
    yield reply.chunk({"role": "assistant", "content": ""})
    streamed: list[str] = []
    deadline = time.monotonic() + state.options.answer_timeout_s
    try:
        while (piece := await asyncio.wait_for(pieces.get(),
                                               deadline - time.monotonic())) is not None:
            streamed.append(piece)
            yield reply.chunk({"content": piece})
        outcome = future.result()
    except Exception as exc:
        yield _error(exc)
        return
    timer.mark()
    _observe(state, request.model, outcome)
    said = "".join(streamed)
    rest = (outcome.content[len(said):] if outcome.content.startswith(said)
            else CORRECTION + outcome.content)
    if rest:
        yield reply.chunk({"content": rest})
    yield reply.chunk({}, "stop", verirag=_extra(outcome))
    if request.stream_options and request.stream_options.include_usage:
        yield reply.usage(outcome.result.answer)
    yield "data: [DONE]\n\n"


def _error(exc: Exception) -> str:
    """An error after the stream began: the event the openai client raises as an APIError."""
    err = classify(exc)
    return _event(body(str(err), err.code, err.kind)) + "data: [DONE]\n\n"
