"""``verirag eval`` end to end through the CLI, with the session's real embedder.

The dataset is made here: five passages (one Chinese), four questions and a three-turn dialog.
Each test runs in its own data directory (the autouse ``VERIRAG_HOME``), sharing the
session's loaded models the way ``fresh_runtime`` does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli


def _eval(cli: Cli, *args: str) -> tuple[int, str]:
    result = cli("eval", *args, catch_exceptions=False)
    return result.exit_code, result.output


def _report(out: Path) -> dict[str, Any]:
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def test_retrieval_only_comparison_writes_every_report_and_reuses_the_index(
        cli: Cli, dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, output = _eval(cli, "medical", "--dataset", str(dataset), "--retrieval-only",
                         "--compare", "dense,bm25", "--out", str(out))
    assert code == 0, output
    assert "recall@5" in output and "dense" in output and "bm25" in output
    assert "recall@5 by turn position" in output
    for name in ("report.json", "summary.md", "metrics.png", "recall_at_k.png", "latency.png",
                 "turns.png"):
        assert (out / name).is_file(), name
    assert (out / "metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    report = _report(out)
    meta = report["meta"]
    assert meta["corpus"]["indexed"] == 5 and not meta["corpus"]["reused_cache"]
    assert meta["questions"] == 6 and meta["multi_turn"]
    assert len(report["records"]) == 12  # 6 scored turns x 2 configurations
    bm25 = report["summary"]["bm25"]
    assert bm25["n_retrieval"] == 5  # q4 is unanswerable: no gold to find
    assert bm25["recall@1"] == 1.0 and bm25["recall@5"] == 1.0
    assert bm25["em"] is None, "nothing was answered in a retrieval-only run"
    q3 = next(r for r in report["records"] if r["item_id"] == "q3" and r["config"] == "bm25")
    assert q3["retrieved"][0] == "falls-1", "corpus ids are the document names"
    assert {r["turn"] for r in report["records"] if r["item_id"] == "d1"} == {2, 3}
    assert set(report["by_turn"]["dense"]) == {"2", "3"}
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "| recall@5 |" in summary and "## By turn position" in summary

    again = tmp_path / "again"
    code, output = _eval(cli, "medical", "--dataset", str(dataset), "--retrieval-only",
                         "--compare", "dense,bm25", "--out", str(again))
    assert code == 0, output
    second = _report(again)
    assert second["meta"]["corpus"]["indexed"] == 0, "the cached index was reused"
    assert second["meta"]["corpus"]["reused_cache"]
    assert second["meta"]["corpus"]["cache_dir"] == meta["corpus"]["cache_dir"]
    assert [r["retrieved"] for r in second["records"]] == [r["retrieved"] for r in
                                                           report["records"]]
    for config in ("dense", "bm25"):
        for key in ("recall@1", "recall@5", "mrr@10", "ndcg@10"):
            assert second["summary"][config][key] == report["summary"][config][key]


def test_limit_and_seed_pick_the_same_questions(cli: Cli, dataset: Path,
                                                tmp_path: Path) -> None:
    picks = []
    for run in ("a", "b"):
        code, output = _eval(cli, "medical", "--dataset", str(dataset), "--retrieval-only",
                             "--limit", "2", "--seed", "7", "--out", str(tmp_path / run))
        assert code == 0, output
        picks.append([r["item_id"] for r in _report(tmp_path / run)["records"]])
    assert picks[0] == picks[1] and len(set(picks[0])) == 2


def test_errors_are_one_line_with_exit_code_1(cli: Cli, dataset: Path) -> None:
    code, output = _eval(cli, "medical", "--dataset", str(dataset), "--retrieval-only",
                         "--compare", "no-retrieval")
    assert code == 1 and "has no retrieval to measure" in output and "Traceback" not in output
    with (dataset / "questions.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"id": "q9", "question": "Broken?", "gold_ids": 3}\n')
    code, output = _eval(cli, "medical", "--dataset", str(dataset), "--retrieval-only")
    assert code == 1 and "questions.jsonl:6:" in output and "'gold_ids'" in output


@pytest.mark.slow
def test_full_run_on_the_medical_pack_questions(cli: Cli, tmp_path: Path) -> None:
    """Generated, extractive and no-retrieval answers to two of the pack's own questions.

    The generating configuration is a TOML override with a short token budget: it exercises
    the override path and keeps the test's generation time down.
    """
    short = tmp_path / "short.toml"
    short.write_text('name = "generate"\n[generation]\nmode = "generate"\nmax_new_tokens = 40\n')
    out = tmp_path / "full"
    code, output = _eval(cli, "medical", "--dataset", "pack", "--limit", "2", "--seed", "0",
                         "--compare", f"{short},extractive,no-retrieval", "--out", str(out))
    assert code == 0, output
    assert "baseline" in output
    report = _report(out)
    assert report["meta"]["dataset"] == "medical-pack" and report["meta"]["questions"] == 2
    records = report["records"]
    assert len(records) == 6
    assert all(r["decision"] in ("answer", "refuse") and r["answer"] for r in records)
    assert all(r["timings"]["e2e_s"] > 0 for r in records)
    generated = [r for r in records if r["config"] == "generate"]
    assert all(r["mode"] in ("generate", "extractive-fallback") for r in generated
               if r["decision"] == "answer")
    assert all(r["retrieval"] for r in generated if r["answerable"])
    baseline = [r for r in records if r["config"] == "no-retrieval"]
    assert all(not r["retrieved"] and not r["cited_docs"] for r in baseline)
    summary = report["summary"]
    assert summary["extractive"]["answered"] is not None
    assert summary["no-retrieval"]["recall@5"] is None
    assert "no-retrieval (baseline)" in (out / "summary.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_plain_baseline_beside_the_pack_reports_correct_refused_and_wrong(
        cli: Cli, dataset: Path, tmp_path: Path) -> None:
    """Two questions through the pack and the plain RAG baseline, with the real small model."""
    out = tmp_path / "plain"
    code, output = _eval(cli, "medical", "--dataset", str(dataset), "--limit", "2",
                         "--compare", "pack,plain", "--out", str(out))
    assert code == 0, output
    assert "plain (baseline)" in output and "confidently wrong" in output
    report = _report(out)
    for name in ("pack", "plain"):
        summary = report["summary"][name]
        assert summary["n_outcomes"] >= 1, name
        shares = [summary[k] for k in ("correct", "confidently_wrong", "refused")]
        assert all(v is not None for v in shares) and sum(shares) == pytest.approx(1.0), name
    plain = [r for r in report["records"] if r["config"] == "plain"]
    assert plain and all(r["mode"] == "plain" and not r["cited_docs"] for r in plain)
    assert all(r["outcome"] in ("correct", "refused", "confidently_wrong", None)
               for r in report["records"])
    assert next(c for c in report["meta"]["configs"] if c["name"] == "plain")["baseline"]
    assert "| confidently wrong |" in (out / "summary.md").read_text(encoding="utf-8")
