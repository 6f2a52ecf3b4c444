"""Keyword search over chunks: BM25 keyed by our chunk ids, updated in place, saved crash-safely.

Scores follow Lucene's BM25 (k1 = 1.5, b = 0.75, idf = ln(1 + (N - df + 0.5) / (df + 0.5))), the
formula bm25s uses, and equal what a fresh bm25s build over the live chunks gives (a test holds
them to it). Unlike bm25s, the index stores term counts in segments (``bm25_segment``) and
scores at query time, so adding a document tokenizes only that document and deleting one
clears bits: at 100k chunks both took tens of seconds as full rebuilds (docs/benchmarks.md).

Segments are kept few by merging: after each change, neighbours merge while a newer segment is
at least as large as the one before it, so sizes halve along the list and there are at most
log2(N) + 1 of them; a segment whose chunks are more than a fifth deleted is rewritten without
them. Every change swaps in a new tuple of immutable segments, so a search running in another
thread reads one consistent state. One writer at a time: the knowledge base serialises writes.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import replace
from pathlib import Path
from types import EllipsisType

import numpy as np

from knowledge.index import bm25_files as files
from knowledge.index.bm25_segment import Segment
from knowledge.index.spelling import variants
from knowledge.text.tokenize import TOKENIZER_VERSION, search_tokens
from verirag.errors import KnowledgeBaseError

K1 = 1.5
B = 0.75
REWRITE_DEAD_FRACTION = 0.2


class BM25Index:
    """A BM25 index whose results are chunk ids, ready to fuse with the dense ranking.

    ``revision`` is the SQL revision the index was last saved or loaded with (``None`` for one
    built in memory and not saved yet); ``generation`` names the saved manifest it matches, which
    a reader compares with :meth:`stored_generation` to notice another process's save.
    """

    def __init__(self, segments: Sequence[Segment] = (), revision: int | None = None) -> None:
        self._segments = tuple(segments)
        self.revision = revision
        self.generation: str | None = None

    @classmethod
    def build(cls, ids: Sequence[int], texts: Sequence[str]) -> BM25Index:
        """Index ``texts[i]`` under chunk id ``ids[i]``."""
        index = cls()
        index.add(ids, texts)
        return index

    # -- changes ---------------------------------------------------------------------------
    def add(self, ids: Sequence[int], texts: Sequence[str]) -> None:
        """Index more chunks; only their texts are tokenized."""
        if len(ids) != len(texts):
            raise ValueError(f"got {len(ids)} ids for {len(texts)} texts; pass one id per text")
        id_array = np.asarray(ids, dtype=np.int64).reshape(-1)
        unique, counts = np.unique(id_array, return_counts=True)
        if len(unique) != len(id_array):
            raise ValueError(f"chunk id {int(unique[counts > 1][0])} appears more than once")
        segments = self._segments
        for seg in segments:
            present = np.isin(id_array, seg.live_ids())
            if present.any():
                raise ValueError(f"chunk id {int(id_array[present][0])} is already indexed")
        if not len(id_array):
            return
        new = Segment.build(id_array, [search_tokens(text) for text in texts])
        self._segments = _compact((*segments, new))

    def remove(self, ids: Iterable[int]) -> int:
        """Drop chunks from the index; returns how many were in it."""
        id_array = np.fromiter(ids, dtype=np.int64)
        before = len(self)
        if len(id_array):
            self._segments = _compact(tuple(seg.without(id_array) for seg in self._segments))
        return before - len(self)

    # -- reading ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return sum(seg.live for seg in self._segments)

    def ids(self) -> set[int]:
        return {int(i) for seg in self._segments for i in seg.live_ids()}

    def knows(self, token: str, allowed_ids: AbstractSet[int] | None = None) -> bool:
        """Whether any indexed chunk (of ``allowed_ids``, if given) holds this tokenised term."""
        allowed = None
        if allowed_ids is not None:
            allowed = np.fromiter(allowed_ids, dtype=np.int64, count=len(allowed_ids))
        for seg in self._segments:
            hits = seg.postings(token)
            if hits is not None and (allowed is None or np.isin(seg.ids[hits[0]], allowed).any()):
                return True
        return False

    def ceiling(self, query: str, scope: AbstractSet[int] | None = None) -> float:
        """The highest score ``search`` could give ``query``: the sum of its tokens' IDFs
        (a chunk holding every token many times approaches it). Score fusion divides by it, so
        a BM25 score says how much of the query a chunk matches, not only how it ranks.
        ``scope``: as for ``search``, so both count the same terms."""
        segments = self._segments
        n = sum(seg.live for seg in segments)
        if n == 0:
            return 0.0
        total = 0.0
        for term in _query_terms(query, segments, scope):
            total += _idf(n, _frequency(segments, term))
        return total

    def search(
        self, query: str, k: int, allowed_ids: AbstractSet[int] | None = None,
        scope: AbstractSet[int] | EllipsisType | None = ...,
    ) -> list[tuple[int, float]]:
        """The ``k`` best (chunk id, score) pairs, best first; only chunks sharing a token.

        ``allowed_ids`` restricts the result to those chunks (document, tag and date filters and
        access control arrive as id sets) and applies before the cut to ``k``, so a filter never
        returns fewer hits than exist. Equal scores are ordered by chunk id, so results repeat.
        ``scope`` (default: ``allowed_ids``) is the chunks whose words decide what a misspelt
        word is also searched as: the reader's visible chunks, so which spellings are searched
        never tells a reader what the chunks hidden from them say.
        """
        if scope is ...:
            scope = allowed_ids
        segments = self._segments  # one consistent state, whatever a writer does meanwhile
        n = sum(seg.live for seg in segments)
        if k <= 0 or n == 0:
            return []
        avg_length = sum(seg.live_length for seg in segments) / n
        scores: dict[int, np.ndarray] = {}
        # A repeated query token counts again, as in bm25s.
        for term in _query_terms(query, segments, scope):
            hits = [(i, p) for i, seg in enumerate(segments) if (p := seg.merged_postings(term))]
            df = sum(len(docs) for _, (docs, _) in hits)
            idf = _idf(n, df)
            for i, (docs, tfs) in hits:
                norm = K1 * (1 - B + B * segments[i].lengths[docs] / avg_length)
                if i not in scores:
                    scores[i] = np.zeros(len(segments[i].ids))
                scores[i][docs] += idf * tfs / (tfs + norm)  # docs are distinct within a term
        if not scores:
            return []
        hit_ids, hit_scores = _gather(segments, scores)
        if allowed_ids is not None:
            allowed = np.fromiter(allowed_ids, dtype=np.int64, count=len(allowed_ids))
            keep = np.isin(hit_ids, allowed)
            hit_ids, hit_scores = hit_ids[keep], hit_scores[keep]
        if len(hit_ids) > k:
            # Keep everything tied with the k-th score so the id tie-break below is exact.
            keep = hit_scores >= np.partition(hit_scores, -k)[-k]
            hit_scores, hit_ids = hit_scores[keep], hit_ids[keep]
        order = np.lexsort((hit_ids, -hit_scores))[:k]
        return [(int(hit_ids[i]), float(hit_scores[i])) for i in order]

    # -- files -----------------------------------------------------------------------------
    def save(self, directory: Path, revision: int) -> None:
        """Persist the index as reflecting SQL ``revision``; readers never see half of it."""
        directory = Path(directory)
        revision = operator.index(revision)  # a float or str here would make an unloadable index
        try:
            previous = files.read_pointer(directory)
        except KnowledgeBaseError:
            previous = None  # a damaged pointer is what a rebuild overwrites
        generation = files.new_name(f"{files.GENERATION}{revision}-", ".json")
        try:
            directory.mkdir(parents=True, exist_ok=True)
            saved = tuple(_written(seg, directory) for seg in self._segments)
            files.write_manifest(directory / generation, {
                "format": files.FORMAT_VERSION,
                "tokenizer": TOKENIZER_VERSION,
                "revision": revision,
                "count": sum(seg.live for seg in saved),
                "segments": [{"file": seg.file, "sha256": seg.sha256,
                              "dead": [int(i) for i in seg.ids[~seg.alive]]} for seg in saved],
            })
            files.replace_pointer(directory, generation)
        except OSError as exc:
            raise KnowledgeBaseError(
                f"cannot write the BM25 index to {directory}: {exc}; free disk space or fix "
                "permissions, then rebuild with `verirag kb rebuild DOMAIN`"
            ) from exc
        self._segments = saved
        self.revision = revision
        self.generation = generation
        files.remove_stale(directory, keep={generation, previous})

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        """Open the index last saved in ``directory``; a damaged one raises with the fix."""
        directory = Path(directory)
        for _ in range(3):
            generation = files.read_pointer(directory)
            if generation is None:
                raise KnowledgeBaseError(f"no BM25 index in {directory}; {files.REBUILD_HINT}")
            try:
                return cls._load_generation(directory, generation)
            except FileNotFoundError as exc:
                if files.read_pointer(directory) == generation:
                    raise files.corrupt(directory / generation, exc) from exc
                # A writer swapped in a newer generation while we read: open that one.
        raise KnowledgeBaseError(
            f"the BM25 index in {directory} kept changing while being opened; retry, "
            f"or {files.REBUILD_HINT}"
        )

    @staticmethod
    def stored_revision(directory: Path) -> int | None:
        """The revision saved in ``directory``, read without loading the index; None if none.

        Raises ``KnowledgeBaseError`` when what is saved cannot be used (damaged, or written by
        another tokenizer version): the caller's answer to both is a rebuild.
        """
        directory = Path(directory)
        generation = files.read_pointer(directory)
        if generation is None:
            return None
        try:
            return int(files.read_manifest(directory / generation)["revision"])
        except FileNotFoundError as exc:
            raise files.corrupt(directory / generation, exc) from exc

    @staticmethod
    def stored_generation(directory: Path) -> str | None:
        """The generation saved in ``directory`` (None if none), from the one-line pointer only.

        Cheap enough to ask before every search; every save writes a new generation, so a
        different answer means the files changed. Raises ``KnowledgeBaseError`` when damaged.
        """
        return files.read_pointer(Path(directory))

    @classmethod
    def _load_generation(cls, directory: Path, generation: str) -> BM25Index:
        meta = files.read_manifest(directory / generation)
        segments = []
        for entry in meta["segments"]:
            path = directory / entry["file"]
            if files.sha256(path) != entry["sha256"]:
                raise files.corrupt(path, "it does not match its checksum")
            try:
                segments.append(Segment.read(path, entry["dead"], entry["sha256"]))
            except FileNotFoundError:
                raise
            except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
                raise files.corrupt(path, exc) from exc
        index = cls(segments, revision=int(meta["revision"]))
        index.generation = generation
        if len(index) != meta.get("count"):
            raise files.corrupt(directory / generation, "its chunk count does not add up")
        return index


def _frequency(segments: Sequence[Segment], term: Sequence[str],
               visible: np.ndarray | None = None) -> int:
    """How many live chunks (of ``visible``, if given) hold one of ``term``'s spellings."""
    found = ((seg, p) for seg in segments if (p := seg.merged_postings(term)))
    if visible is None:
        return sum(len(p[0]) for _, p in found)
    return sum(int(np.isin(seg.ids[p[0]], visible).sum()) for seg, p in found)


def _query_terms(query: str, segments: Sequence[Segment], scope: AbstractSet[int] | None
                 ) -> list[tuple[str, ...]]:
    """The query's tokens, each with the spellings it is searched as (``spelling.variants``),
    decided by the words of the chunks in ``scope`` (every live chunk when None)."""
    visible = None if scope is None else np.fromiter(scope, dtype=np.int64, count=len(scope))
    chunks = sum(seg.live for seg in segments) if visible is None else len(visible)

    def frequency(word: str) -> int:
        return _frequency(segments, (word,), visible)

    return [variants(token, frequency, chunks) for token in search_tokens(query)]


def _idf(n: int, df: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def _gather(segments: Sequence[Segment], scores: dict[int, np.ndarray]
            ) -> tuple[np.ndarray, np.ndarray]:
    """Chunk ids and scores of every chunk that scored, across segments."""
    id_parts, score_parts = [], []
    for i, seg_scores in scores.items():
        positions = np.flatnonzero(seg_scores > 0)
        id_parts.append(segments[i].ids[positions])
        score_parts.append(seg_scores[positions])
    return np.concatenate(id_parts), np.concatenate(score_parts)


def _compact(segments: tuple[Segment, ...]) -> tuple[Segment, ...]:
    """Drop empty segments, rewrite mostly-deleted ones, merge until sizes strictly halve."""
    out: list[Segment] = []
    for seg in segments:
        if seg.live == 0:
            continue
        if seg.dead > REWRITE_DEAD_FRACTION * len(seg.ids):
            seg = Segment.merge([seg])
        out.append(seg)
        while len(out) >= 2 and out[-1].live >= out[-2].live:
            out[-2:] = [Segment.merge(out[-2:])]
    return tuple(out)


def _written(seg: Segment, directory: Path) -> Segment:
    """``seg`` with its postings on disk (written now unless an earlier save wrote them)."""
    if seg.file is not None and (directory / seg.file).is_file():
        return seg
    name = files.new_name(files.SEGMENT, ".npz")
    digest = files.write_durably(directory / name, seg.write)
    return replace(seg, file=name, sha256=digest)
