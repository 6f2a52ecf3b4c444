"""The pack's GGUF served by llama.cpp: quantized kernels, per-request LoRA, batched chats.

Where the transformers backend dequantizes the GGUF to float32 and runs one request at a time,
this backend runs the file as shipped (Q4/Q8 kernels) and batches every chat in flight
(:mod:`app.models.llamacpp.scheduler`). LoRA adapters trained by ``verirag finetune`` are
exported once to GGUF LoRAs (:mod:`app.models.lora_gguf`), loaded beside the one base, and
chosen per request, so three packs on one base hold one copy of its weights.

Adapters are checked against the base exactly as the transformers backend checks them: by the
fingerprint of the weights they were trained on. That fingerprint is computed once from the
base's float32 conversion (the model the fine-tune trains) and cached beside it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.models.adapters import (
    LoadedBase,
    already_attached,
    check_adapter_base,
    require_attached,
)
from app.models.generator import GenerationStream, Message, base_fingerprint_of
from app.models.llamacpp.native import Context, Model
from app.models.llamacpp.prompt import render_chat
from app.models.llamacpp.reencode import cpu_weights
from app.models.llamacpp.scheduler import Request, Scheduler
from app.models.locate import ModelSource
from app.models.lora_gguf import lora_gguf_for
from domains.pack import GenerationParams
from verirag.errors import AdapterMismatch, ConfigError


@dataclass(frozen=True)
class EngineOptions:
    """How the engine is sized: threads, sequences decoded together, KV cache and batch."""

    threads: int = 1
    threads_batch: int | None = None  # prompt reading; None: the same as ``threads``
    slots: int = 4
    context: int = 4096  # KV-cache tokens per chat (prompt + answer)
    batch: int = 256  # tokens per decode: the fastest prompt reading measured (benchmarks)
    gpu: bool = False
    reencode: bool = True  # a Q4_1/Q5_1 file held as Q8_0 on the CPU (llamacpp.reencode)


class LlamaCppGenerator:
    def __init__(self, source: ModelSource, cache_root: Path,
                 options: EngineOptions | None = None) -> None:
        if source.gguf_file is None:
            raise ConfigError(f"{source.directory} is not a GGUF model; the llama.cpp engine "
                              "runs .gguf files (generator_backend = \"transformers\" runs "
                              "Hugging Face directories)")
        self.source, self.cache_root = source, cache_root
        self.options = opts = options or EngineOptions()
        self.path = source.directory / source.gguf_file
        weights = self.path
        if opts.reencode and not opts.gpu:
            weights = cpu_weights(self.path, cache_root)
        self.model = Model(weights, gpu_layers=999 if opts.gpu else 0)
        per_chat = min(opts.context, max(self.model.n_ctx_train, 512))
        self.ctx = Context(self.model, n_ctx=per_chat * opts.slots, n_seq=opts.slots,
                           n_batch=opts.batch,
                           threads=opts.threads, threads_batch=opts.threads_batch or opts.threads,
                           gpu=opts.gpu)
        self._template = self.model.meta("tokenizer.chat_template")
        self._bos = self.model.token_text(self.model.special_token("bos"))
        self._eos = self.model.token_text(self.model.special_token("eos"))
        self._loras: dict[str, Any] = {}
        self._paths: dict[str, Path] = {}
        self._lock = threading.Lock()
        self._base: LoadedBase | None = None
        self.scheduler = Scheduler(self.model, self.ctx, self._loras, n_batch=opts.batch)

    @property
    def model_id(self) -> str:
        return self.source.label

    @property
    def adapters(self) -> list[str]:
        return list(self._paths)

    def loaded_base(self) -> LoadedBase:
        if self._base is None:
            refs = [self.source.directory.name, Path(self.source.gguf_file or "").stem]
            self._base = LoadedBase.of(self.source.label, refs,
                                       base_fingerprint_of(self.source, self.cache_root))
        return self._base

    def attach_adapter(self, name: str, path: Path) -> None:
        """Check the adapter against this base, export it to a GGUF LoRA once, and load it.

        The same contract as the transformers backend: attaching a name again from the same
        folder is a no-op, another folder under a taken name is a ConfigError.
        """
        path = Path(path).expanduser().resolve()
        with self._lock:
            if already_attached(self._paths, name, path):
                return
            base = self.loaded_base()
            check_adapter_base(name, path, base)
            try:
                lora = self.model.load_lora(lora_gguf_for(path, self.path, self.cache_root))
            except AdapterMismatch as exc:
                raise AdapterMismatch(f"adapter '{name}' ({path}) does not fit the loaded base "
                                      f"'{base.label}': {exc}") from exc
            self._loras[name] = lora
            self._paths[name] = path

    def prompt_tokens(self, messages: Sequence[Message]) -> list[int]:
        text = render_chat(self._template, messages, bos=self._bos, eos=self._eos)
        return self.model.tokenize(text)

    def stream(self, messages: Sequence[Message], params: GenerationParams,
               adapter: str | None = None, *, ignore_end: bool = False) -> GenerationStream:
        require_attached(self._paths, adapter, self.model_id)
        request = Request(self.prompt_tokens(messages), params, adapter, ignore_end=ignore_end)
        stream = GenerationStream(iter(()), n_prompt_tokens=len(request.prompt))

        def pieces() -> Any:
            self.scheduler.submit(request)
            yield from request.pieces()
            stream.n_tokens = request.n_generated

        stream.pieces = pieces()
        return stream

    def close(self) -> None:
        """Stop the worker and free the KV cache now rather than at interpreter exit."""
        self.scheduler.close()
        del self.scheduler
        self.ctx.__del__()
