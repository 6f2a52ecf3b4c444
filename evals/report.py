"""Writing a run to ``--out``: ``report.json`` (every record), ``summary.md``, and the plots.

``ROWS`` is the one list of figures shown to people; the Markdown table and the terminal table
both read it, so they never disagree. A row appears only when some configuration has a value
(answer rows vanish in a retrieval-only run). Baselines are labelled in every column header.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.plots import write_plots
from evals.runner import EvalRun
from evals.summary import Summary, by_turn, recall_curves, summaries

JSON_FILE = "report.json"
MARKDOWN_FILE = "summary.md"


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    kind: str = "share"  # share | seconds | rate
    count: str | None = None  # the summary key holding how many questions it rests on


def rows(ks: list[int]) -> list[Row]:
    recall = [Row(f"recall@{k}", f"recall@{k}", count="n_retrieval") for k in ks]
    return [
        *recall,
        Row("mrr@10", "MRR@10", count="n_retrieval"),
        Row("ndcg@10", "nDCG@10", count="n_retrieval"),
        Row("gold_recall@10", "gold passages found @10", count="n_retrieval"),
        Row("em", "exact match", count="n_answers"),
        Row("f1", "token F1", count="n_answers"),
        Row("rouge_l", "ROUGE-L", count="n_answers"),
        Row("bleu", "BLEU", count="n_answers"),
        Row("label_acc", "label accuracy", count="n_labels"),
        Row("correct", "correct", count="n_outcomes"),
        Row("confidently_wrong", "confidently wrong", count="n_outcomes"),
        Row("refused", "refused or asked back", count="n_outcomes"),
        Row("answered", "answered (not refused)", count="questions"),
        Row("fallback", "generated, fell back to quotes"),
        Row("cited", "answers with a valid citation"),
        Row("supported", "citations supported", count="n_citations"),
        Row("refusal_precision", "refusal precision"),
        Row("refusal_recall", "refusal recall", count="n_unanswerable"),
        Row("ttft_p50_s", "time to first token p50", "seconds"),
        Row("tokens_per_s", "tokens/s (median)", "rate"),
        Row("e2e_p50_s", "end-to-end p50", "seconds"),
        Row("e2e_p95_s", "end-to-end p95", "seconds"),
    ]


def fmt(value: float | int | None, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "seconds":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if kind == "rate":
        return f"{value:.1f}"
    return f"{value:.3f}"


def visible_rows(table: dict[str, Summary], ks: list[int]) -> list[Row]:
    return [row for row in rows(ks) if any(s.get(row.key) is not None for s in table.values())]


def cell(summary: Summary, row: Row) -> str:
    text = fmt(summary.get(row.key), row.kind)
    if row.count and summary.get(row.key) is not None:
        text += f" (n={summary.get(row.count)})"
    return text


@dataclass
class Report:
    """The figures of a run, computed once and written or printed from here."""

    run: EvalRun
    summary: dict[str, Summary] = field(init=False)
    turns: dict[str, dict[int, Summary]] = field(init=False)
    curves: dict[str, list[float]] = field(init=False)

    def __post_init__(self) -> None:
        names = [c.name for c in self.run.configs]
        ks = self.run.options.ks
        self.summary = summaries(self.run.records, names, ks)
        self.turns = by_turn(self.run.records, names, ks) if self.run.dataset.multi_turn else {}
        self.curves = recall_curves(self.run.records, names, self.run.options.depth)

    @property
    def labels(self) -> dict[str, str]:
        return {c.name: c.label for c in self.run.configs}

    def to_json(self) -> dict[str, Any]:
        return {"meta": self.run.meta(), "summary": self.summary,
                "by_turn": {name: {str(pos): s for pos, s in turns.items()}
                            for name, turns in self.turns.items()},
                "recall_curve": self.curves,
                "records": [r.to_json() for r in self.run.records]}

    def markdown(self) -> str:
        meta = self.run.meta()
        corpus = meta["corpus"]
        names = list(self.summary)
        built = ("reused from cache" if corpus["reused_cache"]
                 else f"{corpus['indexed']} indexed this run")
        lines = [
            f"# verirag eval: {meta['dataset']} with the {meta['domain']} pack", "",
            f"- questions: {meta['questions']} scored turns from {meta['items']} items"
            + (f" (sample of {meta['limit']}, seed {meta['seed']})" if meta["limit"] else ""),
            f"- corpus: {corpus['documents']} documents, {corpus['chunks']} chunks ({built});"
            f" embedder `{meta['embedder']}`",
            f"- retrieval depth {meta['depth']}; headline k = {meta['k']}"
            + ("; retrieval only" if meta["retrieval_only"] else ""),
        ]
        if corpus["duplicates"] or corpus["rejected"]:
            lines.append(f"- {corpus['duplicates']} corpus passages repeat an earlier passage's "
                         "text (indexed once; their gold ids count as the first copy); "
                         f"{len(corpus['rejected'])} rejected by the ingestor, "
                         f"{len(corpus['rejected_gold'])} of them gold passages (never findable)")
        lines.append("")
        for cfg in meta["configs"]:
            parts = [f"retrieval {cfg['retrieval_mode'] if cfg['use_retrieval'] else 'none'}"]
            if not meta["retrieval_only"]:
                parts += [f"answers {cfg['generation_mode']}", f"top_k {cfg['top_k']}"]
            if cfg["adapter"]:
                parts.append(f"adapter {cfg['adapter']}")
            lines.append(f"- **{cfg['label']}**: {cfg['description']} ({', '.join(parts)})")
        lines += ["", "| metric | " + " | ".join(self.labels[n] for n in names) + " |",
                  "|---|" + "---|" * len(names)]
        for row in visible_rows(self.summary, self.run.options.ks):
            lines.append(f"| {row.label} | "
                         + " | ".join(cell(self.summary[n], row) for n in names) + " |")
        if self.turns:
            lines += ["", "## By turn position", "", self._turn_table()]
        return "\n".join(lines) + "\n"

    def _turn_table(self) -> str:
        """Rows are turn positions; per configuration recall@k, MRR@10, F1 and the share
        correct where measured."""
        k = self.run.options.k
        keys = [(f"recall@{k}", f"recall@{k}"), ("mrr@10", "MRR@10"), ("f1", "F1"),
                ("correct", "correct")]
        keys = [(key, label) for key, label in keys
                if any(s.get(key) is not None for t in self.turns.values() for s in t.values())]
        header = ["turn", "questions"] + [f"{self.labels[n]} {label}"
                                          for n in self.turns for _, label in keys]
        positions = sorted({p for t in self.turns.values() for p in t})
        out = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
        first = next(iter(self.turns.values()))
        for pos in positions:
            cells = [str(pos), str(first.get(pos, {}).get("questions", 0))]
            for turns in self.turns.values():
                summary = turns.get(pos, {})
                cells += [fmt(summary.get(key), "share") for key, _ in keys]
            out.append("| " + " | ".join(cells) + " |")
        return "\n".join(out)


def write_report(report: Report, out_dir: Path) -> list[Path]:
    """Write every report file into ``out_dir`` (created); returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / JSON_FILE
    json_path.write_text(json.dumps(report.to_json(), ensure_ascii=False, indent=1) + "\n",
                         encoding="utf-8")
    md_path = out_dir / MARKDOWN_FILE
    md_path.write_text(report.markdown(), encoding="utf-8")
    plots = write_plots(report.run.records, report.summary, report.curves, report.turns,
                        report.labels, report.run.options.k, out_dir)
    return [json_path, md_path, *plots]
