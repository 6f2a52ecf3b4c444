"""The evaluation corpus as a throw-away knowledge base, cached by content hash.

Each (corpus, pack chunking and redaction, embedder) triple gets its own folder,
``$VERIRAG_HOME/eval-cache/<hash>/``, with its own SQLite database and indexes, so evaluating
never touches the user's knowledge bases and a second run over the same data starts at once.
Corpus ids are kept as document names, which is what ``gold_ids`` refer to. A ``manifest.json``
written after a complete ingest marks the cache usable; an interrupted build is resumed (the
ingestor skips what is already indexed).

Passages with identical text are indexed once (a knowledge base stores content once), so the
later ids are aliases of the first: ``EvalCorpus.canonical`` maps gold ids to the name that
was actually indexed. Left out: evicting old cache folders (delete ``eval-cache`` by hand).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from app.resources import Resources
from domains.pack import Pack
from evals.datasets import Dataset
from knowledge.hashing import sha256_file
from knowledge.ingest import Ingestor, IngestReport, TextDoc, iter_files
from knowledge.kb import KnowledgeBase
from knowledge.store import make_engine

CACHE_FORMAT = 4  # bump when a loader or the chunker changes what a corpus indexes into
MANIFEST = "manifest.json"

ProgressFn = Callable[[int, int], None]


@dataclass
class EvalCorpus:
    """An opened evaluation knowledge base and what it took to get it."""

    kb: KnowledgeBase
    directory: Path
    key: str
    indexed: int
    reused: bool
    documents: int
    chunks: int
    aliases: dict[str, str] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)

    def canonical(self, ids: Iterable[str]) -> frozenset[str]:
        """Corpus ids as indexed document names (a duplicate's id -> its first copy's)."""
        return frozenset(self.aliases.get(i, i) for i in ids)

    def close(self) -> None:
        self.kb.engine.dispose()


def _digest_parts(parts: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()


def _doc_files(docs_dir: Path) -> list[Path]:
    return list(iter_files([docs_dir]))


def corpus_key(dataset: Dataset, pack: Pack, embedder_id: str) -> str:
    """Hash of everything that changes what gets indexed: the texts, chunking, redaction, model."""
    settings = [str(CACHE_FORMAT).encode(), embedder_id.encode(),
                pack.chunking.model_dump_json().encode(), pack.redaction.model_dump_json().encode()]
    if dataset.corpus is not None:
        texts = (json.dumps([d.id, d.title, d.text], ensure_ascii=False).encode()
                 for d in dataset.corpus)
        return _digest_parts([*settings, *texts])
    assert dataset.docs_dir is not None
    files = (f"{p.name}:{sha256_file(p)}".encode() for p in _doc_files(dataset.docs_dir))
    return _digest_parts([*settings, *files])


def _aliases(dataset: Dataset) -> dict[str, str]:
    """Ids whose content repeats an earlier id's, mapped to that earlier id (ingest order)."""
    first: dict[str, str] = {}
    aliases: dict[str, str] = {}
    if dataset.corpus is not None:
        keyed = ((d.id, hashlib.sha256(d.text.encode("utf-8")).hexdigest())
                 for d in dataset.corpus)
    else:
        assert dataset.docs_dir is not None
        keyed = ((p.name, sha256_file(p)) for p in _doc_files(dataset.docs_dir))
    for name, sha in keyed:
        if sha in first:
            aliases[name] = first[sha]
        else:
            first[sha] = name
    return aliases


def _ingest(kb: KnowledgeBase, dataset: Dataset, max_bytes: int,
            progress: ProgressFn | None) -> IngestReport:
    ingestor = Ingestor(kb, max_bytes=max_bytes)

    def on_file(i: int, n: int, _result: object) -> None:
        if progress:
            progress(i, n)

    if dataset.corpus is not None:
        docs = (TextDoc(d.id, d.text, d.title) for d in dataset.corpus)
        return ingestor.ingest_texts(docs, tags=["eval"], on_file=on_file)
    assert dataset.docs_dir is not None
    return ingestor.ingest([dataset.docs_dir], tags=["eval"], on_file=on_file)


def _write_manifest(path: Path, data: dict[str, object]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


def _read_manifest(path: Path, key: str) -> dict[str, object] | None:
    """The manifest of a complete build with this key; None means (re)build."""
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # a damaged manifest only costs a re-check of the indexed documents
    return data if isinstance(data, dict) and data.get("key") == key else None


def prepare_corpus(resources: Resources, pack: Pack, dataset: Dataset,
                   progress: ProgressFn | None = None) -> EvalCorpus:
    """Open (building on first use) the cached knowledge base for ``dataset`` under ``pack``."""
    embedder = resources.models.embedder(pack.models.embedder_path)
    key = corpus_key(dataset, pack, embedder.model_id)
    directory = resources.settings.eval_cache_dir / key[:20]
    engine = make_engine(f"sqlite:///{directory / 'eval.db'}")
    kb = KnowledgeBase.open(pack, engine, directory / "indexes", embedder,
                            flat_index_max=resources.settings.flat_index_max)
    manifest_path = directory / MANIFEST
    manifest = _read_manifest(manifest_path, key)
    indexed = 0
    rejected: dict[str, str] = {}
    if manifest is None:
        report = _ingest(kb, dataset, resources.settings.max_upload_bytes, progress)
        indexed = report.count("indexed") + report.count("replaced")
        rejected = {r.name: r.reason for r in report.results if r.outcome == "rejected"}
        stats = kb.stats()
        _write_manifest(manifest_path, {
            "key": key, "dataset": dataset.name, "pack": pack.name,
            "embedder": embedder.model_id, "documents": stats["documents"],
            "chunks": stats["chunks"], "rejected": rejected})
    else:
        raw = manifest.get("rejected")
        rejected = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    stats = kb.stats()
    return EvalCorpus(kb, directory, key, indexed, manifest is not None, stats["documents"],
                      stats["chunks"], _aliases(dataset), rejected)
