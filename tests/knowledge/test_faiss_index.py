"""The dense index: ids are chunk ids, deletes really delete, structure follows size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge.index.faiss_index import FaissIndex


def _vectors(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, dim)).astype("float32")
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_search_returns_chunk_ids_and_cosines() -> None:
    index = FaissIndex(16, "test")
    vecs = _vectors(50)
    index.add(range(1000, 1050), vecs)
    hits = index.search(vecs[7], 3)
    assert hits[0][0] == 1007
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5)


def test_filtered_search_only_returns_allowed_ids() -> None:
    index = FaissIndex(16, "test")
    vecs = _vectors(50)
    index.add(range(50), vecs)
    hits = index.search(vecs[7], 5, allowed_ids={1, 2, 3})
    assert {i for i, _ in hits} == {1, 2, 3}
    assert index.search(vecs[7], 5, allowed_ids=set()) == []


def test_switches_to_ivf_above_the_threshold_and_keeps_answers(tmp_path: Path) -> None:
    index = FaissIndex(16, "test")
    vecs = _vectors(600)
    index.add(range(600), vecs)
    before = [index.search(v, 1)[0][0] for v in vecs[:20]]
    assert index.fit_structure(flat_max=500)
    assert index.kind == "ivf"
    after = [index.search(v, 1)[0][0] for v in vecs[:20]]
    assert after == before  # exact vectors are found again through IVF
    assert index.remove(range(0, 100)) == 100
    returned = {i for v in vecs[:20] for i, _ in index.search(v, 5)}
    assert returned and not returned & set(range(100))
    index.save(tmp_path, revision=3)
    loaded, meta = FaissIndex.load(tmp_path) or (None, None)
    assert loaded is not None and meta is not None
    assert loaded.kind == "ivf" and meta.revision == 3 and len(loaded) == 500
    assert FaissIndex.stored_revision(tmp_path) == 3


def test_unreadable_index_file_is_treated_as_missing(tmp_path: Path) -> None:
    index = FaissIndex(16, "test")
    index.add([1, 2], _vectors(2))
    index.save(tmp_path, revision=1)
    (tmp_path / "dense.faiss").write_bytes(b"not an index")
    assert FaissIndex.load(tmp_path) is None  # the knowledge base rebuilds it from SQL
