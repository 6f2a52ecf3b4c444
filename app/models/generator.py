"""Text generation behind a small protocol, with an in-process transformers backend.

The default generator ships as a GGUF file. Reading GGUF metadata through transformers is
pure Python and takes ~25 s on two cores, so the first load converts it once into a plain
Hugging Face directory under ``$VERIRAG_HOME/cache/models``; later loads take about a second.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from app.models.locate import ModelSource
from verirag.errors import GenerationError, ModelNotFound


@dataclass(frozen=True)
class GenerationParams:
    max_new_tokens: int = 160
    temperature: float = 0.0
    top_p: float = 1.0
    repetition_penalty: float = 1.1


@dataclass
class GenerationStream:
    """Iterate for text pieces as they are produced; timings are filled in as it runs."""

    pieces: Iterator[str]
    started: float = field(default_factory=time.perf_counter)
    first_token_s: float | None = None
    total_s: float | None = None
    n_tokens: int = 0

    def __iter__(self) -> Iterator[str]:
        for piece in self.pieces:
            if self.first_token_s is None and piece:
                self.first_token_s = time.perf_counter() - self.started
            yield piece
        self.total_s = time.perf_counter() - self.started

    @property
    def tokens_per_s(self) -> float | None:
        if not self.total_s or not self.n_tokens:
            return None
        gen_time = self.total_s - (self.first_token_s or 0.0)
        return self.n_tokens / gen_time if gen_time > 0 else None


Message = dict[str, str]


class Generator(Protocol):
    """Anything that turns chat messages into a stream of text."""

    @property
    def model_id(self) -> str: ...

    def stream(self, messages: Sequence[Message], params: GenerationParams,
               adapter: str | None = None) -> GenerationStream: ...


def _gguf_cache_dir(source: ModelSource, cache_root: Path) -> Path:
    assert source.gguf_file is not None
    f = source.directory / source.gguf_file
    stat = f.stat()
    key = hashlib.sha1(f"{f.resolve()}:{stat.st_size}:{int(stat.st_mtime)}".encode())
    return cache_root / "models" / f"{Path(source.gguf_file).stem}-{key.hexdigest()[:10]}"


def _convert_gguf(source: ModelSource, target: Path) -> None:
    """Dequantise a GGUF model once and save it as a regular HF directory (atomically)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    d, g = str(source.directory), source.gguf_file
    tokenizer = AutoTokenizer.from_pretrained(d, gguf_file=g, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=g, local_files_only=True)
    # The dequantised weights are ordinary tensors; drop the GGUF marker so they can be saved.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer.save_pretrained(tmp)
    model.save_pretrained(tmp)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def resolve_hf_dir(source: ModelSource, cache_root: Path) -> Path:
    """A directory transformers can load quickly: the source itself or its GGUF conversion."""
    if source.gguf_file is None:
        return source.directory
    target = _gguf_cache_dir(source, cache_root)
    if not (target / "config.json").is_file():
        _convert_gguf(source, target)
    return target


class TransformersGenerator:
    """A causal LM in this process (CPU or CUDA); one generation at a time per model.

    Generation is serialised by a lock because the active LoRA adapter is model-wide state.
    """

    def __init__(self, source: ModelSource, device: str, cache_root: Path) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        self.source = source
        self.device = device
        hf_dir = resolve_hf_dir(source, cache_root)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(hf_dir, local_files_only=True)
            dtype = torch.bfloat16 if device == "cuda" else torch.float32
            self.model: Any = AutoModelForCausalLM.from_pretrained(
                hf_dir, local_files_only=True, dtype=dtype).to(device)
        except OSError as exc:
            raise ModelNotFound(f"cannot load a model from {hf_dir}: {exc}") from exc
        self.model.eval()
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self.source.label

    def prompt_ids(self, messages: Sequence[Message]) -> Any:
        if self.tokenizer.chat_template:
            enc = self.tokenizer.apply_chat_template(
                list(messages), add_generation_prompt=True, return_tensors="pt",
                return_dict=True)
            return enc["input_ids"]
        text = "\n\n".join(f"{m['role'].upper()}: {m['content']}" for m in messages)
        return self.tokenizer(text + "\n\nASSISTANT:", return_tensors="pt").input_ids

    def stream(self, messages: Sequence[Message], params: GenerationParams,
               adapter: str | None = None) -> GenerationStream:
        from transformers import TextIteratorStreamer

        input_ids = self.prompt_ids(messages).to(self.device)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True,
                                        skip_special_tokens=True, timeout=600)
        kwargs: dict[str, Any] = {
            "input_ids": input_ids, "attention_mask": input_ids.new_ones(input_ids.shape),
            "max_new_tokens": params.max_new_tokens, "streamer": streamer,
            "repetition_penalty": params.repetition_penalty,
            "pad_token_id": self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
        }
        if params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        result: dict[str, Any] = {}

        def run() -> None:
            import torch

            with self._lock, torch.inference_mode():
                try:
                    out = self.model.generate(**kwargs)
                    result["n"] = int(out.shape[1] - input_ids.shape[1])
                except Exception as exc:  # surfaced to the caller below, not swallowed
                    result["error"] = exc
                    streamer.end()

        thread = threading.Thread(target=run, daemon=True)
        stream = GenerationStream(iter(()))

        def pieces() -> Iterator[str]:
            thread.start()
            yield from streamer
            thread.join()
            if "error" in result:
                raise GenerationError(f"generation failed: {result['error']}")
            stream.n_tokens = result.get("n", 0)

        stream.pieces = pieces()
        return stream
