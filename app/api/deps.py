"""What every route is handed: the server's state and the caller, checked by API key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from app.api.errors import ApiError
from app.api.metrics import Metrics
from app.api.pool import AnswerPool
from app.auth.principal import Principal
from app.dialog.cache import AnswerCache
from app.services import Runtime


@dataclass(frozen=True)
class ApiOptions:
    """How the server is sized and bounded (``verirag api`` flags)."""

    workers: int = 4
    """Answers worked on at once; match the engine's ``generator_slots``."""
    max_queue: int = 64
    """Answers that may wait for a worker before new ones get 503."""
    answer_timeout_s: float = 300.0
    max_json_bytes: int = 1 << 20
    cache_entries: int = 2048
    cache_ttl_s: float = 3600.0
    index_bundled: bool = True
    """Index the packs' sample documents on a first run (as ``verirag serve`` does)."""


@dataclass
class ApiState:
    rt: Runtime
    options: ApiOptions
    metrics: Metrics = field(default_factory=Metrics)
    cache: AnswerCache = field(init=False)
    pool: AnswerPool = field(init=False)
    ready: bool = False
    startup_error: str = ""

    def __post_init__(self) -> None:
        self.cache = AnswerCache(self.options.cache_entries, self.options.cache_ttl_s,
                                 wait_s=self.options.answer_timeout_s)
        self.pool = AnswerPool(self.options.workers, self.options.max_queue, self.metrics)


def api_state(request: Request) -> ApiState:
    return request.app.state.api


def caller(request: Request) -> Principal:
    """The user the request's key acts as (401 without a valid key). A plain function, so
    FastAPI runs its SQL lookup on a worker thread, off the event loop."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    return api_state(request).rt.keys.principal(key.strip() if scheme.lower() == "bearer"
                                                else None)


def known_pack(state: ApiState, name: str, who: Principal, action: str = "chat") -> str:
    """``name`` if it is a pack and ``who`` may ``action`` in it (404 / 403 otherwise)."""
    if name not in state.rt.resources.pack_names():
        raise ApiError(404, f"no pack '{name[:64]}'; GET /v1/models lists the packs you may "
                       "use", "model_not_found")
    who.require(name, action)
    return name


State = Annotated[ApiState, Depends(api_state)]
Caller = Annotated[Principal, Depends(caller)]
