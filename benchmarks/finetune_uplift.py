"""Does a pack's LoRA adapter help? The adapter against its base, on the same inputs.

Three measurements, each asking the base model and the adapter the same questions with the
same passages (one generator, the adapter attached by name and switched per request, greedy
decoding):

1. **held-out grounded** (``--heldout``, default the pack's ``finetune/eval.jsonl``): the
   numbered passages of each example, exactly as written. Scored on the raw model output:
   answer token F1 against the reference answer (citations stripped; answerable questions),
   citation validity (the model itself wrote ``[n]`` markers and every one names a passage;
   ``cites_gold``: one of them is a passage the reference cites), the refusal decision
   (refuses exactly the unanswerable questions) and refusal precision / recall.
2. **pack questions** (``--pack-eval``): the pack's own ``eval/questions.jsonl`` through the
   whole pipeline (retrieval, decision, citation check) via ``evals.run_eval`` with
   ``--compare base,adapter:PACK``; both columns see the same retrieved passages. Reported:
   correct / confidently wrong / refused shares, refusal precision and recall, and
   ``fallback`` (share of generated drafts the citation check threw away: 1 - fallback
   survived it).
3. **PubMedQA-style labels** (``--pubmedqa FOLDER``): yes/no/maybe label accuracy, the same way.

Usage::

    python benchmarks/finetune_uplift.py medical --adapter NAME \
        --pack-eval --pubmedqa /work/shared/evalsets/pubmedqa-mini --out uplift.json

The numbers are whatever they are; small held-out sets (tens of questions) carry wide error
bars, so the script prints counts next to every rate.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.dialog.answerer import question_language
from app.models.generator import GenerationParams, Generator
from app.resources import Resources
from domains.pack import Pack
from evals.answerers import is_refusal
from evals.metrics.answers import token_f1
from evals.metrics.grounding import refusal_scores
from evals.metrics.text import strip_citations
from finetune.formats import cited_numbers, load_examples


def heldout(gen: Generator, pack: Pack, path: Path, adapter: str,
            params: GenerationParams) -> dict[str, dict[str, Any]]:
    """Score base and adapter on the grounded examples in ``path`` (see the module doc)."""
    examples = [e.grounded for e in load_examples(path, pack) if e.grounded is not None]
    out: dict[str, dict[str, Any]] = {}
    for label, name in (("base", None), (f"adapter:{adapter}", adapter)):
        f1s: list[float] = []
        valid = grounded = refusal_ok = answerable_n = 0
        rows = []
        refusals: list[bool] = []
        started = time.perf_counter()
        for ex in examples:
            messages = ex.messages(pack)[:-1]
            raw = "".join(gen.stream(messages, params, adapter=name)).strip()
            refused = is_refusal(raw, pack.refusal_for(question_language(ex.question)))
            refusal_ok += int(refused != ex.answerable)
            refusals.append(refused)
            cited = cited_numbers(raw)
            row: dict[str, Any] = {"question": ex.question, "output": raw, "refused": refused}
            if ex.answerable:
                answerable_n += 1
                reference = strip_citations(ex.answer or "")
                f1 = 0.0 if refused else token_f1(strip_citations(raw), [reference])
                f1s.append(f1)
                ok = bool(cited) and all(1 <= n <= len(ex.passages) for n in cited)
                hit = ok and bool(set(cited) & set(ex.gold))
                valid += int(ok)
                grounded += int(hit)
                row.update(f1=f1, citations_valid=ok, cites_gold=hit)
            rows.append(row)
        n = len(examples)
        precision, recall = refusal_scores(refusals, [e.answerable for e in examples])
        out[label] = {
            "refusal_precision": precision, "refusal_recall": recall,
            "examples": n, "answerable": answerable_n,
            "answer_f1": sum(f1s) / len(f1s) if f1s else None,
            "citation_valid": valid / answerable_n if answerable_n else None,
            "cites_gold": grounded / answerable_n if answerable_n else None,
            "refusal_decision_acc": refusal_ok / n if n else None,
            "seconds": round(time.perf_counter() - started, 1), "rows": rows}
    return out


def pipeline(res: Resources, domain: str, dataset: str, adapter: str, limit: int | None,
             out_dir: Path) -> dict[str, Any]:
    """``verirag eval DOMAIN --dataset D --compare base,adapter:NAME`` with the adapter attached."""
    from rich.console import Console

    from app.cli.eval_cmd import summary_table
    from evals.service import run_evaluation

    done = run_evaluation(res, domain, dataset, compare=f"base,adapter:{adapter}", limit=limit,
                          out=out_dir / Path(dataset).name)
    report = done.report
    Console(width=120).print(summary_table(report))
    keep = ("questions", "f1", "em", "label_acc", "n_labels", "answered", "cited", "supported",
            "n_citations", "refusal_precision", "refusal_recall", "fallback", "correct",
            "confidently_wrong", "refused", "n_outcomes", "n_unanswerable")
    return {name: {k: s.get(k) for k in keep} for name, s in report.summary.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("domain")
    ap.add_argument("--adapter", help="Registry name (default: the pack's active adapter).")
    ap.add_argument("--heldout", type=Path, help="Grounded JSONL (default finetune/eval.jsonl).")
    ap.add_argument("--pack-eval", action="store_true", help="Also run the pack's questions.")
    ap.add_argument("--pubmedqa", help="Also run this yes/no/maybe dataset folder.")
    ap.add_argument("--limit", type=int, help="Sample N questions of each pipeline dataset.")
    ap.add_argument("--out", type=Path, default=Path("uplift.json"))
    args = ap.parse_args()

    res = Resources()
    pack = res.pack(args.domain)
    registry = res.adapters(args.domain)
    name = args.adapter or registry.active()
    if not name:
        sys.exit(f"no adapter: train one (verirag finetune {args.domain}) or pass --adapter")
    entry = registry.get(name)
    gen = res.generator(pack)
    gen.attach_adapter(args.domain, entry.path)  # type: ignore[attr-defined]
    params = GenerationParams(**pack.generation.model_dump(exclude={"mode"})
                              | {"temperature": 0.0, "top_p": 1.0})
    result: dict[str, Any] = {"domain": args.domain, "adapter": name,
                              "adapter_metrics": entry.meta.metrics if entry.meta else None}
    path = args.heldout or pack.root / "finetune" / "eval.jsonl"
    result["heldout"] = heldout(gen, pack, path, args.domain, params)
    print(f"held-out grounded ({path}):")
    for label, s in result["heldout"].items():
        fmt = {k: (f"{v:.3f}" if isinstance(v, float) else v) for k, v in s.items()
               if k != "rows"}
        print(f"  {label:>18}: {fmt}")
    reports = args.out.with_suffix("") if args.out.suffix else args.out
    if args.pack_eval:
        result["pack_eval"] = pipeline(res, args.domain, "pack", args.domain, args.limit,
                                       reports)
    if args.pubmedqa:
        result["pubmedqa"] = pipeline(res, args.domain, args.pubmedqa, args.domain, args.limit,
                                      reports)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
