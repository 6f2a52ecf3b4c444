"""The dense index: FAISS inner product on normalised vectors, keyed by chunk id.

Small indexes are ``IndexIDMap2(IndexFlatIP)``; above ``flat_index_max`` an ``IndexIVFFlat``
that stores the chunk ids itself. IVF is never wrapped in an ID map: ``IndexIDMap`` deletes by
compacting its id list, which is only right for an inner index that renumbers its vectors the
same way (Flat does, IVF does not), so every deletion shifted the ids of later vectors.

The CPU index is the master copy: it is what is persisted and where deletions happen. When
faiss sees a GPU, a replica made with ``index_cpu_to_gpu`` serves searches; additions go to
both and the replica is re-cloned after deletions (GPU indexes cannot ``remove_ids``).
The file is written atomically (temp file + rename) beside a JSON sidecar naming the SQL
revision and embedder it reflects, so :mod:`knowledge.kb` can detect and repair drift.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from verirag.errors import KnowledgeBaseError

INDEX_FILE = "dense.faiss"
META_FILE = "dense.json"


@dataclass(frozen=True)
class IndexMeta:
    revision: int
    embedder_id: str
    dim: int


def _gpu_count() -> int:
    get = getattr(faiss, "get_num_gpus", None)
    return int(get()) if get else 0


class FaissIndex:
    """Chunk-id keyed vector index with an optional GPU search replica."""

    def __init__(self, dim: int, embedder_id: str, index: Any | None = None) -> None:
        self.dim = dim
        self.embedder_id = embedder_id
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._gpu_res: Any = None
        self._gpu: Any = None
        self._gpu_stale = True

    # -- contents --------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> set[int]:
        if isinstance(self.index, faiss.IndexIVF):
            return set(_ivf_ids(self.index).tolist())
        return set(faiss.vector_to_array(self.index.id_map).tolist())

    @property
    def kind(self) -> str:
        return "ivf" if isinstance(self.index, faiss.IndexIVF) else "flat"

    def add(self, ids: Iterable[int], vectors: np.ndarray) -> None:
        id_arr = np.asarray(list(ids), dtype="int64")
        if len(id_arr) == 0:
            return
        vecs = np.ascontiguousarray(vectors, dtype="float32")
        if vecs.shape != (len(id_arr), self.dim):
            raise KnowledgeBaseError(
                f"embedding shape {vecs.shape} does not match index dimension {self.dim}"
            )
        self.index.add_with_ids(vecs, id_arr)
        if self._gpu is not None and not self._gpu_stale:
            self._gpu.add_with_ids(vecs, id_arr)

    def remove(self, ids: Iterable[int]) -> int:
        id_arr = np.asarray(sorted(set(ids)), dtype="int64")
        if len(id_arr) == 0:
            return 0
        removed = int(self.index.remove_ids(id_arr))
        self._gpu_stale = True
        return removed

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """All (ids, vectors); used to change the index structure without re-embedding."""
        if isinstance(self.index, faiss.IndexIVF):
            return _ivf_contents(self.index)
        ids = faiss.vector_to_array(self.index.id_map).astype("int64")
        # IndexIDMap2 numbers the Flat index's vectors 0..n-1 in id_map order, so one bulk
        # read replaces n Python-level reconstruct calls (seconds at 50k vectors).
        vecs = faiss.downcast_index(self.index.index).reconstruct_n(0, len(ids))
        return ids, np.asarray(vecs, dtype="float32").reshape(len(ids), self.dim)

    # -- structure -------------------------------------------------------------------------
    def fit_structure(self, flat_max: int) -> bool:
        """Switch Flat -> IVF above ``flat_max`` vectors (and back below half of it).

        IVF rather than HNSW because IVF supports ``remove_ids`` (deleting a document must
        remove its vectors) and can be cloned to a GPU; HNSW can do neither.
        Returns True when the structure changed.
        """
        n = len(self)
        want_ivf = n > flat_max
        if want_ivf == (self.kind == "ivf") and not (self.kind == "ivf" and n < flat_max // 2):
            return False
        ids, vecs = self.vectors()
        if n > flat_max:
            nlist = max(16, int(4 * math.sqrt(n)))
            quantizer = faiss.IndexFlatIP(self.dim)
            new = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
            new.train(vecs)
            new.nprobe = min(nlist, 32)
        else:
            new = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        # faiss' Python wrapper keeps the inner index and the quantizer alive via references.
        new.add_with_ids(vecs, ids)
        self.index = new
        self._gpu_stale = True
        return True

    # -- search ----------------------------------------------------------------------------
    def _searcher(self) -> Any:
        if _gpu_count() == 0:
            return self.index
        if self._gpu is None or self._gpu_stale:
            if self._gpu_res is None:
                self._gpu_res = faiss.StandardGpuResources()
            self._gpu = faiss.index_cpu_to_gpu(self._gpu_res, 0, self.index)
            self._gpu_stale = False
        return self._gpu

    def search(
        self, query: np.ndarray, k: int, allowed_ids: set[int] | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (chunk id, cosine similarity); ``allowed_ids`` restricts the candidates."""
        if len(self) == 0 or k <= 0 or (allowed_ids is not None and not allowed_ids):
            return []
        q = np.ascontiguousarray(query, dtype="float32").reshape(1, self.dim)
        k = min(k, len(self))
        if allowed_ids is None:
            scores, ids = self._searcher().search(q, k)
        else:
            # Selectors run on the CPU master; filtered searches are small and rare enough.
            sel = faiss.IDSelectorBatch(np.asarray(sorted(allowed_ids), dtype="int64"))
            params: Any = (
                faiss.SearchParametersIVF(sel=sel, nprobe=self.index.nprobe)
                if isinstance(self.index, faiss.IndexIVF)
                else faiss.SearchParameters(sel=sel)
            )
            scores, ids = self.index.search(q, min(k, len(allowed_ids)), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    # -- persistence -----------------------------------------------------------------------
    def save(self, directory: Path, revision: int) -> None:
        """Write index then sidecar, each via temp file + rename (atomic on POSIX)."""
        directory.mkdir(parents=True, exist_ok=True)
        tmp_index = directory / f".{INDEX_FILE}.{os.getpid()}.tmp"
        faiss.write_index(self.index, str(tmp_index))
        os.replace(tmp_index, directory / INDEX_FILE)
        meta = {"revision": revision, "embedder_id": self.embedder_id, "dim": self.dim}
        tmp_meta = directory / f".{META_FILE}.{os.getpid()}.tmp"
        tmp_meta.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp_meta, directory / META_FILE)

    @staticmethod
    def stored_revision(directory: Path) -> int | None:
        """The revision the saved files reflect, read from the small sidecar only."""
        try:
            return int(json.loads((directory / META_FILE).read_text(encoding="utf-8"))["revision"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @classmethod
    def load(cls, directory: Path) -> tuple[FaissIndex, IndexMeta] | None:
        """The saved index and what it reflects, or None when there is none or it is unreadable.

        An unreadable file is not fatal: SQL is the source of truth and the caller rebuilds.
        """
        index_path, meta_path = directory / INDEX_FILE, directory / META_FILE
        if not index_path.is_file() or not meta_path.is_file():
            return None
        try:
            meta_raw = json.loads(meta_path.read_text(encoding="utf-8"))
            meta = IndexMeta(int(meta_raw["revision"]), str(meta_raw["embedder_id"]),
                             int(meta_raw["dim"]))
            index = _usable(faiss.read_index(str(index_path)))
        except (OSError, ValueError, KeyError, RuntimeError):
            return None
        if index is None or index.d != meta.dim:
            return None
        return cls(meta.dim, meta.embedder_id, index), meta


def _usable(index: Any) -> Any | None:
    """The loaded index in today's structure, or None when it cannot be trusted.

    Earlier versions wrapped IVF in ``IndexIDMap2``. Such an index is exact as long as nothing
    was ever deleted from it (its IVF lists then hold 0..n-1 in id_map order) and is converted;
    after a deletion its ids are shifted, and the knowledge base re-embeds from SQL instead.
    """
    if isinstance(index, faiss.IndexIVF):
        return index
    if not isinstance(index, faiss.IndexIDMap2):
        return None
    inner = faiss.downcast_index(index.index)
    if not isinstance(inner, faiss.IndexIVF):
        return index
    positions, vecs = _ivf_contents(inner)
    if not np.array_equal(np.sort(positions), np.arange(len(positions))):
        return None
    chunk_ids = faiss.vector_to_array(index.id_map).astype("int64")
    ivf = faiss.clone_index(inner)  # owned by Python; ``inner`` dies with ``index``
    ivf.reset()  # keeps the trained centroids
    ivf.add_with_ids(vecs[np.argsort(positions)], chunk_ids)
    return ivf


def _ivf_lists(index: Any) -> Iterator[tuple[int, int]]:
    """(list number, size) of each non-empty inverted list of an ``IndexIVFFlat``."""
    for list_no in range(index.nlist):
        size = index.invlists.list_size(list_no)
        if size:
            yield list_no, size


def _ivf_ids(index: Any) -> np.ndarray:
    """Every chunk id an ``IndexIVFFlat`` holds, without copying its vectors."""
    ids = [faiss.rev_swig_ptr(index.invlists.get_ids(list_no), size).copy()
           for list_no, size in _ivf_lists(index)]
    return np.concatenate(ids).astype("int64") if ids else np.zeros(0, dtype="int64")


def _ivf_contents(index: Any) -> tuple[np.ndarray, np.ndarray]:
    """Every (id, vector) an ``IndexIVFFlat`` holds, read list by list from its storage."""
    vecs = []
    for list_no, size in _ivf_lists(index):
        codes = faiss.rev_swig_ptr(index.invlists.get_codes(list_no), size * index.code_size)
        vecs.append(np.frombuffer(codes.copy(), dtype="float32").reshape(size, index.d))
    if not vecs:
        return np.zeros(0, dtype="int64"), np.zeros((0, index.d), dtype="float32")
    return _ivf_ids(index), np.concatenate(vecs)
