"""Retrieval benchmark: verirag's dense, BM25 and default search against plain baselines.

Run by hand from the repository root (not part of the test suite)::

    .venv/bin/python -m benchmarks.retrieval_bench                       # every shared set
    .venv/bin/python -m benchmarks.retrieval_bench financebench-mini:finance cuad:legal --k 10

For each ``SET:DOMAIN`` (a folder of ../shared/evalsets and the pack whose settings are
measured) it reports recall@k (a gold document among the first k results) of

- verirag's own **dense** and **BM25** retrievers (one passage per section, as fusion
  receives them) and its **default** (the pack's ``[retrieval]`` as configured: fusion,
  weights, one passage per section, the document-facts preference), all through
  ``knowledge.retrieval.Retriever`` on the evaluation knowledge base ``verirag eval`` builds
  (cached under ``$VERIRAG_HOME/eval-cache``);
- the **plain** baselines of ``benchmarks.retrieval.plain``: whole documents embedded with the
  same MiniLM (first 256 tokens), and a word / character-bigram BM25 — run in the same process.

The last column is default / best plain. A follow-up of a multi-turn set is searched by
verirag's columns the way the product searches it — the standalone query the dialog manager
rewrites it into (``evals.followups``) — and by the plain baselines as typed, since a plain
script has no dialog state; ``--as-typed`` gives verirag's columns the raw follow-up too.
"""
# ruff: noqa: E402  (the sys.path and environment set-up must precede the project imports)

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from app.models.locate import default_embedder
from app.resources import Resources
from benchmarks.retrieval.plain import plain_bm25, plain_dense
from evals.corpus import prepare_corpus
from evals.datasets import load_dataset
from evals.followups import standalone_query
from knowledge.retrieval import Retriever

EVALSETS = ROOT.parent / "shared" / "evalsets"
DEFAULT_SETS = ("covidqa-mini:medical", "pubmedqa-mini:medical", "tatqa-mini:finance",
                "financebench-mini:finance", "mtrag-mini:finance", "cuad-mini:legal",
                "legalbenchrag-mini:legal", "cjrc-zh-mini:legal")
COLUMNS = ("dense", "bm25", "default", "plain dense", "plain bm25")


def _recall(ranked: list[list[str]], gold: list[frozenset[str]], k: int) -> float:
    hits = sum(1 for names, g in zip(ranked, gold, strict=True) if g & set(names[:k]))
    return hits / len(gold) if gold else 0.0


def measure(res: Resources, spec: str, k: int, evalsets: Path = EVALSETS,
            as_typed: bool = False) -> dict[str, float | int | str]:
    """recall@k of every column on one ``SET:DOMAIN``."""
    name, _, domain = spec.partition(":")
    pack = res.pack(domain or "medical")
    path = Path(name) if Path(name).is_dir() else evalsets / name
    dataset = load_dataset(path, pack.root)
    corpus = prepare_corpus(res, pack, dataset)
    asked = [(item.turns[: n + 1], corpus.canonical(t.gold_ids)) for item in dataset.items
             for n, t in enumerate(item.turns) if t.scored and t.gold_ids]
    questions, gold = [turns[-1].question for turns, _ in asked], [g for _, g in asked]
    searched = questions if as_typed else [
        standalone_query(turns, pack) if len(turns) > 1 else turns[-1].question
        for turns, _ in asked]
    # The inputs as fusion sees them: one passage per section, no preference by document facts.
    inputs = Retriever(corpus.kb, pack.retrieval.model_copy(update={"metadata_boost": 0.0}))
    default = Retriever(corpus.kb, pack.retrieval)
    row: dict[str, float | int | str] = {"set": name, "domain": pack.name, "n": len(asked)}
    for column, retriever, mode in (("dense", inputs, "dense"), ("bm25", inputs, "bm25"),
                                    ("default", default, None)):
        started = time.perf_counter()
        ranked = [[p.doc_name for p in retriever.search(q, k=k, mode=mode).passages]
                  for q in searched]
        row[column] = _recall(ranked, gold, k)
        row[f"{column} s/q"] = (time.perf_counter() - started) / max(len(questions), 1)
    assert dataset.corpus is not None, "the plain baselines need a corpus.jsonl"
    ids = [corpus.aliases.get(d.id, d.id) for d in dataset.corpus]
    texts = [f"{d.title}\n{d.text}" if d.title else d.text for d in dataset.corpus]
    for column, found in (("plain dense", plain_dense(default_embedder(), texts, questions, k)),
                          ("plain bm25", plain_bm25(texts, questions, k))):
        row[column] = _recall([[ids[i] for i in top] for top in found], gold, k)
    corpus.close()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="*", default=list(DEFAULT_SETS), help="SET:DOMAIN ...")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--evalsets", type=Path, default=EVALSETS,
                        help="folder of the sets named without a path")
    parser.add_argument("--as-typed", action="store_true",
                        help="search follow-ups as typed, not as the dialog manager rewrites them")
    args = parser.parse_args()
    res = Resources()
    print(f"| set | pack | n | {' | '.join(COLUMNS)} | default / best plain |")
    print("|---|---|---|" + "---|" * (len(COLUMNS) + 1))
    for spec in args.sets:
        row = measure(res, spec, args.k, args.evalsets, args.as_typed)
        best_plain = max(float(row["plain dense"]), float(row["plain bm25"]))
        ratio = float(row["default"]) / best_plain if best_plain else float("nan")
        cells = " | ".join(f"{float(row[c]):.3f}" for c in COLUMNS)
        print(f"| {row['set']} | {row['domain']} | {row['n']} | {cells} | {ratio:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
