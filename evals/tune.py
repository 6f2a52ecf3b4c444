"""Choose a pack's retrieval settings on its own questions: ``verirag tune``.

Every combination of a small grid (fusion method and weights, candidates per retriever,
one passage per section or per chunk, and chunk size) is run through the real
:class:`~knowledge.retrieval.Retriever` on the evaluation knowledge base of the questions'
corpus, and scored by recall@k (a gold document among the first k), then MRR. The grid always
holds dense alone and BM25 alone, so the chosen setting never loses to its better input on
these questions. Ties keep the setting closest to the pack's current one: a change must
measure better to be made.

``top_k`` (passages shown to the model) is raised, never lowered: to the smallest of 3..6
whose recall under the chosen setting is within 0.01 of recall@6, when that is above the
current one. Recall can show that answers are being cut off, not that the model would answer
as well from fewer passages. Multi-turn questions are asked as typed (no rewrite).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.resources import Resources
from domains.pack import Pack, RetrievalConfig
from evals.configs import with_section
from evals.corpus import prepare_corpus
from evals.datasets import Dataset

ProgressFn = Callable[[str, int, int], None]
# (fusion, dense share): dense share 1 is dense alone, 0 BM25 alone.
FUSIONS = (("score", 1.0), ("score", 0.8), ("score", 0.65), ("score", 0.5), ("score", 0.35),
           ("score", 0.2), ("score", 0.0), ("rrf", 0.65), ("rrf", 0.5), ("rrf", 0.35))
FETCH_KS = (20, 40)
GROUPS = ("section", "chunk")
TOP_KS = (3, 4, 5, 6)


@dataclass(frozen=True)
class Setting:
    """One point of the grid."""

    chunk_size: int
    fusion: str
    dense_share: float
    fetch_k: int
    group_by: str

    @property
    def label(self) -> str:
        if self.dense_share == 1.0:
            how = "dense only"
        elif self.dense_share == 0.0:
            how = "BM25 only"
        else:
            how = f"{self.fusion} {self.dense_share:.2f} dense"
        return (f"{how}, fetch {self.fetch_k}, per {self.group_by}, "
                f"chunks of {self.chunk_size}")

    def retrieval(self, base: RetrievalConfig) -> RetrievalConfig:
        return base.model_copy(update={
            "mode": "hybrid", "fusion": self.fusion, "dense_weight": self.dense_share,
            "bm25_weight": round(1.0 - self.dense_share, 4), "fetch_k": self.fetch_k,
            "group_by": self.group_by})


@dataclass(frozen=True)
class Trial:
    setting: Setting
    recall: float  # recall@k
    mrr: float
    recall_by_k: dict[int, float] = field(default_factory=dict)


@dataclass
class TuneResult:
    k: int
    questions: int
    before: Trial
    best: Trial
    top_k: int
    trials: list[Trial]

    def sections(self, pack: Pack) -> dict[str, dict[str, Any]]:
        """The override that makes ``pack`` use the chosen setting."""
        s = self.best.setting
        retrieval = {"mode": "hybrid", "fusion": s.fusion, "dense_weight": s.dense_share,
                     "bm25_weight": round(1.0 - s.dense_share, 4), "fetch_k": s.fetch_k,
                     "group_by": s.group_by, "top_k": self.top_k}
        out: dict[str, dict[str, Any]] = {"retrieval": retrieval}
        if s.chunk_size != pack.chunking.chunk_size:
            overlap = min(pack.chunking.chunk_overlap, s.chunk_size // 4)
            out["chunking"] = {"chunk_size": s.chunk_size, "chunk_overlap": overlap}
        return out


class _QueryMemo:
    """The corpus embedder with each query embedded once across the whole grid."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._memo: dict[str, np.ndarray] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def embed_query(self, text: str) -> np.ndarray:
        if text not in self._memo:
            self._memo[text] = self._inner.embed_query(text)
        return self._memo[text]


def current_setting(pack: Pack) -> Setting:
    r = pack.retrieval
    total = r.dense_weight + r.bm25_weight
    share = {"dense": 1.0, "bm25": 0.0}.get(r.mode, r.dense_weight / total if total else 0.5)
    return Setting(pack.chunking.chunk_size, r.fusion, round(share, 4), r.fetch_k, r.group_by)


def _score(ranked: list[list[str]], gold: Sequence[frozenset[str]], k: int
           ) -> tuple[float, float, dict[int, float]]:
    ranks = [next((i for i, n in enumerate(names, 1) if n in g), None)
             for names, g in zip(ranked, gold, strict=True)]
    n = max(len(gold), 1)
    recall = sum(1 for r in ranks if r is not None and r <= k) / n
    mrr = sum(1.0 / r for r in ranks if r is not None and r <= k) / n
    by_k = {j: sum(1 for r in ranks if r is not None and r <= j) / n for j in TOP_KS}
    return recall, mrr, by_k


def _distance(a: Setting, b: Setting) -> float:
    """How far a setting is from the current one; ties go to the nearer."""
    return (abs(a.dense_share - b.dense_share) + (a.fusion != b.fusion) + (a.fetch_k != b.fetch_k)
            + (a.group_by != b.group_by) + abs(a.chunk_size - b.chunk_size) / 100)


def tune(res: Resources, pack: Pack, dataset: Dataset, *, k: int = 5,
         chunk_sizes: Sequence[int] = (), progress: ProgressFn | None = None) -> TuneResult:
    """Run the grid on ``dataset`` and pick the best setting for ``pack``."""
    now = current_setting(pack)
    sizes = list(dict.fromkeys([now.chunk_size, *chunk_sizes]))
    trials: list[Trial] = []
    grid = [(f, d, fk, g) for f, d in FUSIONS for fk in FETCH_KS for g in GROUPS]
    questions = 0
    for size in sizes:
        sized = with_section(pack, "chunking", {"chunk_size": size, "chunk_overlap": min(
            pack.chunking.chunk_overlap, size // 4)}, f"chunk size {size}")

        def on_index(i: int, n: int, size: int = size) -> None:
            if progress:
                progress(f"indexing with chunks of {size}", i, n)

        corpus = prepare_corpus(res, sized, dataset, on_index)
        try:
            corpus.kb.embedder = _QueryMemo(corpus.kb.embedder)
            asked = [(t.question, corpus.canonical(t.gold_ids)) for item in dataset.items
                     for t in item.turns if t.scored and t.gold_ids]
            questions = len(asked)
            settings = [Setting(size, f, d, fk, g) for f, d, fk, g in grid]
            if size == now.chunk_size and now not in settings:
                settings.insert(0, now)
            depth = max(k, *TOP_KS)
            for i, setting in enumerate(settings, 1):
                retriever = res.retriever(pack.name, kb=corpus.kb,
                                          retrieval=setting.retrieval(sized.retrieval))
                ranked = [[p.doc_name for p in retriever.search(q, k=depth).passages]
                          for q, _ in asked]
                recall, mrr, by_k = _score(ranked, [g for _, g in asked], k)
                trials.append(Trial(setting, recall, mrr, by_k))
                if progress:
                    progress(f"trying settings (chunks of {size})", i, len(settings))
        finally:
            corpus.close()
    before = next(t for t in trials if t.setting == now)
    best = min(trials, key=lambda t: (-t.recall, -t.mrr, _distance(t.setting, now)))
    ceiling = best.recall_by_k[max(TOP_KS)]
    top_k = max(pack.retrieval.top_k,
                next(j for j in TOP_KS if best.recall_by_k[j] >= ceiling - 0.01))
    return TuneResult(k, questions, before, best, top_k, trials)


def tuned_pack(pack: Pack, result: TuneResult) -> Pack:
    """``pack`` as it will be loaded once the override is written."""
    for section, values in result.sections(pack).items():
        pack = with_section(pack, section, values, "tuned settings")
    return pack

