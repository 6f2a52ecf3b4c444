"""Text -> normalised vectors, behind a small protocol so any backend can be configured.

Inner product on L2-normalised vectors is cosine similarity, which is what the refusal
threshold in a pack is expressed in. The backends themselves (a sentence-transformers
directory run by torch or ONNX Runtime, the bundled 4-bit multilingual E5) live one file each
in :mod:`knowledge.embedders`; this module is only the boundary the rest of verirag codes to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

ProgressFn = Callable[[int, int], None]


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors of a fixed dimension.

    ``model_id`` is stored beside the index: it must change whenever the vectors would
    (other weights, another runtime, other query/passage prefixes), because a knowledge base
    whose saved id differs from its embedder's is re-embedded on open.
    """

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed_documents(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: ProgressFn | None = None
    ) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def __getattr__(name: str) -> object:
    """``SentenceTransformerEmbedder`` moved to :mod:`knowledge.embedders.sbert`; importing it
    from here still works (and loads it only when asked, as the backends are optional)."""
    if name == "SentenceTransformerEmbedder":
        from knowledge.embedders.sbert import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
