"""Keyword search over chunks: a bm25s index keyed by our chunk ids, saved crash-safely.

bm25s has no incremental add or delete, so the index is rebuilt from SQL whenever chunks change
and saved with the SQL revision it reflects; a caller that finds the revision stale rebuilds it.

On disk a saved index is a directory holding immutable generations and a ``CURRENT`` file that
names the live one::

    bm25/CURRENT            "gen-7-1a2b3c4d"
    bm25/gen-7-1a2b3c4d/    bm25s's own files + ids.npy + meta.json (revision, sha256 of files)

A save writes a new generation under a temporary name, renames it, then swaps ``CURRENT`` with
``os.replace``: a reader sees the old index or the new one, never a mix, and a crash at any
point leaves a loadable index. The generation before the live one is kept so a reader that
picked it up just before a swap can finish. One writer at a time: the knowledge base serialises
its writes. Left out: incremental updates and on-disk memory mapping (the whole index is loaded).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import operator
import os
import shutil
import uuid
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from knowledge.text.tokenize import TOKENIZER_VERSION, search_tokens
from verirag.errors import KnowledgeBaseError

FORMAT_VERSION = 1
_POINTER = "CURRENT"
_META = "meta.json"
_IDS = "ids.npy"
_GENERATION = "gen-"
_STAGING = ".tmp-"
_REBUILD_HINT = "run `verirag kb rebuild DOMAIN` to rebuild it from the database"


class BM25Index:
    """A BM25 index whose results are chunk ids, ready to fuse with the dense ranking.

    ``revision`` is the SQL revision the index was saved with (``None`` for one built in memory
    and not saved yet).
    """

    def __init__(
        self, ids: np.ndarray, model: bm25s.BM25 | None, revision: int | None = None
    ) -> None:
        self._ids = ids
        # None when no text yielded a token: bm25s cannot index an empty vocabulary.
        self._model = model
        self.revision = revision

    @classmethod
    def build(cls, ids: Sequence[int], texts: Sequence[str]) -> BM25Index:
        """Index ``texts[i]`` under chunk id ``ids[i]``."""
        if len(ids) != len(texts):
            raise ValueError(f"got {len(ids)} ids for {len(texts)} texts; pass one id per text")
        id_array = np.asarray(ids, dtype=np.int64).reshape(-1)
        unique, counts = np.unique(id_array, return_counts=True)
        if len(unique) != len(id_array):
            raise ValueError(f"chunk id {int(unique[counts > 1][0])} appears more than once")
        # Token ids, not token strings: every bigram is a fresh str object, and holding them
        # for 100k Chinese passages took 2 GB where shared ints take a tenth of that.
        vocab: dict[str, int] = {}
        corpus = [[vocab.setdefault(t, len(vocab)) for t in search_tokens(text)] for text in texts]
        model = None
        if vocab:
            model = bm25s.BM25()
            model.index((corpus, vocab), create_empty_token=False, show_progress=False)
        return cls(id_array, model)

    def __len__(self) -> int:
        return len(self._ids)

    def knows(self, token: str) -> bool:
        """Whether any indexed chunk contains this (already tokenised) term."""
        return self._model is not None and bool(self._model.get_tokens_ids([token]))

    def search(
        self, query: str, k: int, allowed_ids: AbstractSet[int] | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` best (chunk id, score) pairs, best first; only chunks sharing a token.

        ``allowed_ids`` restricts the result to those chunks (document, tag and date filters and
        access control arrive as id sets) and applies before the cut to ``k``, so a filter never
        returns fewer hits than exist. Equal scores are ordered by chunk id, so results repeat.
        """
        if k <= 0 or self._model is None:
            return []
        token_ids = self._model.get_tokens_ids(search_tokens(query))
        if not token_ids:
            return []
        scores = self._model.get_scores_from_ids(token_ids)
        positions = np.flatnonzero(scores > 0)
        if allowed_ids is not None:
            allowed = np.fromiter(allowed_ids, dtype=np.int64, count=len(allowed_ids))
            positions = positions[np.isin(self._ids[positions], allowed)]
        hit_scores = scores[positions]
        hit_ids = self._ids[positions]
        if len(positions) > k:
            # Keep everything tied with the k-th score so the id tie-break below is exact.
            keep = hit_scores >= np.partition(hit_scores, -k)[-k]
            hit_scores, hit_ids = hit_scores[keep], hit_ids[keep]
        order = np.lexsort((hit_ids, -hit_scores))[:k]
        return [(int(hit_ids[i]), float(hit_scores[i])) for i in order]

    def save(self, directory: Path, revision: int) -> None:
        """Persist the index as reflecting SQL ``revision``; readers never see half of it."""
        directory = Path(directory)
        revision = operator.index(revision)  # a float or str here would make an unloadable index
        try:
            previous = _read_pointer(directory)
        except KnowledgeBaseError:
            previous = None  # a damaged pointer is what a rebuild overwrites
        generation = f"{_GENERATION}{revision}-{uuid.uuid4().hex[:8]}"
        staging = directory / f"{_STAGING}{generation}"
        try:
            staging.mkdir(parents=True)
            if self._model is not None:
                self._model.save(staging, show_progress=False)
            np.save(staging / _IDS, self._ids, allow_pickle=False)
            meta = {
                "format": FORMAT_VERSION,
                "tokenizer": TOKENIZER_VERSION,
                "revision": revision,
                "count": len(self._ids),
                "files": {p.name: _sha256(p) for p in sorted(staging.iterdir())},
            }
            (staging / _META).write_text(json.dumps(meta, indent=1), encoding="utf-8")
            for path in staging.iterdir():
                _fsync(path)
            _fsync(staging)
            staging.rename(directory / generation)
            _replace_pointer(directory, generation)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise KnowledgeBaseError(
                f"cannot write the BM25 index to {directory}: {exc}; free disk space or fix "
                "permissions, then rebuild with `verirag kb rebuild DOMAIN`"
            ) from exc
        self.revision = revision
        _remove_stale(directory, keep={generation, previous})

    @classmethod
    def load(cls, directory: Path) -> BM25Index:
        """Open the index last saved in ``directory``; a damaged one raises with the fix."""
        directory = Path(directory)
        for _ in range(3):
            generation = _read_pointer(directory)
            if generation is None:
                raise KnowledgeBaseError(f"no BM25 index in {directory}; {_REBUILD_HINT}")
            try:
                return cls._load_generation(directory / generation)
            except FileNotFoundError as exc:
                if _read_pointer(directory) == generation:
                    raise _corrupt(directory / generation, exc) from exc
                # A writer swapped in a newer generation while we read: open that one.
        raise KnowledgeBaseError(
            f"the BM25 index in {directory} kept changing while being opened; retry, "
            f"or {_REBUILD_HINT}"
        )

    @staticmethod
    def stored_revision(directory: Path) -> int | None:
        """The revision saved in ``directory``, read without loading the index; None if none.

        Raises ``KnowledgeBaseError`` when what is saved cannot be used (damaged, or written by
        another tokenizer version): the caller's answer to both is a rebuild.
        """
        directory = Path(directory)
        generation = _read_pointer(directory)
        if generation is None:
            return None
        try:
            return int(_read_meta(directory / generation)["revision"])
        except FileNotFoundError as exc:
            raise _corrupt(directory / generation, exc) from exc

    @classmethod
    def _load_generation(cls, path: Path) -> BM25Index:
        meta = _read_meta(path)
        for name, digest in meta["files"].items():
            if _sha256(path / name) != digest:
                raise _corrupt(path, f"{name} does not match its checksum")
        try:
            ids = np.load(path / _IDS, allow_pickle=False)
            model = None
            if "params.index.json" in meta["files"]:
                model = bm25s.BM25.load(path, show_progress=False)
        except FileNotFoundError:
            raise
        except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
            raise _corrupt(path, exc) from exc
        if ids.dtype != np.int64 or ids.ndim != 1 or len(ids) != meta["count"]:
            raise _corrupt(path, "ids.npy does not hold one int64 id per chunk")
        if model is not None and model.scores["num_docs"] != len(ids):
            raise _corrupt(path, "the BM25 matrix and ids.npy disagree on the chunk count")
        return cls(ids, model, revision=int(meta["revision"]))


def _read_pointer(directory: Path) -> str | None:
    try:
        name = (directory / _POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise _corrupt(directory / _POINTER, exc) from exc
    if not name.startswith(_GENERATION) or "/" in name or "\\" in name:
        raise _corrupt(directory / _POINTER, f"it names {name!r}, not an index generation")
    return name


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads((path / _META).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _corrupt(path, exc) from exc
    required = {"format": int, "tokenizer": int, "revision": int, "count": int, "files": dict}
    if not isinstance(meta, dict) or any(
        not isinstance(meta.get(key), kind) for key, kind in required.items()
    ):
        raise _corrupt(path, f"{_META} lacks one of {sorted(required)}")
    if meta["format"] != FORMAT_VERSION or meta["tokenizer"] != TOKENIZER_VERSION:
        raise KnowledgeBaseError(
            f"the BM25 index in {path} was written by another verirag version (format "
            f"{meta['format']}, tokenizer {meta['tokenizer']}); {_REBUILD_HINT}"
        )
    return meta


def _corrupt(path: Path, cause: object) -> KnowledgeBaseError:
    return KnowledgeBaseError(f"the BM25 index in {path} is damaged ({cause}); {_REBUILD_HINT}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    """Flush to disk so a power cut cannot leave ``CURRENT`` naming empty files."""
    if path.is_dir() and os.name == "nt":
        return  # Windows cannot open a directory for fsync; NTFS journals the rename.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace_pointer(directory: Path, generation: str) -> None:
    temporary = directory / f"{_STAGING}{_POINTER}-{uuid.uuid4().hex[:8]}"
    try:
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(generation + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, directory / _POINTER)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync(directory)


def _remove_stale(directory: Path, keep: set[str | None]) -> None:
    """Delete generations older than the previous one and leftovers of crashed saves."""
    for entry in directory.iterdir():
        stale = entry.name.startswith(_STAGING) or (
            entry.name.startswith(_GENERATION) and entry.name not in keep
        )
        if stale and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        elif stale:
            with contextlib.suppress(OSError):  # a leftover costs disk space, nothing else
                entry.unlink()
