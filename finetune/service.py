"""One fine-tuning run for a pack, end to end, for the CLI and the Adapters page alike.

Data (the pack's bundled ``finetune/train.jsonl`` and ``eval.jsonl`` when none is given) ->
validated examples -> tokens with loss on the assistant's tokens only -> LoRA training ->
an adapter with metadata in the pack's registry, optionally activated. Callers get progress
through ``log`` (lines) and ``on_update`` (update number, loss) and render it their own way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.models.adapter_store import check_name
from app.models.generator import resolve_hf_dir
from app.models.locate import ModelSource, default_generator, source_from_path
from app.resources import Resources
from finetune.config import TrainConfig
from finetune.encode import Pair, encode_all
from finetune.formats import data_hash, load_examples
from finetune.train import TrainResult, train
from verirag.errors import VeriragError

LogFn = Callable[[str], None]


@dataclass(frozen=True)
class FinetuneRun:
    name: str
    adapter_dir: Path
    result: TrainResult
    activated: bool


def served_source(res: Resources, domain: str) -> ModelSource:
    """The model the pack serves: its own ``generator_path``, the setting, or the default."""
    pack = res.pack(domain)
    chosen = pack.models.generator_path or res.settings.generator_path
    return source_from_path(chosen) if chosen else default_generator()


def export_for_engine(res: Resources, source: ModelSource, adapter_dir: Path) -> Path | None:
    """Register the adapter with the llama.cpp engine too: its GGUF LoRA, written beside the
    peft files, when the pack's base is a GGUF file (None otherwise)."""
    from app.models.lora_gguf import lora_gguf_for

    if source.gguf_file is None:
        return None
    return lora_gguf_for(adapter_dir, source.directory / source.gguf_file,
                         res.settings.cache_dir)


def run_finetune(res: Resources, domain: str, *, data: Path | Sequence[Path] | None = None,
                 eval_data: Path | None = None, overrides: dict[str, Any] | None = None,
                 name: str | None = None, resume: bool = False, activate: bool = True,
                 log: LogFn | None = None, on_update: Callable[[int, float], None] | None = None,
                 progress_bar: bool = True) -> FinetuneRun:
    say = log or (lambda _m: None)
    pack = res.pack(domain)
    if data is None or not data:
        data = [pack.root / "finetune" / "train.jsonl"]
        bundled_eval = pack.root / "finetune" / "eval.jsonl"
        if eval_data is None and bundled_eval.is_file():
            eval_data = bundled_eval
        say(f"using the pack's bundled data: {data[0]}")
    files = [data] if isinstance(data, Path) else list(data)
    config = TrainConfig.from_pack(pack.lora, **(overrides or {}))
    registry = res.adapters(domain)
    if resume and not name:
        raise VeriragError("--resume needs the --name of the interrupted run")
    name = check_name(name) if name else registry.new_name()
    target = registry.path(name)
    if target.exists():
        raise VeriragError(f"adapter '{name}' already exists in {registry.dir}; choose another "
                           "--name or delete it with `verirag adapters delete`")
    train_examples = [e for path in files for e in load_examples(path, pack)]
    eval_examples = load_examples(eval_data, pack) if eval_data else []
    source = served_source(res, domain)
    base_dir, label = resolve_hf_dir(source, res.settings.cache_dir), source.label
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    train_enc, stats = encode_all(tokenizer, train_examples, pack, config.max_length)
    eval_enc, eval_stats = encode_all(tokenizer, eval_examples, pack, config.max_length)
    skipped = stats.skipped + eval_stats.skipped
    pairs = sum(isinstance(e, Pair) for e in train_enc)
    say(f"{len(train_enc)} training ({pairs} preference pairs) / {len(eval_enc)} eval examples "
        f"({stats.shortened + eval_stats.shortened} shortened by dropping distractors, "
        f"{len(skipped)} over {config.max_length} tokens skipped"
        + (f": {', '.join(skipped[:3])}" if skipped else "") + ")")
    result = train(train_enc, eval_enc, config, base_dir=base_dir, base_label=label,
                   run_dir=res.settings.finetune_runs_dir / domain / name,
                   adapter_dir=target, data_hash=data_hash(files, eval_data), name=domain,
                   resume=resume, log=say, on_update=on_update, progress_bar=progress_bar,
                   extra_metrics={"skipped_examples": float(len(skipped))})
    exported = export_for_engine(res, source, target)
    if exported is not None:
        say(f"exported for the llama.cpp engine: {exported}")
    if activate:
        registry.activate(name)
    return FinetuneRun(name, target, result, activate)
