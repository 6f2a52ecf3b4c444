"""The ``plain`` baseline: the pack's passages in LangChain's stuff prompt, nothing checked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from app.models.generator import GenerationStream
from domains.pack import GenerationParams, load_pack
from evals.answerers import PLAIN_PROMPT, PlainRagAnswerer
from evals.configs import EvalConfig, parse_compare
from knowledge.retrieval import RetrievalResult
from knowledge.types import Passage


def _passage(n: int, text: str) -> Passage:
    return Passage(chunk_id=n, doc_id=n, doc_name=f"doc-{n}", text=text, heading_path=(),
                   page=None, score=1.0)


PASSAGES = [_passage(1, "Warfarin is stopped five days before a procedure."),
            _passage(2, "The INR is checked the day before surgery.")]


@dataclass
class FakeRetriever:
    queries: list[str] = field(default_factory=list)

    def search(self, query: str) -> RetrievalResult:
        self.queries.append(query)
        return RetrievalResult(query, list(PASSAGES), dense={1: 0.8, 2: 0.4})


@dataclass
class FakeGenerator:
    reply: str
    calls: list[tuple[list[dict[str, str]], str | None]] = field(default_factory=list)

    @property
    def model_id(self) -> str:
        return "fake"

    def stream(self, messages: Sequence[dict[str, str]], params: GenerationParams,
               adapter: str | None = None) -> GenerationStream:
        self.calls.append((list(messages), adapter))
        return GenerationStream(iter([self.reply]), n_tokens=3)


def _plain(reply: str) -> tuple[PlainRagAnswerer, FakeRetriever, FakeGenerator]:
    (config,) = parse_compare("plain", load_pack("medical"))
    retriever, generator = FakeRetriever(), FakeGenerator(reply)
    return PlainRagAnswerer(config, retriever, generator, "tuned"), retriever, generator


def test_plain_resolves_as_a_baseline_with_the_packs_retrieval() -> None:
    pack = load_pack("medical")
    ours, plain = parse_compare("pack,plain", pack)
    assert plain.plain and plain.baseline and plain.use_retrieval
    assert plain.label == "plain (baseline)" and not ours.baseline and not ours.plain
    assert plain.pack.retrieval == pack.retrieval, "the same passages as the pack"
    assert plain.pack.models == pack.models, "the same model as the pack"
    with pytest.raises(ValueError, match="needs retrieval"):
        EvalConfig("odd", pack, use_retrieval=False, plain=True)


def test_prompt_is_the_stuff_prompt_as_one_user_message_after_history() -> None:
    answerer, retriever, generator = _plain("Five days before.")
    history = [{"role": "user", "content": "Tell me about warfarin."},
               {"role": "assistant", "content": "It is an anticoagulant."}]
    answer = answerer.answer("When is it stopped?", history,
                             query="When is warfarin stopped?")
    assert retriever.queries == ["When is warfarin stopped?"], "searches the rewritten query"
    ((messages, adapter),) = generator.calls
    assert adapter == "tuned"
    assert messages[:2] == history and len(messages) == 3, "no system prompt"
    assert messages[2] == {"role": "user", "content": PLAIN_PROMPT.format(
        context=f"{PASSAGES[0].text}\n\n{PASSAGES[1].text}", question="When is it stopped?")}
    assert messages[2]["content"].endswith("Question: When is it stopped?\nHelpful Answer:")
    assert (answer.decision, answer.text, answer.mode) == ("answer", "Five days before.",
                                                          "plain")
    assert answer.sources == PASSAGES and answer.cited == [], "passages shown, none cited"
    assert answer.timings.tokens == 3 and answer.raw_output == "Five days before."


def test_whatever_the_model_writes_is_the_answer_but_a_runaway_is_cut() -> None:
    answerer, _, _ = _plain("I think it is 3 weeks.\nQuestion: And aspirin?\nHelpful Answer:")
    answer = answerer.answer("When is warfarin stopped?", [])
    assert (answer.decision, answer.text) == ("answer", "I think it is 3 weeks.")
    for declined in ("I don't know.", "The context does not mention a parking fee.",
                     "The answer is not provided in the passages."):
        refusal_words, _, _ = _plain(declined)
        assert refusal_words.answer("What is the parking fee?", []).decision == "refuse", \
            "the prompt asks for 'I don't know': saying it is declining, not a wrong answer"
    claimed, _, _ = _plain("The parking fee is not refundable and costs 4 pounds.")
    assert claimed.answer("What is the parking fee?", []).decision == "answer"
    empty, _, _ = _plain("  \n")
    assert empty.answer("What is the parking fee?", []).decision == "refuse"
