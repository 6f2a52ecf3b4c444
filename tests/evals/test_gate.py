"""The gate in front of a new adapter: served only if it does no worse, and always why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.models import ModelRegistry
from app.services import Runtime
from evals.gate import judge
from tests.conftest import Cli
from verirag.settings import load_settings

BEFORE = {"n_outcomes": 20, "correct": 0.50, "confidently_wrong": 0.10, "refused": 0.40}


@pytest.mark.parametrize(("after", "served", "why"), [
    ({"correct": 0.50, "confidently_wrong": 0.10}, True, "served: no worse than adapter:old"),
    ({"correct": 0.60, "confidently_wrong": 0.05}, True, "correct 0.50 -> 0.60"),
    ({"correct": 0.65, "confidently_wrong": 0.15}, False, "more answers confidently wrong"),
    ({"correct": 0.45, "confidently_wrong": 0.10}, False, "fewer answers correct"),
    ({"correct": None, "confidently_wrong": None}, False, "could be judged"),
])
def test_the_new_adapter_is_served_only_if_no_worse(after: dict[str, float | None],
                                                   served: bool, why: str) -> None:
    verdict = judge(BEFORE, {"n_outcomes": 20, **after}, before="adapter:old",
                    after="adapter:new")
    assert verdict.activate is served
    assert why in verdict.reason
    if after["correct"] is not None:
        assert "on 20 questions" in verdict.reason, "the figures are always shown"


@pytest.mark.slow
def test_finetune_gate_measures_before_serving(models: ModelRegistry, tmp_path: Path) -> None:
    """The whole path on a real pack: train, evaluate both on the pack's questions, decide.

    The legal pack answers extractively, so base and adapter give the same answers: a tie,
    which serves the newer adapter."""
    rows = [{"instruction": "What is the notice period?", "output": "Thirty days."}] * 4
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    home = tmp_path / "home"

    def runtime() -> Runtime:
        return Runtime(load_settings(home=home), models)

    cli = Cli(runtime)
    rt = runtime()
    report = rt.resources.ingestor("legal").ingest([rt.resources.pack("legal").root / "docs"])
    assert report.count("indexed") == 8
    result = cli("finetune", "legal", "--data", str(data), "--name", "gated", "--max-steps",
                 "1", "--rank", "4", "--alpha", "8", "--max-length", "128", "--cpu", "--gate")
    assert result.exit_code == 0, result.output
    assert "gated: served: no worse than base" in result.output.replace("\n", " ")
    assert "on 20 questions" in result.output.replace("\n", " ")
    assert runtime().resources.adapters("legal").active() == "gated"
