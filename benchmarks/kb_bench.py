"""Knowledge-base benchmark: verirag's KnowledgeBase vs LangChain FAISS vs LlamaIndex.

Run by hand from the repository root (not part of the test suite)::

    .venv/bin/python -m benchmarks.kb_bench                 # --sizes 10000,100000 --queries 200
    .venv/bin/python -m benchmarks.kb_bench --quick         # sizes 2000,10000, e2e 200 chunks

Two separate measurements, on the same chunks and the same embedder (the bundled
all-MiniLM-L6-v2 directory, CPU):

1. End to end at a small size (``--e2e-size`` chunks): ingest *including* embedding with the
   real model, for all three systems. verirag ingests files through ``Ingestor`` (parse,
   redact, chunk, SQL, embed, FAISS, BM25, persist); LangChain and LlamaIndex receive the chunk
   texts verirag's own loaders and chunker produced from the same files (exactly the strings
   verirag embeds), so all three embed identical strings.
2. Index build, queries and maintenance (add / delete one document, save, reopen) at
   ``--sizes`` with PRECOMPUTED vectors shared by all three: the base set is the end-to-end
   chunks with the vectors the real model gave them (read back from LangChain's index, which
   holds exactly the model's output); the N-chunk corpus cycles
   those texts (each under a unique heading) and gives each chunk its base vector plus small
   gaussian noise, renormalised. verirag gets them through an Embedder that looks vectors up
   by text; LangChain through ``FAISS.from_embeddings``; LlamaIndex through nodes whose
   ``embedding`` is set.

Query latency is single-query, k=5, through each system's normal query API, measured twice:
"excl. embed" (every system's query-embedding call returns the query vector computed once
beforehand with the real model) and "incl. embed" (every system's query-embedding call runs
the real model). The model's own query-embedding latency is printed on its own line.

Everything lives under a temporary VERIRAG_HOME that is removed at the end (``--keep`` keeps
it). Needs ``langchain-community`` for LangChain's FAISS store.
"""
# ruff: noqa: E402  (the sys.path and environment set-up must precede the project imports)

from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import gc
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

from app.models.locate import default_embedder
from domains.pack import Pack, load_pack
from knowledge import ingest as ingest_module
from knowledge.chunking import chunk_document
from knowledge.embedding import SentenceTransformerEmbedder
from knowledge.index.bm25 import BM25Index
from knowledge.index.faiss_index import FaissIndex
from knowledge.ingest import Ingestor
from knowledge.kb import KnowledgeBase, embedding_text
from knowledge.loaders import load_document
from knowledge.redact import redact_document
from knowledge.retrieval import Retriever
from knowledge.store import make_engine
from knowledge.store.repository import KnowledgeRepository
from verirag.errors import DocumentRejected
from verirag.settings import Settings, load_settings

K = 5
DEFAULT_EVALSETS = ROOT.parent / "shared" / "evalsets"
if not DEFAULT_EVALSETS.is_dir():
    DEFAULT_EVALSETS = Path("/work/shared/evalsets")


# -- small utilities -----------------------------------------------------------------------
def load_avg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def rss_mb() -> float:
    try:
        import psutil
    except ImportError:
        return float("nan")
    return psutil.Process().memory_info().rss / 2**20


def release_memory() -> None:
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {load_avg()}] {msg}", file=sys.stderr, flush=True)


class Profile:
    """Wall time per labelled function, by wrapping class/module attributes for a while."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()

    def _wrap(self, fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start
                self.calls[label] += 1

        return timed

    @contextlib.contextmanager
    def patch(self, targets: Sequence[tuple[Any, str, str]]) -> Iterator[Profile]:
        saved: list[tuple[Any, str, Any]] = []
        try:
            for owner, attr, label in targets:
                raw = owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)
                saved.append((owner, attr, raw))
                if isinstance(raw, classmethod):
                    new: Any = classmethod(self._wrap(raw.__func__, label))
                elif isinstance(raw, staticmethod):
                    new = staticmethod(self._wrap(raw.__func__, label))
                else:
                    new = self._wrap(raw, label)
                setattr(owner, attr, new)
            yield self
        finally:
            for owner, attr, raw in reversed(saved):
                setattr(owner, attr, raw)

    def lines(self, total: float) -> list[str]:
        """One line per label that was called, in the order of ``kb_targets``."""
        order = list(dict.fromkeys(label for _, _, label in kb_targets(object)))
        out = []
        for label in sorted(self.seconds, key=lambda x: order.index(x) if x in order else 99):
            secs = self.seconds[label]
            share = 100 * secs / total if total else 0.0
            out.append(f"    {label:<58} {secs:8.2f} s {share:5.1f} %  ({self.calls[label]} calls)")
        return out


def kb_targets(embedder_cls: type) -> list[tuple[Any, str, str]]:
    """What verirag's ingest / delete / reopen spend time in (indented = inside the line above)."""
    sql_io = "SQL: dedupe check / insert rows / publish (KnowledgeRepository)"
    return [
        (KnowledgeBase, "delete_document", "delete_document (total)"),
        (KnowledgeBase, "repair", "repair (inside KnowledgeBase.open)"),
        (FaissIndex, "load", "  FaissIndex.load"),
        (BM25Index, "load", "  BM25Index.load (incl. sha256 of its files)"),
        (ingest_module, "sha256_file", "sha256 of file"),
        (ingest_module, "load_document", "parse (load_document)"),
        (ingest_module, "redact_document", "redact (redact_document)"),
        (ingest_module, "chunk_document", "chunk (chunk_document)"),
        (KnowledgeRepository, "find_content", sql_io),
        (KnowledgeRepository, "add_document", sql_io),
        (KnowledgeRepository, "publish", sql_io),
        (KnowledgeBase, "index_texts", "index_texts"),
        (embedder_cls, "embed_documents", "  embedder.embed_documents"),
        (FaissIndex, "add", "  FaissIndex.add"),
        (BM25Index, "add", "  BM25Index.add (tokenize the new chunks + merge segments)"),
        (FaissIndex, "remove", "FaissIndex.remove"),
        (BM25Index, "remove", "BM25Index.remove"),
        (KnowledgeBase, "persist", "persist"),
        (FaissIndex, "fit_structure", "  FaissIndex.fit_structure (Flat->IVF above the max)"),
        (FaissIndex, "save", "  FaissIndex.save (also the 30 s ingest checkpoints, with BM25)"),
        (BM25Index, "save", "  BM25Index.save (new segments + manifest, fsync + sha256)"),
        (KnowledgeBase, "chunk_texts", "[inside several] chunk_texts (SQL read of chunk text)"),
        (KnowledgeBase, "ready_chunk_ids", "[inside several] ready_chunk_ids (SQL)"),
    ]


# -- embedders shared by the three systems -----------------------------------------------------
class QueryEncoder:
    """The one query-embedding function every system calls: live model or cached vectors."""

    def __init__(self, model: SentenceTransformerEmbedder) -> None:
        self.model = model
        self.cache: dict[str, np.ndarray] = {}
        self.live = False
        self.calls = 0

    def embed(self, text: str) -> np.ndarray:
        self.calls += 1
        if self.live:
            return self.model.embed_query(text)
        return self.cache[text]


class SectionEmbedder:
    """verirag Embedder over precomputed vectors, looked up by text.

    A synthetic chunk's embedding text is ``"syn NNNNN\nPart J\n<chunk text>"`` (document
    title, heading path, text; see ``knowledge.kb.embedding_text``); its vector is row J of
    ``table``. Queries go through the shared :class:`QueryEncoder`.
    """

    def __init__(self, table: np.ndarray, qe: QueryEncoder) -> None:
        self.table = table
        self.qe = qe

    @property
    def model_id(self) -> str:
        return f"bench-precomputed:all-MiniLM-L6-v2:{self.dim}"

    @property
    def dim(self) -> int:
        return int(self.table.shape[1])

    def row(self, text: str) -> int:
        head = text.split("\n", 2)[1]
        if not head.startswith("Part "):
            raise KeyError(f"no precomputed vector for {text[:60]!r}")
        return int(head[5:])

    def embed_documents(self, texts: Sequence[str], *, batch_size: int = 64,
                        progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        out = self.table[[self.row(t) for t in texts]] if texts else self.table[:0]
        if progress:
            progress(len(texts), len(texts))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.qe.embed(text)


def langchain_embeddings(model: SentenceTransformerEmbedder, qe: QueryEncoder) -> Any:
    from langchain_core.embeddings import Embeddings

    class LocalSTEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return model.embed_documents(list(texts), batch_size=64).tolist()

        def embed_query(self, text: str) -> list[float]:
            return qe.embed(text).tolist()

    return LocalSTEmbeddings()


def llamaindex_embedding(model: SentenceTransformerEmbedder, qe: QueryEncoder) -> Any:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    class LocalSTEmbedding(BaseEmbedding):
        """HuggingFace-style wrapper over the same local SentenceTransformer (no network)."""

        @classmethod
        def class_name(cls) -> str:
            return "LocalSTEmbedding"

        def _get_query_embedding(self, query: str) -> list[float]:
            return qe.embed(query).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return model.embed_documents([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return model.embed_documents(texts, batch_size=64).tolist()

    # Same batch as verirag's embed_documents (LlamaIndex's default would be 10).
    return LocalSTEmbedding(model_name="local all-MiniLM-L6-v2", embed_batch_size=64)


# -- corpus -----------------------------------------------------------------------------------
@dataclass
class Chunked:
    """Chunks in ingest order, as verirag's own pipeline cuts them from ``files``."""

    files: list[Path] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # embedding_text: what every system embeds
    raw: list[str] = field(default_factory=list)  # the chunk text alone
    seconds: float = 0.0

    def add_file(self, path: Path, pack: Pack, max_bytes: int) -> int:
        start = time.perf_counter()
        try:
            doc = load_document(path, max_bytes=max_bytes, name=path.name)
        except DocumentRejected:
            return 0
        doc, _ = redact_document(doc, pack.redaction)
        drafts = chunk_document(doc, pack.chunking)
        self.seconds += time.perf_counter() - start
        if not drafts:
            return 0
        self.files.append(path)
        for d in drafts:
            self.texts.append(embedding_text(path.name, d.heading_path, d.text))
            self.raw.append(d.text)
        return len(drafts)


def corpus_records(evalsets: Path) -> list[dict[str, str]]:
    """Records of every evalset corpus, deduplicated by text, interleaved across sets."""
    per_set: list[list[dict[str, str]]] = []
    seen: set[str] = set()
    for path in sorted(evalsets.glob("*/corpus.jsonl")):
        rows = []
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                text = (rec.get("text") or "").strip()
                if text and text not in seen:
                    seen.add(text)
                    rows.append({"title": str(rec.get("title") or rec.get("id") or ""),
                                 "text": text})
        per_set.append(rows)
    out: list[dict[str, str]] = []
    for i in range(max((len(r) for r in per_set), default=0)):
        out.extend(rows[i] for rows in per_set if i < len(rows))
    return out


def build_e2e_corpus(target: int, workdir: Path, pack: Pack, max_bytes: int,
                     evalsets: Path) -> Chunked:
    """Bundled pack documents, then evalset records (8 per Markdown file) up to ``target``."""
    chunked = Chunked()
    names: set[str] = set()
    for path in sorted(ROOT.glob("domains/*/docs/*")):
        if path.is_file() and not path.name.startswith(".") and path.name not in names:
            names.add(path.name)
            chunked.add_file(path, pack, max_bytes)
            if len(chunked.texts) >= target:
                return chunked
    records = corpus_records(evalsets)
    docs = workdir / "e2e-docs"
    docs.mkdir(parents=True)
    for n, start in enumerate(range(0, len(records), 8), 1):
        body = "\n\n".join(f"# {r['title']}\n\n{r['text']}" for r in records[start:start + 8])
        path = docs / f"records-{n:04d}.md"
        path.write_text(body + "\n", encoding="utf-8")
        chunked.add_file(path, pack, max_bytes)
        if len(chunked.texts) >= target:
            break
    return chunked


def write_synthetic(target: int, base_raw: list[str], base_vecs: np.ndarray, workdir: Path,
                    per_doc: int, sigma: float,
                    seed: int) -> tuple[list[Path], Path, np.ndarray]:
    """Markdown files of ``per_doc`` sections ``# Part J`` + base chunk J mod B, and the vector
    of each section: base vector J mod B plus gaussian noise, renormalised.

    Each base text is already one chunk, so each section becomes one chunk again (the count
    verirag actually indexes is what every system gets). One more document of ``per_doc``
    sections is written apart: it is added to the built index as a maintenance operation.
    """
    folder = workdir / f"syn-{target}"
    folder.mkdir(parents=True)

    def write(path: Path, first: int, last: int) -> Path:
        body = "\n\n".join(f"# Part {j}\n\n{base_raw[j % len(base_raw)]}"
                            for j in range(first, last))
        path.write_text(body + "\n", encoding="utf-8")
        return path

    files = [write(folder / f"syn-{d + 1:05d}.md", d * per_doc, min(target, (d + 1) * per_doc))
             for d in range(-(-target // per_doc))]
    extra = write(workdir / f"syn-{target}-extra.md", target, target + per_doc)
    rng = np.random.default_rng(seed)
    table = base_vecs[np.arange(target + per_doc) % len(base_vecs)]
    table = table + rng.normal(0.0, sigma, size=table.shape).astype("float32")
    table /= np.linalg.norm(table, axis=1, keepdims=True)
    return files, extra, np.ascontiguousarray(table, dtype="float32")


def load_queries(evalsets: Path, n: int) -> list[str]:
    per_set: list[list[str]] = []
    for path in sorted(evalsets.glob("*/questions.jsonl")):
        qs = []
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                q = rec.get("question") or (rec.get("turns") or [{}])[0].get("question")
                if q:
                    qs.append(str(q))
        per_set.append(qs)
    out: list[str] = []
    seen: set[str] = set()
    for i in range(max((len(q) for q in per_set), default=0)):
        for qs in per_set:
            if i < len(qs) and qs[i] not in seen:
                seen.add(qs[i])
                out.append(qs[i])
    return out[:n]


# -- timing -----------------------------------------------------------------------------------
@dataclass
class QueryStats:
    n: int
    p50_ms: float
    p95_ms: float
    recall: float | None = None
    embed_calls: float | None = None


def time_queries(fn: Callable[[str], list[str]], queries: list[str], budget_s: float,
                 min_n: int, qe: QueryEncoder, exact: dict[str, set[str]] | None) -> QueryStats:
    """Latency of ``fn`` per query; stops after ``budget_s`` once ``min_n`` queries ran."""
    for q in queries[:2]:  # warm-up, not counted
        fn(q)
    lat: list[float] = []
    hits = 0.0
    calls_before = qe.calls
    start = time.perf_counter()
    for q in queries:
        t0 = time.perf_counter()
        texts = fn(q)
        lat.append(time.perf_counter() - t0)
        if exact is not None:
            hits += len(exact[q] & set(texts)) / max(1, len(exact[q]))
        if len(lat) >= min_n and time.perf_counter() - start > budget_s:
            break
    n = len(lat)
    return QueryStats(n, 1000 * pct(lat, 50), 1000 * pct(lat, 95),
                      hits / n if exact is not None else None, (qe.calls - calls_before) / n)


def exact_top_k(vecs: np.ndarray, texts: list[str], qe: QueryEncoder,
                queries: list[str]) -> dict[str, set[str]]:
    out = {}
    for q in queries:
        scores = vecs @ qe.cache[q]
        top = np.argpartition(-scores, K)[:K]
        out[q] = {texts[i] for i in top}
    return out


def passage_texts(result: Any) -> list[str]:
    return [embedding_text(p.doc_name, p.heading_path, p.text) for p in result.passages]


# -- the three systems ------------------------------------------------------------------------
def open_kb(settings: Settings, pack: Pack, embedder: Any) -> KnowledgeBase:
    """What ``app.services.Runtime.kb`` does, with the embedder chosen by the benchmark."""
    engine = make_engine(settings.db_url)
    return KnowledgeBase.open(pack, engine, settings.index_dir, embedder,
                              flat_index_max=settings.flat_index_max)


@dataclass
class Row:
    label: str
    chunks: int
    seconds: float
    note: str = ""
    rss: float = float("nan")

    @property
    def rate(self) -> float:
        return self.chunks / self.seconds if self.seconds else float("nan")


def fmt_ingest(rows: list[Row], ref: Row) -> list[str]:
    out = [f"  {'system':<44} {'chunks':>7} {'seconds':>8} {'chunks/s':>9} {'x verirag':>9}"
           f" {'+RSS MB':>8}  note"]
    for r in rows:
        ratio = r.rate / ref.rate if ref.rate else float("nan")
        out.append(f"  {r.label:<44} {r.chunks:>7} {r.seconds:>8.2f} {r.rate:>9.0f} "
                   f"{ratio:>8.2f}x {r.rss:>8.0f}  {r.note}")
    return out


def fmt_queries(rows: list[tuple[str, QueryStats | None, QueryStats | None]],
                ref_label: str) -> list[str]:
    ref_ex = next(e for label, e, _ in rows if label == ref_label)
    ref_in = next(i for label, _, i in rows if label == ref_label)
    out = [f"  {'system':<46} |{'excl. query embedding':^40}|"
           f"{'incl. query embedding (live model)':^38}",
           f"  {'':<46} | {'n':>4} {'p50 ms':>7} {'p95 ms':>7} {'x ref':>6} {'rec@5':>6} "
           f"{'emb/q':>5} | {'n':>4} {'p50 ms':>7} {'p95 ms':>7} {'x ref':>6} {'emb/q':>5}"]
    for label, ex, inc in rows:
        line = f"  {label:<46} |"
        if ex is not None and ref_ex is not None:
            rec = f"{ex.recall:.3f}" if ex.recall is not None else "n/a"
            line += (f" {ex.n:>4} {ex.p50_ms:>7.2f} {ex.p95_ms:>7.2f} "
                     f"{ex.p50_ms / ref_ex.p50_ms:>5.2f}x {rec:>6} {ex.embed_calls:>5.2f} |")
        else:
            line += f"{'-':^40}|"
        if inc is not None and ref_in is not None:
            line += (f" {inc.n:>4} {inc.p50_ms:>7.2f} {inc.p95_ms:>7.2f} "
                     f"{inc.p50_ms / ref_in.p50_ms:>5.2f}x {inc.embed_calls:>5.2f}")
        else:
            line += f"{'-':^38}"
        out.append(line)
    return out


# -- phases -----------------------------------------------------------------------------------
def phase_e2e(args: argparse.Namespace, work: Path, pack: Pack, model: SentenceTransformerEmbedder,
              qe: QueryEncoder, report: list[str]) -> tuple[list[str], np.ndarray]:
    """Ingest including embedding; returns the base set (raw chunk texts, their vectors)."""
    settings = load_settings(home=work / "home-e2e")
    corpus = build_e2e_corpus(args.e2e_size, work, pack, settings.max_upload_bytes, args.evalsets)
    say(f"end-to-end: {len(corpus.files)} files, {len(corpus.texts)} chunks; verirag Ingestor")

    release_memory()
    rss0 = rss_mb()
    kb = open_kb(settings, pack, model)
    prof = Profile()
    with prof.patch(kb_targets(SentenceTransformerEmbedder)):
        t0 = time.perf_counter()
        rep = Ingestor(kb, max_bytes=settings.max_upload_bytes).ingest(corpus.files)
        secs = time.perf_counter() - t0
    ids = sorted(kb.dense.ids())
    by_id = kb.chunk_texts(ids)
    texts = [by_id[i] for i in ids]  # exactly what verirag embedded, in ingest order
    if texts != corpus.texts:
        say("WARNING: verirag's stored chunks differ from the pre-chunked ones; "
            "the others get verirag's")
    n = len(texts)
    vr = Row("(a) verirag Ingestor.ingest(files)", n, secs,
             f"{rep.summary}; incl. parse, redact, chunk, SQLite, BM25, files on disk",
             rss_mb() - rss0)
    kb.engine.dispose()
    del kb
    release_memory()

    say("end-to-end: LangChain FAISS.from_texts")
    from langchain_community.vectorstores import FAISS

    rss0 = rss_mb()
    t0 = time.perf_counter()
    lc = FAISS.from_texts(texts, langchain_embeddings(model, qe))
    lc_row = Row("(b) LangChain FAISS.from_texts", n, time.perf_counter() - t0,
                 "in memory; ~ the model alone (one embed_documents call, batch 64)",
                 rss_mb() - rss0)
    base_vecs = lc.index.reconstruct_n(0, lc.index.ntotal)  # the model's output, batch 64
    del lc
    release_memory()

    say("end-to-end: LlamaIndex VectorStoreIndex(nodes)")
    from llama_index.core import VectorStoreIndex
    from llama_index.core.schema import TextNode

    rss0 = rss_mb()
    t0 = time.perf_counter()
    nodes = [TextNode(text=t, id_=f"n{i}") for i, t in enumerate(texts)]
    li = VectorStoreIndex(nodes, embed_model=llamaindex_embedding(model, qe))
    li_row = Row("(c) LlamaIndex VectorStoreIndex(nodes)", n, time.perf_counter() - t0,
                 "in memory; embed_batch_size=64 (LlamaIndex default: 10)", rss_mb() - rss0)
    del li, nodes
    release_memory()

    report.append(f"== 1. End-to-end ingest INCLUDING embedding with the real model: {n} chunks "
                  f"from {len(corpus.files)} files   [load {load_avg()}]")
    report.extend(fmt_ingest([vr, lc_row, li_row], vr))
    report.append("  (b) and (c) get the chunk texts verirag stored (title + heading path + text, "
                  f"as verirag embeds them); cutting them took verirag {corpus.seconds:.2f} s "
                  "beforehand (not counted for (b), (c))")
    report.append("  verirag ingest breakdown (wall time; indented = inside the line above):")
    report.extend(prof.lines(vr.seconds))
    report.append("")
    return corpus.raw, base_vecs


@dataclass
class SizeRun:
    """Shared state of one phase-2 size: the corpus, its vectors and the collected rows."""

    size: int
    args: argparse.Namespace
    work: Path
    model: SentenceTransformerEmbedder
    qe: QueryEncoder
    queries: list[str]
    table: np.ndarray  # precomputed vector of synthetic section J (row J)
    texts: list[str] = field(default_factory=list)
    vecs: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype="float32"))
    exact: dict[str, set[str]] = field(default_factory=dict)
    extra_texts: list[str] = field(default_factory=list)  # the document added afterwards
    victim_texts: list[str] = field(default_factory=list)  # the document deleted afterwards
    ops: dict[str, dict[str, float]] = field(default_factory=dict)  # operation -> system -> s
    ingest_rows: list[Row] = field(default_factory=list)
    qrows: list[tuple[str, QueryStats | None, QueryStats | None]] = field(default_factory=list)
    maint: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.texts)

    def measure(self, label: str, fn: Callable[[str], list[str]], live: bool = True,
                recall: bool = True, faiss_threads: int | None = None) -> None:
        """Excl. (cached query vectors) and, when ``live``, incl. query embedding."""
        import faiss

        say(f"size {self.size}: queries, {label}")
        a, qe = self.args, self.qe
        threads = faiss.omp_get_max_threads()
        if faiss_threads:
            faiss.omp_set_num_threads(faiss_threads)
        try:
            qe.live = False
            ex = time_queries(fn, self.queries, a.query_budget_s, a.min_queries, qe,
                              self.exact if recall else None)
            inc = None
            if live:
                qe.live = True
                inc = time_queries(fn, self.queries, a.live_budget_s, a.min_queries, qe, None)
        finally:
            qe.live = False
            faiss.omp_set_num_threads(threads)
        self.qrows.append((label, ex, inc))

    def op(self, operation: str, system: str, seconds: float) -> None:
        self.ops.setdefault(operation, {})[system] = seconds


def verirag_queries(run: SizeRun, kb: KnowledgeBase, id_text: dict[int, str]) -> None:
    retriever = Retriever(kb)
    run.measure("(a) verirag Retriever hybrid",
                lambda q: passage_texts(retriever.search(q, k=K, mode="hybrid")), recall=False)
    run.measure("(a) verirag Retriever dense",
                lambda q: passage_texts(retriever.search(q, k=K, mode="dense")))
    run.measure("(a) verirag FaissIndex.search only",
                lambda q: [id_text[i] for i, _ in kb.dense.search(run.qe.embed(q), K)],
                live=False)
    run.measure("(a) verirag Retriever dense [faiss 1 thr]",
                lambda q: passage_texts(retriever.search(q, k=K, mode="dense")), live=False,
                faiss_threads=1)
    run.measure("(a) verirag FaissIndex.search [faiss 1 thr]",
                lambda q: [id_text[i] for i, _ in kb.dense.search(run.qe.embed(q), K)],
                live=False, faiss_threads=1)


OPS = ("add one document", "delete one document", "save to disk", "reopen from disk")


def bench_verirag(run: SizeRun, files: list[Path], extra: Path, embedder: SectionEmbedder,
                  settings: Settings, pack: Pack) -> tuple[Row, Profile]:
    release_memory()
    rss0 = rss_mb()
    kb = open_kb(settings, pack, embedder)
    prof = Profile()
    say(f"size {run.size}: verirag Ingestor ({len(files)} files)")
    with prof.patch(kb_targets(SectionEmbedder)):
        t0 = time.perf_counter()
        Ingestor(kb, max_bytes=settings.max_upload_bytes).ingest(files)
        secs = time.perf_counter() - t0
    rss = rss_mb() - rss0
    ids = sorted(kb.dense.ids())
    id_text = kb.chunk_texts(ids)
    run.texts = [id_text[i] for i in ids]  # exactly what verirag indexed, in ingest order
    run.vecs = embedder.embed_documents(run.texts)
    run.exact = exact_top_k(run.vecs, run.texts, run.qe, run.queries)
    row = Row("(a) verirag Ingestor.ingest(files)", run.n, secs,
              f"{len(files)} files; FAISS {kb.dense.kind}; SQLite + FAISS + BM25 on disk", rss)
    verirag_queries(run, kb, id_text)

    # Add one more document to the built base (what an upload does).
    say(f"size {run.size}: verirag maintenance")
    aprof = Profile()
    with aprof.patch(kb_targets(SectionEmbedder)):
        t0 = time.perf_counter()
        Ingestor(kb, max_bytes=settings.max_upload_bytes).ingest([extra])
        add_s = time.perf_counter() - t0
    new_ids = sorted(kb.dense.ids() - set(ids))
    new_text = kb.chunk_texts(new_ids)
    run.extra_texts = [new_text[i] for i in new_ids]
    run.op("add one document", "verirag", add_s)
    run.maint.append(f"  verirag Ingestor.ingest of one more document ({len(new_ids)} chunks): "
                     f"{add_s:.2f} s")
    run.maint.extend(aprof.lines(add_s))

    # Delete one document (the middle one of the first ingest).
    docs = kb.documents()
    victim = docs[len(docs) // 2]
    victim_ids = _doc_chunk_ids(kb, victim.id)
    run.victim_texts = [id_text[i] for i in victim_ids]
    dprof = Profile()
    with dprof.patch(kb_targets(SectionEmbedder)):
        t0 = time.perf_counter()
        kb.delete_document(victim.id)
        del_s = time.perf_counter() - t0
    run.op("delete one document", "verirag", del_s)
    run.maint.append(f"  verirag delete_document (one document, {len(victim_ids)} chunks): "
                     f"{del_s:.2f} s")
    run.maint.extend(dprof.lines(del_s))
    kb.engine.dispose()
    del kb, id_text
    release_memory()

    # Reopen from a fresh engine: KnowledgeBase.open runs the repair check.
    oprof = Profile()
    repaired = _CaptureRepairs()
    with oprof.patch(kb_targets(SectionEmbedder)), repaired:
        t0 = time.perf_counter()
        kb2 = open_kb(settings, pack, embedder)
        open_s = time.perf_counter() - t0
    stats = kb2.stats()
    expected = run.n + len(new_ids) - len(victim_ids)
    ok = stats["chunks"] == stats["vectors"] == expected
    run.op("reopen from disk", "verirag", open_s)
    run.maint.append(f"  verirag reopen (KnowledgeBase.open from a fresh engine = its repair "
                     f"check): {open_s:.2f} s; repair needed: {'yes' if repaired.seen else 'no'};"
                     f" consistent: {ok} ({stats['vectors']} vectors)")
    run.maint.extend(oprof.lines(open_s))
    kb2.engine.dispose()
    return row, prof


def _doc_chunk_ids(kb: KnowledgeBase, doc_id: int) -> list[int]:
    return sorted(kb.repo.chunk_ids([doc_id]))


def langchain_queries(run: SizeRun, lc: Any) -> None:
    run.measure("(b) LangChain FAISS.similarity_search",
                lambda q: [d.page_content for d in lc.similarity_search(q, k=K)])
    run.measure("(b) LangChain similarity_search [faiss 1 thr]",
                lambda q: [d.page_content for d in lc.similarity_search(q, k=K)], live=False,
                faiss_threads=1)


def bench_langchain(run: SizeRun) -> Row:
    from langchain_community.vectorstores import FAISS

    release_memory()
    say(f"size {run.size}: LangChain FAISS.from_embeddings")
    embeddings = langchain_embeddings(run.model, run.qe)
    rss0 = rss_mb()
    t0 = time.perf_counter()
    lc = FAISS.from_embeddings(zip(run.texts, list(run.vecs), strict=True), embeddings,
                               ids=[f"c{i}" for i in range(run.n)])
    row = Row("(b) LangChain FAISS.from_embeddings", run.n, time.perf_counter() - t0,
              "in memory (IndexFlatL2, exact)", rss_mb() - rss0)
    langchain_queries(run, lc)

    say(f"size {run.size}: LangChain maintenance")
    extra_vecs = list(SectionEmbedder(run.table, run.qe).embed_documents(run.extra_texts))
    t0 = time.perf_counter()
    lc.add_embeddings(zip(run.extra_texts, extra_vecs, strict=True),
                      ids=[f"x{i}" for i in range(len(run.extra_texts))])
    run.op("add one document", "LangChain", time.perf_counter() - t0)
    position = {t: i for i, t in enumerate(run.texts)}
    victim = [f"c{position[t]}" for t in run.victim_texts]
    t0 = time.perf_counter()
    lc.delete(victim)
    run.op("delete one document", "LangChain", time.perf_counter() - t0)
    folder = str(run.work / f"lc-{run.size}")
    t0 = time.perf_counter()
    lc.save_local(folder)
    run.op("save to disk", "LangChain", time.perf_counter() - t0)
    del lc
    release_memory()
    t0 = time.perf_counter()
    FAISS.load_local(folder, embeddings, allow_dangerous_deserialization=True)
    run.op("reopen from disk", "LangChain", time.perf_counter() - t0)
    return row


def llamaindex_queries(run: SizeRun, index: Any) -> None:
    retriever = index.as_retriever(similarity_top_k=K)
    run.measure("(c) LlamaIndex retriever.retrieve",
                lambda q: [r.node.get_content() for r in retriever.retrieve(q)])


def bench_llamaindex(run: SizeRun) -> Row:
    from llama_index.core import StorageContext, VectorStoreIndex, load_index_from_storage
    from llama_index.core.schema import TextNode

    release_memory()
    say(f"size {run.size}: LlamaIndex VectorStoreIndex(nodes with embeddings)")
    embed_model = llamaindex_embedding(run.model, run.qe)
    rss0 = rss_mb()
    t0 = time.perf_counter()
    nodes = [TextNode(text=t, id_=f"n{i}", embedding=v.tolist())
             for i, (t, v) in enumerate(zip(run.texts, run.vecs, strict=True))]
    index = VectorStoreIndex(nodes, embed_model=embed_model)
    row = Row("(c) LlamaIndex VectorStoreIndex(nodes)", run.n, time.perf_counter() - t0,
              "in memory (SimpleVectorStore, exact); incl. making the TextNodes",
              rss_mb() - rss0)
    del nodes
    llamaindex_queries(run, index)

    say(f"size {run.size}: LlamaIndex maintenance")
    extra_vecs = SectionEmbedder(run.table, run.qe).embed_documents(run.extra_texts)
    t0 = time.perf_counter()
    index.insert_nodes([TextNode(text=t, id_=f"x{i}", embedding=v.tolist())
                        for i, (t, v) in enumerate(zip(run.extra_texts, extra_vecs, strict=True))])
    run.op("add one document", "LlamaIndex", time.perf_counter() - t0)
    position = {t: i for i, t in enumerate(run.texts)}
    t0 = time.perf_counter()
    index.delete_nodes([f"n{position[t]}" for t in run.victim_texts], delete_from_docstore=True)
    run.op("delete one document", "LlamaIndex", time.perf_counter() - t0)
    if run.args.li_persist:
        folder = str(run.work / f"li-{run.size}")
        t0 = time.perf_counter()
        index.storage_context.persist(persist_dir=folder)
        run.op("save to disk", "LlamaIndex", time.perf_counter() - t0)
        del index
        release_memory()
        t0 = time.perf_counter()
        load_index_from_storage(StorageContext.from_defaults(persist_dir=folder),
                                embed_model=embed_model)
        run.op("reopen from disk", "LlamaIndex", time.perf_counter() - t0)
    return row


def fmt_ops(ops: dict[str, dict[str, float]], per_doc: int) -> list[str]:
    systems = ("verirag", "LangChain", "LlamaIndex")
    out = [f"  {'operation (' + str(per_doc) + '-chunk document)':<34}"
           + "".join(f" {s:>22}" for s in systems)]
    for op in OPS:
        got = ops.get(op, {})
        ref = got.get("verirag")
        cells = []
        for system in systems:
            secs = got.get(system)
            if secs is None:
                text = "in every write" if op == "save to disk" and system == "verirag" else "-"
            elif system == "verirag" or not ref:
                text = f"{secs:.3f} s"
            else:
                text = f"{secs:.3f} s ({secs / ref:.3g}x)"
            cells.append(f" {text:>22}")
        out.append(f"  {op:<34}" + "".join(cells))
    return out


def phase_size(size: int, args: argparse.Namespace, work: Path, pack: Pack, base_raw: list[str],
               base_vecs: np.ndarray, model: SentenceTransformerEmbedder, qe: QueryEncoder,
               queries: list[str], report: list[str]) -> None:
    settings = load_settings(home=work / f"home-{size}")
    say(f"size {size}: writing the synthetic corpus")
    files, extra, table = write_synthetic(size, base_raw, base_vecs, work, args.chunks_per_doc,
                                          args.sigma, args.seed)
    run = SizeRun(size, args, work, model, qe, queries, table=table)
    vr, prof = bench_verirag(run, files, extra, SectionEmbedder(table, qe), settings, pack)
    run.ingest_rows.append(vr)
    run.ingest_rows.append(bench_langchain(run))
    release_memory()
    run.ingest_rows.append(bench_llamaindex(run))
    release_memory()

    report.append(f"== 2. {run.n} chunks ({len(files)} files), PRECOMPUTED vectors shared by "
                  f"all three   [load {load_avg()}]")
    report.append("  insert / index build (no embedding; (b), (c) get the texts verirag stored):")
    report.extend(fmt_ingest(run.ingest_rows, vr))
    report.append("  verirag ingest breakdown (indented lines are inside the line above):")
    report.extend(prof.lines(vr.seconds))
    report.append("  queries, k=5, one at a time; x ref = p50 / p50 of 'verirag Retriever dense'; "
                  "rec@5 = overlap with the exact top 5 on the same vectors; emb/q = "
                  "query-embedding calls per query; [faiss 1 thr] = faiss.omp_set_num_threads(1):")
    report.extend(fmt_queries(run.qrows, "(a) verirag Retriever dense"))
    report.append("  maintenance on the built index (x = time / verirag's time):")
    report.extend(fmt_ops(run.ops, args.chunks_per_doc))
    report.append("  verirag maintenance breakdown:")
    report.extend(run.maint)
    report.append("")


class _CaptureRepairs(logging.Handler):
    """Notices the warning ``KnowledgeBase.open`` logs when it had to repair something."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen = False

    def emit(self, record: logging.LogRecord) -> None:
        if "repaired" in record.getMessage():
            self.seen = True

    def __enter__(self) -> _CaptureRepairs:
        logging.getLogger("knowledge.kb").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("knowledge.kb").removeHandler(self)


# -- main -------------------------------------------------------------------------------------
def machine_lines(model: SentenceTransformerEmbedder) -> list[str]:
    import faiss
    import langchain_community
    import llama_index.core
    import torch

    mem = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return [
        f"machine: {os.cpu_count()} CPUs ({cpu}), RAM {mem}, torch threads "
        f"{torch.get_num_threads()}, python {platform.python_version()}",
        f"versions: faiss {faiss.__version__}, langchain-community "
        f"{langchain_community.__version__}, llama-index-core {llama_index.core.__version__}, "
        f"torch {torch.__version__}",
        f"embedder: {model.path} (dim {model.dim}, CPU)",
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10000,100000", help="chunk counts for phase 2")
    p.add_argument("--queries", type=int, default=200, help="queries per system and mode")
    p.add_argument("--e2e-size", type=int, default=500,
                   help="chunks for the end-to-end ingest (also the base set of phase 2)")
    p.add_argument("--quick", action="store_true",
                   help="sizes 2000,10000, e2e 200 chunks, 100 queries")
    p.add_argument("--query-budget-s", type=float, default=20.0,
                   help="stop a query run (excl. embedding) after this long once "
                        "--min-queries ran")
    p.add_argument("--live-budget-s", type=float, default=10.0,
                   help="the same for query runs that embed each query with the model")
    p.add_argument("--min-queries", type=int, default=10)
    p.add_argument("--latency-sample", type=int, default=30,
                   help="queries timed through the model alone (embed_query)")
    p.add_argument("--chunks-per-doc", type=int, default=200,
                   help="sections per synthetic document in phase 2")
    p.add_argument("--sigma", type=float, default=0.015,
                   help="gaussian noise per dimension added to base vectors (then renormalised)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--pack", default="finance", help="pack whose chunking/retrieval is used")
    p.add_argument("--evalsets", type=Path, default=DEFAULT_EVALSETS)
    p.add_argument("--li-persist", action="store_true",
                   help="also time LlamaIndex storage_context.persist (JSON; slow at 100k)")
    p.add_argument("--keep", action="store_true", help="keep the temporary VERIRAG_HOME")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.e2e_size, args.queries = "2000,10000", 200, 100
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    logging.basicConfig(level=logging.ERROR)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    work = Path(tempfile.mkdtemp(prefix="verirag-bench-"))
    os.environ["VERIRAG_HOME"] = str(work / "home")
    started = time.perf_counter()
    report: list[str] = []
    try:
        load_start = load_avg()
        model = SentenceTransformerEmbedder(default_embedder(), device="cpu")
        pack = load_pack(args.pack)
        qe = QueryEncoder(model)
        queries = load_queries(args.evalsets, args.queries)
        say(f"embedding {len(queries)} queries once with the model (the cached query vectors)")
        qe.cache = dict(zip(queries, model.embed_documents(queries), strict=True))
        qlat = []
        for q in queries[:2]:
            model.embed_query(q)
        for q in queries[:args.latency_sample]:
            t0 = time.perf_counter()
            model.embed_query(q)
            qlat.append(time.perf_counter() - t0)
        report.extend(machine_lines(model))
        report.append(f"pack: {pack.name} (chunk_size {pack.chunking.chunk_size}, retrieval "
                      f"{pack.retrieval.mode}, fetch_k {pack.retrieval.fetch_k}); "
                      f"flat_index_max {load_settings().flat_index_max}; k = {K}; "
                      f"{len(queries)} queries from {args.evalsets}")
        report.append(f"command: kb_bench {' '.join(argv if argv is not None else sys.argv[1:])}")
        report.append(f"load average at start: {load_start}")
        report.append(f"model query embedding alone: p50 {1000 * pct(qlat, 50):.2f} ms, "
                      f"p95 {1000 * pct(qlat, 95):.2f} ms ({len(qlat)} queries)")
        report.append("")
        base_raw, base_vecs = phase_e2e(args, work, pack, model, qe, report)
        for size in sizes:
            phase_size(size, args, work, pack, base_raw, base_vecs, model, qe, queries, report)
        report.append(f"total wall time {time.perf_counter() - started:.0f} s; "
                      f"load average at end: {load_avg()}")
    finally:
        print("\n".join(report), flush=True)  # what was measured, even after a failure
        if args.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
