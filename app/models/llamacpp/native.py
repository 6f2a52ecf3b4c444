"""The few llama.cpp C calls the engine makes, through llama-cpp-python's ctypes bindings.

Kept apart so the scheduler reads as scheduling: a :class:`Model` (weights, vocabulary, GGUF
metadata, LoRA adapters) loaded once, and a :class:`Context` (the KV cache shared by every
sequence) that decodes one :class:`Batch` at a time. Nothing here is thread-safe; the
scheduler's single worker thread is the only caller after loading.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from verirag.errors import AdapterMismatch, GenerationError, ModelNotFound

_init_lock = threading.Lock()
_initialised = False


def _quiet_log(level: int, text: bytes, user_data: Any) -> None:
    """llama.cpp's loader prints hundreds of lines per load; errors surface as return codes."""


def _bindings() -> Any:
    """llama_cpp's low-level module, initialised once per process."""
    global _initialised, _log_callback
    try:
        import llama_cpp
    except ImportError as exc:
        raise ModelNotFound("the llama.cpp engine needs llama-cpp-python; run the README's "
                            "setup again, or set generator_backend = \"transformers\"") from exc
    with _init_lock:
        if not _initialised:
            refuse_amx_build(llama_cpp.llama_print_system_info().decode())
            _log_callback = llama_cpp.llama_log_callback(_quiet_log)
            llama_cpp.llama_log_set(_log_callback, ctypes.c_void_p(0))
            llama_cpp.llama_backend_init()
            _initialised = True
    return llama_cpp


_log_callback: Any = None  # kept referenced: llama.cpp calls it from C


def refuse_amx_build(system_info: str) -> None:
    """A llama.cpp compiled with AMX kernels segfaults at its first decode on the hosts we run
    on (the kernel withholds AMX state), taking every chat in the process with it; refuse it
    at load, where the error can say how to get a build without them."""
    if "AMX_INT8 = 1" in system_info:
        raise ModelNotFound("the installed llama-cpp-python was compiled with AMX kernels, "
                            "which crash this process; run scripts/setup.sh again (it "
                            "recompiles llama.cpp without them)")


def requantize(source: Path, target: Path, file_type: int) -> None:
    """Write ``source``'s weights to ``target`` in llama.cpp file type ``file_type``."""
    lib = _bindings()
    params = lib.llama_model_quantize_default_params()
    params.ftype, params.allow_requantize = file_type, True
    if lib.llama_model_quantize(str(source).encode(), str(target).encode(),
                                ctypes.byref(params)) != 0:
        raise ModelNotFound(f"llama.cpp could not re-encode {source}; check that it is a "
                            "complete GGUF model file")


class Model:
    """A GGUF model's weights and vocabulary; freed when the object is collected."""

    def __init__(self, path: Path, *, gpu_layers: int = 0) -> None:
        self.lib = lib = _bindings()
        params = lib.llama_model_default_params()
        params.n_gpu_layers = gpu_layers
        self.ptr = lib.llama_model_load_from_file(str(path).encode(), params)
        if not self.ptr:
            raise ModelNotFound(f"llama.cpp cannot load {path}; check that it is a complete "
                                "GGUF model file")
        self.path = path
        self.vocab = lib.llama_model_get_vocab(self.ptr)
        self.n_vocab = int(lib.llama_vocab_n_tokens(self.vocab))
        self.n_ctx_train = int(lib.llama_model_n_ctx_train(self.ptr))
        self._piece = ctypes.create_string_buffer(256)

    def meta(self, key: str) -> str | None:
        buf = ctypes.create_string_buffer(1 << 16)
        n = self.lib.llama_model_meta_val_str(self.ptr, key.encode(), buf, len(buf))
        return buf.value.decode("utf-8", "replace") if n >= 0 else None

    def token_text(self, token: int) -> str:
        """A (special) token's text, e.g. ``<|im_end|>``, for chat-template variables."""
        return self.piece(token, special=True).decode("utf-8", "replace")

    def tokenize(self, text: str) -> list[int]:
        data = text.encode("utf-8")
        room = len(data) + 8
        out = (self.lib.llama_token * room)()
        n = self.lib.llama_tokenize(self.vocab, data, len(data), out, room, False, True)
        if n < 0:
            raise GenerationError(f"cannot tokenize a prompt of {len(data)} bytes")
        return list(out[:n])

    def piece(self, token: int, *, special: bool = False) -> bytes:
        n = self.lib.llama_token_to_piece(self.vocab, token, self._piece, len(self._piece), 0,
                                          special)
        return self._piece.raw[:n] if n > 0 else b""

    def is_end(self, token: int) -> bool:
        return bool(self.lib.llama_vocab_is_eog(self.vocab, token))

    def special_token(self, name: str) -> int:
        fn = {"bos": self.lib.llama_vocab_bos, "eos": self.lib.llama_vocab_eos}[name]
        return int(fn(self.vocab))

    def load_lora(self, path: Path) -> Any:
        ptr = self.lib.llama_adapter_lora_init(self.ptr, str(path).encode())
        if not ptr:
            raise AdapterMismatch(f"llama.cpp refused the LoRA {path} for {self.path.name} "
                                  "(tensor names or shapes do not fit this base); retrain it "
                                  "on this base")
        return ptr

    def __del__(self) -> None:
        if getattr(self, "ptr", None):
            self.lib.llama_model_free(self.ptr)
            self.ptr = None


class Batch:
    """Tokens of several sequences for one decode; logits are asked for where ``want`` is set."""

    def __init__(self, lib: Any, capacity: int) -> None:
        self.lib, self.capacity = lib, capacity
        self.raw = lib.llama_batch_init(capacity, 0, 1)
        self.n = 0

    def clear(self) -> None:
        self.n = 0

    def add(self, token: int, pos: int, seq: int, want: bool) -> int:
        """Append one token; returns its row, the index its logits are read back by."""
        i, raw = self.n, self.raw
        raw.token[i], raw.pos[i], raw.n_seq_id[i] = token, pos, 1
        raw.seq_id[i][0] = seq
        raw.logits[i] = 1 if want else 0
        self.n += 1
        return i

    @property
    def room(self) -> int:
        return self.capacity - self.n

    def __del__(self) -> None:
        if getattr(self, "raw", None) is not None:
            self.lib.llama_batch_free(self.raw)
            self.raw = None


class Context:
    """The KV cache of up to ``n_seq`` sequences, ``n_ctx / n_seq`` tokens each, with the
    LoRA adapters set per decode."""

    def __init__(self, model: Model, *, n_ctx: int, n_seq: int, n_batch: int, threads: int,
                 threads_batch: int, gpu: bool = False) -> None:
        lib, self.model = model.lib, model
        self.lib = lib
        params = lib.llama_context_default_params()
        params.n_ctx, params.n_seq_max = n_ctx, n_seq
        params.n_batch = params.n_ubatch = n_batch
        params.n_threads, params.n_threads_batch = threads, threads_batch
        # One KV stream per sequence: attention then spans a chat's own cells, not every
        # chat's (a unified cache made 8 distinct chats slower than one at a time).
        params.kv_unified = False
        # Flash attention halves CPU decode speed once the prompt is ~1k tokens (measured:
        # 27 vs 52 tok/s at 1,150 tokens); on a GPU llama.cpp decides.
        params.flash_attn_type = -1 if gpu else 0
        params.no_perf = True
        self.ptr = lib.llama_init_from_model(model.ptr, params)
        if not self.ptr:
            raise GenerationError(f"llama.cpp could not create a context of {n_ctx} tokens; "
                                  "lower generator_context")
        self.n_ctx = int(lib.llama_n_ctx(self.ptr))
        self.per_seq = int(lib.llama_n_ctx_seq(self.ptr))
        self.n_seq = n_seq
        self.memory = lib.llama_get_memory(self.ptr)
        self._adapters: tuple[Any, ...] = ()

    def use_adapters(self, adapters: Sequence[Any], scale: float = 1.0) -> None:
        """Make ``adapters`` (LoRA pointers; empty: the bare base) apply to the next decodes."""
        key = tuple(adapters)
        if key == self._adapters:
            return
        n = len(key)
        arr = (self.lib.llama_adapter_lora_p_ctypes * max(n, 1))(*key)
        scales = (ctypes.c_float * max(n, 1))(*([scale] * n))
        if self.lib.llama_set_adapters_lora(self.ptr, arr if n else None, n,
                                            scales if n else None) != 0:
            raise GenerationError("llama.cpp could not switch LoRA adapters")
        self._adapters = key

    def decode(self, batch: Batch) -> None:
        batch.raw.n_tokens = batch.n
        rc = self.lib.llama_decode(self.ptr, batch.raw)
        if rc != 0:
            raise GenerationError(f"llama.cpp decode failed (code {rc}); the context of "
                                  f"{self.n_ctx} tokens may be full: raise generator_context")

    def logits(self, row: int) -> np.ndarray:
        ptr = self.lib.llama_get_logits_ith(self.ptr, row)
        return np.ctypeslib.as_array(ptr, shape=(self.model.n_vocab,))

    def forget(self, seq: int, start: int = 0) -> None:
        """Drop ``seq``'s cache from position ``start`` on (all of it by default)."""
        self.lib.llama_memory_seq_rm(self.memory, seq, start, -1)

    def share(self, src: int, dst: int, length: int) -> None:
        """Give ``dst`` the first ``length`` cached positions of ``src``: llama.cpp copies a
        whole stream between sequences, so copy it all and cut after ``length``."""
        self.lib.llama_memory_seq_cp(self.memory, src, dst, -1, -1)
        self.forget(dst, length)

    def __del__(self) -> None:
        if getattr(self, "ptr", None):
            self.lib.llama_free(self.ptr)
            self.ptr = None
