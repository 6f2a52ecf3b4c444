"""The LoRA SFT loop: peft over transformers, driven by Hugging Face ``accelerate``.

One code path for every scale: on a laptop it runs as one CPU process; ``accelerate launch``
runs the same function on several GPUs or nodes (data parallel; ``accelerate`` shards the
batches, syncs gradients and reduces metrics), with bf16 where the GPU supports it. Only the
main process writes checkpoints and the adapter.

Per run: a fixed seed (data order, dropout, LoRA init), a tqdm bar showing the loss, an eval
loss before training and after every epoch, early stopping on that loss (the best epoch's
weights are the ones saved), and a resumable checkpoint every ``save_every`` updates and at
each epoch end (``finetune.checkpoint``). The adapter is saved with peft's ``save_pretrained``
plus ``verirag_adapter.json`` (base fingerprint, data hash, hyperparameters, metrics), first
into a temp folder that is renamed into place, so a crash never leaves half an adapter.

Left out: choosing a base (the caller passes a local HF directory) and the registry.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.models.adapters import base_fingerprint, save_adapter_metadata
from finetune.checkpoint import Progress, load_checkpoint, save_checkpoint
from finetune.config import TrainConfig
from finetune.encode import Item, Pair
from finetune.objective import batch_cost, collate_items
from verirag.errors import FinetuneError

LogFn = Callable[[str], None]
UpdateFn = Callable[[int, float], None]


@dataclass(frozen=True)
class TrainResult:
    adapter_dir: Path | None
    metrics: dict[str, float]
    history: list[dict[str, float]]
    resumed_from: int | None


def _accelerator(config: TrainConfig) -> Any:
    try:
        import torch
        from accelerate import Accelerator
        from accelerate.utils import DataLoaderConfiguration
    except ImportError as exc:  # pragma: no cover - accelerate ships with the dev install
        raise FinetuneError("fine-tuning needs the 'accelerate' package; run "
                            "pip install 'accelerate>=1.0'") from exc
    precision = config.mixed_precision
    if precision == "auto":
        gpu = torch.cuda.is_available() and not config.cpu
        precision = "bf16" if gpu and torch.cuda.is_bf16_supported() else "no"
    return Accelerator(gradient_accumulation_steps=config.grad_accum,
                       mixed_precision=precision, cpu=config.cpu,
                       dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True))


def _eval_loss(model: Any, peft_model: Any, loader: Any, accelerator: Any, beta: float
               ) -> tuple[float, float | None]:
    """(the objective over ``loader``, share of pairs ranked chosen-first or None).

    The supervised part is token-weighted over every labelled token, the DPO part
    pair-weighted, so the figure does not depend on how the eval set is batched; on plain
    data it is the mean reply cross-entropy it always was.
    """
    import torch

    model.eval()
    total = torch.zeros(5, device=accelerator.device)  # ce*tokens, tokens, dpo*pairs, pairs, ranked
    with torch.no_grad():
        for batch in loader:
            cost = batch_cost(model, peft_model, batch, beta)
            total += torch.tensor([(cost.sft_loss or 0.0) * cost.tokens, cost.tokens,
                                   (cost.dpo_loss or 0.0) * cost.pairs, cost.pairs,
                                   cost.pairs_ranked], device=accelerator.device)
    model.train()
    ce, tokens, dpo, pairs, ranked = (float(x) for x in accelerator.reduce(total, "sum"))
    if not tokens and not pairs:
        return float("nan"), None
    loss = (ce / tokens if tokens else 0.0) + (dpo / pairs if pairs else 0.0)
    return loss, (ranked / pairs if pairs else None)


def _lora_state(model: Any) -> dict[str, Any]:
    from peft import get_peft_model_state_dict

    return {k: v.detach().to("cpu").clone() for k, v in get_peft_model_state_dict(model).items()}


def train(train_data: Sequence[Item], eval_data: Sequence[Item], config: TrainConfig,
          *, base_dir: Path, base_label: str, run_dir: Path, adapter_dir: Path | None,
          data_hash: str, name: str | None = None, resume: bool = False,
          progress_bar: bool = True, log: LogFn | None = None,
          on_update: UpdateFn | None = None,
          extra_metrics: dict[str, float] | None = None) -> TrainResult:
    """Train a LoRA adapter on ``base_dir`` and save it to ``adapter_dir`` (None: don't save).

    ``run_dir`` holds the checkpoints; with ``resume`` the newest one is continued, else any
    earlier checkpoints there are cleared. ``train_data``/``eval_data`` come from
    ``finetune.encode``; ``eval_data`` may be empty (no eval loss, no early stopping).
    """
    import torch
    from accelerate.utils import set_seed
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer, get_linear_schedule_with_warmup

    if not train_data:
        raise FinetuneError("no training examples fit; check the data or raise --max-length")
    say = log or (lambda _msg: None)
    accelerator = _accelerator(config)
    main = accelerator.is_main_process
    set_seed(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    try:
        model: Any = AutoModelForCausalLM.from_pretrained(base_dir, local_files_only=True,
                                                          dtype=torch.float32)
    except OSError as exc:
        raise FinetuneError(f"cannot load the base model from {base_dir}: {exc}") from exc
    fingerprint = base_fingerprint(model, tokenizer)
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    model.config.use_cache = False
    try:
        model = get_peft_model(model, LoraConfig(
            r=config.r, lora_alpha=config.alpha, lora_dropout=config.dropout,
            target_modules=list(config.target_modules), task_type="CAUSAL_LM"))
    except ValueError as exc:
        raise FinetuneError(f"LoRA cannot wrap {list(config.target_modules)} in {base_label}: "
                            f"{exc}; pick module names the model has (--target-modules)") from exc
    model.train()

    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (
        tokenizer.eos_token_id or 0)

    def batches(data: Sequence[Item], shuffle: bool) -> Any:
        return DataLoader(list(data), batch_size=config.batch_size, shuffle=shuffle,
                          collate_fn=lambda b: collate_items(b, pad_id))

    train_loader = batches(train_data, True)
    eval_loader = batches(eval_data, False) if eval_data else None
    updates_per_epoch = math.ceil(len(train_loader) / config.grad_accum)
    total_updates = updates_per_epoch * config.epochs
    if config.max_steps is not None:
        total_updates = min(total_updates, config.max_steps)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                  lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(config.warmup_ratio * total_updates), total_updates)
    model, optimizer, train_loader, scheduler = accelerator.prepare(
        model, optimizer, train_loader, scheduler)
    if eval_loader is not None:
        eval_loader = accelerator.prepare(eval_loader)
    unwrapped = accelerator.unwrap_model(model)

    run_dir = Path(run_dir)
    progress, best_state, resumed_from, resume_rng = Progress(), None, None, None
    if resume:
        progress, state = load_checkpoint(run_dir)
        set_peft_model_state_dict(unwrapped, state["lora"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        resume_rng = state["rng"]
        best_state = state.get("best_lora")
        resumed_from = progress.updates
        say(f"resuming at update {progress.updates} (epoch {progress.epoch + 1})")
    elif main:
        shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
    accelerator.wait_for_everyone()

    def checkpoint() -> None:
        accelerator.wait_for_everyone()
        if main:
            state = {"lora": _lora_state(unwrapped), "optimizer": optimizer.state_dict(),
                     "scheduler": scheduler.state_dict(), "rng": torch.get_rng_state(),
                     "best_lora": best_state}
            save_checkpoint(run_dir, progress, state)

    started = time.perf_counter() - progress.seconds
    if eval_loader is not None and progress.initial_eval_loss is None:
        progress.initial_eval_loss, _ = _eval_loss(model, unwrapped, eval_loader, accelerator,
                                                   config.dpo_beta)
        say(f"eval loss before training: {progress.initial_eval_loss:.4f}")
    bar = tqdm(total=total_updates, initial=progress.updates, desc="training", unit="update",
               disable=not (progress_bar and main), dynamic_ncols=True)
    stop = out_of_time = False
    while progress.epoch < config.epochs and not stop:
        epoch = progress.epoch
        train_loader.set_epoch(epoch)
        skip = progress.updates_in_epoch * config.grad_accum
        loader = accelerator.skip_first_batches(train_loader, skip) if skip else train_loader
        if resume_rng is not None and not skip:  # at an epoch boundary: as the run left it
            torch.set_rng_state(resume_rng)
            resume_rng = None
        losses: list[float] = []
        for batch in loader:
            if resume_rng is not None:
                # Mid-epoch: starting a loader draws its base seed from the global RNG, which
                # the interrupted run did before this epoch's first update; restore after it,
                # so dropout sees the same random stream as an uninterrupted run.
                torch.set_rng_state(resume_rng)
                resume_rng = None
            with accelerator.accumulate(model):
                cost = batch_cost(model, unwrapped, batch, config.dpo_beta)
                loss = cost.loss
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            losses.append(float(loss.detach()))
            progress.examples_seen += batch["examples"] * accelerator.num_processes
            if not accelerator.sync_gradients:
                continue
            progress.updates += 1
            progress.updates_in_epoch += 1
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.4f}", epoch=epoch + 1,
                            lr=f"{scheduler.get_last_lr()[0]:.2e}")
            done = progress.updates >= total_updates
            if progress.updates % config.save_every == 0 and not done:
                progress.seconds = time.perf_counter() - started
                checkpoint()
            if on_update is not None:
                on_update(progress.updates, losses[-1])
            out_of_time = (config.time_budget is not None
                           and time.perf_counter() - started >= config.time_budget)
            if done or out_of_time:
                stop = True
                break
        if out_of_time:
            say(f"time budget of {config.time_budget:.0f} s spent after {progress.updates} "
                "updates; keeping the best weights evaluated")
        part = progress.updates_in_epoch / updates_per_epoch
        record = {"epoch": float(epoch + min(part, 1.0)), "updates": float(progress.updates),
                  "train_loss": sum(losses) / len(losses) if losses else float("nan")}
        if eval_loader is not None:
            record["eval_loss"], ranked = _eval_loss(model, unwrapped, eval_loader,
                                                     accelerator, config.dpo_beta)
            if ranked is not None:
                record["eval_pairs_ranked"] = ranked
            best = progress.best_eval_loss
            if best is None or record["eval_loss"] < best:
                progress.best_eval_loss, progress.bad_epochs = record["eval_loss"], 0
                best_state = _lora_state(unwrapped)
            else:
                progress.bad_epochs += 1
                if config.patience and progress.bad_epochs >= config.patience:
                    say(f"early stop: eval loss has not improved for {progress.bad_epochs} "
                        "epoch(s); keeping the best epoch")
                    stop = True
        progress.history.append(record)
        say("epoch {epoch:.2g}: train loss {train_loss:.4f}".format(**record)
            + (f", eval loss {record['eval_loss']:.4f}" if "eval_loss" in record else ""))
        progress.epoch, progress.updates_in_epoch = epoch + 1, 0
        progress.seconds = time.perf_counter() - started
        checkpoint()
    bar.close()

    if best_state is not None:
        set_peft_model_state_dict(unwrapped, best_state)
    last = progress.history[-1] if progress.history else {}
    metrics = {"train_loss": last.get("train_loss", float("nan")),
               "updates": float(progress.updates), "epochs": float(len(progress.history)),
               "train_examples": float(len(train_data)), "eval_examples": float(len(eval_data)),
               "train_pairs": float(sum(isinstance(i, Pair) for i in train_data)),
               "examples_seen": float(progress.examples_seen),
               "stopped_by_time_budget": float(out_of_time),
               "seconds": round(time.perf_counter() - started, 1),
               "processes": float(accelerator.num_processes), **(extra_metrics or {})}
    if progress.initial_eval_loss is not None:
        metrics["eval_loss_initial"] = progress.initial_eval_loss
    if progress.best_eval_loss is not None:
        metrics["eval_loss"] = progress.best_eval_loss
    accelerator.wait_for_everyone()
    if adapter_dir is not None and main:
        _save(unwrapped, tokenizer, Path(adapter_dir), base_label=base_label,
              fingerprint=fingerprint, data_hash=data_hash, config=config, metrics=metrics,
              name=name, device=str(accelerator.device))
    accelerator.wait_for_everyone()
    return TrainResult(adapter_dir, metrics, [dict(r) for r in progress.history], resumed_from)


def _save(model: Any, tokenizer: Any, target: Path, *, base_label: str, fingerprint: str,
          data_hash: str, config: TrainConfig, metrics: dict[str, float], name: str | None,
          device: str) -> None:
    """peft weights + metadata into a temp folder, renamed into place (never half an adapter)."""
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    hyper = {**config.hyperparameters(), "device": device}
    save_adapter_metadata(tmp, base_model=base_label, base_fingerprint=fingerprint,
                          data_hash=data_hash, hyperparameters=hyper, metrics=metrics, name=name)
    del tokenizer  # the adapter uses the base's tokenizer, recorded by the fingerprint
    if target.exists():
        raise FinetuneError(f"{target} already exists; choose another --name")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)


def describe(result: TrainResult) -> dict[str, Any]:
    """JSON-ready summary (the CLI's --json, the uplift script's record)."""
    return {**asdict(result), "adapter_dir": str(result.adapter_dir)}
