"""Dataset parsing (both formats, multi-turn, malformed lines), sampling and --compare configs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from domains import bundled_packs_dir
from domains.pack import load_pack
from evals.answerers import check_adapter
from evals.configs import parse_compare
from evals.datasets import load_dataset
from evals.errors import EvalDataError
from verirag.errors import ConfigError

MEDICAL = bundled_packs_dir() / "medical"
CORPUS = [{"id": f"p{i}", "title": f"T{i}", "text": f"Passage number {i}.", "source": "s"}
          for i in range(1, 4)]


def _write(folder: Path, questions: list[Any], corpus: list[Any] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [q if isinstance(q, str) else json.dumps(q, ensure_ascii=False) for q in questions]
    (folder / "questions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if corpus is not None:
        (folder / "corpus.jsonl").write_text(
            "\n".join(c if isinstance(c, str) else json.dumps(c) for c in corpus) + "\n",
            encoding="utf-8")
    return folder


def test_single_and_multi_turn_lines(tmp_path: Path) -> None:
    folder = _write(tmp_path / "set", [
        {"id": "q1", "question": "Is it 1?", "answer": "yes", "gold_ids": ["p1"]},
        {"id": "q2", "question": "Not here?", "answer": "", "gold_ids": []},
        {"id": "q3", "question": "Excluded?", "answer": "x", "gold_ids": ["p2"],
         "answerable": False, "answers_all": ["x", "ex"]},
        {"id": "d1", "turns": [
            {"question": "Hello", "answer": "Hi", "gold_ids": None},
            {"question": "What is 2?", "answer": "two", "gold_ids": ["p2", "p2"],
             "scored": True},
            {"question": "Thanks!", "answer": "Welcome", "gold_ids": [],
             "answerability": "CONVERSATIONAL"},
            {"question": "And 9?", "answer": "no idea", "gold_ids": ["p3"],
             "answerability": "UNANSWERABLE"},
        ]},
    ], CORPUS)
    data = load_dataset(str(folder), MEDICAL)
    assert data.name == "set" and data.multi_turn and data.corpus is not None
    q1, q2, q3, dialog = data.items
    assert q1.turns[0].gold_ids == ("p1",) and q1.turns[0].label == "yes"
    assert q1.turns[0].answerable and not q1.multi_turn
    assert q2.turns[0].gold_ids == () and not q2.turns[0].answerable
    assert not q3.turns[0].answerable and q3.turns[0].answers == ("x", "ex")
    hello, two, thanks, nine = dialog.turns
    assert hello.gold_ids is None and not hello.scored
    assert two.gold_ids == ("p2",) and two.scored
    assert thanks.answerable, "small talk has no gold passage but is no refusal case"
    assert not nine.answerable
    assert data.n_units == 6


def test_pack_format_uses_the_pack_documents_as_corpus() -> None:
    data = load_dataset("pack", MEDICAL)
    assert data.corpus is None and data.docs_dir == MEDICAL / "docs"
    assert data.name == "medical-pack" and len(data.items) == 20
    first = data.items[0].turns[0]
    assert first.gold_ids == ("anticoagulation-protocol.pdf",) and first.answerable
    refused = [i for i in data.items if not i.turns[0].answerable]
    assert refused and all(i.turns[0].gold_ids == () for i in refused)
    # the same questions through the folder path resolve the same corpus
    again = load_dataset(str(MEDICAL / "eval"), load_pack("finance").root)
    assert again.docs_dir == MEDICAL / "docs" and again.name == "medical-pack"


@pytest.mark.parametrize(("line", "reason"), [
    ('{"id": "q2", "question": "Why?", "gold_ids": ["p1"]', "not valid JSON"),
    ('["a list"]', "expected a JSON object"),
    ('{"id": "q2", "question": "Why?", "gold_ids": "p1"}', "'gold_ids' must be a list"),
    ('{"id": "q2", "question": "", "gold_ids": ["p1"]}', "'question' must be a non-empty"),
    ('{"id": "q1", "question": "Again?", "gold_ids": ["p1"]}', "repeats line 1"),
    ('{"id": "q2", "question": "Who?", "gold_ids": ["p1"], "answerable": "no"}',
     "'answerable' must be true or false"),
    ('{"id": "d", "turns": [{"question": "ok", "gold_ids": null}, {"gold_ids": []}]}',
     "turn 2: 'question'"),
    ('{"id": "d", "turns": []}', "'turns' must be a non-empty list"),
])
def test_malformed_question_line_names_file_line_and_reason(tmp_path: Path, line: str,
                                                            reason: str) -> None:
    folder = _write(tmp_path / "bad", [
        {"id": "q1", "question": "Fine?", "answer": "yes", "gold_ids": ["p1"]}, line], CORPUS)
    with pytest.raises(EvalDataError) as info:
        load_dataset(str(folder), MEDICAL)
    message = str(info.value)
    assert f"{folder / 'questions.jsonl'}:2:" in message and reason in message
    assert "\n" not in message
    assert isinstance(info.value, ConfigError)


def test_malformed_corpus_and_unknown_gold_ids(tmp_path: Path) -> None:
    folder = _write(tmp_path / "c", [{"id": "q", "question": "?", "gold_ids": ["p1"]}],
                    [CORPUS[0], {"id": "p9", "title": "no text"}])
    with pytest.raises(EvalDataError, match=r"corpus\.jsonl:2: 'text' must be"):
        load_dataset(str(folder), MEDICAL)
    folder = _write(tmp_path / "g", [{"id": "q", "question": "?", "gold_ids": ["p7"]}], CORPUS)
    with pytest.raises(EvalDataError, match=r"questions\.jsonl:1: gold id 'p7' is not in corpus"):
        load_dataset(str(folder), MEDICAL)
    with pytest.raises(EvalDataError, match="does not exist"):
        load_dataset(str(tmp_path / "missing"), MEDICAL)


def test_sample_is_seeded_and_keeps_file_order() -> None:
    data = load_dataset("pack", MEDICAL)
    a = [i.id for i in data.sample(5, seed=3).items]
    assert a == [i.id for i in data.sample(5, seed=3).items]
    assert a != [i.id for i in data.sample(5, seed=4).items]
    order = [i.id for i in data.items]
    assert a == sorted(a, key=order.index) and len(a) == 5
    assert data.sample(None, 0) is data and data.sample(500, 0) is data
    with pytest.raises(EvalDataError):
        data.sample(0, 0)


def test_compare_presets_change_one_thing() -> None:
    pack = load_pack("medical")
    dense, bm25 = parse_compare("dense, bm25", pack)
    assert (dense.pack.retrieval.mode, bm25.pack.retrieval.mode) == ("dense", "bm25")
    assert dense.pack.generation == pack.generation
    rag, base = parse_compare("rag,no-retrieval", pack)
    assert rag.use_retrieval and not rag.baseline
    assert not base.use_retrieval and base.baseline and "baseline" in base.label
    gen, ext = parse_compare("generate,extractive", pack)
    assert (gen.pack.generation.mode, ext.pack.generation.mode) == ("generate", "extractive")
    plain, tuned = parse_compare("base,adapter:medical-v1", pack)
    assert plain.adapter is None and tuned.adapter == "medical-v1"
    (default,) = parse_compare(None, pack)
    assert default.name == "pack" and default.pack == pack


def test_compare_toml_overrides_retrieval_and_generation(tmp_path: Path) -> None:
    pack = load_pack("medical")
    good = tmp_path / "wide.toml"
    good.write_text('name = "wide"\n[retrieval]\ntop_k = 8\nbm25_weight = 2.0\n'
                    '[generation]\nmode = "extractive"\n')
    (cfg,) = parse_compare(str(good), pack)
    assert cfg.name == "wide" and cfg.pack.retrieval.top_k == 8
    assert cfg.pack.retrieval.bm25_weight == 2.0 and cfg.pack.generation.mode == "extractive"
    assert cfg.pack.retrieval.mode == pack.retrieval.mode
    bad = tmp_path / "bad.toml"
    bad.write_text("[retrieval]\ntop_k = 0\n")
    with pytest.raises(EvalDataError, match=r"bad\.toml: field 'retrieval\.top_k' = 0"):
        parse_compare(str(bad), pack)
    other = tmp_path / "other.toml"
    other.write_text("[chunking]\nchunk_size = 50\n")
    with pytest.raises(EvalDataError, match="cannot override 'chunking'"):
        parse_compare(str(other), pack)
    with pytest.raises(EvalDataError, match="does not exist"):
        parse_compare(str(tmp_path / "none.toml"), pack)


def test_compare_rejects_unknown_and_repeated_names() -> None:
    pack = load_pack("medical")
    with pytest.raises(EvalDataError, match=r"unknown configuration 'fast'.*dense, bm25"):
        parse_compare("dense,fast", pack)
    with pytest.raises(EvalDataError, match="names 'bm25' twice"):
        parse_compare("bm25,bm25", pack)
    with pytest.raises(EvalDataError, match="needs a name"):
        parse_compare("adapter:", pack)


class _FakeGenerator:
    model_id = "fake-base"

    def __init__(self) -> None:
        self.adapters = ["finance"]


def test_missing_adapter_fails_before_the_run() -> None:
    check_adapter(_FakeGenerator(), "finance")  # type: ignore[arg-type]
    check_adapter(_FakeGenerator(), None)  # type: ignore[arg-type]
    with pytest.raises(EvalDataError, match=r"no adapter named 'medical'.*attached: finance"):
        check_adapter(_FakeGenerator(), "medical")  # type: ignore[arg-type]
