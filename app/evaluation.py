"""Evaluation for the web app: the datasets on offer, one run of ``verirag eval``, past reports.

Like ``app.cli.eval_cmd`` this is a composition root over ``evals`` (which itself imports the
app), so ``evals`` is imported inside the functions: importing ``app`` never pulls it in. A run
goes through exactly the CLI's steps — ``parse_compare``, ``load_dataset``, ``run_eval``,
``write_report`` — and lands in the same reports folder, so a report started in the browser is
the same files a CLI run writes, and the page lists CLI runs too.

Left out: deleting reports (they are plain folders) and comparing two report folders (run one
evaluation with ``compare`` instead: the columns then share the questions).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from app.services import Runtime
from verirag.errors import VeriragError

ProgressFn = Callable[[int, int | None, str], None]
REPORT_JSON = "report.json"
SUMMARY_MD = "summary.md"
PLOT_ORDER = ("metrics.png", "recall_at_k.png", "turns.png", "latency.png")


@dataclass(frozen=True)
class DatasetChoice:
    label: str
    spec: str
    domain: str


@dataclass(frozen=True)
class ReportInfo:
    path: Path
    dataset: str
    domain: str
    questions: int
    configs: list[str]
    created: datetime

    @property
    def label(self) -> str:
        return (f"{self.created:%Y-%m-%d %H:%M} · {self.dataset} · {self.domain} · "
                f"{self.questions} questions · {', '.join(self.configs)}")


@dataclass
class ReportView:
    info: ReportInfo
    meta: dict[str, Any]
    table: dict[str, list[str]]
    plots: list[Path] = field(default_factory=list)
    markdown: str = ""


def reports_dir(rt: Runtime) -> Path:
    return rt.settings.home / "eval-reports"


def default_out(rt: Runtime, dataset: str, domain: str) -> Path:
    """``$VERIRAG_HOME/eval-reports/DATASET-DOMAIN-TIME``: the CLI's default ``--out``."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^\w.-]+", "-", Path(dataset).name or dataset)
    out = reports_dir(rt) / f"{safe}-{domain}-{stamp}"
    n = 2
    while out.exists():  # two runs in one second from two browser tabs
        out = out.with_name(f"{safe}-{domain}-{stamp}-{n}")
        n += 1
    return out


def bundled_datasets(rt: Runtime) -> list[DatasetChoice]:
    """Each pack's own questions (``domains/PACK/eval``), answered from its sample documents."""
    out = []
    for name in rt.pack_names():
        pack = rt.pack(name)
        questions = pack.root / "eval" / "questions.jsonl"
        if questions.is_file():
            n = sum(1 for line in questions.read_text(encoding="utf-8").splitlines()
                    if line.strip())
            out.append(DatasetChoice(f"{pack.title} pack questions ({n})", "pack", name))
    return out


def save_upload(rt: Runtime, questions: bytes, corpus: bytes | None, name: str,
                domain: str) -> Path:
    """Keep an uploaded dataset under ``$VERIRAG_HOME/eval-datasets`` and check it parses.

    Without a corpus the questions are pack-format (``doc`` names a file of the pack's
    documents). A malformed line fails here, naming the line, before any work starts.
    """
    from evals.datasets import CORPUS_FILE, QUESTIONS_FILE, load_dataset
    from evals.errors import EvalDataError

    digest = hashlib.sha256(questions + b"\0" + (corpus or b"")).hexdigest()[:10]
    safe = re.sub(r"[^\w.-]+", "-", Path(name).stem or "upload").strip("-") or "upload"
    folder = rt.settings.home / "eval-datasets" / f"{safe}-{digest}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / QUESTIONS_FILE).write_bytes(questions)
    if corpus is not None:
        (folder / CORPUS_FILE).write_bytes(corpus)
    try:
        load_dataset(folder, rt.pack(domain).root)
    except EvalDataError as exc:  # name the user's upload, not our private copy of it
        shutil.rmtree(folder, ignore_errors=True)
        raise EvalDataError(str(exc).replace(f"{folder}{os.sep}", "uploaded ")) from exc
    return folder


def run_evaluation(rt: Runtime, domain: str, spec: str, *, k: int = 5,
                   limit: int | None = None, retrieval_only: bool = False,
                   compare: str | None = None, out: Path | None = None,
                   progress: ProgressFn | None = None) -> Path:
    """Run ``verirag eval`` and write its report; returns the report folder."""
    from evals.configs import parse_compare
    from evals.datasets import load_dataset
    from evals.report import Report, write_report
    from evals.runner import RunOptions, run_eval

    pack = rt.pack(domain)
    options = RunOptions(k=k, retrieval_only=retrieval_only, limit=limit)
    configs = parse_compare(compare, pack)
    data = load_dataset(spec, pack.root)

    def on_index(i: int, n: int) -> None:
        if progress:
            progress(i, n, f"indexing the {data.name} corpus")

    def on_step(i: int, n: int, config: str) -> None:
        if progress:
            progress(i, n, f"asking the questions ({config})")

    run = run_eval(rt, domain, data, configs, options, on_index=on_index, on_step=on_step)
    try:
        target = out or default_out(rt, data.name, domain)
        write_report(Report(run), target)
    finally:
        run.corpus.close()
    return target


def _info(path: Path, meta: dict[str, Any]) -> ReportInfo:
    created = datetime.fromtimestamp((path / REPORT_JSON).stat().st_mtime)
    return ReportInfo(path, str(meta.get("dataset", path.name)), str(meta.get("domain", "?")),
                      int(meta.get("questions", 0)),
                      [str(c.get("label", c.get("name"))) for c in meta.get("configs", [])],
                      created)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads((path / REPORT_JSON).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VeriragError(f"{path / REPORT_JSON} cannot be read ({exc}); run the evaluation "
                           "again") from exc
    if not isinstance(data, dict) or not isinstance(data.get("meta"), dict):
        raise VeriragError(f"{path / REPORT_JSON} is not a verirag report")
    return data


def list_reports(rt: Runtime) -> list[ReportInfo]:
    """Past reports, newest first; folders that are not readable reports are skipped."""
    root = reports_dir(rt)
    found = []
    for folder in root.iterdir() if root.is_dir() else []:
        if not (folder / REPORT_JSON).is_file():
            continue
        try:
            found.append(_info(folder, _read(folder)["meta"]))
        except VeriragError:
            continue
    return sorted(found, key=lambda r: r.created, reverse=True)


def load_report(path: Path) -> ReportView:
    """A report's comparison table (the rows ``summary.md`` shows), plots and Markdown."""
    from evals.report import cell, visible_rows

    data = _read(path)
    meta = data["meta"]
    summary: dict[str, Any] = data.get("summary") or {}
    labels = {str(c["name"]): str(c.get("label", c["name"])) for c in meta.get("configs", [])}
    k = int(meta.get("k", 5))
    ks = sorted({1, 5, 10, k})
    names = list(summary)
    table: dict[str, list[str]] = {"metric": []}
    for name in names:
        table[labels.get(name, name)] = []
    for row in visible_rows(summary, ks):
        table["metric"].append(row.label)
        for name in names:
            table[labels.get(name, name)].append(cell(summary[name], row))
    md = path / SUMMARY_MD
    order = {name: i for i, name in enumerate(PLOT_ORDER)}
    plots = sorted(path.glob("*.png"), key=lambda p: (order.get(p.name, len(order)), p.name))
    return ReportView(_info(path, meta), meta, table, plots,
                      md.read_text(encoding="utf-8") if md.is_file() else "")
