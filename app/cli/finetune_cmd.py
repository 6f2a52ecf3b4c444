"""``verirag finetune`` (train a pack's LoRA adapter, make grounded data) and ``verirag adapters``.

``verirag finetune DOMAIN --data train.jsonl`` trains; ``verirag finetune make-data DOMAIN``
builds grounded examples from the pack's indexed documents. A group that falls back to its
``train`` command gives both spellings the issue asks for without a second top-level name.
The CLI is a front door: it takes the command's runtime and renders what ``finetune`` returns;
``finetune`` is imported when a command runs, so ``verirag --help`` stays fast. The adapter
registry is ``app.models.adapter_store`` (serving reads it, training writes it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from app.cli.context import runtime
from app.models.adapter_store import AdapterRegistry
from app.resources import Resources
from verirag.errors import VeriragError

DomainArg = Annotated[str, typer.Argument(help="Domain pack name, e.g. medical.")]


class _TrainByDefault(TyperGroup):
    """``finetune DOMAIN ...`` means ``finetune train DOMAIN ...``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["train", *args]
        return super().parse_args(ctx, args)


def _fail(err: Console, exc: VeriragError) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``finetune`` and ``adapters`` to ``app``."""
    console, err = Console(), Console(stderr=True)
    ft = typer.Typer(cls=_TrainByDefault, no_args_is_help=True,
                     help="Train a pack's LoRA adapter (`finetune DOMAIN --data FILE`), make "
                          "grounded training data (`finetune make-data DOMAIN`) or export "
                          "rated answers (`finetune feedback-data DOMAIN`).")
    ad = typer.Typer(no_args_is_help=True, help="List, activate, roll back, delete adapters.")
    app.add_typer(ft, name="finetune")
    app.add_typer(ad, name="adapters")

    @ft.command("train")
    def train_cmd(
        ctx: typer.Context,
        domain: DomainArg,
        data: Annotated[list[Path] | None, typer.Option(
            "--data", help="Training JSONL (chat, instruction, grounded or preference format; "
            "repeat to mix files); default: the pack's bundled finetune/train.jsonl.")] = None,
        eval_data: Annotated[Path | None, typer.Option(
            "--eval", help="Held-out JSONL for eval loss and early stopping; default: the "
            "pack's finetune/eval.jsonl when --data is not given.")] = None,
        epochs: Annotated[int | None, typer.Option(help="Default: pack [lora].epochs.")] = None,
        lr: Annotated[float | None, typer.Option("--lr", help="Learning rate.")] = None,
        rank: Annotated[int | None, typer.Option(help="LoRA rank r.")] = None,
        alpha: Annotated[int | None, typer.Option(help="LoRA alpha.")] = None,
        target_modules: Annotated[str | None, typer.Option(
            help="Comma-separated module names, e.g. q_proj,v_proj.")] = None,
        batch_size: Annotated[int | None, typer.Option(help="Examples per step.")] = None,
        grad_accum: Annotated[int | None, typer.Option(help="Steps per update.")] = None,
        max_length: Annotated[int | None, typer.Option(help="Tokens per example.")] = None,
        seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
        patience: Annotated[int | None, typer.Option(
            help="Epochs without a better eval loss before stopping (0: never).")] = None,
        max_steps: Annotated[int | None, typer.Option(help="Stop after N updates.")] = None,
        time_budget: Annotated[str | None, typer.Option(
            help="Stop cleanly after this long (30m, 90s, 1.5h), keeping the best weights "
            "evaluated.")] = None,
        dpo_beta: Annotated[float | None, typer.Option(
            help="DPO temperature for preference pairs (default 0.1).")] = None,
        save_every: Annotated[int | None, typer.Option(help="Updates per checkpoint.")] = None,
        gradient_checkpointing: Annotated[bool | None, typer.Option(
            "--gradient-checkpointing/--no-gradient-checkpointing",
            help="Trade compute for memory.")] = None,
        cpu: Annotated[bool, typer.Option(help="Train on the CPU even with a GPU.")] = False,
        name: Annotated[str | None, typer.Option(
            help="Adapter name (default: the UTC time).")] = None,
        resume: Annotated[bool, typer.Option(
            help="Continue the interrupted run named --name from its last checkpoint.")
        ] = False,
        activate: Annotated[bool, typer.Option(help="Serve the new adapter at once.")] = True,
        gate: Annotated[bool, typer.Option(
            help="Serve it only if it does no worse than the served adapter (or the base) on "
            "the pack's eval questions; says why either way.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")
                           ] = False,
    ) -> None:
        """Train a LoRA adapter for DOMAIN and save it (with metadata) in the registry."""
        from finetune.config import parse_duration

        try:
            _train(runtime(ctx).resources, console, err, domain, data, eval_data, dict(
                epochs=epochs, learning_rate=lr, r=rank, alpha=alpha,
                target_modules=target_modules.split(",") if target_modules else None,
                batch_size=batch_size, grad_accum=grad_accum, max_length=max_length,
                seed=seed, patience=patience, max_steps=max_steps, save_every=save_every,
                time_budget=parse_duration(time_budget) if time_budget else None,
                dpo_beta=dpo_beta,
                gradient_checkpointing=gradient_checkpointing, cpu=cpu or None),
                name, resume, activate and not gate, as_json, gate)
        except VeriragError as exc:
            raise _fail(err, exc) from exc

    @ft.command("make-data")
    def make_data_cmd(
        ctx: typer.Context,
        domain: DomainArg,
        out: Annotated[Path, typer.Option(help="Folder for train.jsonl and eval.jsonl.")
                       ] = Path("finetune-data"),
        distractors: Annotated[int, typer.Option(help="Distractor passages per example.")
                               ] = 2,
        unanswerable: Annotated[float, typer.Option(
            help="Share of passages that also yield an unanswerable example.")] = 0.2,
        eval_share: Annotated[float, typer.Option(
            help="Share held out as eval.jsonl, as whole documents.")] = 0.1,
        per_passage: Annotated[int, typer.Option(
            help="Questions per passage, of different kinds where it allows.")] = 3,
        limit: Annotated[int | None, typer.Option(help="At most N training examples.")] = None,
        seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
        from_evalset: Annotated[Path | None, typer.Option(
            help="Make them from this evaluation-format dataset (corpus.jsonl + "
            "questions.jsonl) instead of the knowledge base.")] = None,
        exclude: Annotated[list[Path] | None, typer.Option(
            help="Evaluation sets never to train on (their questions and passages); a "
            "NAME-mini beside --from-evalset NAME is excluded anyway. Repeatable.")] = None,
    ) -> None:
        """Build grounded examples (RAFT-style) from DOMAIN's indexed documents, or from an
        evaluation-format dataset."""
        from finetune.make_data import write_jsonl

        options = dict(distractors=distractors, unanswerable=unanswerable,
                       eval_share=eval_share, seed=seed, limit=limit)
        try:
            res = runtime(ctx).resources
            if from_evalset is not None:
                train, held, source = _from_evalset(console, from_evalset, exclude or [],
                                                    options)
            else:
                train, held, source = _from_kb(res, domain, per_passage, options)
            write_jsonl(train, out / "train.jsonl")
            write_jsonl(held, out / "eval.jsonl")
        except VeriragError as exc:
            raise _fail(err, exc) from exc
        examples = train + held
        refusals = sum(1 for e in examples if not e.answerable)
        held_docs = len({e.origin for e in held})
        console.print(f"{len(examples)} examples from {source} ({refusals} "
                      f"unanswerable): {out / 'train.jsonl'} ({len(train)}), "
                      f"{out / 'eval.jsonl'} ({len(held)}, from {held_docs} held-out "
                      "documents)", highlight=False)
        console.print(f"train with: verirag finetune {domain} --data {out / 'train.jsonl'} "
                      f"--eval {out / 'eval.jsonl'}", highlight=False)

    @ft.command("feedback-data")
    def feedback_data_cmd(
        ctx: typer.Context,
        domain: DomainArg,
        out: Annotated[Path, typer.Option(help="JSONL file to write.")
                       ] = Path("finetune-data/feedback.jsonl"),
    ) -> None:
        """Export DOMAIN's rated answers: rated up to imitate, rated down to avoid (DPO)."""
        from app.cli.users_cmd import cli_actor
        from app.feedback import rated_turns
        from finetune.feedback import headline, write_feedback

        try:
            rt = runtime(ctx)
            pack = rt.resources.pack(domain)
            data = write_feedback(rated_turns(rt, domain, actor=cli_actor()), pack, out)
        except VeriragError as exc:
            raise _fail(err, exc) from exc
        console.print(f"{headline(data)} -> {out}", highlight=False)
        for reason, n in data.left_out.items():
            console.print(f"  left out {n}: {reason}", highlight=False)
        console.print(f"train with: verirag finetune {domain} --data {out} --gate (add --data "
                      "FILE to mix in grounded data from make-data)", highlight=False)

    @ad.command("list")
    def list_cmd(ctx: typer.Context, domain: DomainArg) -> None:
        """The pack's adapters, oldest first; * marks the one served."""
        try:
            res = runtime(ctx).resources
            res.pack(domain)
            entries = res.adapters(domain).entries()
        except VeriragError as exc:
            raise _fail(err, exc) from exc
        table = Table("", "name", "created", "base", "eval loss", "updates", "data")
        for e in entries:
            m = e.meta
            loss = m.metrics.get("eval_loss") if m else None
            table.add_row("*" if e.active else "", e.name, e.created_at,
                          m.base_model if m else "?", f"{loss:.4f}" if loss is not None else "—",
                          f"{m.metrics.get('updates', 0):.0f}" if m else "—",
                          m.data_hash[7:19] if m else "—")
        console.print(table)
        if not entries:
            console.print(f"no adapters yet: verirag finetune {domain} --data train.jsonl")

    def _registry_op(ctx: typer.Context, domain: str,
                     op: Callable[[AdapterRegistry], str]) -> None:
        try:
            res = runtime(ctx).resources
            res.pack(domain)
            console.print(op(res.adapters(domain)), highlight=False)
        except VeriragError as exc:
            raise _fail(err, exc) from exc

    @ad.command("activate")
    def activate_cmd(ctx: typer.Context, domain: DomainArg, name: Annotated[str, typer.Argument(
            help="Adapter name from `adapters list`.")]) -> None:
        """Serve NAME for DOMAIN (unless its pack.toml pins models.adapter)."""
        _registry_op(ctx, domain, lambda r: f"{domain} now serves adapter {r.activate(name).name}")

    @ad.command("deactivate")
    def deactivate_cmd(ctx: typer.Context, domain: DomainArg) -> None:
        """Serve the bare base model for DOMAIN."""
        _registry_op(ctx, domain,
                     lambda r: (r.deactivate(), f"{domain} now serves the base model")[1])

    @ad.command("rollback")
    def rollback_cmd(ctx: typer.Context, domain: DomainArg) -> None:
        """Re-activate the adapter that was active before the current one."""
        _registry_op(ctx, domain, lambda r: f"{domain} rolled back to adapter {r.rollback()}")

    @ad.command("delete")
    def delete_cmd(ctx: typer.Context, domain: DomainArg,
                   name: Annotated[str, typer.Argument(help="Adapter name.")],
                   force: Annotated[bool, typer.Option(
                       help="Delete even the active adapter (the base is served).")] = False,
                   ) -> None:
        """Delete an adapter folder (not the active one unless --force)."""
        _registry_op(ctx, domain, lambda r: (r.delete(name, force=force), f"deleted {name}")[1])


def _from_kb(res: Resources, domain: str, per_passage: int, options: dict[str, Any],
             ) -> tuple[list[Any], list[Any], str]:
    from finetune.make_data import chunks_from_kb, train_and_eval

    pack = res.pack(domain)
    chunks = chunks_from_kb(res.kb(domain))
    if not chunks:
        raise VeriragError(f"the '{domain}' knowledge base is empty; run `verirag "
                           f"ingest {domain} PATH` or `verirag setup` first")
    train, held = train_and_eval(chunks, pack, per_passage=per_passage, **options)
    if not train:
        raise VeriragError(f"'{domain}' has too little text (passages from at least "
                           "two documents are needed) to make examples")
    return train, held, f"{len(chunks)} passages"


def _from_evalset(console: Console, folder: Path, exclude: list[Path],
                  options: dict[str, Any]) -> tuple[list[Any], list[Any], str]:
    from finetune.from_evalset import convert

    made = convert(folder, exclude=exclude, **options)
    for reason, n in made.left_out.items():
        console.print(f"  left out {n} questions: {reason}", highlight=False)
    if made.excluded:
        console.print(f"  never used: the questions and passages of {', '.join(made.excluded)}",
                      highlight=False)
    if not made.train:
        raise VeriragError(f"no question of {folder} could be made into an example (see what "
                           "was left out above)")
    return made.train, made.eval, folder.name


def _train(res: Resources, console: Console, err: Console, domain: str,
           data: list[Path] | None,
           eval_data: Path | None, overrides: dict[str, Any], name: str | None, resume: bool,
           activate: bool, as_json: bool, gate: bool = False) -> None:
    from finetune.service import run_finetune
    from finetune.train import describe

    run = run_finetune(res, domain, data=data, eval_data=eval_data, overrides=overrides,
                       name=name, resume=resume, activate=activate,
                       log=lambda m: err.print(f"[dim]{m}[/dim]", highlight=False))
    result, name, target = run.result, run.name, run.adapter_dir
    verdict = None
    if gate:
        from evals.gate import serve_if_no_worse

        err.print("[dim]comparing it with what the pack serves on the pack's eval "
                  "questions...[/dim]")
        verdict = serve_if_no_worse(res, domain, name)
        activate = verdict.activate
    if as_json:
        gated = {"served": verdict.activate, "reason": verdict.reason} if verdict else {}
        console.print_json(json.dumps(describe(result) | gated))
        return
    table = Table("epoch", "train loss", "eval loss", title=f"adapter {name} ({domain})",
                  title_justify="left")
    for row in result.history:
        ev = row.get("eval_loss")
        table.add_row(f"{row['epoch']:.2g}", f"{row['train_loss']:.4f}",
                      f"{ev:.4f}" if ev is not None else "—")
    console.print(table)
    before = result.metrics.get("eval_loss_initial")
    if before is not None:
        console.print(f"eval loss {before:.4f} -> {result.metrics['eval_loss']:.4f} "
                      f"(best epoch kept)", highlight=False)
    m = result.metrics
    console.print(f"{m['updates']:.0f} updates, {m['examples_seen']:.0f} examples seen "
                  f"({m['train_pairs']:.0f} of {m['train_examples']:.0f} distinct ones preference "
                  f"pairs), {m['seconds']:.0f} s"
                  + (" (stopped by --time-budget)" if m["stopped_by_time_budget"] else ""),
                  highlight=False)
    if verdict is not None:
        console.print(f"{name}: {verdict.reason}", highlight=False, soft_wrap=True)
    console.print(f"saved {target}" + (" (active)" if activate else
                                       f"; serve it: verirag adapters activate {domain} {name}"),
                  highlight=False, soft_wrap=True)
