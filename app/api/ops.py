"""``/healthz`` (the process answers), ``/readyz`` (models loaded, packs indexed), ``/metrics``.

None needs a key: a load balancer and Prometheus probe them, and they say nothing about any
document or user — counts, latencies and the cache's hit rate only.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from app.api.deps import State
from app.api.errors import body

router = APIRouter()


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(state: State) -> JSONResponse:
    if state.ready:
        return JSONResponse({"status": "ready", "queue_depth": state.pool.depth})
    if state.startup_error:
        return JSONResponse(body(f"the server could not start: {state.startup_error}",
                                 "startup_failed", "server_error"), status_code=503)
    return JSONResponse(body("loading models and indexing the packs; retry shortly",
                             "not_ready", "server_error"), status_code=503,
                        headers={"Retry-After": "5"})


@router.get("/metrics")
def metrics(state: State) -> Response:
    return Response(state.metrics.render(), media_type=state.metrics.content_type)
