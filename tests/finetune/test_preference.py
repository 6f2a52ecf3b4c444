"""Preference pairs (DPO) and the time budget, on the real SmolLM2-135M (CPU).

A pair's loss starts at exactly log 2 (the new LoRA is the base, which is the reference) and
falls as the adapter learns to prefer the chosen reply; the supervised part is untouched when
a batch holds no pairs. A run with a time budget stops cleanly after the update that spends
it and says so. A few updates on two short pairs keep this to seconds.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from domains.pack import load_pack
from finetune.config import TrainConfig, parse_duration
from finetune.encode import Pair, encode_all
from finetune.formats import load_examples
from finetune.train import train
from verirag.errors import FinetuneError, TrainingDataError

pytestmark = pytest.mark.slow

PASSAGE = "Staff must change the vault code word every Monday. The current code word is PELICAN."
PAIRS = [{"question": q, "passages": [PASSAGE],
          "chosen": "The current code word is PELICAN [1].",
          "rejected": "The current code word is WALRUS [1]."}
         for q in ("What is the code word?", "Which code word is current?")]


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def config(**changes: Any) -> TrainConfig:
    base = dict(epochs=6, learning_rate=3e-3, r=8, alpha=16, batch_size=2, max_length=512,
                warmup_ratio=0.0, patience=0, seed=0, cpu=True, dpo_beta=0.5)
    return TrainConfig(**{**base, **changes})


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory, tokenizer: Any) -> list[Any]:
    path = write(tmp_path_factory.mktemp("pairs") / "pairs.jsonl", PAIRS)
    pack = load_pack("medical")
    examples = load_examples(path, pack)
    assert [e.kind for e in examples] == ["preference", "preference"]
    encoded, stats = encode_all(tokenizer, examples, pack, 512)
    assert all(isinstance(e, Pair) for e in encoded) and not stats.skipped
    return encoded


def test_dpo_starts_at_log_2_and_learns_to_prefer_the_chosen_reply(
        pairs: list[Any], base_dir: Path, tmp_path: Path) -> None:
    result = train(pairs, pairs, config(), base_dir=base_dir, base_label="SmolLM2-135M",
                   run_dir=tmp_path / "run", adapter_dir=None, data_hash="sha256:t",
                   progress_bar=False)
    m = result.metrics
    assert abs(m["eval_loss_initial"] - math.log(2)) < 1e-4, "the reference is the base"
    assert m["eval_loss"] < 0.5 * math.log(2), m
    assert result.history[-1]["eval_pairs_ranked"] == 1.0
    assert m["train_pairs"] == 2 and m["examples_seen"] == 12  # 2 pairs x 6 epochs


def test_a_time_budget_stops_after_the_update_that_spends_it(
        pairs: list[Any], base_dir: Path, tmp_path: Path) -> None:
    result = train(pairs, pairs, config(batch_size=1, time_budget=1e-6), base_dir=base_dir,
                   base_label="SmolLM2-135M", run_dir=tmp_path / "run",
                   adapter_dir=tmp_path / "adapter", data_hash="sha256:t", progress_bar=False)
    m = result.metrics
    assert m["stopped_by_time_budget"] == 1.0 and m["updates"] == 1 and m["examples_seen"] == 1
    assert [row["epoch"] for row in result.history] == [0.5], "half an epoch, not a whole one"
    assert "eval_loss" in result.history[0], "evaluated before stopping"
    assert (tmp_path / "adapter" / "adapter_model.safetensors").is_file()


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("90s", 90), ("1.5h", 5400),
                                               ("45", 45), ("2 min", 120)])
def test_durations_read_as_people_write_them(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-5m", "0", "3 days"])
def test_a_bad_duration_says_what_to_write(text: str) -> None:
    with pytest.raises(FinetuneError, match=r"30m, 90s or 1\.5h"):
        parse_duration(text)


@pytest.mark.parametrize(("change", "message"), [
    ({"rejected": PAIRS[0]["chosen"]}, "same reply"),
    ({"chosen": "The current code word is PELICAN [2]."}, r"'chosen' cites \[2\]"),
    ({"rejected": ""}, "'rejected' must be a non-empty string"),
])
def test_a_malformed_pair_names_its_line(tmp_path: Path, change: dict[str, str],
                                         message: str) -> None:
    path = write(tmp_path / "bad.jsonl", [PAIRS[0], {**PAIRS[1], **change}])
    with pytest.raises(TrainingDataError, match=rf"bad\.jsonl:2: .*{message}"):
        load_examples(path, load_pack("medical"))


def test_a_long_pair_drops_passages_neither_reply_cites(tokenizer: Any, tmp_path: Path) -> None:
    filler = "Unrelated: the canteen opens at eight and closes at three. " * 30
    row = {**PAIRS[0], "passages": [filler, PASSAGE, filler + "Again."],
           "chosen": "The current code word is PELICAN [2].",
           "rejected": "The documents do not say [3]."}
    pack = load_pack("medical")
    (example,) = load_examples(write(tmp_path / "long.jsonl", [row]), pack)
    full, _ = encode_all(tokenizer, [example], pack, 4096)
    budget = len(full[0].chosen.input_ids) - 100
    (short,), stats = encode_all(tokenizer, [example], pack, budget)
    assert stats.shortened == 1 and isinstance(short, Pair)
    text = tokenizer.decode(short.rejected.input_ids)
    assert "PELICAN [1]" in tokenizer.decode(short.chosen.input_ids), "renumbered"
    assert "do not say [2]" in text and text.count("canteen") == 30, "cited passage kept"
