"""A true, cited sentence about something else than the question is not an answer."""

from __future__ import annotations

import pytest

from app.dialog.relevance import (
    answers_the_question,
    focus_terms,
    has_answer_type,
    is_polar,
    most_specific_terms,
)
from app.dialog.types import AnswerSentence
from knowledge.types import Passage

CONTRACT = Passage(1, 1, "mediaco-lma.txt", "...", ("Local Programming and Marketing Agreement",),
                   None, 1.0)


def _answers(question: str, text: str, source: Passage = CONTRACT) -> bool:
    return answers_the_question(question, [AnswerSentence(text, (1,))], [source])


def test_the_sentence_must_name_what_is_asked_not_only_the_document_and_parties() -> None:
    question = ('When does the initial term of the "LOCAL PROGRAMMING AND MARKETING AGREEMENT" '
                "between MediaCo Holding Inc and WBLS-WLIB LLC expire?")
    assert focus_terms(question)[:3] == ["initial", "term", "expire"]
    parties = ('THIS LOCAL PROGRAMMING AND MARKETING AGREEMENT is made as of November 25, 2019 '
               "by and between MediaCo Holding Inc. and WBLS-WLIB LLC.")
    assert not _answers(question, parties)
    assert _answers(question, "The initial term of this Agreement shall expire on December 31, "
                              "2022, unless terminated earlier.")


@pytest.mark.parametrize(("question", "text", "expected"), [
    ("How long does a client have to complain?", "Complaints go to the Ombudsman.", False),
    ("How long does a client have to complain?", "Within six months of our response.", True),
    ("How soon must the notice be issued?", "Within 2 business days of becoming aware.", True),
    ("By what time should patients leave the ward?", "Patients leave the ward by 11:00.", True),
    ("How much was the fine?", "The court imposed a fine in 2019.", False),
    ("How much was the fine?", "The court imposed a fine of £5,000.", True),
    ("违约金是多少？", "违约金人民币伍拾万元。", True),
    ("标准合同应在多长时间内备案？", "应当在标准合同生效之日起10个工作日内备案。", True),
    ("Who approves the exposure?", "The Credit Committee approves it.", True),
    # "what is X?" wants what X is; "what is the X of Y?" an attribute, any sentence may say
    ("What are ETFs?", "There are ETFs for lots of different things.", False),
    ("What are ETFs?", "An ETF is an exchange traded fund that trades like a stock.", True),
    ("What is long term investing?", "Long term investing means holding for years.", True),
    ("What is an incubation period?", "The mean incubation period was 5.2 days.", False),
    ("What is KATNAL1?", "Haploinsufficiency of KATNAL1 is linked with intellectual disability.",
     False),
    ("What is KATNAL1?", "KATNAL1 is a microtubule severing enzyme.", True),
    ("What is the estimate of the basic reproduction number?",
     "Our estimated starting reproduction number matches the basic reproduction number.", False),
    ("What is the estimate of the basic reproduction number?", "R0 was estimated at 2.2.", True),
    ("What is an incubation period?",
     "The incubation period is the time from infection to the onset of symptoms.", True),
    ("What is the population of Shandong province?", "Shandong has 94 million people.", True),
    ("What is zorvatinib reserved for?", "Zorvatinib is reserved for resistant leukaemia.", True),
    # a date for "on what date", not a span of hours; a count is not a section or a code
    ("On what date does the agreement become effective?",
     "The report gives the hours expended to date.", False),
    ("On what date does the agreement become effective?",
     "This Agreement is effective as of November 4, 2010.", True),
    ("How much total assets did the company have?",
     "Table of Contents Note 6—Leases The tables below present lease assets.", False),
    ("How many patients had CA72-4 measured?", "Serum CA72-4 was measured in all patients.",
     False),
    # a Chinese numeral counts with what it counts, and money is asked for in money
    ("原告赔偿多少钱？", "证人朱x9陈述,其与原告关系一直较好。", False),
    ("原告赔偿多少钱？", "涉及被害人28人。", False),
    ("原告赔偿多少钱？", "双方达成协议，由被告赔偿80万元。", True),
    ("涉及多少名被害人？", "涉及被害人三人。", True),
    ("什么是保密信息？", "双方应对保密信息保密。", False),
    ("什么是保密信息？", "保密信息是指一方披露的技术信息。", True),
])
def test_the_answer_has_the_kind_of_value_asked_for(question: str, text: str,
                                                    expected: bool) -> None:
    assert has_answer_type(question, text) is expected


def test_possessives_are_not_quotes() -> None:
    question = "What is the firm's retention period for clients' files?"
    assert focus_terms(question) == ["firm", "retention", "period", "clients", "files"]


def test_a_figure_for_another_year_does_not_answer() -> None:
    source = Passage(1, 1, "annual-report.md", "...", ("Chairman's statement",), None, 1.0)
    question = "What was Northbridge Bank's profit before tax in 2021?"
    text = "The Bank delivered profit before tax of £1,146 million, up 21% on 2022."
    assert not _answers(question, text, source)
    assert _answers(question.replace("2021", "2023"), text,
                    Passage(1, 1, "annual-report-2023.md", "...", (), None, 1.0))
    # stated once at the top of the passage the sentence comes from
    assert _answers(question.replace("2021", "2023"), text,
                    Passage(1, 1, "chairman.md", f"Results for 2023. {text}", (), None, 1.0))


def test_the_answer_names_what_sets_the_question_apart() -> None:
    """"The renewal term" answered with the initial term is an answer to the next question."""
    passages = [Passage(i, i, "distribution.txt", text, (), None, 1.0) for i, text in enumerate([
        "The initial term of this Agreement is twenty-four (24) months.",
        "This Agreement then renews for successive one-year renewal terms unless either party "
        "objects.",
        "Either party may terminate this Agreement on thirty days notice in the initial term.",
        "During the term of this Agreement the Distributor shall keep records of every sale."],
        1)]
    question = "What is the renewal term of the agreement after its initial term expires?"
    assert most_specific_terms(question, passages) == ["renewal"]
    # words that frame the question and the years (checked on their own) are never it
    framed = "What is the impact of the renewal term for 2019 and 2018 respectively?"
    assert most_specific_terms(framed, passages) == ["renewal"]

    def answers(n: int, q: str = question) -> bool:
        return answers_the_question(q, [AnswerSentence(passages[n - 1].text, (n,))], passages)

    assert not answers(1)
    assert answers(2)
    # the cited document may say it elsewhere: then the quote is from the right contract
    one = [AnswerSentence(passages[0].text, (1,))]
    assert answers_the_question(question, one, passages, lambda docs, terms: True)
    assert not answers_the_question(question, one, passages, lambda docs, terms: False)
    # a yes/no question is answered by the clause it asks about, in the document's words
    polar = "Consider the distribution agreement; does the term renew automatically?"
    assert is_polar(polar) and is_polar("被告人是否存在其他同案犯？")
    assert not is_polar(question)


def test_a_chinese_question_about_a_named_person_is_answered_about_that_person() -> None:
    source = Passage(1, 1, "judgment.txt", "...", (), None, 1.0)
    question = "原告与贾x9父母达成协议赔偿多少钱？"
    assert not _answers(question, "原告与朱x9达成协议，赔偿2500000元。", source)
    assert _answers(question, "原告与贾x9父母达成协议，由被告赔偿80万元。", source)
    assert not _answers("被害人张某乙的受伤程度为？", "被害人张某甲构成轻伤一级。", source)
