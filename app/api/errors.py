"""Every failure as a JSON body in OpenAI's shape, with a status a client can act on.

``{"error": {"message": ..., "type": ..., "code": ...}}`` is what the ``openai`` client and
LangChain parse into their exceptions, so a user of either sees verirag's one-line message.
verirag's typed errors map to statuses here and nowhere else; anything untyped is a 500 whose
body says only that the server failed (the details go to the server log, not the caller).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.pool import Busy
from app.auth.keys import KeyRejected
from app.dialog.sessions import SessionNotFound
from verirag.errors import AuthError, DocumentRejected, PackError, VeriragError

log = logging.getLogger(__name__)


class ApiError(VeriragError):
    def __init__(self, status: int, message: str, code: str, kind: str = "invalid_request_error",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.kind, self.headers = status, code, kind, headers


def body(message: str, code: str, kind: str = "invalid_request_error") -> dict[str, object]:
    return {"error": {"message": message, "type": kind, "code": code, "param": None}}


def classify(exc: Exception) -> ApiError:
    """The status, code and message a client gets for ``exc``."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, KeyRejected):
        return ApiError(401, str(exc), "invalid_api_key", "authentication_error",
                        {"WWW-Authenticate": "Bearer"})
    if isinstance(exc, AuthError):
        return ApiError(403, str(exc), "permission_denied", "permission_error")
    if isinstance(exc, SessionNotFound):
        return ApiError(404, str(exc), "session_not_found")
    if isinstance(exc, PackError):
        return ApiError(404, str(exc), "model_not_found")
    if isinstance(exc, Busy):
        return ApiError(503, str(exc), "server_busy", "server_error", {"Retry-After": "5"})
    if isinstance(exc, DocumentRejected):
        return ApiError(422, str(exc), "document_rejected")
    if isinstance(exc, TimeoutError):
        return ApiError(504, "the answer took longer than the server's limit; ask again or a "
                        "narrower question", "timeout", "server_error")
    if isinstance(exc, VeriragError):
        return ApiError(400, str(exc), "bad_request")
    log.exception("unhandled error", exc_info=exc)
    return ApiError(500, "the server failed while answering; the error is in its log",
                    "internal_error", "server_error")


def response(exc: Exception) -> JSONResponse:
    err = classify(exc)
    return JSONResponse(body(str(err), err.code, err.kind), status_code=err.status,
                        headers=err.headers)


def _validation_message(exc: RequestValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "the body"
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON; send a JSON object"
    return f"{where}: {first.get('msg', 'invalid')}; see the API section of the README"


def install(app: FastAPI) -> None:
    @app.exception_handler(VeriragError)
    async def _typed(_: Request, exc: VeriragError) -> JSONResponse:
        return response(exc)

    @app.exception_handler(TimeoutError)
    async def _timeout(_: Request, exc: TimeoutError) -> JSONResponse:
        return response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(body(_validation_message(exc), "invalid_request"), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(body(str(exc.detail), code), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _untyped(_: Request, exc: Exception) -> JSONResponse:
        return response(exc)
