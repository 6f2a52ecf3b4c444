"""make-data from an evaluation-format dataset: RAFT examples that never touch the eval sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domains.pack import load_pack
from finetune.formats import load_examples
from finetune.from_evalset import convert
from tests.conftest import Cli
from verirag.errors import TrainingDataError

DOCS = {f"doc{i}": f"Paper {i} studies topic {i}. The incubation period of virus {i} is {i + 2} "
                   f"days. Cases were reported in {i + 10} countries." for i in range(8)}


def write_set(folder: Path, questions: list[dict[str, object]]) -> Path:
    folder.mkdir(parents=True)
    corpus = [{"id": f"{d}#c0", "title": f"Paper {d}", "text": t} for d, t in DOCS.items()]
    (folder / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus))
    (folder / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    return folder


def q(i: int, answer: str, qid: str = "") -> dict[str, object]:
    return {"id": qid or f"q{i}", "question": f"What is the incubation period of virus {i}?",
            "answer": answer, "gold_ids": [f"doc{i}#c0"]}


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    full = write_set(tmp_path / "sets" / "virusqa",
                     [q(i, f"{i + 2} days") for i in range(7)] + [q(7, "a computed 42")]
                     + [{"id": "q0b", "question": "How long does virus 0 incubate?",
                         "answer": "2 days", "gold_ids": ["doc0#c0"]}])
    write_set(tmp_path / "sets" / "virusqa-mini", [q(0, "2 days")])  # evaluated on
    return full


def test_questions_become_grounded_examples_quoting_their_gold_sentence(dataset: Path) -> None:
    made = convert(dataset, distractors=2, unanswerable=0.0, eval_share=0.2, seed=0)
    assert made.excluded == [str(dataset.with_name("virusqa-mini"))]
    assert made.left_out == {"in an excluded evaluation set": 1,
                             "no gold passage in the corpus (or one excluded)": 1,
                             "the answer is not stated in its gold passage (computed, or a "
                             "label)": 1}
    examples = made.train + made.eval
    assert len(examples) == 6
    for ex in examples:
        (gold,) = ex.gold
        number = ex.question.split("virus ")[1].rstrip("?")
        assert f"virus {number} is" in ex.passages[gold - 1].text
        assert ex.answer == f"The incubation period of virus {number} is {int(number) + 2} days " \
                            f"[{gold}]."
        assert len(ex.passages) == 3
    everywhere = {p.text for e in examples for p in e.passages}
    assert not any("virus 0 is" in t for t in everywhere), "the mini set's passage, nowhere"
    train_docs = {e.origin for e in made.train}
    assert train_docs and made.eval and not train_docs & {e.origin for e in made.eval}
    assert not {p.source for e in made.train for p in e.passages} & {
        f"Paper {e.origin}" for e in made.eval}, "eval passages never shown in training"


def test_excluded_sets_and_the_cli(dataset: Path, tmp_path: Path, cli: Cli) -> None:
    other = write_set(tmp_path / "sets" / "other", [q(3, "5 days", qid="x3")])
    made = convert(dataset, exclude=[other], unanswerable=1.0, eval_share=0.0)
    assert all("virus 3 " not in e.question for e in made.train)
    assert any(not e.answerable for e in made.train) and not made.eval

    out = tmp_path / "data"
    result = cli("finetune", "make-data", "medical", "--from-evalset", str(dataset),
                 "--exclude", str(other), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "never used: the questions and passages of" in result.output
    assert "virusqa-mini" in result.output.replace("\n", "")
    loaded = load_examples(out / "train.jsonl", load_pack("medical"))
    assert loaded and all(e.kind == "grounded" for e in loaded)
    with pytest.raises(TrainingDataError, match=r"corpus\.jsonl is missing"):
        convert(tmp_path)
