"""The evaluation flow, once, for every front door: datasets on offer, a run, past reports.

``verirag eval`` and the web app's Evaluation page both call :func:`run_evaluation`, so a report
started in the browser is the same files a CLI run writes (in ``Settings.eval_reports_dir``),
and the page lists CLI runs too. Front doors show progress their own way through ``progress``.

Left out: deleting reports (they are plain folders) and comparing two report folders (run one
evaluation with ``compare`` instead: the columns then share the questions).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from app.resources import Resources
from evals.configs import parse_compare
from evals.datasets import CORPUS_FILE, QUESTIONS_FILE, load_dataset
from evals.errors import EvalDataError
from evals.report import Report, cell, visible_rows, write_report
from evals.runner import EvalRun, IndexFn, RunOptions, StepFn, run_eval
from verirag.errors import VeriragError
from verirag.jsonl import read_objects

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
    records: list[dict[str, Any]] = field(default_factory=list)


def default_out(res: Resources, dataset: str, domain: str) -> Path:
    """``$VERIRAG_HOME/eval-reports/DATASET-DOMAIN-TIME``: the CLI's default ``--out``."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^\w.-]+", "-", Path(dataset).name or dataset)
    out = res.settings.eval_reports_dir / f"{safe}-{domain}-{stamp}"
    n = 2
    while out.exists():  # two runs in one second from two browser tabs
        out = out.with_name(f"{safe}-{domain}-{stamp}-{n}")
        n += 1
    return out


def bundled_datasets(res: Resources) -> list[DatasetChoice]:
    """Each pack's own questions (``domains/PACK/eval``), answered from its sample documents."""
    out = []
    for name in res.pack_names():
        pack = res.pack(name)
        questions = pack.root / "eval" / "questions.jsonl"
        if questions.is_file():
            n = sum(1 for _ in read_objects(questions, EvalDataError))
            out.append(DatasetChoice(f"{pack.title} pack questions ({n})", "pack", name))
    return out


def save_upload(res: Resources, questions: bytes, corpus: bytes | None, name: str,
                domain: str) -> Path:
    """Keep an uploaded dataset under ``$VERIRAG_HOME/eval-datasets`` and check it parses.

    Without a corpus the questions are pack-format (``doc`` names a file of the pack's
    documents). A malformed line fails here, naming the line, before any work starts.
    """
    digest = hashlib.sha256(questions + b"\0" + (corpus or b"")).hexdigest()[:10]
    safe = re.sub(r"[^\w.-]+", "-", Path(name).stem or "upload").strip("-") or "upload"
    folder = res.settings.eval_datasets_dir / f"{safe}-{digest}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / QUESTIONS_FILE).write_bytes(questions)
    if corpus is not None:
        (folder / CORPUS_FILE).write_bytes(corpus)
    try:
        load_dataset(folder, res.pack(domain).root)
    except EvalDataError as exc:  # name the user's upload, not our private copy of it
        shutil.rmtree(folder, ignore_errors=True)
        raise EvalDataError(str(exc).replace(f"{folder}{os.sep}", "uploaded ")) from exc
    return folder


@dataclass(frozen=True)
class Evaluation:
    """A finished run: its report (for a summary on screen) and where its files were written."""

    report: Report
    folder: Path
    files: list[Path]


def run_evaluation(res: Resources, domain: str, spec: str, *, k: int = 5,
                   limit: int | None = None, seed: int = 0, retrieval_only: bool = False,
                   compare: str | None = None, out: Path | None = None,
                   on_index: IndexFn | None = None, on_step: StepFn | None = None,
                   ) -> Evaluation:
    """Score ``domain``'s settings (or the ``compare`` configurations) on a dataset and write
    the report to ``out`` (default: a new folder in ``Settings.eval_reports_dir``).

    ``spec`` is a dataset folder, a pack eval folder, or ``pack`` for the pack's own questions.
    """
    pack = res.pack(domain)
    options = RunOptions(k=k, retrieval_only=retrieval_only, limit=limit, seed=seed)
    configs = parse_compare(compare, pack)
    data = load_dataset(spec, pack.root)
    run: EvalRun = run_eval(res, domain, data, configs, options, on_index=on_index,
                            on_step=on_step)
    try:
        report = Report(run)
        target = out or default_out(res, data.name, domain)
        files = write_report(report, target)
    finally:
        run.corpus.close()
    return Evaluation(report, target, files)


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


def list_reports(res: Resources) -> list[ReportInfo]:
    """Past reports, newest first; folders that are not readable reports are skipped."""
    root = res.settings.eval_reports_dir
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
                      md.read_text(encoding="utf-8") if md.is_file() else "",
                      list(data.get("records") or []))
