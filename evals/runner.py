"""Running a dataset through configurations: one ``Record`` per (configuration, scored turn).

For each configuration the runner asks every scored turn (earlier turns of a dialog become
history, with their gold answers), times it, and scores it. Retrieval metrics come from a
separate search at depth ``max(10, --k)`` with the query the answerer used: the question, or
for a follow-up the dialog manager's standalone rewrite (``evals.followups``; not with the
``no-rewrite`` configuration), so they measure the same retrieval whether or not answers are
generated. Every asked question also gets one outcome, correct, refused or confidently
wrong (``evals.metrics.correctness``), so a wrong answer is counted rather than averaged into
F1. Scoring is deterministic; only the timings vary between runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from app.dialog.types import Answer
from app.resources import Resources
from evals.answerers import TurnAnswerer, TurnAnswererFactory, default_factory
from evals.configs import EvalConfig
from evals.corpus import EvalCorpus, prepare_corpus
from evals.datasets import Dataset, EvalItem, Turn
from evals.errors import EvalDataError
from evals.followups import standalone_query
from evals.metrics.answers import answer_scores
from evals.metrics.correctness import answer_outcome
from evals.metrics.grounding import citation_counts
from evals.metrics.labels import answer_label
from evals.metrics.retrieval import first_hit_rank, retrieval_scores

StepFn = Callable[[int, int, str], None]
IndexFn = Callable[[int, int], None]


@dataclass(frozen=True)
class RunOptions:
    """``k`` is the headline cut-off; recall@1/5/10 are always reported too."""

    k: int = 5
    retrieval_only: bool = False
    limit: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.k <= 100:
            raise EvalDataError(f"--k must be between 1 and 100, got {self.k}")

    @property
    def depth(self) -> int:
        return max(10, self.k)

    @property
    def ks(self) -> list[int]:
        return sorted({1, 5, 10, self.k})


@dataclass
class Record:
    """Everything measured for one question under one configuration (a row of the JSON)."""

    config: str
    item_id: str
    turn: int | None
    question: str
    references: list[str]
    gold_ids: list[str] | None
    answerable: bool
    label_gold: str | None
    query: str
    retrieved: list[str] = field(default_factory=list)
    first_hit: int | None = None
    retrieval: dict[str, float] = field(default_factory=dict)
    answer: str | None = None
    decision: str | None = None
    mode: str | None = None
    cited_docs: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    label_pred: str | None = None
    citations_valid: int = 0
    citations_supported: int = 0
    evidence: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float | None] = field(default_factory=dict)
    # correct | refused | confidently_wrong (evals.metrics.correctness); None: not judged.
    outcome: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EvalRun:
    """The outcome of a run: what was run on what, and the per-question records."""

    domain: str
    dataset: Dataset
    configs: list[EvalConfig]
    options: RunOptions
    corpus: EvalCorpus
    records: list[Record]
    embedder_id: str

    def meta(self) -> dict[str, Any]:
        c = self.corpus
        unreachable = sorted({g for item in self.dataset.items for t in item.turns if t.scored
                              for g in t.gold_ids or () if g in c.rejected})
        return {
            "domain": self.domain, "dataset": self.dataset.name,
            "questions_file": str(self.dataset.questions_path),
            "multi_turn": self.dataset.multi_turn, "items": len(self.dataset.items),
            "questions": self.dataset.n_units, "k": self.options.k, "depth": self.options.depth,
            "limit": self.options.limit, "seed": self.options.seed,
            "retrieval_only": self.options.retrieval_only, "embedder": self.embedder_id,
            "corpus": {"documents": c.documents, "chunks": c.chunks, "indexed": c.indexed,
                       "reused_cache": c.reused, "cache_dir": str(c.directory),
                       "duplicates": len(c.aliases), "rejected": c.rejected,
                       "rejected_gold": unreachable},
            "configs": [{"name": cfg.name, "label": cfg.label, "baseline": cfg.baseline,
                         "description": cfg.description, "use_retrieval": cfg.use_retrieval,
                         "retrieval_mode": cfg.pack.retrieval.mode,
                         "generation_mode": cfg.pack.generation.mode,
                         "top_k": cfg.pack.retrieval.top_k, "adapter": cfg.adapter,
                         "plain": cfg.plain}
                        for cfg in self.configs],
        }


def _history(turns: tuple[Turn, ...]) -> list[dict[str, str]]:
    """Earlier turns as chat messages: each question and its (first) gold answer."""
    messages: list[dict[str, str]] = []
    for turn in turns:
        messages.append({"role": "user", "content": turn.question})
        if turn.answers:
            messages.append({"role": "assistant", "content": turn.answers[0]})
    return messages


class _ConfigRunner:
    """Asks and scores every turn for one configuration."""

    def __init__(self, config: EvalConfig, corpus: EvalCorpus, options: RunOptions,
                 resources: Resources, answerer: TurnAnswerer | None) -> None:
        self.config = config
        self.corpus = corpus
        self.options = options
        self.answerer = answerer
        self.retriever = (resources.retriever(config.pack.name, corpus.kb,
                                              config.pack.retrieval)
                          if config.use_retrieval else None)

    def record(self, item: EvalItem, position: int) -> Record:
        turn = item.turns[position]
        gold = sorted(self.corpus.canonical(turn.gold_ids)) if turn.gold_ids is not None else None
        query = turn.question
        if position and self.config.rewrite_follow_ups:
            query = standalone_query(item.turns[:position + 1], self.config.pack)
        rec = Record(self.config.name, item.id, position + 1 if item.multi_turn else None,
                     turn.question, list(turn.answers), gold, turn.answerable, turn.label,
                     query)
        if self.answerer is not None:
            started = time.perf_counter()
            answer = self.answerer.answer(turn.question, _history(item.turns[:position]),
                                          query=query)
            self._score_answer(rec, answer, time.perf_counter() - started)
        if self.retriever is not None:
            started = time.perf_counter()
            found = self.retriever.search(rec.query, k=self.options.depth)
            elapsed = time.perf_counter() - started
            rec.retrieved = [p.doc_name for p in found.passages]
            if self.answerer is None:
                rec.timings = {"retrieval_s": elapsed, "ttft_s": None, "tokens": None,
                               "tokens_per_s": None, "e2e_s": elapsed}
            if gold:
                rec.first_hit = first_hit_rank(rec.retrieved, gold)
                rec.retrieval = retrieval_scores(rec.retrieved, gold, self.options.ks)
        return rec

    def _score_answer(self, rec: Record, answer: Answer, elapsed: float) -> None:
        rec.query = answer.query or rec.question
        rec.answer, rec.decision, rec.mode = answer.text, answer.decision, answer.mode
        rec.evidence = dict(answer.evidence)  # why it answered or refused (best cosine, coverage)
        refused = answer.decision == "refuse"
        rec.cited_docs = list(dict.fromkeys(p.doc_name for _, p in answer.cited_passages()))
        if rec.references and rec.answerable and rec.label_gold is None:
            rec.scores = answer_scores(answer.text, rec.references)
        if rec.label_gold is not None:
            rec.label_pred = answer_label(answer.text, refused=refused)
        rec.outcome = answer_outcome(answer.decision, answer.text, rec.references,
                                     answerable=rec.answerable, label_gold=rec.label_gold)
        counts = citation_counts(answer)
        rec.citations_valid, rec.citations_supported = counts.valid, counts.supported
        t = answer.timings
        # Without a token stream (extractive, refused) the whole answer is the first thing seen.
        first = t.retrieval_s + t.first_token_s if t.first_token_s is not None else elapsed
        rec.timings = {"retrieval_s": t.retrieval_s, "ttft_s": first,
                       "tokens": float(t.tokens) if t.tokens else None,
                       "tokens_per_s": t.tokens_per_s, "e2e_s": elapsed}


def run_eval(resources: Resources, domain: str, dataset: Dataset,
             configs: list[EvalConfig], options: RunOptions, *,
             factory: TurnAnswererFactory | None = None, on_index: IndexFn | None = None,
             on_step: StepFn | None = None) -> EvalRun:
    """Index (or reuse) the corpus, then run every configuration over the (sampled) dataset."""
    if options.retrieval_only:
        baseline = next((c for c in configs if not c.use_retrieval), None)
        if baseline is not None:
            raise EvalDataError(f"'{baseline.name}' has no retrieval to measure; drop "
                                "--retrieval-only or compare retrieval settings")
    dataset = dataset.sample(options.limit, options.seed)
    pack = resources.pack(domain)
    corpus = prepare_corpus(resources, pack, dataset, on_index)
    make = factory or default_factory(resources)
    units = [(item, i) for item in dataset.items for i, t in enumerate(item.turns) if t.scored]
    total = len(units) * len(configs)
    records: list[Record] = []
    for config in configs:
        answerer = None if options.retrieval_only else make(config, corpus.kb)
        runner = _ConfigRunner(config, corpus, options, resources, answerer)
        for item, position in units:
            records.append(runner.record(item, position))
            if on_step:
                on_step(len(records), total, config.label)
    return EvalRun(domain, dataset, configs, options, corpus, records,
                   corpus.kb.embedder.model_id)
