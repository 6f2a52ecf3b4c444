"""The dense index: ids are chunk ids, deletes really delete, structure follows size."""

from __future__ import annotations

from pathlib import Path

import faiss
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


def test_changing_structure_keeps_every_id_with_its_own_vector() -> None:
    """Flat -> IVF -> Flat after deletions: a vector filed under the wrong id would make a
    search return another passage than the one whose text was embedded."""
    index = FaissIndex(16, "test")
    vecs = _vectors(600)
    index.add(range(1000, 1600), vecs)
    kept = set(range(1000, 1600)) - set(range(1000, 1600, 7))
    index.remove(range(1000, 1600, 7))
    for flat_max in (400, 1200):  # to IVF, then back to Flat below half the threshold
        assert index.fit_structure(flat_max=flat_max)
        ids, stored = index.vectors()
        assert sorted(ids.tolist()) == sorted(kept)
        np.testing.assert_allclose(stored, vecs[ids - 1000], atol=1e-6)
        index.remove(ids[:3].tolist())
        kept -= set(ids[:3].tolist())


def test_after_deletions_an_ivf_index_still_finds_each_passage_by_its_own_id(
        tmp_path: Path) -> None:
    """IVF used to sit inside IndexIDMap2, whose deletes shift the ids of every later vector
    of an IVF index: above 50k passages, deleting one document made search cite the wrong
    passages."""
    index = FaissIndex(16, "test")
    vecs = _vectors(600)
    index.add(range(1000, 1600), vecs)
    assert index.fit_structure(flat_max=400) and index.kind == "ivf"
    gone = set(range(1000, 1600, 7))
    index.remove(gone)
    index.add([5000], vecs[:1] * -1)  # an addition after the deletion, too
    index.save(tmp_path, revision=1)
    loaded = FaissIndex.load(tmp_path)
    assert loaded is not None
    for searched in (index, loaded[0]):
        for chunk_id in sorted(set(range(1000, 1600)) - gone)[::10]:
            assert searched.search(vecs[chunk_id - 1000], 1)[0][0] == chunk_id
        assert searched.search(-vecs[0], 1)[0][0] == 5000


def test_an_ivf_index_saved_inside_an_id_map_is_converted_or_rebuilt(tmp_path: Path) -> None:
    """Indexes written before the fix: exact when nothing was deleted, else re-embedded."""
    vecs = _vectors(300)
    for deleted in (False, True):
        quantizer = faiss.IndexFlatIP(16)
        inner = faiss.IndexIVFFlat(quantizer, 16, 8, faiss.METRIC_INNER_PRODUCT)
        inner.train(vecs)
        legacy = faiss.IndexIDMap2(inner)
        legacy.add_with_ids(vecs, np.arange(100, 400))
        if deleted:
            legacy.remove_ids(np.array([150], dtype="int64"))
        FaissIndex(16, "test").save(tmp_path, revision=2)  # the sidecar
        faiss.write_index(legacy, str(tmp_path / "dense.faiss"))
        loaded = FaissIndex.load(tmp_path)
        if deleted:
            assert loaded is None  # the knowledge base re-embeds from SQL
            continue
        assert loaded is not None and loaded[0].kind == "ivf"
        loaded[0].index.nprobe = 8
        assert [loaded[0].search(vecs[i], 1)[0][0] for i in range(0, 300, 30)] == list(
            range(100, 400, 30))


def test_unreadable_index_file_is_treated_as_missing(tmp_path: Path) -> None:
    index = FaissIndex(16, "test")
    index.add([1, 2], _vectors(2))
    index.save(tmp_path, revision=1)
    (tmp_path / "dense.faiss").write_bytes(b"not an index")
    assert FaissIndex.load(tmp_path) is None  # the knowledge base rebuilds it from SQL
