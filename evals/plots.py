"""PNG plots of a run: metric bars per configuration, the recall@k curve, latency histogram.

Drawn on ``matplotlib.figure.Figure`` objects with the Agg canvas, never through ``pyplot``:
no global figure state, no display needed, safe in a server process. Colours follow the
configuration order, so a configuration has the same colour in every plot of a report. Left
out: CJK text in plots (labels are configuration and metric names, which are ASCII).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from evals.runner import Record
from evals.summary import Summary

BAR_METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "em", "f1", "rouge_l",
               "bleu", "label_acc", "correct", "confidently_wrong", "cited", "supported",
               "refusal_precision", "refusal_recall")
_METADATA = {"Software": None}  # no version string: the same figures give the same bytes


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110, metadata=_METADATA)
    return path


def metric_bars(summary: Mapping[str, Summary], labels: Mapping[str, str], k: int,
                path: Path) -> Path:
    names = list(summary)
    wanted = dict.fromkeys((*BAR_METRICS[:3], f"recall@{k}", *BAR_METRICS[3:]))
    metrics = [m for m in wanted if any(summary[n].get(m) is not None for n in names)]
    fig = Figure(figsize=(max(6.0, 0.9 * len(metrics) + 2), 4.2))
    ax = fig.subplots()
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        values = [float(summary[name].get(m) or 0.0) for m in metrics]
        xs = [j + (i - (len(names) - 1) / 2) * width for j in range(len(metrics))]
        ax.bar(xs, values, width, label=labels[name], color=f"C{i}")
    ax.set_xticks(range(len(metrics)), metrics, rotation=35, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score (0-1)")
    ax.set_title("Metrics per configuration")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return _save(fig, path)


def recall_curve(curves: Mapping[str, Sequence[float]], labels: Mapping[str, str],
                 path: Path) -> Path:
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for i, (name, values) in enumerate(curves.items()):
        ax.plot(range(1, len(values) + 1), values, marker="o", label=labels[name], color=f"C{i}")
    if not curves:
        ax.text(0.5, 0.5, "no questions with gold passages", ha="center", transform=ax.transAxes)
    ax.set_xlabel("k (passages retrieved)")
    ax.set_ylabel("recall@k (share of questions with a gold passage)")
    ax.set_ylim(0, 1.05)
    ax.set_title("Recall@k")
    if curves:
        ax.legend(fontsize="small")
    fig.tight_layout()
    return _save(fig, path)


def latency_histogram(records: Sequence[Record], labels: Mapping[str, str],
                      path: Path) -> Path:
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    per_config = {name: [v for r in records if r.config == name
                         if (v := r.timings.get("e2e_s")) is not None] for name in labels}
    everything = [v for values in per_config.values() for v in values]
    # One set of bin edges for every configuration, so the bars line up and compare.
    n_bins = min(20, max(5, len(everything) // (2 * max(1, len(labels)))))
    low, high = (min(everything), max(everything)) if everything else (0.0, 1.0)
    edges = [low + (high - low) * i / n_bins for i in range(n_bins + 1)] if high > low else n_bins
    for i, (name, values) in enumerate(per_config.items()):
        if values:
            ax.hist(values, bins=edges, alpha=0.55, label=labels[name], color=f"C{i}")
    ax.set_xlabel("end-to-end seconds per question")
    ax.set_ylabel("questions")
    ax.set_title("Latency")
    if any(r.timings.get("e2e_s") is not None for r in records):
        ax.legend(fontsize="small")
    fig.tight_layout()
    return _save(fig, path)


def turn_lines(turns: Mapping[str, Mapping[int, Summary]], labels: Mapping[str, str], k: int,
               path: Path) -> Path:
    """Multi-turn: recall@k by turn position, which shows what history-blind retrieval loses."""
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for i, (name, by_pos) in enumerate(turns.items()):
        points = [(pos, s[f"recall@{k}"]) for pos, s in sorted(by_pos.items())
                  if s.get(f"recall@{k}") is not None]
        if points:
            ax.plot([p for p, _ in points], [v for _, v in points], marker="o",
                    label=labels[name], color=f"C{i}")
    ax.set_xlabel("turn position")
    ax.set_ylabel(f"recall@{k}")
    ax.set_ylim(0, 1.05)
    ax.set_title("Recall by turn position")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return _save(fig, path)


def write_plots(records: Sequence[Record], summary: Mapping[str, Summary],
                curves: Mapping[str, Sequence[float]], turns: Mapping[str, Mapping[int, Summary]],
                labels: Mapping[str, str], k: int, out_dir: Path) -> list[Path]:
    paths = [metric_bars(summary, labels, k, out_dir / "metrics.png"),
             recall_curve(curves, labels, out_dir / "recall_at_k.png"),
             latency_histogram(records, labels, out_dir / "latency.png")]
    if turns:
        paths.append(turn_lines(turns, labels, k, out_dir / "turns.png"))
    return paths
