"""The answer/refuse decision, taken from a retrieval result alone (no knowledge base needed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from app.dialog.answerer import Answerer
from app.dialog.evidence import anchor_terms, has_evidence
from domains.pack import RetrievalConfig, load_pack
from knowledge.retrieval import Filters, RetrievalResult
from knowledge.types import Passage

CFG = RetrievalConfig(min_score=0.4, min_coverage=0.5, dense_languages=["en"])


def _result(dense: float, coverage: float, unknown: list[str] | None = None) -> RetrievalResult:
    passage = Passage(7, 1, "policy.md", "Visiting hours are 14:00 to 20:00.", (), None, 0.5)
    return RetrievalResult("q", [passage], {7: dense}, {7: coverage}, unknown or [])


def test_one_passage_close_and_covering_is_evidence() -> None:
    assert has_evidence(_result(0.6, 0.8), CFG, "en")
    assert not has_evidence(_result(0.3, 0.8), CFG, "en")  # not close enough
    assert not has_evidence(_result(0.6, 0.2), CFG, "en")  # misses the question's terms


def test_the_cosine_is_ignored_for_languages_the_embedder_does_not_serve() -> None:
    assert has_evidence(_result(0.1, 0.8), CFG, "zh")
    assert not has_evidence(_result(0.9, 0.2), CFG, "zh")


def test_an_english_question_about_an_unknown_name_is_refused() -> None:
    question = "What are the opening hours of the Manchester office?"
    assert anchor_terms(question, "en") == ["Manchester"]
    assert not has_evidence(_result(0.9, 0.9, ["Manchester"]), CFG, "en")
    assert anchor_terms("曼彻斯特办公室几点开门？", "zh") == []


def test_no_passages_is_no_evidence() -> None:
    assert not has_evidence(RetrievalResult("q", []), CFG, "en")


class _RecordingRetriever:
    """Answers every search with one weak passage; has nothing else to call back into."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, tuple[str, ...], Filters | None]] = []

    def search(self, query: str, k: int | None = None, filters: Filters | None = None,
               mode: str | None = None, *, lang: str | None = None,
               check_terms: Sequence[str] = ()) -> RetrievalResult:
        self.calls.append((query, lang, tuple(check_terms), filters))
        return replace(_result(0.1, 0.1), unknown_terms=list(check_terms))


def test_the_answerer_asks_one_search_for_every_signal_and_decides_from_it() -> None:
    """One search per question, told the question's language and the names to check; the
    decision then needs nothing more from the knowledge base (the fake offers nothing)."""
    retriever = _RecordingRetriever()
    answerer = Answerer(load_pack("medical"), retriever, None, None)  # type: ignore[arg-type]
    cleared = Filters(clearance=frozenset())
    question = "When does the Manchester office open?"
    answer = answerer.answer(question, filters=cleared)
    assert answer.decision == "refuse"
    assert retriever.calls == [(question, "en", ("Manchester",), cleared)]
    retriever.calls.clear()
    answerer.answer("曼彻斯特办公室几点开门？", query="曼彻斯特办公室 开门时间", lang="zh")
    assert retriever.calls == [("曼彻斯特办公室 开门时间", None, (), None)]
