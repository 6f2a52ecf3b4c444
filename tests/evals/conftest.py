"""Fixtures of the evaluation tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.evals.tiny import CORPUS, QUESTIONS


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny-set"
    folder.mkdir()
    for name, rows in (("corpus.jsonl", CORPUS), ("questions.jsonl", QUESTIONS)):
        (folder / name).write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return folder
