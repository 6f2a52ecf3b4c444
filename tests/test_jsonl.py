"""JSON Lines as written by ``json.dumps(..., ensure_ascii=False)`` read back whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from domains.pack import load_pack
from evals.datasets import load_dataset
from evals.errors import EvalDataError
from finetune.formats import load_examples
from verirag.jsonl import read_objects

# U+2028 / U+2029 / U+0085 are line breaks to str.splitlines but ordinary characters inside a
# JSON string; a PDF extract or a web page hands them over often enough.
ODD = "rate\u2028per hour\u2029 and\x85 more"


def test_a_raw_line_separator_inside_a_string_stays_in_its_record(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    rows = [{"id": "a", "text": ODD}, {"id": "b", "text": "plain"}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    assert "\u2028" in path.read_text(encoding="utf-8"), "written raw, as users' files are"
    assert [(n, o["text"]) for n, o in read_objects(path)] == [(1, ODD), (2, "plain")]


def test_windows_line_ends_and_blank_lines_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'{"id": "a"}\r\n\r\n{"id": "b"}\r\n')
    assert [(n, o["id"]) for n, o in read_objects(path)] == [(1, "a"), (3, "b")]


def test_errors_name_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": "a"}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(EvalDataError, match=r"rows.jsonl:2: expected a JSON object, got list"):
        list(read_objects(path, EvalDataError))


def test_evaluation_and_training_files_read_the_same_way(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    corpus = [{"id": "p1", "title": "Potassium", "text": f"Potassium {ODD}: 10 mmol."}]
    questions = [{"id": "q1", "question": f"What {ODD}?", "answer": "10 mmol",
                  "gold_ids": ["p1"]}]
    for name, rows in (("corpus.jsonl", corpus), ("questions.jsonl", questions)):
        (folder / name).write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    data = load_dataset(str(folder), tmp_path)
    assert data.items[0].turns[0].question == f"What {ODD}?"

    train = tmp_path / "train.jsonl"
    chat = {"messages": [{"role": "user", "content": f"Q {ODD}"},
                         {"role": "assistant", "content": "A"}]}
    train.write_text(json.dumps(chat, ensure_ascii=False) + "\n", encoding="utf-8")
    (example,) = load_examples(train, load_pack("medical"))
    assert example.messages[-2]["content"].endswith(f"Q {ODD}")
