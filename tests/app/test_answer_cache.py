"""The first-turn answer cache: what counts as the same question, and one answer at a time."""

from __future__ import annotations

import threading
import time

from app.dialog.cache import AnswerCache, cache_key, normalise
from app.dialog.types import Answer


def _key(question: str, **changes: object) -> str:
    parts: dict = {"pack": "legal", "settings": "s", "revision": 3, "model": "m",
                   "adapter": None, "clearance": None, "question": question}
    return cache_key(**{**parts, **changes})


def _answer(text: str) -> Answer:
    return Answer(question="q", query="q", decision="answer", text=text)


def test_the_same_question_in_other_case_spacing_or_width_is_one_key() -> None:
    assert normalise("  What is the  dose? ") == normalise("what is the dose") == \
        "what is the dose"
    assert normalise("违约金是多少？") == normalise("违约金是多少")
    assert normalise("ＡＢＣ") == "abc"
    assert _key("What is the dose?") == _key("what is the dose")
    assert _key("What is the dose?") != _key("What is the dose of X?")


def test_everything_the_answer_depends_on_is_in_the_key() -> None:
    base = _key("q")
    for change in ({"revision": 4}, {"adapter": "medical-v2"}, {"model": "other"},
                   {"clearance": frozenset({"restricted"})}, {"settings": "t"},
                   {"pack": "medical"}):
        assert _key("q", **change) != base, change
    assert _key("q", clearance=frozenset()) != base, "no clearance is not 'unrestricted'"


def test_entries_are_copies_bounded_and_expire() -> None:
    cache = AnswerCache(max_entries=2, ttl_s=0.2)
    assert cache.get("a") is None
    cache.put("a", _answer("A"), [], "")
    got = cache.get("a")
    assert got is not None and got.answer.text == "A"
    got.answer.text += " (edited by a turn)"
    assert cache.get("a").answer.text == "A"  # type: ignore[union-attr]
    for key in ("b", "c"):
        cache.get(key)
        cache.put(key, _answer(key), [], "")
    assert len(cache) == 2
    time.sleep(0.25)
    assert cache.get("c") is None, "expired"
    cache.abandon("c")


def test_a_question_asked_while_it_is_being_answered_waits_for_that_answer() -> None:
    cache = AnswerCache()
    assert cache.get("q") is None  # this caller answers
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(cache.get("q")))
    waiter.start()
    time.sleep(0.1)
    assert waiter.is_alive(), "the second asker waits instead of answering again"
    cache.put("q", _answer("the answer"), [], "")
    waiter.join()
    assert got[0].answer.text == "the answer"  # type: ignore[attr-defined]
    assert (cache.hits, cache.misses) == (1, 1)


def test_a_failed_first_answer_lets_the_waiting_caller_answer() -> None:
    cache = AnswerCache()
    assert cache.get("q") is None
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(cache.get("q")))
    waiter.start()
    time.sleep(0.05)
    cache.abandon("q")
    waiter.join()
    assert got == [None], "it answers itself (and must put or abandon in turn)"
