"""Training data: the three formats, line-numbered validation, and assistant-only labels.

Uses the real SmolLM2 tokenizer (no model weights), so these run in a second or two.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from domains.pack import Pack, load_pack
from finetune.encode import IGNORE, encode_all, encode_example, encode_messages
from finetune.formats import (
    GroundedExample,
    GroundedPassage,
    data_hash,
    language,
    load_examples,
)
from verirag.errors import TrainingDataError

GROUNDED = {"question": "When is warfarin stopped before surgery?",
            "passages": ["Staff clean hands for 20-30 seconds.",
                         {"text": "Stop warfarin 5 days before the procedure.",
                          "source": "anticoagulation-protocol.pdf", "location": "6.2"}],
            "answer": "Five days before the procedure [2]."}
CHAT = {"messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": "Hi"},
                     {"role": "assistant", "content": "Hello."},
                     {"role": "user", "content": "Bye"},
                     {"role": "assistant", "content": "Goodbye."}]}
INSTRUCTION = {"instruction": "Translate to French.", "input": "cat", "output": "chat"}


@pytest.fixture
def medical() -> Pack:
    return load_pack("medical")


def write(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False))
                            + "\n" for r in rows), encoding="utf-8")
    return path


def test_three_formats_become_chat_messages(tmp_path: Path, medical: Pack) -> None:
    unanswerable = {"question": "华法林的价格是多少？", "answerable": False,
                    "passages": ["Stop warfarin 5 days before."]}
    path = write(tmp_path / "t.jsonl", [GROUNDED, "", CHAT, INSTRUCTION, unanswerable])
    grounded, chat, instruction, refusal = load_examples(path, medical)
    assert [e.kind for e in (grounded, chat, instruction, refusal)] == [
        "grounded", "chat", "instruction", "grounded"]
    assert grounded.where == f"{path}:1" and chat.where == f"{path}:3"
    # The grounded prompt is the answerer's own: pack system prompt, rules, numbered passages.
    system, user, reply = grounded.messages
    assert system["content"].startswith(medical.system_prompt.strip())
    assert medical.refusal_message in system["content"]
    assert '<passage n="2" source="anticoagulation-protocol.pdf (6.2)">' in user["content"]
    assert user["content"].endswith("Question: When is warfarin stopped before surgery?")
    assert reply == {"role": "assistant", "content": "Five days before the procedure [2]."}
    assert instruction.messages[0]["content"] == "Translate to French.\n\ncat"
    # Unanswerable: the pack's refusal in the question's language is the reply.
    assert refusal.messages[-1]["content"] == medical.refusal_message_zh
    assert medical.refusal_message_zh in refusal.messages[0]["content"]


@pytest.mark.parametrize(("row", "line", "reason"), [
    ("{not json", 2, "not valid JSON"),
    ([1, 2], 2, "expected a JSON object"),
    ({"text": "hello"}, 2, "unknown format"),
    ({"messages": []}, 2, "non-empty list"),
    ({"messages": [{"role": "user", "content": "hi"}]}, 2, "no assistant message"),
    ({"messages": [{"role": "bot", "content": "hi"}]}, 2, "role 'bot'"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "system", "content": "s"},
                   {"role": "assistant", "content": "a"}]}, 2, "only the first"),
    ({"instruction": "Do it", "output": ""}, 2, "'output' must be a non-empty string"),
    ({**GROUNDED, "answer": "Five days."}, 2, "cites no passage"),
    ({**GROUNDED, "answer": "Five days [3]."}, 2, r"cites \[3\] but there are only 2"),
    ({**GROUNDED, "passages": []}, 2, "'passages' must be a list"),
    ({**GROUNDED, "passages": [{"source": "x"}]}, 2, "passage 1: 'text'"),
    ({**GROUNDED, "answerable": "no"}, 2, "'answerable' must be true or false"),
    ({**GROUNDED, "answerable": False}, 2, "leave 'answer' out"),
])
def test_a_malformed_line_fails_with_its_number_and_reason(
        tmp_path: Path, medical: Pack, row: Any, line: int, reason: str) -> None:
    path = write(tmp_path / "bad.jsonl", [GROUNDED, row, CHAT])
    with pytest.raises(TrainingDataError, match=rf"bad\.jsonl:{line}: .*{reason}"):
        load_examples(path, medical)


def test_empty_and_missing_files_are_errors(tmp_path: Path, medical: Pack) -> None:
    with pytest.raises(TrainingDataError, match="no examples"):
        load_examples(write(tmp_path / "e.jsonl", ["", "  "]), medical)
    with pytest.raises(TrainingDataError, match="file not found"):
        load_examples(tmp_path / "missing.jsonl", medical)


def test_loss_is_on_the_assistant_tokens_only(tokenizer: Any) -> None:
    enc = encode_messages(tokenizer, CHAT["messages"])
    trained = [t for t in enc.labels if t != IGNORE]
    text = tokenizer.decode(trained)
    assert "Hello." in text and "Goodbye." in text
    assert "Hi" not in text and "Bye" not in text and "Be brief" not in text
    # Each reply ends with the end-of-turn marker, so the adapter learns to stop.
    assert text.count(tokenizer.eos_token) == 2
    assert len(enc.labels) == len(enc.input_ids)
    for tid, label in zip(enc.input_ids, enc.labels, strict=True):
        assert label in (IGNORE, tid)
    # The prompt tokens are exactly what the generator feeds the model.
    prompt = tokenizer.apply_chat_template(CHAT["messages"][:2], add_generation_prompt=True,
                                           return_dict=True)["input_ids"]
    assert enc.input_ids[:len(prompt)] == list(prompt)


def test_overlong_grounded_examples_drop_distractors_then_skip(
        tmp_path: Path, medical: Pack, tokenizer: Any) -> None:
    filler = "Unrelated policy text about car parking and visiting times. " * 12
    row = {"question": "When is warfarin stopped?",
           "passages": [filler, filler, "Stop warfarin 5 days before the procedure."],
           "answer": "Five days before [3]. That is the rule [3]."}
    [example] = load_examples(write(tmp_path / "long.jsonl", [row]), medical)
    full = len(encode_messages(tokenizer, example.messages).input_ids)
    enc, stats = encode_all(tokenizer, [example], medical, full - 50)
    assert stats.shortened == 1 and not stats.skipped
    text = tokenizer.decode(enc[0].input_ids)
    assert "Five days before [2]. That is the rule [2]." in text, "citations renumbered"
    assert '<passage n="2" source="passage-2">\nStop warfarin' in text
    assert text.count("car parking") == 12
    assert encode_example(tokenizer, example, medical, 100) is None


def test_without_renumbers_citations() -> None:
    ex = GroundedExample("q?", tuple(GroundedPassage(t) for t in "abcd"), "x [2]. y [4, 2].")
    assert ex.gold == (2, 4) and ex.distractors() == [1, 3]
    assert ex.without({1, 3}).answer == "x [1]. y [2, 1]."
    with pytest.raises(ValueError, match="cited"):
        ex.without({2})


@pytest.mark.parametrize("domain", ["medical", "finance", "legal"])
def test_bundled_training_data_is_valid_bilingual_and_teaches_refusal(
        domain: str, tokenizer: Any) -> None:
    pack = load_pack(domain)
    folder = pack.root / "finetune"
    train = load_examples(folder / "train.jsonl", pack)
    held = load_examples(folder / "eval.jsonl", pack)
    assert len(train) >= 25 and len(held) >= 5
    everything = train + held
    assert all(e.kind == "grounded" and e.grounded is not None for e in everything)
    grounded = [e.grounded for e in everything if e.grounded is not None]
    assert {language(g.question) for g in grounded} == {"en", "zh"}
    refusals = [g for g in grounded if not g.answerable]
    assert len(refusals) >= 5
    assert {language(g.question) for g in refusals} == {"en", "zh"}
    assert sum(1 for g in grounded if g.distractors()) >= len(grounded) * 0.8, "RAFT-style"
    questions = {g.question for g in grounded}
    assert len(questions) == len(grounded), "no duplicate questions"
    held_q = {e.grounded.question for e in held if e.grounded}
    assert not held_q & {e.grounded.question for e in train if e.grounded}, "held out"
    _, stats = encode_all(tokenizer, everything, pack, pack.lora.max_length)
    assert not stats.skipped, f"examples over max_length: {stats.skipped}"


def test_data_hash_tells_runs_apart(tmp_path: Path) -> None:
    a = write(tmp_path / "a.jsonl", [GROUNDED])
    b = write(tmp_path / "b.jsonl", [CHAT])
    assert data_hash([a]) == data_hash([a], None)
    assert data_hash([a]) != data_hash([b])
    assert data_hash([a], b) != data_hash([b], a), "train and eval roles count"
    assert data_hash([a, b]) != data_hash([a], b)
