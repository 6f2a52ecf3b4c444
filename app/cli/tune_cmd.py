"""``verirag tune``: measure retrieval settings on a pack's questions and keep the best.

The search itself is ``evals.tune``; this front door shows progress, the before/after table,
writes the override (``domains.overrides``) that the pack is loaded with from then on, and
records the change in the audit log. ``--dry-run`` only shows; ``--reset`` removes the
override.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from app.cli.context import runtime
from app.cli.users_cmd import cli_actor
from domains.overrides import override_path, write_override
from verirag.errors import VeriragError

if TYPE_CHECKING:
    from evals.tune import Trial, TuneResult


def _row(table: Table, name: str, trial: Trial, top_k: int) -> None:
    table.add_row(name, trial.setting.label, f"{trial.recall:.3f}", f"{trial.mrr:.3f}",
                  str(top_k))


def result_table(result: TuneResult, current_top_k: int) -> Table:
    table = Table(title=f"recall@{result.k} on {result.questions} questions")
    for column in ("", "setting", f"recall@{result.k}", f"MRR@{result.k}", "top_k"):
        table.add_column(column)
    _row(table, "before", result.before, current_top_k)
    _row(table, "after", result.best, result.top_k)
    return table


def register(app: typer.Typer) -> None:
    """Add ``tune`` to ``app``."""

    @app.command("tune")
    def tune_command(
        ctx: typer.Context,
        domain: Annotated[str, typer.Argument(help="Domain pack to tune.")],
        dataset: Annotated[str, typer.Option(
            "--dataset", help="Questions to tune on: 'pack' (the pack's own eval questions "
            "over its documents) or a dataset folder (corpus.jsonl + questions.jsonl).")
        ] = "pack",
        k: Annotated[int, typer.Option("--k", help="Tune for recall@k.")] = 5,
        chunk_sizes: Annotated[str, typer.Option(
            "--chunk-sizes", help="Chunk sizes to try besides the current one, comma-separated "
            "('' for none); each indexes the corpus once more.")] = "96,256",
        limit: Annotated[int | None, typer.Option(help="Tune on a sample of N items.")] = None,
        dry_run: Annotated[bool, typer.Option(
            "--dry-run", help="Show the result; change nothing.")] = False,
        reset: Annotated[bool, typer.Option(
            "--reset", help="Remove the tuned settings: back to the pack's own.")] = False,
    ) -> None:
        """Pick fusion weights, candidates, top_k and chunk size that find the most answers."""
        console, err = Console(), Console(stderr=True)
        try:
            sizes = [int(s) for s in chunk_sizes.split(",") if s.strip()]
        except ValueError as exc:
            err.print(f"[red]error:[/red] --chunk-sizes {chunk_sizes!r}: give whole numbers "
                      f"such as 96,256", highlight=False)
            raise typer.Exit(2) from exc
        try:
            _run(ctx, console, err, domain, dataset, k, sizes, limit, dry_run, reset)
        except VeriragError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from exc


def _run(ctx: typer.Context, console: Console, err: Console, domain: str, dataset_spec: str,
         k: int, sizes: list[int], limit: int | None, dry_run: bool, reset: bool) -> None:
    from evals.datasets import load_dataset
    from evals.tune import tune

    rt = runtime(ctx)
    res = rt.resources
    pack = res.pack(domain)
    path = override_path(res.settings.home, domain)
    if reset:
        existed = path.is_file()
        path.unlink(missing_ok=True)
        if existed:
            rt.audit.record(cli_actor(), "tune-reset", domain)
        console.print(f"{domain}: tuned settings removed; the pack's own apply" if existed
                      else f"{domain}: no tuned settings to remove")
        return
    dataset = load_dataset(dataset_spec, pack.root).sample(limit, seed=0)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err) as progress:
        task = progress.add_task("preparing", total=None)
        result = tune(res, pack, dataset, k=k, chunk_sizes=sizes,
                      progress=lambda what, i, n: progress.update(
                          task, description=what, completed=i, total=n))
    console.print(result_table(result, pack.retrieval.top_k))
    if dry_run:
        console.print("dry run: nothing changed")
        return
    sections = result.sections(pack)
    write_override(path, sections, f"Written by `verirag tune {domain} --dataset "
                   f"{dataset_spec}`: recall@{k} {result.before.recall:.3f} -> "
                   f"{result.best.recall:.3f} on {result.questions} questions.\n"
                   f"Delete this file (or run `verirag tune {domain} --reset`) to go back.")
    rt.audit.record(cli_actor(), "tune", domain, dataset=str(Path(dataset_spec)),
                    before=round(result.before.recall, 4), after=round(result.best.recall, 4),
                    settings=sections)
    console.print(f"saved: {path}", highlight=False, soft_wrap=True)
    if "chunking" in sections:
        console.print(f"chunk size is now {sections['chunking']['chunk_size']}: documents "
                      f"ingested from now on use it; re-ingest existing ones to apply it to "
                      f"them.")
