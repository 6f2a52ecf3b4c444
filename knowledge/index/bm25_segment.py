"""One immutable slice of the BM25 index: raw term frequencies of a batch of chunks.

The index keeps *counts*, not precomputed scores (bm25s precomputes scores, which bakes the
corpus-wide document frequencies and average length into every entry, so one added or
deleted chunk changes all of them and forces a full rebuild). With counts, a new document is a
new segment, a deleted one is a cleared bit, and the scores come out at query time exactly as
a fresh build over the live chunks would give them.

A segment is a compressed sparse column matrix: for term ``t`` (local id), the chunks holding
it are ``docs[indptr[t]:indptr[t + 1]]`` (positions into ``ids``) with counts ``tfs[...]``.
Segments never change once built; ``without`` returns a new view with more chunks marked dead,
sharing the arrays, so a search running in another thread keeps a consistent picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

_SEPARATOR = "\n"  # tokens are runs of word characters: they never hold a newline


@dataclass(frozen=True, eq=False)
class Segment:
    ids: np.ndarray  # int64 chunk id per position
    lengths: np.ndarray  # int32 token count per position (BM25's document length)
    terms: tuple[str, ...]
    indptr: np.ndarray  # int64, len(terms) + 1
    docs: np.ndarray  # int32 positions, ascending within a term
    tfs: np.ndarray  # float32 counts, aligned with docs
    alive: np.ndarray  # bool per position; False once the chunk is deleted
    file: str | None = None  # the file it is saved in; None until saved
    sha256: str | None = None
    # Shared by the views ``without`` makes: the terms never change.
    term_index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.terms and not self.term_index:
            self.term_index.update((t, i) for i, t in enumerate(self.terms))

    # -- building ----------------------------------------------------------------------------
    @classmethod
    def build(cls, ids: Sequence[int], token_lists: Sequence[Sequence[str]]) -> Segment:
        """Count each chunk's tokens; ``token_lists[i]`` belongs to chunk ``ids[i]``."""
        vocab: dict[str, int] = {}
        flat = np.fromiter(
            (vocab.setdefault(t, len(vocab)) for tokens in token_lists for t in tokens),
            dtype=np.int64,
        )
        lengths = np.fromiter((len(t) for t in token_lists), dtype=np.int32, count=len(ids))
        positions = np.repeat(np.arange(len(ids), dtype=np.int64), lengths)
        # One key per (term, position) pair: unique() both counts and sorts them by term.
        keys, counts = np.unique(flat * max(len(ids), 1) + positions, return_counts=True)
        term_of = keys // max(len(ids), 1)
        return cls._from_postings(
            ids=np.asarray(ids, dtype=np.int64).reshape(-1),
            lengths=lengths,
            terms=tuple(vocab),
            term_of=term_of,
            docs=keys % max(len(ids), 1),
            tfs=counts,
        )

    @classmethod
    def merge(cls, segments: Sequence[Segment]) -> Segment:
        """One segment holding the live chunks of ``segments``; dead chunks are dropped."""
        vocab: dict[str, int] = {}
        ids, lengths, term_parts, doc_parts, tf_parts = [], [], [], [], []
        offset = 0
        for seg in segments:
            new_position = np.cumsum(seg.alive, dtype=np.int64) - 1
            remap = np.fromiter((vocab.setdefault(t, len(vocab)) for t in seg.terms),
                                dtype=np.int64, count=len(seg.terms))
            live = seg.alive[seg.docs]
            term_parts.append(np.repeat(remap, np.diff(seg.indptr))[live])
            doc_parts.append(new_position[seg.docs[live]] + offset)
            tf_parts.append(seg.tfs[live])
            ids.append(seg.ids[seg.alive])
            lengths.append(seg.lengths[seg.alive])
            offset += int(seg.alive.sum())
        term_of = np.concatenate(term_parts) if term_parts else np.empty(0, np.int64)
        # Stable: within a term, segments come in order and positions ascend within each.
        order = np.argsort(term_of, kind="stable")
        return cls._from_postings(
            ids=np.concatenate(ids) if ids else np.empty(0, np.int64),
            lengths=np.concatenate(lengths) if lengths else np.empty(0, np.int32),
            terms=tuple(vocab),
            term_of=term_of[order],
            docs=np.concatenate(doc_parts)[order] if doc_parts else np.empty(0, np.int64),
            tfs=np.concatenate(tf_parts)[order] if tf_parts else np.empty(0, np.float32),
        )

    @classmethod
    def _from_postings(cls, *, ids: np.ndarray, lengths: np.ndarray, terms: tuple[str, ...],
                       term_of: np.ndarray, docs: np.ndarray, tfs: np.ndarray) -> Segment:
        """Assemble from postings sorted by term; terms left without postings are dropped."""
        counts = np.bincount(term_of, minlength=len(terms))
        used = np.flatnonzero(counts)
        indptr = np.zeros(len(used) + 1, dtype=np.int64)
        np.cumsum(counts[used], out=indptr[1:])
        return cls(ids=ids, lengths=lengths.astype(np.int32, copy=False),
                   terms=tuple(terms[i] for i in used), indptr=indptr,
                   docs=docs.astype(np.int32), tfs=tfs.astype(np.float32),
                   alive=np.ones(len(ids), dtype=bool))

    # -- reading -----------------------------------------------------------------------------
    @cached_property
    def live(self) -> int:
        return int(np.count_nonzero(self.alive))

    @property
    def dead(self) -> int:
        return len(self.ids) - self.live

    @cached_property
    def live_length(self) -> int:
        return int(self.lengths[self.alive].sum(dtype=np.int64))

    def live_ids(self) -> np.ndarray:
        return self.ids[self.alive] if self.dead else self.ids

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Positions of the live chunks holding ``term`` and its count in each; None if none."""
        t = self.term_index.get(term)
        if t is None:
            return None
        start, end = self.indptr[t], self.indptr[t + 1]
        docs, tfs = self.docs[start:end], self.tfs[start:end]
        if self.dead:
            keep = self.alive[docs]
            docs, tfs = docs[keep], tfs[keep]
        return (docs, tfs) if len(docs) else None

    def merged_postings(self, terms: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """``postings`` of several spellings read as one term: a chunk's counts add up."""
        found = [p for term in terms if (p := self.postings(term))]
        if len(found) <= 1:
            return found[0] if found else None
        docs = np.concatenate([d for d, _ in found])
        unique, where = np.unique(docs, return_inverse=True)
        tfs = np.zeros(len(unique), dtype=np.float32)
        np.add.at(tfs, where, np.concatenate([t for _, t in found]))
        return unique.astype(np.int32), tfs

    def without(self, chunk_ids: np.ndarray) -> Segment:
        """This segment with ``chunk_ids`` marked dead (itself when none of them is here)."""
        hit = np.isin(self.ids, chunk_ids) & self.alive
        if not hit.any():
            return self
        return replace(self, alive=self.alive & ~hit)

    # -- files -------------------------------------------------------------------------------
    def write(self, path: Path) -> None:
        """The postings, without the dead marks: those change and live in the manifest."""
        vocab = np.frombuffer(_SEPARATOR.join(self.terms).encode("utf-8"), dtype=np.uint8)
        with path.open("wb") as handle:
            np.savez(handle, ids=self.ids, lengths=self.lengths, vocab=vocab,
                     indptr=self.indptr, docs=self.docs, tfs=self.tfs)

    @classmethod
    def read(cls, path: Path, dead_ids: Sequence[int], sha256: str) -> Segment:
        """Raises ``ValueError`` / ``KeyError`` / ``OSError`` when the file is not a segment."""
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in
                      ("ids", "lengths", "vocab", "indptr", "docs", "tfs")}
        text = arrays["vocab"].tobytes().decode("utf-8")
        terms = tuple(text.split(_SEPARATOR)) if text else ()
        n, nnz = len(arrays["ids"]), len(arrays["docs"])
        checks = (
            arrays["ids"].dtype == np.int64 and arrays["lengths"].shape == (n,),
            arrays["indptr"].shape == (len(terms) + 1,) and arrays["tfs"].shape == (nnz,),
            nnz == 0 or (int(arrays["indptr"][-1]) == nnz and int(arrays["docs"].max()) < n),
        )
        if not all(checks):
            raise ValueError("its arrays do not fit together")
        alive = ~np.isin(arrays["ids"], np.asarray(dead_ids, dtype=np.int64))
        return cls(ids=arrays["ids"], lengths=arrays["lengths"], terms=terms,
                   indptr=arrays["indptr"], docs=arrays["docs"], tfs=arrays["tfs"],
                   alive=alive, file=path.name, sha256=sha256)
