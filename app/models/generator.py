"""Text generation behind a small protocol, with an in-process transformers backend.

The default generator ships as a GGUF file. Reading GGUF metadata through transformers is
pure Python and takes ~25 s on two cores, so the first load converts it once into a plain
Hugging Face directory under ``$VERIRAG_HOME/cache/models``; later loads take about a second.

Per-pack LoRA adapters ride on the one base in memory (peft multi-adapter): each is attached
by name once and chosen per request. The OpenAI-compatible HTTP backend lives in
``app.models.openai_compat``.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from app.models.adapters import (
    LoadedBase,
    already_attached,
    base_fingerprint,
    check_adapter_base,
    require_attached,
)
from app.models.locate import ModelSource
from domains.pack import GenerationParams
from verirag.errors import AdapterMismatch, GenerationError, ModelNotFound


@dataclass
class GenerationStream:
    """Iterate for text pieces as they are produced; timings are filled in as it runs."""

    pieces: Iterator[str]
    started: float = field(default_factory=time.perf_counter)
    first_token_s: float | None = None
    total_s: float | None = None
    n_tokens: int = 0
    n_prompt_tokens: int = 0

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


FINGERPRINT_FILE = "verirag_base_fingerprint.txt"


def base_fingerprint_of(source: ModelSource, cache_root: Path) -> str:
    """The base's :func:`base_fingerprint`, computed once from its float32 form and cached.

    A backend that does not hold torch weights (llama.cpp) checks adapters with this: the
    fingerprint of the model the fine-tune trained, cached beside that model's files.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    hf_dir = resolve_hf_dir(source, cache_root)
    cached = hf_dir / FINGERPRINT_FILE
    if cached.is_file():
        return cached.read_text(encoding="utf-8").strip()
    tokenizer = AutoTokenizer.from_pretrained(hf_dir, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(hf_dir, local_files_only=True)
    value = base_fingerprint(model, tokenizer)
    tmp = cached.with_name(cached.name + ".tmp")
    tmp.write_text(value + "\n", encoding="utf-8")
    tmp.replace(cached)
    return value


class TransformersGenerator:
    """A causal LM in this process (CPU or CUDA); one generation at a time per model.

    Generation is serialised by a lock because the active LoRA adapter is model-wide state:
    attaching, switching and generating all happen under it, so a request never runs with
    another request's adapter.
    """

    def __init__(self, source: ModelSource, device: str, cache_root: Path) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        self.source = source
        self.device = device
        hf_dir = self.hf_dir = resolve_hf_dir(source, cache_root)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(hf_dir, local_files_only=True)
            dtype = torch.bfloat16 if device == "cuda" else torch.float32
            self.model: Any = AutoModelForCausalLM.from_pretrained(
                hf_dir, local_files_only=True, dtype=dtype).to(device)
        except OSError as exc:
            raise ModelNotFound(f"cannot load a model from {hf_dir}: {exc}") from exc
        self.model.eval()
        self._lock = threading.Lock()
        self._adapters: dict[str, Path] = {}
        self._base: LoadedBase | None = None

    @property
    def model_id(self) -> str:
        return self.source.label

    @property
    def adapters(self) -> list[str]:
        """Names of the attached LoRA adapters, in attach order."""
        return list(self._adapters)

    def loaded_base(self) -> LoadedBase:
        """The base as adapters are checked against it (fingerprint computed once)."""
        if self._base is None:
            refs = [str(self.hf_dir), self.source.directory.name, self.hf_dir.name]
            if self.source.gguf_file:
                refs.append(Path(self.source.gguf_file).stem)
            self._base = LoadedBase.of(self.source.label, refs,
                                       base_fingerprint(self.model, self.tokenizer))
        return self._base

    def attach_adapter(self, name: str, path: Path) -> None:
        """Load the LoRA adapter in ``path`` under ``name``, sharing this generator's base.

        Refuses (AdapterMismatch) an adapter trained on another base. Attaching a name again
        from the same folder does nothing, so callers may attach on every use; a different
        folder under a taken name is a ConfigError rather than a silent keep-or-replace.
        """
        path = Path(path).expanduser().resolve()
        with self._lock:
            if already_attached(self._adapters, name, path):
                return
            base = self.loaded_base()
            check_adapter_base(name, path, base)
            try:
                self._load_adapter(name, path)
            except (RuntimeError, ValueError) as exc:
                # peft's own checks: shapes or target modules that the base does not have.
                raise AdapterMismatch(
                    f"adapter '{name}' ({path}) does not fit the loaded base '{base.label}': "
                    f"{_first_reason(exc)}; retrain it on this base") from exc
            self._adapters[name] = path

    def _load_adapter(self, name: str, path: Path) -> None:
        """Wrap the base on the first adapter, add to the wrapper after; undo a failed load."""
        from peft import PeftModel

        if not self._adapters:
            base = self.model
            try:
                self.model = PeftModel.from_pretrained(base, str(path), adapter_name=name,
                                                       torch_device=self.device)
            except Exception:
                _remove_lora_layers(base)  # from_pretrained injects into `base` before loading
                raise
            self.model.eval()
            return
        try:
            self.model.load_adapter(str(path), adapter_name=name, torch_device=self.device)
        except Exception:
            if name in self.model.peft_config:
                self.model.delete_adapter(name)
            raise

    @contextmanager
    def _using(self, adapter: str | None) -> Iterator[None]:
        """Make ``adapter`` (or the bare base, for None) the one this generation runs with."""
        if adapter is not None:
            # set_adapter also flags the adapter's weights trainable; inference_mode makes
            # that moot, and leaving the flag keeps this working on peft releases without
            # set_adapter(inference_mode=...).
            self.model.set_adapter(adapter)
            yield
            return
        with self.model.disable_adapter() if self._adapters else nullcontext():
            yield

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

        require_attached(self._adapters, adapter, self.model_id)
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
        # A reader who stops reading (Stop in the web app, a client that hangs up) closes the
        # stream: generate() then ends at its next token instead of holding the model's lock
        # for every token still to come.
        stopped = threading.Event()
        kwargs["stopping_criteria"] = _stop_when(stopped)
        stream = GenerationStream(iter(()), n_prompt_tokens=int(input_ids.shape[1]))

        def run() -> None:
            import torch

            with self._lock, torch.inference_mode():
                try:
                    with self._using(adapter):
                        out = self.model.generate(**kwargs)
                    result["n"] = stream.n_tokens = int(out.shape[1] - input_ids.shape[1])
                except Exception as exc:  # surfaced to the caller below, not swallowed
                    result["error"] = exc
                    streamer.end()

        thread = threading.Thread(target=run, daemon=True)

        def pieces() -> Iterator[str]:
            thread.start()
            try:
                yield from streamer
            finally:
                stopped.set()
            thread.join()
            if "error" in result:
                raise GenerationError(f"generation failed: {result['error']}")

        stream.pieces = pieces()
        return stream


def _stop_when(event: threading.Event) -> Any:
    """A transformers stopping criterion that ends generation once ``event`` is set."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _Stopped(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            return torch.full((input_ids.shape[0],), event.is_set(), dtype=torch.bool,
                              device=input_ids.device)

    return StoppingCriteriaList([_Stopped()])


def _remove_lora_layers(model: Any) -> None:
    """Put back the plain layers that a failed ``PeftModel.from_pretrained`` wrapped in place."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    tuned = [n for n, m in model.named_modules() if isinstance(m, BaseTunerLayer)]
    outermost = [n for n in tuned if not any(n.startswith(t + ".") for t in tuned)]
    for name in outermost:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, model.get_submodule(name).get_base_layer())
    if hasattr(model, "peft_config"):
        del model.peft_config


def _first_reason(exc: BaseException) -> str:
    """The informative line of a (often multi-line) peft/torch loading error."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = next((line for line in lines if "mismatch" in line or "not found" in line),
                  lines[0] if lines else type(exc).__name__)
    return reason if len(reason) <= 240 else reason[:239] + "…"
