"""``make-data``: grounded examples from a pack's own indexed documents.

Three short documents (one Chinese) are ingested into a fresh knowledge base with the real
embedder; the examples must load as valid training data, cite the passage they came from and,
when unanswerable, show no passage of the source document.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from app.services import Runtime
from finetune.formats import language, load_examples
from finetune.make_data import (
    SourceChunk,
    answer_sentences,
    chunks_from_kb,
    make_examples,
    question_for,
    split_documents,
    train_and_eval,
)
from tests.conftest import Cli

DOCS = {
    "warfarin.md": "# Warfarin\n\n## Stopping before surgery\n\nStop warfarin 5 days before a "
                   "planned procedure. Check the INR the day before surgery and give vitamin K "
                   "if it is 1.5 or above.\n",
    "hygiene.txt": "HAND HYGIENE\n\nStaff clean their hands with alcohol rub for 20 to 30 "
                   "seconds before and after every patient contact. Soap and water are used "
                   "after caring for patients with diarrhoea.\n",
    "falls-zh.md": "# 跌倒预防\n\n## 评估时机\n\n新入院患者应在入院后2小时内完成首次跌倒风险评估。"
                   "高危患者每日复评一次，并在床头粘贴防跌倒标识。\n",
}


def ingest(rt: Runtime, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    report = rt.resources.ingestor("medical").ingest([folder])
    assert report.count("indexed") == 3, report.summary


def test_examples_from_the_knowledge_base_are_valid_and_grounded(
        fresh_runtime: Runtime, tmp_path: Path) -> None:
    ingest(fresh_runtime, tmp_path)
    pack = fresh_runtime.resources.pack("medical")
    chunks = chunks_from_kb(fresh_runtime.resources.kb("medical"))
    assert {c.doc_name for c in chunks} == set(DOCS)
    examples = make_examples(chunks, pack, distractors=2, unanswerable=1.0, seed=3,
                             per_passage=1)
    answerable = [e for e in examples if e.answerable]
    refusals = [e for e in examples if not e.answerable]
    assert len(answerable) == len(refusals) == len(chunks)
    by_text = {c.text.strip(): c for c in chunks}
    for ex in answerable:
        assert len(ex.passages) == 3, "the passage plus two distractors"
        [gold] = ex.gold
        source = ex.passages[gold - 1]
        assert answer_sentences(by_text[source.text].text)[0].rstrip("。.")[:20] in ex.answer
        assert ex.origin == source.source
        assert {p.source for p in ex.passages if p is not source}.isdisjoint({source.source})
        assert language(ex.question) == language(source.text)
    for ex in refusals:
        origin = next(a for a in answerable if a.question == ex.question)
        assert origin.passages[origin.gold[0] - 1].source not in {p.source for p in ex.passages}

    # They load back as training data, refusal filled in from the pack.
    out = tmp_path / "made.jsonl"
    out.write_text("".join(json.dumps(e.to_json(), ensure_ascii=False) + "\n"
                           for e in examples), encoding="utf-8")
    loaded = load_examples(out, pack)
    assert len(loaded) == len(examples)
    zh = [e for e in loaded if e.grounded and not e.grounded.answerable
          and language(e.grounded.question) == "zh"]
    assert zh and zh[0].messages[-1]["content"] == pack.refusal_message_zh


def test_questions_follow_the_heading_and_language() -> None:
    rng = random.Random(0)
    en = question_for(SourceChunk("anticoagulation-protocol.pdf", "Stop warfarin 5 days before.",
                                  ("6. Peri-procedural", "6.2 Stopping warfarin")), rng)
    assert "stopping warfarin" in en.lower() and language(en) == "en"
    zh = question_for(SourceChunk("fall-prevention-zh.md", "新入院患者应在入院后2小时内完成评估。",
                                  ("四、评估时机",)), rng)
    assert "评估时机" in zh and language(zh) == "zh"
    train, held = split_documents({f"d{i}": 10 for i in range(10)}, 0.2, seed=1)
    assert len(held) == 2 and not train & held and len(train | held) == 10
    assert split_documents({"a": 5, "b": 1}, 0.9)[0], "never every document held out"


def test_eval_documents_never_appear_in_training(fresh_runtime: Runtime,
                                                 tmp_path: Path) -> None:
    ingest(fresh_runtime, tmp_path)
    pack = fresh_runtime.resources.pack("medical")
    chunks = chunks_from_kb(fresh_runtime.resources.kb("medical"))
    train, held = train_and_eval(chunks, pack, eval_share=0.3, seed=2, distractors=1,
                                 unanswerable=0.5, per_passage=3)
    eval_docs = {e.origin for e in held}
    assert len(eval_docs) == 1 and train and held
    assert not eval_docs & {p.source for e in train for p in e.passages}, "not even a distractor"
    kinds = {e.question.split()[0] for e in train + held}
    assert len(kinds) > 2, "several kinds of question per passage"
    questions = [(e.question, e.passages) for e in train + held]
    assert len(questions) == len(set(questions)), "no repeats"


def test_make_data_cli_writes_loadable_files(fresh_runtime: Runtime, tmp_path: Path) -> None:
    cli = Cli(lambda: fresh_runtime)
    empty = cli("finetune", "make-data", "medical", "--out", str(tmp_path))
    assert empty.exit_code == 1 and "knowledge base is empty" in empty.output
    ingest(fresh_runtime, tmp_path)
    out = tmp_path / "data"
    result = cli("finetune", "make-data", "medical", "--out", str(out), "--eval-share", "0.25",
                 "--seed", "1")
    assert result.exit_code == 0, result.output
    pack = fresh_runtime.resources.pack("medical")
    train = load_examples(out / "train.jsonl", pack)
    held = load_examples(out / "eval.jsonl", pack)
    assert len(held) >= 1 and len(train) >= 2 and len(train) + len(held) >= 3
    assert "verirag finetune medical --data" in result.output
