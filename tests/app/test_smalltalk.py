"""Thanks, greetings and goodbyes get a polite reply; anything with a question in it does not."""

from __future__ import annotations

import pytest

from app.dialog.smalltalk import small_talk, small_talk_reply

SMALL_TALK = [
    ("Thank you!", "thanks"), ("thanks a lot :)", "thanks"), ("Great, thanks!", "thanks"),
    ("That helps, thank you so much.", "thanks"), ("Hi", "greeting"),
    ("Good morning!", "greeting"), ("Bye!", "goodbye"), ("OK", "ack"), ("got it", "ack"),
    ("谢谢！", "thanks"), ("好的，谢谢", "thanks"), ("您好", "greeting"), ("再见", "goodbye"),
    ("明白了。", "ack"),
]
NOT_SMALL_TALK = [
    "Thank you! And what about rivaroxaban?", "Thanks for the apixaban dose, and in renal "
    "impairment?", "hi, what is the target INR?", "ok so what about dabigatran?",
    "Great! there certainly are scientists who care about this", "thankful", "OK?",
    "What is a good INR?", "你好，请问INR目标是多少？", "谢谢，那利伐沙班呢？", "",
]


@pytest.mark.parametrize(("message", "kind"), SMALL_TALK)
def test_small_talk_is_recognised_in_english_and_chinese(message: str, kind: str) -> None:
    assert small_talk(message) == kind


@pytest.mark.parametrize("message", NOT_SMALL_TALK)
def test_a_message_that_asks_anything_is_not_small_talk(message: str) -> None:
    assert small_talk(message) is None


def test_the_reply_is_in_the_language_of_the_message() -> None:
    assert small_talk_reply("Thank you!", "en") == (
        "You're welcome. Ask another question about the documents whenever you like.")
    assert small_talk_reply("谢谢！", "zh") == "不客气。如还有关于文档的问题，请继续提问。"


def test_an_ok_may_answer_an_open_clarifying_question() -> None:
    assert small_talk_reply("OK", "en", awaiting=True) is None
    assert small_talk_reply("Thanks!", "en", awaiting=True) is not None
