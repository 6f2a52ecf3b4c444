"""``verirag``: ingest documents, ask questions, manage knowledge bases, run the app.

The library raises ``VeriragError`` with a message that says what to do; this module turns
those into one red line and exit code 1, never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from app import kb_admin
from app.cli.api_cmd import register as register_api
from app.cli.children import run_children, spawn, web_app_command
from app.cli.context import CliContext, runtime
from app.cli.eval_cmd import register as register_eval
from app.cli.finetune_cmd import register as register_finetune
from app.cli.keys_cmd import keys_app
from app.cli.render import ingest_table, print_state, print_turn
from app.cli.tune_cmd import register as register_tune
from app.cli.users_cmd import cli_actor
from app.cli.users_cmd import register as register_users
from app.services import Runtime
from verirag.errors import VeriragError

app = typer.Typer(help="verirag: grounded, cited answers from your own documents.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
kb_app = typer.Typer(help="Inspect and maintain a pack's knowledge base.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
console = Console()
err_console = Console(stderr=True)

DomainArg = Annotated[str, typer.Argument(help="Domain pack name, e.g. medical.")]


def _status(msg: str) -> None:
    err_console.print(f"[dim]{msg}…[/dim]")


@app.command()
def packs(ctx: typer.Context) -> None:
    """List the domain packs and their knowledge bases."""
    res = runtime(ctx).resources
    table = Table("pack", "title", "languages", "answer mode", "docs folder")
    for name in res.pack_names():
        p = res.pack(name)
        table.add_row(name, p.title, ",".join(p.languages), p.generation.mode, str(p.docs_dir))
    console.print(table)


@app.command()
def ingest(ctx: typer.Context, domain: DomainArg,
           paths: Annotated[list[Path], typer.Argument(help="Files or folders (recursive).")],
           tag: Annotated[list[str] | None, typer.Option(help="Tag the documents.")] = None,
           label: Annotated[list[str] | None, typer.Option(
               help="Access label, e.g. restricted: only users cleared for it see them.")] = None,
           ) -> None:
    """Index files and folders into a pack's knowledge base."""
    rt = runtime(ctx)
    rt.resources.kb(domain, status=_status)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err_console) as progress:
        task = progress.add_task(f"indexing into {domain}", total=None)

        def on_file(i: int, n: int, result: object) -> None:
            progress.update(task, completed=i, total=n,
                            description=f"{getattr(result, 'name', '')[:40]}")

        report = kb_admin.ingest_paths(rt, domain, paths, actor=cli_actor(), tags=tag,
                                       labels=label, on_file=on_file)
    console.print(ingest_table(report))
    console.print(f"[bold]{report.summary}[/bold]")
    if report.results and report.count("rejected") == len(report.results):
        raise typer.Exit(1)


def _require_documents(rt: Runtime, domain: str) -> None:
    if not rt.resources.kb(domain, status=_status).documents():
        raise VeriragError(f"the '{domain}' knowledge base is empty; run "
                           f"`verirag ingest {domain} PATH` or `verirag setup` first")


def _token_printer(enabled: bool) -> tuple[list[str], Callable[[str], None]]:
    """Prints checked sentences as the answerer releases them (never the raw draft)."""
    streamed: list[str] = []

    def on_token(piece: str) -> None:
        if enabled:
            streamed.append(piece)
            console.print(piece, end="", markup=False, highlight=False)

    return streamed, on_token


@app.command()
def ask(ctx: typer.Context, domain: DomainArg,
        question: Annotated[str, typer.Argument(help="The question, in English or Chinese.")],
        verbose: Annotated[bool, typer.Option("--verbose", "-v",
                                              help="Show query, evidence and timings.")] = False,
        stream: Annotated[bool, typer.Option(help="Print tokens as they are generated.")] = True,
        ) -> None:
    """Answer one question from a pack's documents, with citations."""
    rt = runtime(ctx)
    _require_documents(rt, domain)
    manager = rt.dialog(domain, user=cli_actor())
    streamed, on_token = _token_printer(stream and manager.pack.generation.mode == "generate")
    result = manager.turn(manager.start(), question, on_token=on_token)
    print_turn(console, result, streamed="".join(streamed), verbose=verbose)


@app.command()
def chat(ctx: typer.Context, domain: DomainArg,
         session: Annotated[str | None, typer.Option(help="Resume a conversation by id.")] = None,
         verbose: Annotated[bool, typer.Option("--verbose", "-v",
                                               help="Show rewritten queries and slots.")] = False,
         ) -> None:
    """A conversation with a pack: follow-up questions, clarifications, corrections.

    Type /state to see what verirag has understood, /new for a new conversation, /quit to
    leave. The session id printed at the start resumes it later with --session.
    """
    rt = runtime(ctx)
    _require_documents(rt, domain)
    manager = rt.dialog(domain, user=cli_actor())
    session_id = session or manager.start()
    state = manager.state(session_id)
    console.print(f"[bold]{manager.pack.title}[/bold] · session {session_id}"
                  + (f" · resumed after {state.next_index - 1} turns" if state.turns else ""))
    stream = manager.pack.generation.mode == "generate"
    while True:
        try:
            text = console.input("[bold cyan]you>[/bold cyan] ")
        except (EOFError, KeyboardInterrupt):
            break
        command = text.strip().lower()
        if command in ("/quit", "/exit"):
            break
        if command == "/new":
            session_id = manager.start()
            console.print(f"new session {session_id}")
            continue
        if command == "/state":
            print_state(console, manager.state(session_id))
            continue
        if not text.strip():
            continue
        streamed, on_token = _token_printer(stream)
        try:
            result = manager.turn(session_id, text, on_token=on_token)
        except VeriragError as exc:
            err_console.print(f"[red]error:[/red] {exc}", highlight=False)
            continue
        print_turn(console, result, streamed="".join(streamed), verbose=verbose)
    console.print(f"resume with: verirag chat {domain} --session {session_id}")


@app.command()
def setup(ctx: typer.Context) -> None:
    """Index the bundled packs' sample documents (first run) and warm the default models."""
    _setup(runtime(ctx))


def _setup(rt: Runtime) -> None:
    reports = rt.resources.ensure_bundled_indexed(status=_status)
    for name, report in reports.items():
        console.print(f"{name}: {report.summary}")
    rt.resources.models.generator()
    console.print("[green]ready[/green]")


@app.command()
def serve(ctx: typer.Context,
          port: Annotated[int, typer.Option(help="Port for the web app.")] = 8501,
          headless: Annotated[bool, typer.Option(help="Do not open a browser.")] = True,
          api_port: Annotated[int, typer.Option(
              help="Also start the HTTP API (`verirag api`) on this port; 0: web app only.")
                              ] = 0) -> None:
    """Build the bundled knowledge bases if needed, then start the Streamlit app (and the API)."""
    rt = runtime(ctx)
    _setup(rt)
    secret_file = rt.resources.settings.admin_password_file
    password = rt.users.bootstrap_admin(secret_file)
    if password:
        console.print(f"first run: created user [bold]admin[/bold] with password "
                      f"[bold]{escape(password)}[/bold] (also in {escape(str(secret_file))}); "
                      "change it with `verirag users passwd admin`")
    children = []
    if api_port:
        children.append(spawn([sys.executable, "-m", "app.cli.main", "api", "--port",
                               str(api_port)], os.environ.copy()))
        console.print(f"the API is starting on http://localhost:{api_port}/v1 (a key: "
                      "`verirag users key add admin`)")
    console.print(f"verirag is running on http://localhost:{port}")
    children.append(spawn(web_app_command(port, headless=headless), os.environ.copy()))
    raise typer.Exit(run_children(children))


@kb_app.command("list")
def kb_list(ctx: typer.Context) -> None:
    """Every pack's knowledge base with its size."""
    res = runtime(ctx).resources
    table = Table("pack", "documents", "chunks", "vectors", "revision")
    for name in res.pack_names():
        s = res.kb(name, status=_status).stats()
        table.add_row(name, str(s["documents"]), str(s["chunks"]), str(s["vectors"]),
                      str(s["revision"]))
    console.print(table)


@kb_app.command("show")
def kb_show(ctx: typer.Context, domain: DomainArg) -> None:
    """The documents in a pack's knowledge base."""
    docs = runtime(ctx).resources.kb(domain, status=_status).documents()
    # Labels and errors get a column only when some document has one: a narrow terminal
    # then still shows whole file names.
    with_labels = any(d.labels for d in docs)
    with_errors = any(d.error for d in docs)
    table = Table("id", "name", "status", "chunks", "size", "tags",
                  *(["labels"] if with_labels else []), "uploaded",
                  *(["error"] if with_errors else []))
    for d in docs:
        table.add_row(str(d.id), escape(d.name), d.status, str(d.chunk_count),
                      f"{d.size / 1024:.1f} KB", escape(",".join(d.tags or [])),
                      *([escape(",".join(d.labels or []))] if with_labels else []),
                      d.uploaded_at.strftime("%Y-%m-%d %H:%M"),
                      *([escape(d.error or "")] if with_errors else []))
    console.print(table)


@kb_app.command("delete")
def kb_delete(ctx: typer.Context, domain: DomainArg,
              doc_id: Annotated[int, typer.Argument(help="Document id from `kb show`.")]) -> None:
    """Delete a document, its passages and their vectors."""
    name = kb_admin.delete_document(runtime(ctx), domain, doc_id, actor=cli_actor())
    console.print(f"deleted {name}", markup=False)


@kb_app.command("label")
def kb_label(ctx: typer.Context, domain: DomainArg,
             doc_id: Annotated[int, typer.Argument(help="Document id from `kb show`.")],
             labels: Annotated[list[str] | None, typer.Argument(
                 help="The document's access labels; none to make it readable by every role.")
             ] = None) -> None:
    """Set a document's access labels (replacing the old ones); effective on the next search."""
    name, now = kb_admin.set_labels(runtime(ctx), domain, doc_id, labels or [], actor=cli_actor())
    console.print(f"{name}: labels {', '.join(now) or '(none)'}", markup=False)


@kb_app.command("rebuild")
def kb_rebuild(ctx: typer.Context, domain: DomainArg) -> None:
    """Re-embed every passage from the database into fresh indexes."""
    rt = runtime(ctx)
    rt.resources.kb(domain, status=_status)
    n = kb_admin.rebuild(rt, domain, actor=cli_actor())
    console.print(f"rebuilt {domain}: {n} passages")


register_eval(app)
register_finetune(app)
register_users(app, keys_app)
register_tune(app)
register_api(app)


def main(factory: Callable[[], Runtime] = Runtime) -> None:
    """The ``verirag`` command; ``factory`` builds the one Runtime a command uses."""
    try:
        app(obj=CliContext(factory))
    except VeriragError as exc:
        err_console.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
