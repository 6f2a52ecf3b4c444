"""A Q4_1 or Q5_1 GGUF held as Q8_0 on the CPU: the same weights, read by tiled kernels.

llama.cpp multiplies Q8_0, Q4_0, Q5_0, IQ4_NL and float matrices on x86 with tiled kernels
(llamafile's sgemm, weight repacking) but Q4_1 and Q5_1 one dot product at a time, so the
default model (SmolLM2-135M-Instruct, Q4_1) read a 1,143-token prompt in 4.7 s where the same
weights in Q8_0 took 2.3 s, and decoded slower too (docs/benchmarks.md, engine section).

Q8_0 holds every Q4_1 weight to within 1/254 of its 32-weight block's largest: on the default
model the largest change is 5 % of one Q4_1 rounding step and the root-mean-square change
0.55 % of the weights' own, so this re-encodes the shipped model, it does not re-quantize it
to another one (Q4_0 would, and was faster still; not done). The copy is made once per file
(about 2 s), kept under the model cache and reused while the shipped file is unchanged; the
shipped file stays what adapters are exported against and what fingerprints name. On a GPU
llama.cpp has kernels for these types, so the file is served as shipped there.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.models.llamacpp.native import Batch, Context, Model, requantize
from verirag.errors import ModelNotFound

log = logging.getLogger(__name__)

Q8_0 = 7  # llama.cpp's LLAMA_FTYPE_MOSTLY_Q8_0
# llama.cpp file types (general.file_type) with no tiled CPU kernel; both measured slower.
SLOW_ON_CPU = {3: "Q4_1", 9: "Q5_1"}


def file_type(path: Path) -> int | None:
    """The GGUF's ``general.file_type`` (its main weight format), None if it does not say."""
    import gguf

    field = gguf.GGUFReader(str(path)).fields.get("general.file_type")
    return int(field.contents()) if field is not None else None


def cpu_weights(path: Path, cache_root: Path) -> Path:
    """The file the CPU engine should load for the shipped GGUF ``path``: a Q8_0 copy under
    ``cache_root/engine`` when ``path`` is in a slow format, else ``path`` itself.

    A cache that cannot be written costs speed, not service: the shipped file is loaded.
    """
    kind = SLOW_ON_CPU.get(file_type(path) or -1)
    if kind is None:
        return path
    stat = path.stat()
    key = f"{path.resolve().as_posix()}|{stat.st_size}|{stat.st_mtime_ns}"
    target = (Path(cache_root) / "engine" /
              f"{path.stem}.{hashlib.sha1(key.encode()).hexdigest()[:12]}.q8_0.gguf")
    if target.is_file():
        return target
    partial: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f"{target.name}.", suffix=".tmp",
                                        dir=target.parent)
        os.close(handle)
        partial = Path(name)
        log.info("re-encoding %s (%s) as Q8_0 for the CPU, once: %s", path.name, kind, target)
        requantize(path, partial, Q8_0)
        os.replace(partial, target)  # another writer of the same copy is harmless
    except (OSError, ModelNotFound) as exc:
        if partial is not None and partial.is_file():
            partial.unlink()
        log.warning("cannot keep a Q8_0 copy of %s under %s (%s); serving it as shipped, "
                    "with slower prompt reading", path.name, target.parent, exc)
        return path
    return target


def next_token_logprobs(path: Path, tokens: Sequence[int]) -> np.ndarray:
    """The model's log-probabilities for the next token at every position of ``tokens``
    (one row per position): what two encodings of one model are compared by."""
    model = Model(path)
    ctx = Context(model, n_ctx=max(len(tokens), 64), n_seq=1, n_batch=len(tokens), threads=1,
                  threads_batch=os.cpu_count() or 1)
    batch = Batch(model.lib, len(tokens))
    rows = [batch.add(token, pos, 0, want=True) for pos, token in enumerate(tokens)]
    ctx.decode(batch)
    logits = np.stack([ctx.logits(row) for row in rows]).astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))


def divergence(reference: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """Share of positions where ``other`` picks the same next token as ``reference``, and the
    mean KL divergence of ``other`` from ``reference`` (both from ``next_token_logprobs``)."""
    agree = float(np.mean(reference.argmax(axis=1) == other.argmax(axis=1)))
    kl = float((np.exp(reference) * (reference - other)).sum(axis=1).mean())
    return agree, kl
