"""A local sentence-transformers model directory (MiniLM, BGE, E5, ...), run by torch or ONNX.

sentence-transformers does the tokenising, pooling and normalising whichever runtime is
chosen; with ``onnx``/``onnx-int8`` only the transformer's forward pass is handed to ONNX
Runtime (:mod:`knowledge.embedders.onnx_runtime`, exported by
:mod:`knowledge.embedders.onnx_export`), so a model layout that works with torch works there.

Query/passage prefixes (E5 needs ``"query: "``/``"passage: "``) come from the model's own
``prompts`` in ``config_sentence_transformers.json`` (keys ``query`` and ``passage`` or
``document``), the place sentence-transformers itself keeps them; a directory named like an
E5 model (``multilingual-e5-small``, ``e5-base-v2``) with no prompts gets E5's.

Under ``onnx-int8`` the passages are embedded by the int8 export and the questions by the
float32 one: ingest is where the volume is, while a question is one short text, embedded in
milliseconds either way, and an exact question vector leaves only the passages' rounding (on
the full cuad set the default search's recall@10 came to 0.787 against torch's 0.793, where
int8 questions gave 0.780: docs/benchmarks.md). The float32 model loads at the first question
and stays beside the int8 one (about 90 MB); the API server loads it while warming up.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.embedders import RUNTIMES
from knowledge.embedding import ProgressFn
from verirag.errors import ConfigError

_E5_NAME = re.compile(r"(^|[-_.])e5([-_.]|$)")


def fingerprint(path: Path) -> str:
    """Changes when the model files change, so stale vectors are detected and rebuilt."""
    digest = hashlib.sha1()
    for name in ("config.json", "modules.json", "sentence_bert_config.json"):
        f = path / name
        if f.is_file():
            digest.update(f.read_bytes())
    for f in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        digest.update(f"{f.name}:{f.stat().st_size}".encode())
    return digest.hexdigest()[:10]


def model_name(path: Path) -> str:
    """The model's name as its folder spells it; in a Hugging Face cache
    (``models--intfloat--multilingual-e5-small/snapshots/<revision>``) the repository's."""
    return path.parent.parent.name if path.parent.name == "snapshots" else path.name


def default_prefixes(path: Path, prompts: dict[str, str]) -> tuple[str, str]:
    """(query, passage) prefixes: the model's configured prompts, else E5's for an E5 name."""
    query = prompts.get("query") or ""
    passage = prompts.get("passage") or prompts.get("document") or ""
    if not query and not passage and _E5_NAME.search(model_name(path).lower()):
        return "query: ", "passage: "
    return query, passage


class SentenceTransformerEmbedder:
    """One model directory in this process; ``runtime`` is ``torch``, ``onnx`` or ``onnx-int8``."""

    def __init__(self, path: Path, device: str = "cpu", *, runtime: str = "torch",
                 cache_dir: Path | None = None, query_prefix: str | None = None,
                 passage_prefix: str | None = None) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        if runtime not in RUNTIMES:
            raise ConfigError(f"embedder_backend {runtime!r} is not one of "
                              f"{', '.join(RUNTIMES)}; fix the setting (VERIRAG_EMBEDDER_BACKEND)")
        if runtime != "torch" and device != "cpu":
            raise ConfigError(f"embedder_backend {runtime!r} runs on the CPU, but device is "
                              f"{device!r}; set device = 'cpu' or embedder_backend = 'torch'")
        if runtime != "torch" and cache_dir is None:
            raise ConfigError(f"embedder_backend {runtime!r} needs a model cache folder to "
                              "export into; set model_cache")
        hf_logging.disable_progress_bar()
        self.path = Path(path)
        self.runtime = runtime
        self._fingerprint = fingerprint(self.path)
        # Under ONNX the torch weights are read once (to export, if not cached) and released.
        self._model = SentenceTransformer(str(self.path), device=device, local_files_only=True)
        self._cache_dir, self._device = cache_dir, device
        if runtime != "torch":
            from knowledge.embedders.onnx_runtime import use_onnx

            assert cache_dir is not None
            use_onnx(self._model, cache_dir, self._export_key, quantized=runtime == "onnx-int8")
        self._query_model: Any = None if runtime == "onnx-int8" else self._model
        self._query_lock = threading.Lock()
        prompts = getattr(self._model, "prompts", None) or {}
        query, passage = default_prefixes(self.path, prompts)
        self.query_prefix = query if query_prefix is None else query_prefix
        self.passage_prefix = passage if passage_prefix is None else passage_prefix
        dim = self._model.get_embedding_dimension() if hasattr(
            self._model, "get_embedding_dimension") else (
            self._model.get_sentence_embedding_dimension())
        self._dim = int(dim or 0)

    @property
    def _export_key(self) -> str:
        return f"{self.path.name}-{self._fingerprint}"

    def _for_queries(self) -> Any:
        """The model questions are embedded with: the float32 export under ``onnx-int8``
        (module doc), loaded at the first question; the passages' model otherwise."""
        with self._query_lock:
            if self._query_model is None:
                from sentence_transformers import SentenceTransformer

                from knowledge.embedders.onnx_runtime import use_onnx

                model = SentenceTransformer(str(self.path), device=self._device,
                                            local_files_only=True)
                use_onnx(model, self._cache_dir, self._export_key, quantized=False)
                self._query_model = model
            return self._query_model

    @property
    def model_id(self) -> str:
        # The torch id without prefixes is what every index built before runtimes and
        # prefixes existed carries; it stays, so those indexes are not rebuilt for nothing.
        parts = [f"st:{self.path.parent.name}/{self.path.name}:{self._dim}:{self._fingerprint}"]
        if self.runtime != "torch":
            parts.append(self.runtime)
        if self.query_prefix or self.passage_prefix:
            pair = f"{self.query_prefix}\0{self.passage_prefix}".encode()
            parts.append("p" + hashlib.sha1(pair).hexdigest()[:6])
        return ":".join(parts)

    @property
    def dim(self) -> int:
        return self._dim

    def _encode(self, texts: list[str], model: Any = None) -> np.ndarray:
        chosen = self._model if model is None else model
        return chosen.encode(texts, batch_size=len(texts), normalize_embeddings=True,
                             convert_to_numpy=True, show_progress_bar=False)

    def embed_documents(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: ProgressFn | None = None
    ) -> np.ndarray:
        """Longest texts first, so each batch pads to similar lengths (less wasted compute)
        while ``progress`` still hears after every batch; rows come back in input order."""
        prefixed = [self.passage_prefix + t for t in texts]
        order = sorted(range(len(prefixed)), key=lambda i: -len(prefixed[i]))
        out = np.zeros((len(prefixed), self._dim), dtype="float32")
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._encode([prefixed[i] for i in rows])
            if progress:
                progress(min(start + batch_size, len(order)), len(order))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([self.query_prefix + text], self._for_queries())[0].astype("float32")
