"""Answers from the bundled packs with the real models: grounded, cited, or refused."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.dialog.answerer import Answerer
from app.models.generator import GenerationParams, GenerationStream
from app.services import Runtime
from domains import bundled_packs_dir

PACKS = ["medical", "finance", "legal"]


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def _questions(pack: str) -> list[dict]:
    path = bundled_packs_dir() / pack / "eval" / "questions.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_generated_answer_cites_the_passage_holding_the_fact(runtime: Runtime) -> None:
    answerer = runtime.resources.answerer("medical")
    assert answerer.generator is not None, "medical answers with the generator"
    streamed: list[str] = []
    answer = answerer.answer(
        "What is the target INR for a patient with atrial fibrillation on warfarin?",
        on_token=streamed.append)
    assert streamed, "tokens are streamed as they are generated"
    assert answer.decision == "answer"
    assert answer.sentences and all(s.citations for s in answer.sentences)
    cited = answer.cited_passages()
    assert {p.doc_name for _, p in cited} == {"anticoagulation-protocol.pdf"}
    assert "2.0-3.0" in answer.text
    assert any("2.0-3.0" in p.text for _, p in cited)
    assert answer.disclaimer, "the medical pack requires its disclaimer"


@pytest.mark.slow
def test_question_the_documents_do_not_cover_is_refused(runtime: Runtime) -> None:
    answer = runtime.resources.answerer("medical").answer(
        "How much does visitor parking cost per day at the hospital?")
    assert answer.decision == "refuse"
    assert answer.text == runtime.resources.pack("medical").refusal_message
    assert answer.sources == [] and answer.cited == []


def test_chinese_question_gets_a_chinese_cited_answer(runtime: Runtime) -> None:
    answerer = runtime.resources.answerer("medical", with_generator=False)
    answer = answerer.answer("Morse评分多少分为高危？")
    assert answer.decision == "answer"
    assert "45" in answer.text
    assert {p.doc_name for _, p in answer.cited_passages()} == {"fall-prevention-zh.md"}


def test_chinese_out_of_scope_question_is_refused_in_chinese(runtime: Runtime) -> None:
    answer = runtime.resources.answerer("medical", with_generator=False).answer(
        "新生儿黄疸达到什么胆红素水平需要光疗？")
    assert answer.decision == "refuse"
    assert answer.text == runtime.resources.pack("medical").refusal_message_zh


@pytest.mark.parametrize("pack", PACKS)
def test_pack_eval_questions_are_answered_from_the_right_passage(runtime: Runtime,
                                                                 pack: str) -> None:
    """Quality floor on each pack's own questions (extractive, so no model variance).

    Measured when written: 13-15 of 16 answerable questions cite the passage holding the
    evidence, and 1-4 of 4 unanswerable ones are refused. The floors below catch regressions.
    """
    answerer = runtime.resources.answerer(pack, with_generator=False)
    grounded = refused = 0
    items = _questions(pack)
    answerable = [q for q in items if q.get("answerable", True)]
    unanswerable = [q for q in items if not q.get("answerable", True)]
    for q in answerable:
        answer = answerer.answer(q["question"])
        for sentence in answer.sentences:  # every kept sentence is cited, whatever the question
            assert sentence.citations
        cited = " ".join(_norm(p.text) for _, p in answer.cited_passages())
        grounded += _norm(q["evidence"]) in cited
    for q in unanswerable:
        refused += answerer.answer(q["question"]).decision == "refuse"
    assert grounded >= 0.6 * len(answerable), f"{grounded}/{len(answerable)} grounded"
    assert refused >= 1, f"{refused}/{len(unanswerable)} refused"


def test_every_bundled_document_was_indexed(runtime: Runtime) -> None:
    for pack in PACKS:
        docs = runtime.resources.kb(pack).documents()
        docs_dir = Path(runtime.resources.pack(pack).docs_dir)
        on_disk = {p.name for p in docs_dir.iterdir() if p.is_file()}
        assert {d.name for d in docs if d.status == "ready"} == on_disk


def test_a_quote_that_only_repeats_the_previous_answer_is_refused(runtime: Runtime) -> None:
    """'any reason to end?' after 'what happens at the end?' got the same quote again."""
    answerer = runtime.resources.answerer("finance", with_generator=False)
    question = "How long are customer due diligence records kept after a relationship ends?"
    first = answerer.answer(question)
    assert first.decision == "answer"
    again = answerer.answer_from(answerer.search(question), "any reason to keep them?",
                                 query=question, said_before=first.text)
    assert again.decision == "refuse"
    assert any(r.startswith("said in the previous answer") for r in again.removed_sentences)


def test_the_previous_answer_counts_only_for_another_question() -> None:
    from app.dialog.state import DialogState, Turn
    state = DialogState(pack="medical")
    state.add_turn(Turn(1, "What happens at the end?", "What happens at the end?", "answer",
                        "Toby leaves for Costa Rica [1]."))
    assert state.previous_answer("any reason to end?") == "Toby leaves for Costa Rica [1]."
    assert state.previous_answer("what happens at  the END?") == ""


def test_the_treatment_for_a_patient_able_to_swallow_is_given(runtime: Runtime) -> None:
    """Issue example: the answer came from "unable to swallow safely" (glucose gel, glucagon);
    the question's patient can swallow: 15-20 g of quick-acting carbohydrate."""
    answer = runtime.resources.answerer("medical", with_generator=False).answer(
        "Conscious, able to swallow, glucose 3.2 – what should I give?")
    assert answer.decision == "answer"
    assert "15–20 g of quick-acting carbohydrate" in answer.text
    assert "glucagon" not in answer.text


@dataclass
class _Draft:
    """The model's draft, fixed: what is under test is what the answerer does with it."""

    text: str
    model_id: str = "scripted"

    def stream(self, messages: Sequence[dict[str, str]], params: GenerationParams,
               adapter: str | None = None) -> GenerationStream:
        return GenerationStream(iter([self.text]))


def test_a_generated_answer_about_something_else_falls_back_to_the_passage_that_answers(
        runtime: Runtime) -> None:
    """The model listed "150 ml of pure fruit juice" (true, but not what to give): the answer
    was refused although the protocol's sentence giving 15-20 g answers it."""
    base = runtime.resources.answerer("medical", with_generator=False)
    draft = _Draft("A short list of options includes:\n1. 150 ml of pure fruit juice\n")
    answerer = Answerer(base.pack, base.retriever, draft, base.embedder)
    streamed: list[str] = []
    answer = answerer.answer("Conscious, able to swallow, glucose 3.2 – what should I give?",
                             on_token=streamed.append)
    assert answer.decision == "answer", answer.removed_sentences
    assert answer.mode == "extractive-fallback"
    # what was streamed is corrected by the final text, not followed by it
    assert streamed == ["150 ml of pure fruit juice [1]"]
    assert "15–20 g" in answer.text
    assert "off-topic: 150 ml of pure fruit juice" in answer.removed_sentences
