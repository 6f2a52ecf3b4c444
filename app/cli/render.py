"""Terminal rendering of answers and reports (rich), kept apart from the commands."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from app.dialog.manager import TurnResult
from app.dialog.state import DialogState
from app.dialog.types import Answer
from knowledge.ingest import IngestReport


def print_answer(console: Console, answer: Answer, *, streamed: str, verbose: bool) -> None:
    """``streamed`` is the checked text already printed while the answer was made; the
    final text is printed (again) only when it differs — a refusal, or a quoted fallback."""
    if verbose:
        console.print(f"[dim]query: {escape(answer.query)}[/dim]")
        ev = ", ".join(f"{k}={v:.2f}" for k, v in answer.evidence.items())
        console.print(f"[dim]decision: {answer.decision} · mode: {answer.mode} · {ev}[/dim]")
        if answer.raw_output:
            console.print("[dim]unchecked draft (never shown as the answer):[/dim] "
                          f"[dim]{escape(answer.raw_output.strip())!r}[/dim]")
    if streamed.strip() and streamed.strip() == answer.text.strip():
        console.print()
    else:
        if streamed:
            console.print()
            console.rule("[bold]answer[/bold]", style="dim")
        console.print(answer.text, markup=False, highlight=False)
    if answer.removed_sentences:
        console.print(f"[yellow]removed {len(answer.removed_sentences)} sentence(s) that no "
                      "passage supports[/yellow]")
        if verbose:
            for removed in answer.removed_sentences:
                console.print(f"  - {removed}", style="dim", markup=False, highlight=False)
    if answer.invalid_markers:
        console.print(f"[yellow]removed {answer.invalid_markers} citation(s) pointing to no "
                      "passage[/yellow]")
    if answer.decision == "answer" and answer.cited:
        console.print("\n[bold]Sources[/bold]")
        for n, p in answer.cited_passages():
            where = f" — {p.location}" if p.location else ""
            console.print(f"  [{n}] {p.doc_name}{where}", markup=False, highlight=False)
            if verbose:
                snippet = " ".join(p.text.split())[:300]
                console.print(f"      {snippet}", style="dim", markup=False, highlight=False)
        if verbose:
            print_support(console, answer)
    if answer.disclaimer:
        console.print(f"\n{answer.disclaimer}", style="italic", markup=False)
    if verbose:
        t = answer.timings
        parts = [f"retrieval {t.retrieval_s * 1000:.0f} ms"]
        if t.first_token_s is not None:
            parts.append(f"first token {t.first_token_s:.2f} s")
        if t.tokens_per_s:
            parts.append(f"{t.tokens_per_s:.1f} tokens/s")
        console.print(f"[dim]{' · '.join(parts)}[/dim]")


def print_support(console: Console, answer: Answer) -> None:
    """Per kept sentence, the passage sentence or row that supports it."""
    console.print("\n[bold]Checked against[/bold]")
    for s in answer.sentences:
        marks = "".join(f"[{n}]" for n in s.citations)
        console.print(f"  {s.text} {marks}", markup=False, highlight=False)
        if s.evidence:
            console.print(f"      ← {s.evidence}", style="dim", markup=False, highlight=False)


def print_turn(console: Console, result: TurnResult, *, streamed: str, verbose: bool) -> None:
    if verbose:
        console.print(f"[dim]rewrite: {result.rewrite.reason}[/dim]", highlight=False)
        console.print(f"[dim]slots: {result.slots.describe()}[/dim]", highlight=False)
    print_answer(console, result.answer, streamed=streamed, verbose=verbose)


def print_state(console: Console, state: DialogState) -> None:
    table = Table("slot", "value", "turn", "how", title="What verirag has understood")
    for name, value in state.slots.items():
        table.add_row(name, value.value, str(value.turn), value.how)
    console.print(table)
    if state.awaiting:
        console.print(f"waiting for: {', '.join(state.awaiting)}")


def ingest_table(report: IngestReport) -> Table:
    table = Table("file", "result", "chunks", "reason", title="Ingest results")
    colours = {"indexed": "green", "replaced": "green", "duplicate": "yellow", "rejected": "red"}
    for r in report.results:
        table.add_row(escape(r.name), f"[{colours[r.outcome]}]{r.outcome}[/]",
                      str(r.chunks) if r.chunks else "", escape(r.reason))
    return table
