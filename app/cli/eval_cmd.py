"""``verirag eval``: score a pack on an evaluation dataset, optionally two settings side by side.

The CLI is a front door: it shows progress and the one-screen summary and turns a
``VeriragError`` into one red line and exit code 1. The run itself is ``evals.service`` (the
web app's Evaluation page calls the same function), imported when the command runs so
``verirag --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from app.cli.context import runtime
from app.resources import Resources
from verirag.errors import VeriragError

if TYPE_CHECKING:
    from evals.report import Report

_HELP_COMPARE = ("Two (or more) configurations side by side, comma-separated: dense, bm25, "
                 "hybrid, rag, no-retrieval (baseline), plain (baseline), generate, extractive, "
                 "base, "
                 "adapter:NAME, or a .toml file overriding the pack's retrieval and "
                 "generation sections.")


def summary_table(report: Report) -> Table:
    """The one-screen summary: a row per figure, a column per configuration."""
    from evals.report import cell, visible_rows

    meta = report.run.meta()
    corpus = meta["corpus"]
    built = "cache reused" if corpus["reused_cache"] else f"{corpus['indexed']} indexed"
    table = Table(title=f"{meta['dataset']} · {meta['domain']} · {meta['questions']} questions · "
                        f"{corpus['documents']} docs / {corpus['chunks']} chunks ({built})",
                  title_justify="left")
    table.add_column("metric")
    names = list(report.summary)
    for name in names:
        table.add_column(report.labels[name], justify="right")
    for row in visible_rows(report.summary, report.run.options.ks):
        table.add_row(row.label, *(cell(report.summary[n], row) for n in names))
    return table


def turn_table(report: Report) -> Table | None:
    """Multi-turn datasets: recall@k per turn position and configuration."""
    if not report.turns:
        return None
    key = f"recall@{report.run.options.k}"
    table = Table(title=f"{key} by turn position", title_justify="left")
    table.add_column("turn")
    for name in report.turns:
        table.add_column(report.labels[name], justify="right")
    positions = sorted({p for turns in report.turns.values() for p in turns})
    for pos in positions:
        cells = []
        for turns in report.turns.values():
            s = turns.get(pos, {})
            value = s.get(key)
            cells.append("—" if value is None else f"{value:.3f} (n={s.get('n_retrieval')})")
        table.add_row(str(pos), *cells)
    return table


def register(app: typer.Typer) -> None:
    """Add ``eval`` to ``app``."""

    @app.command("eval")
    def eval_command(
        ctx: typer.Context,
        domain: Annotated[str, typer.Argument(help="Domain pack whose settings are evaluated.")],
        dataset: Annotated[str, typer.Option(
            "--dataset", help="Dataset folder (corpus.jsonl + questions.jsonl), a pack eval "
            "folder, or 'pack' for the pack's own eval questions.")],
        k: Annotated[int, typer.Option("--k", help="Headline recall@k (1, 5, 10 always shown).")
                     ] = 5,
        limit: Annotated[int | None, typer.Option(help="Evaluate a sample of N items.")] = None,
        seed: Annotated[int, typer.Option(help="Seed of the --limit sample.")] = 0,
        compare: Annotated[str | None, typer.Option(help=_HELP_COMPARE)] = None,
        out: Annotated[Path | None, typer.Option(
            help="Report folder (default $VERIRAG_HOME/eval-reports/DATASET-DOMAIN-TIME).")
        ] = None,
        retrieval_only: Annotated[bool, typer.Option(
            "--retrieval-only", help="Measure retrieval only; no answers are generated.")
        ] = False,
    ) -> None:
        """Evaluate a domain pack on a dataset: retrieval, answers, grounding, speed."""
        console = Console()
        err = Console(stderr=True)
        try:
            _run(runtime(ctx).resources, console, err, domain, dataset, k, limit, seed,
                 compare, out, retrieval_only)
        except VeriragError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from exc


def _run(res: Resources, console: Console, err: Console, domain: str, dataset_spec: str,
         k: int, limit: int | None, seed: int, compare: str | None, out: Path | None,
         retrieval_only: bool) -> None:
    from evals.service import run_evaluation

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                  console=err, transient=False) as progress:
        index_task = progress.add_task("indexing the corpus", total=None)
        ask_task = progress.add_task("questions", total=None, visible=False)

        def on_index(i: int, n: int) -> None:
            progress.update(index_task, completed=i, total=n)

        def on_step(i: int, n: int, config: str) -> None:
            progress.update(index_task, visible=False)
            progress.update(ask_task, completed=i, total=n, visible=True,
                            description=f"{config}")

        done = run_evaluation(res, domain, dataset_spec, k=k, limit=limit, seed=seed,
                              retrieval_only=retrieval_only, compare=compare, out=out,
                              on_index=on_index, on_step=on_step)
    report = done.report
    console.print(summary_table(report))
    turns = turn_table(report)
    if turns is not None:
        console.print(turns)
    if any(c.baseline for c in report.run.configs):
        console.print("[yellow]baseline[/yellow] columns are reference points, not verirag "
                      "modes: no-retrieval answers without passages; plain answers from the same "
                      "passages with a plain prompt and no checks.")
    console.print(f"report: {done.folder} ({', '.join(p.name for p in done.files)})",
                  highlight=False, soft_wrap=True)
