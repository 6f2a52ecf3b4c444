"""The answer/refuse decision, taken from a retrieval result alone (no knowledge base needed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from app.dialog.answerer import Answerer
from app.dialog.evidence import anchor_terms, content_of, has_evidence, party_names
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


def test_a_drug_named_in_lower_case_is_an_anchor_too() -> None:
    """"What is the maximum daily dose of zorvatinib?" was answered from another drug's table
    (and asked for the patient's age) in a knowledge base that never names zorvatinib."""
    assert anchor_terms("What is the maximum daily dose of zorvatinib?", "en") == ["zorvatinib"]
    assert anchor_terms("Is Apixaban or dabigatran preferred?", "en") == ["Apixaban",
                                                                         "dabigatran"]
    assert anchor_terms("How long should I rub my hands in April?", "en") == ["April"]
    assert not has_evidence(_result(0.9, 0.9, ["zorvatinib"]), CFG, "en")


def test_one_known_party_of_a_contract_is_enough_but_none_is_not() -> None:
    question = ('In the "Manufacturing Agreement" between Sonos, Inc and Inventec Appliances '
                "Corporation: does the contract contain a license grant?")
    # legal forms ("Inc") are in every contract: they do not say which one is meant
    assert party_names(question) == {"Sonos", "Inventec", "Appliances"}

    def found(unknown: list[str]) -> RetrievalResult:
        return replace(_result(0.9, 0.9, unknown), query=question)

    # the clause that holds the grant names the licensee by its short form only ("IAC")
    assert has_evidence(found(["Inventec", "Appliances"]), CFG, "en")
    assert not has_evidence(found(["Sonos", "Inventec", "Appliances"]), CFG, "en")
    # a name outside "between ... and ..." is still the subject: unknown, refused
    assert not has_evidence(found(["Manufacturing"]), CFG, "en")


def test_a_question_naming_its_contract_must_cover_what_it_asks_not_the_names() -> None:
    question = ('In the "Agency Agreement" between Alliance Mutual and Keystone Bancorp: is there '
                "a right of first refusal?")
    assert content_of(question).split() == ["In", "the", ":", "is", "there", "a", "right", "of",
                                            "first", "refusal?"]
    clause = Passage(7, 1, "agency.md", "The Bank grants the Company a right of first refusal "
                     "on any sale of its shares.", (), None, 0.5)
    # the search counted the title and the parties too, which the clause does not repeat
    result = RetrievalResult(question, [clause], {7: 0.6}, {7: 0.3}, [])
    assert has_evidence(result, CFG, "en")
    assert not has_evidence(replace(result, query="Is there a non-compete clause?"), CFG, "en")


def test_between_two_periods_is_part_of_what_is_asked() -> None:
    question = "Was there any change in the number of stores between Q2 of FY2024 and FY2023?"
    assert content_of(question) == question


def test_a_long_list_of_alternatives_needs_ten_of_its_terms_not_all() -> None:
    question = ("Is there a clause granting one party a right of first refusal, right of first "
                "offer or right of first negotiation to purchase, license, market, or distribute "
                "equity interest, technology, assets, products or services?")
    clause = Passage(7, 1, "agency.md", "The Company grants the Bank a right of first refusal "
                     "to purchase any shares or assets it offers to sell.", (), None, 0.5)
    result = RetrievalResult(question, [clause], {7: 0.6}, {7: 0.2}, [])
    assert has_evidence(result, CFG, "en")
    assert not has_evidence(replace(result, passages=[replace(
        clause, text="The Bank may purchase office supplies from any vendor.")]), CFG, "en")


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
