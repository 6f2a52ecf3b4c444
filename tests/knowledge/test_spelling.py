"""A misspelt question word still finds the passages written with the word it meant."""

from __future__ import annotations

import pytest

from knowledge.index.bm25 import BM25Index
from knowledge.index.spelling import one_edit, variants

FILLER = [f"unrelated filler passage number {i} about weather and sport" for i in range(300)]


def _index(texts: list[str]) -> BM25Index:
    corpus = texts + FILLER
    return BM25Index.build(list(range(len(corpus))), corpus)


def _top(index: BM25Index, query: str, k: int = 3) -> list[int]:
    return [cid for cid, _ in index.search(query, k)]


def test_a_typo_the_index_never_saw_finds_the_word_it_meant() -> None:
    index = _index(["You will receive the benefits within a month.", "Lottery scams."])
    assert _top(index, "When will I recieve it?") == [0]


def test_a_typo_a_few_passages_share_still_finds_the_common_spelling() -> None:
    # User-written corpora repeat the typo: "mortage" is indexed, but rarely.
    texts = ["Mortgage scams target homeowners behind on payments."]
    texts += [f"A mortgage is a loan secured on a home, note {i}." for i in range(10)]
    texts += ["My mortage broker was slow.", "Lottery scams promise prizes.",
              "Charity scams follow disasters.", "Romance scams start online."]
    index = _index(texts)
    assert _top(index, "Mortage scams")[0] == 0
    # The passage that shares the typo is still found.
    assert 11 in _top(index, "Mortage scams", k=20)


def test_the_typed_word_and_its_correction_score_as_one_term() -> None:
    texts = [f"The mortgage rate is fixed, note {i}." for i in range(10)] + ["A mortage."]
    index = _index(texts)
    # Neither spelling outweighs the other: the shorter passage wins on length alone.
    assert _top(index, "mortage", k=1) == [10]
    # The typo no longer counts as the rarest word of the question (BM25's highest weight).
    rare = _index(["A mortage.", "Mortgage."]).ceiling("mortage")
    assert index.ceiling("mortage") < rare - 1.5
    assert index.ceiling("mortage") == pytest.approx(index.ceiling("mortgage"), rel=0.05)


def test_common_and_short_words_are_searched_as_typed() -> None:
    common = [f"loans and loan terms, part {i}" for i in range(20)]
    tests = [f"The test number {i} failed." for i in range(10)]
    index = _index([*common, *tests, "A tast of wine."])
    # "loans" is held by over 1 % of passages: a word of this corpus, never merged with "loan".
    assert variants("loans", lambda w: 20, 320) == ("loans",)
    # Four letters: "test", ten times as common, is still not read for "tast".
    assert _top(index, "tast", k=5) == [30]


def test_two_rare_spellings_of_different_words_stay_apart() -> None:
    counts = {"causal": 1, "casual": 2}
    assert variants("causal", lambda w: counts.get(w, 0), 1000) == ("causal",)
    counts["casual"] = 5
    assert variants("causal", lambda w: counts.get(w, 0), 1000) == ("causal", "casual")


def test_numbers_codes_and_accented_words_are_never_respelt() -> None:
    known = {"ab12x", "model", "cafex"}  # one letter away from each typed word below
    for token in ("ab12y", "m0del", "cafés"):
        assert variants(token, lambda w: int(w in known) * 50, 1000) == (token,)
    assert variants("modle", lambda w: int(w in known) * 50, 1000) == ("modle", "model")


def test_only_the_readers_visible_passages_decide_a_spelling() -> None:
    # "mortgage" is common only in passages this reader may not see: which spellings are
    # searched must not tell them so.
    hidden = [f"Mortgage arrears note {i}." for i in range(10)]
    index = _index(["A mortage question.", "Scams and mortage fraud.", *hidden])
    visible = {0, 1} | set(range(12, 312))
    assert set(_top(index, "mortage", k=12)) > {0, 1}  # an unrestricted reader: merged
    restricted = [cid for cid, _ in index.search("mortage", 5, visible)]
    assert restricted and set(restricted) <= {0, 1}
    # The typo keeps its own (high) weight for this reader; merged, it weighs less.
    assert index.ceiling("mortage", visible) > index.ceiling("mortage")


def test_the_first_letter_is_kept() -> None:
    edits = one_edit("mortage")
    assert "mortgage" in edits and "mortag" in edits and "omrtage" not in edits
    assert all(word.startswith("m") for word in edits)


def test_whether_a_word_occurs_is_still_decided_as_typed() -> None:
    # The answerer's evidence check asks this: a misspelt name must not pass as another.
    index = _index(["You will receive the benefits within a month."])
    assert not index.knows("recieve") and index.knows("receive")
