"""Dialog state: slots filled, corrected and cleared turn by turn; intents and clarifying questions.

Scripts follow the bundled packs' sample documents and eval questions, in English and Chinese.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.dialog.intents import clarifying_question, detect_intents, missing_required
from app.dialog.slots import extract_slots, update_slots
from app.dialog.state import DialogState, DialogStateError, SlotValue, Turn
from domains import load_pack
from domains.pack import load_pack_file
from verirag.errors import PackError

ABSENT = None

# (pack, [(user message, {slot: expected value, or ABSENT}), ...])
SCRIPTS = [
    ("medical", [
        ("A 72-year-old woman with atrial fibrillation on warfarin needs a hip replacement.",
         {"age": "72", "sex": "woman", "conditions": "atrial fibrillation",
          "medications": "warfarin"}),
        ("How many days before a planned procedure should warfarin be stopped?",
         {"age": "72", "medications": "warfarin"}),
        ("I meant apixaban, not warfarin", {"medications": "apixaban"}),
        ("no, she is 78", {"age": "78", "medications": "apixaban"}),
        ("forget the age", {"age": ABSENT, "medications": "apixaban"}),
        ("Is Apixaban safe in renal impairment?",
         {"medications": "apixaban", "conditions": "renal impairment", "sex": "woman"}),
    ]),
    ("medical", [
        ("80岁女性患者，对青霉素过敏", {"age": "80", "sex": "女", "allergies": "青霉素"}),
        ("新入院患者应在多长时间内完成首次跌倒风险评估？", {"age": "80", "sex": "女"}),
        ("不是，是85岁", {"age": "85"}),
        ("不考虑年龄", {"age": ABSENT, "allergies": "青霉素"}),
        ("忽略过敏", {"allergies": ABSENT, "sex": "女"}),
        ("Morse跌倒评分多少分属于高危？", {"sex": "女", "age": ABSENT}),
    ]),
    ("finance", [
        ("What was Northbridge's profit before tax in 2022?",
         {"company": "Northbridge", "fiscal_period": "2022", "metric": "profit before tax"}),
        ("and in 2023?", {"fiscal_period": "2023", "metric": "profit before tax"}),
        ("what about its cet1 ratio?", {"metric": "CET1 ratio", "company": "Northbridge"}),
        ("actually FY2022", {"fiscal_period": "FY2022"}),
        ("clear the company", {"company": ABSENT, "metric": "CET1 ratio"}),
        ("What total dividend per share did Northbridge Bank pay for 2023?",
         {"company": "Northbridge Bank", "metric": "dividend per share",
          "fiscal_period": "2023"}),
    ]),
    ("finance", [
        ("华信商业银行2023年实现净利润多少？",
         {"company": "华信商业银行", "fiscal_period": "2023", "metric": "净利润"}),
        ("那2022年呢？", {"fiscal_period": "2022", "metric": "净利润"}),
        ("那不良贷款率呢？", {"metric": "不良贷款率", "company": "华信商业银行"}),
        ("不对，应该是2021年", {"fiscal_period": "2021"}),
        ("不考虑公司", {"company": ABSENT, "fiscal_period": "2021"}),
        ("华信商业银行对高风险客户多久审核一次风险等级？", {"company": "华信商业银行"}),
    ]),
    ("legal", [
        ("Under the mutual NDA template, how long does the recipient have to return or "
         "destroy confidential information once asked?",
         {"contract": "NDA", "party": "recipient"}),
        ("and for the DPA?", {"contract": "DPA", "party": "recipient"}),
        ("What does the governing law clause say?", {"clause": "governing law"}),
        ("I meant the nda", {"contract": "NDA"}),
        ("forget the party", {"party": ABSENT, "contract": "NDA"}),
        ("How long does the non-compete restriction last after an employee leaves?",
         {"clause": "non-compete", "party": "employee"}),
    ]),
    ("legal", [
        ("保密协议范本约定的违约金是多少？", {"contract": "保密协议"}),
        ("劳动合同呢？", {"contract": "劳动合同"}),
        ("第5条怎么规定？", {"clause": "5", "contract": "劳动合同"}),
        ("不考虑合同", {"contract": ABSENT, "clause": "5"}),
        ("忽略条款", {"clause": ABSENT}),
        ("保密协议范本发生争议时提交哪个仲裁机构？", {"contract": "保密协议", "clause": ABSENT}),
    ]),
]


def _play(state: DialogState, message: str, pack_name: str) -> None:
    pack = load_pack(pack_name)
    update_slots(state, message, pack.slots)
    state.add_turn(Turn(state.next_index, message, message, "answer", "…", [1]))


@pytest.mark.parametrize(("pack_name", "script"), SCRIPTS,
                         ids=[f"{p}-{i}" for i, (p, _) in enumerate(SCRIPTS)])
def test_slots_follow_the_conversation_turn_by_turn(pack_name: str,
                                                    script: list[tuple[str, dict]]) -> None:
    state = DialogState(pack_name)
    for message, expected in script:
        _play(state, message, pack_name)
        for name, value in expected.items():
            got = state.slots.get(name)
            if value is ABSENT:
                assert got is None, f"after {message!r}: {name} should be cleared, is {got}"
            else:
                assert got is not None and got.value == value, (
                    f"after {message!r}: {name} = {got}, expected {value!r}")


@pytest.mark.parametrize(("pack_name", "before", "message", "slot", "value"), [
    ("medical", "A 50 year old man on warfarin", "no, he is 45", "age", "45"),
    ("medical", "80岁女性患者", "不是，是45岁", "age", "45"),
    ("medical", "80岁女性患者", "不是80岁，是85岁", "age", "85"),
    ("medical", "patient on warfarin", "I meant apixaban", "medications", "apixaban"),
    ("finance", "Northbridge profit in 2023", "actually 2022", "fiscal_period", "2022"),
    ("legal", "NDA governing law", "sorry, I meant the DPA", "contract", "DPA"),
])
def test_a_correction_overrides_the_slot_and_is_marked_as_the_users(
        pack_name: str, before: str, message: str, slot: str, value: str) -> None:
    state = DialogState(pack_name)
    _play(state, before, pack_name)
    _play(state, message, pack_name)
    assert state.slots[slot] == SlotValue(value, 2, "user")


def test_a_number_without_context_is_not_an_age_unless_corrected_or_asked() -> None:
    pack = load_pack("medical")
    assert "age" not in extract_slots("within 3 days", pack.slots, 1, current=["age"])
    assert "age" not in extract_slots("actually 2022", pack.slots, 1, current=["age"])
    assert extract_slots("82", pack.slots, 2, expecting=["age"])["age"] == SlotValue(
        "82", 2, "user")


@pytest.mark.parametrize(("pack_name", "text", "proposal", "slot", "expected"), [
    # The pattern knows ten drugs; the model may find others, but only ones the user wrote.
    ("medical", "She takes clopidogrel daily", {"medications": "Clopidogrel"},
     "medications", "clopidogrel"),
    ("medical", "She is on a blood thinner", {"medications": "apixaban"}, "medications", None),
    ("medical", "患者正在服用华法林", {"medications": "华法林"}, "medications", "华法林"),
    ("medical", "患者正在服用抗凝药", {"medications": "阿司匹林"}, "medications", None),
    ("finance", "What did Barclays report?", {"company": "Barclays"}, "company", "Barclays"),
    ("finance", "What did the bank report?", {"company": "HSBC"}, "company", None),
    ("legal", "Does the lease say anything about rent?", {"contract": "lease"},
     "contract", "lease"),
    ("legal", "租赁合同的押金是多少？", {"contract": "买卖合同"}, "contract", None),
])
def test_model_fallback_is_accepted_only_when_the_user_wrote_the_value(
        pack_name: str, text: str, proposal: dict[str, str], slot: str,
        expected: str | None) -> None:
    pack = load_pack(pack_name)
    found = extract_slots(text, pack.slots, 3, model_fallback=lambda _t, _s: proposal)
    if expected is None:
        assert slot not in found
    else:
        assert found[slot] == SlotValue(expected, 3, "model")


def test_model_fallback_only_sees_the_slots_the_patterns_missed() -> None:
    pack = load_pack("finance")
    seen: list[list[str]] = []

    def model(text: str, slots: list) -> dict[str, str]:
        seen.append([s.name for s in slots])
        return {"company": "Northbridge", "metric": "profit", "unknown_slot": "2023"}

    found = extract_slots("Northbridge profit in 2023", pack.slots, 1, model_fallback=model)
    assert seen == [["metric", "currency"]]
    assert found["company"].how == "rule"
    assert found["metric"] == SlotValue("profit", 1, "model")
    assert "unknown_slot" not in found


def test_a_clear_command_is_not_read_as_a_new_value() -> None:
    pack = load_pack("medical")
    state = DialogState("medical")
    update_slots(state, "72 year old on warfarin", pack.slots)
    change = update_slots(state, "she is no longer on warfarin", pack.slots)
    assert change.cleared == ["medications"]
    assert "medications" not in state.slots
    assert change.previous["medications"].value == "warfarin"
    assert state.slots["age"].value == "72"


def test_clear_names_a_slot_by_its_distinctive_words_only() -> None:
    pack = load_pack("medical")
    state = DialogState("medical")
    update_slots(state, "80 year old female", pack.slots)
    # "patient" is in both the age and the sex descriptions: it names neither.
    update_slots(state, "forget the patient", pack.slots)
    assert {"age", "sex"} <= set(state.slots)
    update_slots(state, "forget everything", pack.slots)
    assert state.slots == {}


@pytest.mark.parametrize(("pack_name", "context", "message", "cleared"), [
    ("medical", "80 year old female allergic to penicillin", "forget all the allergies",
     ["allergies"]),
    ("medical", "patient with AF", "ignore what happened after surgery", []),
    ("medical", "patient with AF", "never mind the AF", ["conditions"]),
    ("legal", "the NDA's non-compete clause", "Can we remove the non-compete clause?", []),
    ("legal", "保密协议的解除条款", "取消合同的条件是什么？", []),
    ("finance", "华信商业银行2023年净利润", "全部清除", ["company", "fiscal_period", "metric"]),
])
def test_clear_commands_take_only_what_they_name(pack_name: str, context: str, message: str,
                                                 cleared: list[str]) -> None:
    pack = load_pack(pack_name)
    state = DialogState(pack_name)
    update_slots(state, context, pack.slots)
    assert update_slots(state, message, pack.slots).cleared == cleared


def test_a_model_value_found_only_inside_a_longer_word_is_rejected() -> None:
    pack = load_pack("medical")
    found = extract_slots("the 2045 audit plan", pack.slots, 1,
                          model_fallback=lambda _t, _s: {"age": "45", "conditions": "audit"})
    assert "age" not in found
    assert found["conditions"].value == "audit"


def test_snapshot_round_trips_through_json() -> None:
    state = DialogState("medical")
    _play(state, "A 72-year-old woman on warfarin", "medical")
    state.awaiting = ["age"]
    restored = DialogState.from_snapshot(json.loads(json.dumps(state.snapshot())))
    assert restored == state
    assert restored.turns[0].cited_chunk_ids == (1,)


@pytest.mark.parametrize("damage", [
    {"version": 99}, {"turns": [{"index": 1}]}, {"slots": {"age": {"value": "7", "turn": 1,
                                                                   "how": "guess"}}},
    {"turns": [{"index": 1, "question": "q", "query": "q", "decision": "maybe",
                "answer_text": "a"}]},
])
def test_a_damaged_snapshot_says_so(damage: dict) -> None:
    data = {**DialogState("medical").snapshot(), **damage}
    with pytest.raises(DialogStateError, match="snapshot"):
        DialogState.from_snapshot(data)


def test_a_snapshot_that_is_not_an_object_says_so() -> None:
    with pytest.raises(DialogStateError, match="snapshot is a list"):
        DialogState.from_snapshot([])  # type: ignore[arg-type]


def test_history_is_question_answer_pairs_most_recent_last_within_budget() -> None:
    state = DialogState("finance")
    for i in range(1, 5):
        state.add_turn(Turn(i, f"question {i}", f"question {i}", "answer", f"answer {i}"))
    messages = state.history_messages(max_turns=2)
    assert messages == [
        {"role": "user", "content": "question 3"}, {"role": "assistant", "content": "answer 3"},
        {"role": "user", "content": "question 4"}, {"role": "assistant", "content": "answer 4"},
    ]
    assert len(state.history_messages(max_turns=4, max_chars=25)) == 2
    state.add_turn(Turn(5, "long one?", "long one?", "answer", "x" * 500))
    last = state.history_messages(max_turns=3, max_chars=100)
    assert last[0]["content"] == "long one?"
    assert sum(len(m["content"]) for m in last) <= 100
    assert last[1]["content"].endswith("…")


def test_history_leaves_out_small_talk() -> None:
    state = DialogState("finance")
    state.add_turn(Turn(1, "question 1", "question 1", "answer", "answer 1"))
    state.add_turn(Turn(2, "Thanks!", "question 1", "social", "You're welcome."))
    messages = state.history_messages(max_turns=1)
    assert [m["content"] for m in messages] == ["question 1", "answer 1"]


def test_turn_indices_must_increase() -> None:
    state = DialogState("legal")
    state.add_turn(Turn(1, "q", "q", "answer", "a"))
    with pytest.raises(DialogStateError):
        state.add_turn(Turn(1, "q", "q", "answer", "a"))


# --- intents and clarifying questions -------------------------------------------------------


@pytest.mark.parametrize(("pack_name", "text", "intents"), [
    ("medical", "What rivaroxaban dose is used for atrial fibrillation?", {"dosing"}),
    ("medical", "How much heparin should I give?", {"dosing"}),
    ("medical", "Is 5 mg twice daily right?", {"dosing"}),
    ("medical", "阿哌沙班的剂量是多少？", {"dosing"}),
    ("medical", "胰岛素用量怎么调整？", {"dosing"}),
    ("medical", "For how long should alcohol hand rub be rubbed into the hands?", set()),
    ("medical", "新入院患者应在多长时间内完成首次跌倒风险评估？", set()),
    ("finance", "What was Northbridge Bank's CET1 ratio at the end of 2023?",
     {"figure_lookup"}),
    ("finance", "华信商业银行2023年实现净利润多少？", {"figure_lookup"}),
    ("finance", "Who approves a new credit exposure?", set()),
    ("legal", "What does the governing law clause of the NDA say?", {"clause_lookup"}),
    ("legal", "保密协议范本约定的违约金是多少？", {"clause_lookup"}),
    ("legal", "What are the opening hours of the Manchester office?", set()),
])
def test_intents_are_detected_in_english_and_chinese(pack_name: str, text: str,
                                                      intents: set[str]) -> None:
    assert detect_intents(text, load_pack(pack_name)) == intents


@pytest.mark.parametrize(("question", "lang", "expected"), [
    ("What apixaban dose is used for atrial fibrillation?", "en",
     "To answer about dosing, I need to know the patient age in years. Could you tell me?"),
    ("阿哌沙班的剂量是多少？", "zh",
     "要回答用药剂量的问题，我还需要知道：患者年龄（岁）。能告诉我吗？"),
])
def test_a_dosing_question_without_an_age_gets_a_clarifying_question(
        question: str, lang: str, expected: str) -> None:
    pack = load_pack("medical")
    state = DialogState("medical")
    update_slots(state, question, pack.slots)
    intents = detect_intents(question, pack)
    missing = missing_required(state, intents, pack)
    assert [s.name for s in missing] == ["age"]
    assert clarifying_question(missing, lang, pack=pack, intents=intents) == expected


def test_the_answer_to_the_clarifying_question_fills_the_slot() -> None:
    pack = load_pack("medical")
    state = DialogState("medical")
    question = "What apixaban dose is used for atrial fibrillation?"
    update_slots(state, question, pack.slots)
    missing = missing_required(state, detect_intents(question, pack), pack)
    state.awaiting = [s.name for s in missing]
    state.add_turn(Turn(1, question, question, "clarify",
                        clarifying_question(missing, "en", pack=pack, intents={"dosing"})))
    update_slots(state, "82", pack.slots)
    assert state.slots["age"] == SlotValue("82", 2, "user")
    assert missing_required(state, {"dosing"}, pack) == []
    assert state.awaiting == []


def test_an_age_given_in_the_question_is_not_asked_for() -> None:
    pack = load_pack("medical")
    state = DialogState("medical")
    question = "What apixaban dose for an 84-year-old with AF?"
    update_slots(state, question, pack.slots)
    assert missing_required(state, detect_intents(question, pack), pack) == []


def test_clarifying_question_lists_several_details_and_works_without_intents() -> None:
    pack = load_pack("finance")
    missing = [s for s in pack.slots if s.name in ("company", "fiscal_period")]
    en = clarifying_question(missing, "en")
    assert en.startswith("To answer this, I need to know the company or entity asked about; ")
    assert "fiscal year or period" in en and "e.g." not in en
    zh = clarifying_question(missing, "zh")
    assert "所询问的公司或机构" in zh and "财务年度或期间" in zh
    assert clarifying_question([], "en") == ""


def _pack_file(tmp_path: Path, extra: str) -> Path:
    folder = tmp_path / "insurance"
    folder.mkdir()
    path = folder / "pack.toml"
    path.write_text(
        'name = "insurance"\ntitle = "Insurance"\nlanguages = ["en"]\n'
        'system_prompt = "You answer from the insurer\'s policies."\n'
        'refusal_message = "The documents do not say."\n' + extra, encoding="utf-8")
    return path


def test_a_pack_requiring_an_undeclared_intent_fails_at_load(tmp_path: Path) -> None:
    path = _pack_file(tmp_path, '[[slots]]\nname = "policy_no"\ndescription = "policy number"\n'
                      'required_for = ["claims"]\n')
    with pytest.raises(PackError, match=r"intent 'claims'.*no \[\[intents\]\]"):
        load_pack_file(path)


def test_a_new_domain_declares_its_intents_in_its_pack(tmp_path: Path) -> None:
    path = _pack_file(tmp_path, '[[slots]]\nname = "policy_no"\n'
                      'description = "policy number, e.g. PN-123456"\n'
                      'patterns = [\'\\b(PN-\\d{6})\\b\']\nrequired_for = ["claims"]\n'
                      '[[intents]]\nname = "claims"\ndescription = "a claim"\n'
                      'patterns = [\'\\bclaims?\\b\']\n')
    pack = load_pack_file(path)
    state = DialogState("insurance")
    question = "How do I make a claim?"
    update_slots(state, question, pack.slots)
    missing = missing_required(state, detect_intents(question, pack), pack)
    assert clarifying_question(missing, "en", pack=pack, intents={"claims"}) == (
        "To answer about a claim, I need to know the policy number, e.g. PN-123456. "
        "Could you tell me?")
    update_slots(state, "It is pn-123456", pack.slots)
    assert state.slots["policy_no"].value == "pn-123456"
