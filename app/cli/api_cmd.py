"""``verirag api``: the HTTP API (OpenAI's chat-completions protocol, documents, metrics).

Binds to localhost unless told otherwise: the API acts for whoever holds a key, so exposing
it to a network is a decision (``--host 0.0.0.0``), best behind a TLS-terminating proxy.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from app.cli.context import runtime

console = Console(stderr=True)


def api(ctx: typer.Context,
        port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
        host: Annotated[str, typer.Option(help="Address to bind; 0.0.0.0 for every network "
                                                "interface.")] = "127.0.0.1",
        workers: Annotated[int | None, typer.Option(
            help="Answers worked on at once (default: the engine's generator_slots).")] = None,
        max_queue: Annotated[int, typer.Option(
            help="Answers that may wait for a worker before new ones get 503.")] = 64,
        timeout: Annotated[float, typer.Option(
            help="Seconds an answer may take before the caller gets 504.")] = 300.0,
        ) -> None:
    """Serve the packs over HTTP: /v1/chat/completions, /v1/models, documents, /metrics."""
    from app.api.deps import ApiOptions  # FastAPI and uvicorn load only for this command
    from app.api.server import serve

    rt = runtime(ctx)
    options = ApiOptions(workers=workers or rt.resources.settings.generator_slots,
                         max_queue=max_queue, answer_timeout_s=timeout)
    console.print(f"verirag API on http://{host}:{port}/v1 — keys: `verirag users key add "
                  "NAME`; ready when GET /readyz says so", highlight=False)
    serve(rt, host, port, options)


def register(app: typer.Typer) -> None:
    app.command()(api)
