"""Bulk-ingest benchmark: chunks/s of the whole ingest (parse, chunk, SQL, embed, FAISS, BM25,
save) with each embedder runtime, in one process.

Run by hand from the repository root (not part of the test suite)::

    .venv/bin/python -m benchmarks.ingest_bench                          # 400 cuad passages
    .venv/bin/python -m benchmarks.ingest_bench --set tatqa --docs 1000 --runtimes torch,onnx-int8

Each runtime ingests the same documents (the first ``--docs`` of ``<evalsets>/SET/corpus.jsonl``)
through ``knowledge.ingest.Ingestor`` into its own throw-away knowledge base of the
``--pack`` pack; the first runtime listed is the baseline of the ``x base`` column. Runtimes
are run in turn ``--rounds`` times (the order rotated each round) and the best round counts,
so a load spike on a shared machine does not decide the ratio. An ONNX runtime's one-time
export happens before timing.
"""
# ruff: noqa: E402  (the sys.path and environment set-up must precede the project imports)

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from app.models import ModelRegistry
from app.resources import Resources
from knowledge.ingest import Ingestor, TextDoc
from verirag.settings import load_settings

EVALSETS = ROOT.parent / "shared" / "evalsets"


def _docs(path: Path, n: int) -> list[TextDoc]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:n]]
    return [TextDoc(r["id"], r["text"], r.get("title", "")) for r in rows]


def ingest_once(runtime: str, pack: str, docs: list[TextDoc], models: dict[str, ModelRegistry]
                ) -> tuple[int, float]:
    """(chunks, seconds) of ingesting ``docs`` into a fresh knowledge base."""
    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(home=Path(home), embedder_backend=runtime)
        registry = models.setdefault(runtime, ModelRegistry(settings))
        registry.embedder()  # loaded (and exported) before the clock starts
        res = Resources(settings, registry)
        kb = res.kb(pack)
        started = time.perf_counter()
        report = Ingestor(kb, max_bytes=10**8).ingest_texts(docs)
        seconds = time.perf_counter() - started
        kb.engine.dispose()
        return sum(r.chunks for r in report.results), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", default="cuad")
    parser.add_argument("--docs", type=int, default=400)
    parser.add_argument("--pack", default="legal")
    parser.add_argument("--runtimes", default="torch,onnx-int8,onnx")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--evalsets", type=Path, default=EVALSETS)
    args = parser.parse_args()
    docs = _docs(args.evalsets / args.set / "corpus.jsonl", args.docs)
    runtimes = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    best: dict[str, tuple[int, float]] = {}
    models: dict[str, ModelRegistry] = {}
    for round_ in range(args.rounds):
        order = runtimes[round_ % len(runtimes):] + runtimes[: round_ % len(runtimes)]
        for runtime in order:
            chunks, seconds = ingest_once(runtime, args.pack, docs, models)
            if runtime not in best or seconds < best[runtime][1]:
                best[runtime] = (chunks, seconds)
    base = best[runtimes[0]][0] / best[runtimes[0]][1]
    print(f"{len(docs)} {args.set} documents into the {args.pack} pack, best of {args.rounds}")
    print(f"{'runtime':<10} {'chunks':>7} {'seconds':>8} {'chunks/s':>9} {'x base':>7}")
    for runtime in runtimes:
        chunks, seconds = best[runtime]
        print(f"{runtime:<10} {chunks:>7} {seconds:>8.1f} {chunks / seconds:>9.1f} "
              f"{chunks / seconds / base:>7.2f}")


if __name__ == "__main__":
    main()
