"""Text -> normalised vectors, behind a small protocol so any backend can be configured.

Inner product on L2-normalised vectors is cosine similarity, which is what the refusal
threshold in a pack is expressed in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

ProgressFn = Callable[[int, int], None]


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors of a fixed dimension."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed_documents(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: ProgressFn | None = None
    ) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _fingerprint(path: Path) -> str:
    """Changes when the model files change, so stale vectors are detected and rebuilt."""
    digest = hashlib.sha1()
    for name in ("config.json", "modules.json", "sentence_bert_config.json"):
        f = path / name
        if f.is_file():
            digest.update(f.read_bytes())
    for f in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        digest.update(f"{f.name}:{f.stat().st_size}".encode())
    return digest.hexdigest()[:10]


class SentenceTransformerEmbedder:
    """A local sentence-transformers model directory (MiniLM, BGE, E5, ...)."""

    def __init__(self, path: Path, device: str = "cpu", query_prefix: str = "",
                 passage_prefix: str = "") -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        self.path = Path(path)
        self._model = SentenceTransformer(str(self.path), device=device, local_files_only=True)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        dim = self._model.get_embedding_dimension() if hasattr(
            self._model, "get_embedding_dimension") else (
            self._model.get_sentence_embedding_dimension())
        self._dim = int(dim or 0)
        self._fingerprint = _fingerprint(self.path)

    @property
    def model_id(self) -> str:
        return f"st:{self.path.parent.name}/{self.path.name}:{self._dim}:{self._fingerprint}"

    @property
    def dim(self) -> int:
        return self._dim

    def embed_documents(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: ProgressFn | None = None
    ) -> np.ndarray:
        texts = [self.passage_prefix + t for t in texts] if self.passage_prefix else texts
        out = np.zeros((len(texts), self._dim), dtype="float32")
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start : start + batch_size])
            out[start : start + len(batch)] = self._model.encode(
                batch, batch_size=batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False,
            )
            if progress:
                progress(min(start + batch_size, len(texts)), len(texts))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._model.encode(
            [self.query_prefix + text], normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )[0].astype("float32")
