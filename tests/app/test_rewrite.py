"""Follow-up questions become standalone retrieval queries; standalone questions stay as asked.

Each case replays earlier turns the way the dialog manager does (update slots, rewrite, then
record the turn) and checks what retrieval would be asked. Phrasing follows the bundled packs'
eval questions and sample documents, in English and Chinese.
"""

from __future__ import annotations

import pytest

from app.dialog.intents import clarifying_question, detect_intents, missing_required
from app.dialog.rewrite import Rewrite, rewrite_query, slot_filters
from app.dialog.slots import update_slots
from app.dialog.state import DialogState, Turn
from domains import load_pack
from domains.pack import Pack, SlotConfig
from knowledge.retrieval import Filters
from knowledge.text.cjk import has_han


def _turn(state: DialogState, pack: Pack, message: str, **kwargs: int) -> Rewrite:
    """One turn as the manager runs it: slots, rewrite, intents -> clarify or answer, record."""
    change = update_slots(state, message, pack.slots)
    rewrite = rewrite_query(message, state, pack, update=change, **kwargs)
    intents = detect_intents(rewrite.query, pack)
    missing = missing_required(state, intents, pack)
    lang = "zh" if has_han(message) else "en"
    if missing:
        state.awaiting = [s.name for s in missing]
        reply = clarifying_question(missing, lang, pack=pack, intents=intents)
        decision = "clarify"
    else:
        reply, decision = "(an answer citing the documents)", "answer"
    state.add_turn(Turn(state.next_index, message, rewrite.query, decision, reply, []))
    return rewrite


def _replay(pack_name: str, history: list[str]) -> tuple[DialogState, Pack]:
    pack = load_pack(pack_name)
    state = DialogState(pack_name)
    for message in history:
        _turn(state, pack, message)
    return state, pack


# (pack, earlier questions, follow-up, must appear in the query, must not appear)
FOLLOW_UPS = [
    ("medical", ["Is metformin first-line for diabetes?"], "what about its side effects?",
     ["metformin", "side effects"], ["its"]),
    ("medical", ["What apixaban dose is used for atrial fibrillation when she is 80 years old?"],
     "and for rivaroxaban?", ["rivaroxaban", "dose", "atrial fibrillation", "80"],
     ["apixaban"]),
    ("medical", ["How many days before a planned procedure should warfarin be stopped?"],
     "what about dabigatran?", ["How many days before a planned procedure should dabigatran "
                                "be stopped?"], ["warfarin"]),
    ("medical", ["What reverses dabigatran in life-threatening bleeding?"], "is it given IV?",
     ["dabigatran", "given IV", "bleeding"], []),
    ("medical", ["新入院患者应在多长时间内完成首次跌倒风险评估？"], "那高危患者多久复评一次呢？",
     ["高危", "复评", "跌倒", "评估"], ["呢"]),
    ("medical", ["紧急情况下越级使用抗菌药物后，多长时间内要补办审批手续？"], "由谁审批？",
     ["审批", "抗菌", "药物", "越级"], []),
    ("finance", ["What was Northbridge's profit before tax in 2022?"], "and in 2023?",
     ["What was Northbridge's profit before tax in 2023?"], ["2022"]),
    ("finance", ["What was Northbridge's profit before tax in 2022?", "and in 2023?"],
     "what about its CET1 ratio?", ["Northbridge", "CET1 ratio", "2023"],
     ["profit before tax", "2022"]),
    ("finance", ["What is Northbridge Bank's single-name concentration limit?"],
     "who approves exceptions to it?",
     ["single", "concentration limit", "Northbridge Bank", "approves exceptions"],
     ["exceptions to Northbridge"]),
    # conversation around the earlier question is not its topic
    ("finance", ["Of course, I knew that! What is Northbridge Bank's single-name concentration "
                 "limit?"], "who approves exceptions to it?",
     ["concentration limit", "approves exceptions"], ["course", "knew"]),
    ("medical", ["I'm on the cardiology ward, give me the target INR for atrial fibrillation "
                 "here"], "and how often is it checked?",
     ["how often is it checked", "atrial fibrillation", "target inr"], [" m ", "give", "here"]),
    ("finance", ["华信商业银行2023年实现净利润多少？"], "那2022年呢？",
     ["华信商业银行2022年实现净利润多少？"], ["2023"]),
    ("finance", ["华信商业银行2023年末的不良贷款率是多少？"], "资本充足率呢？",
     ["华信商业银行", "2023", "资本充足率"], ["不良贷款率"]),
    ("legal", ["Under the mutual NDA template, how long does the recipient have to return or "
               "destroy confidential information once asked?"], "and under the DPA?",
     ["DPA", "return or destroy confidential information"], ["NDA"]),
    ("legal", ["How long is the probationary period for new employees?"], "can it be extended?",
     ["probationary period", "extended"], []),
    ("legal", ["How long do the confidentiality obligations in the firm's mutual NDA survive "
               "after it ends?"], "what about its governing law?",
     ["NDA", "governing law"], []),
    ("legal", ["保密协议范本约定的违约金是多少？"], "那争议提交哪个仲裁机构呢？",
     ["保密协议", "仲裁机构", "争议"], ["呢"]),
    ("legal", ["保密协议范本约定的违约金是多少？"], "劳动合同呢？",
     ["劳动合同", "违约金"], ["保密协议"]),
    # ellipsis: a short fragment with no topic of its own carries the previous one
    ("medical", ["What is the sepsis bundle?"], "and for children?",
     ["sepsis bundle", "children"], []),
    ("medical", ["What is the sepsis bundle?"], "for children?", ["sepsis bundle", "children"],
     []),
    ("finance", ["What happens to Toby at the end of The Office?"], "any reason to end?",
     ["any reason to end", "toby", "office"], ["happens"]),
    ("finance", ["What is Northbridge Bank's single-name concentration limit?"],
     "who approves exceptions?", ["who approves exceptions", "concentration limit"], []),
    ("finance", ["How do I file a restraining order?"], "I am in Sacramento.",
     ["Sacramento", "restraining order"], []),
    ("medical", ["脓毒症集束化治疗包括哪些措施？"], "那儿童呢？", ["儿童", "脓毒症"], ["呢"]),
    ("medical", ["脓毒症集束化治疗包括哪些措施？"], "由谁负责？", ["由谁负责", "脓毒症"], []),
    # a pronoun carries the topic; a possessive ("its") always points outside the question,
    # even when the question repeats a word of the turn before ("dose")
    ("medical", ["Is metformin first-line for diabetes?"], "is it safe in pregnancy?",
     ["metformin", "pregnancy"], [" it "]),
    ("finance", ["Do common stocks and preferred stocks differ in voting rights?"],
     "where to purchase those?", ["purchase", "common stocks", "preferred", "voting rights"],
     []),
    ("medical", ["What apixaban dose is used for atrial fibrillation?"],
     "is its dose reduced in renal impairment?", ["apixaban dose", "renal impairment"],
     ["its"]),
    ("medical", ["化疗会影响生育吗？"], "这个会遗传吗？", ["遗传", "化疗", "生育"], []),
]


@pytest.mark.parametrize(("pack_name", "history", "question", "present", "absent"), FOLLOW_UPS,
                         ids=[f"{c[0]}-{c[2]}" for c in FOLLOW_UPS])
def test_a_follow_up_becomes_a_standalone_query(pack_name: str, history: list[str],
                                                question: str, present: list[str],
                                                absent: list[str]) -> None:
    state, pack = _replay(pack_name, history)
    rewrite = _turn(state, pack, question)
    assert rewrite.follow_up, rewrite
    for text in present:
        assert text.casefold() in rewrite.query.casefold(), (text, rewrite)
    for text in absent:
        assert text.casefold() not in rewrite.query.casefold(), (text, rewrite)
    assert rewrite.reason.startswith("follow-up (")
    assert f"turn {len(history)}" in rewrite.reason


# (pack, earlier questions, a new self-contained question)
STANDALONE = [
    ("medical", ["Is metformin first-line for diabetes?"],
     "What is the hospital's hand hygiene compliance standard?"),
    ("medical", ["What apixaban dose is used for atrial fibrillation when she is 80 years old?"],
     "How many days before a planned procedure should warfarin be stopped?"),
    ("medical", ["Morse跌倒评分多少分属于高危？"], "特殊使用级抗菌药物由哪一级医师开具？"),
    ("finance", ["What was Northbridge's profit before tax in 2022?"],
     "How long are customer due diligence records kept after a relationship ends?"),
    ("finance", ["华信商业银行2023年实现净利润多少？"],
     "华信商业银行对高风险客户多久审核一次风险等级？"),
    ("legal", ["How soon must a legal hold notice be issued after General Counsel learns of "
               "a trigger?"], "How long does the firm keep general client matter files?"),
    ("legal", ["保密协议范本约定的违约金是多少？"], "个人信息出境标准合同应在多长时间内备案？"),
    ("legal", [], "What is Harrow & Vane's standard hourly rate for a Senior Associate?"),
]


@pytest.mark.parametrize(("pack_name", "history", "question"), STANDALONE,
                         ids=[f"{c[0]}-{c[2][:30]}" for c in STANDALONE])
def test_a_standalone_question_is_used_as_asked(pack_name: str, history: list[str],
                                                question: str) -> None:
    state, pack = _replay(pack_name, history)
    rewrite = _turn(state, pack, question)
    assert rewrite == Rewrite(question, "standalone question: used as asked")


# (pack, earlier questions, a follow-up that names its own topic). Each was searched with the
# previous question's words added ("Value" -> "Value more convenient renting buying"), which
# outweighed the new topic: on the mtrag-mini conversations that lost to searching as typed.
TOPIC_SWITCHES = [
    ("finance", ["Which is more convenient: renting or buying?"], "Value",
     "a new noun phrase 'Value'"),
    ("finance", ["Which is more convenient: renting or buying?"], "Gifting",
     "a new noun phrase 'Gifting'"),
    ("finance", ["Should I only invest in mutual funds?"], "What are ETFs?",
     "asks what 'ETFs' is"),
    ("finance", ["When applying for a mortgage, can it also cover outstanding debts?"],
     "Is refinancing the same as getting a mortgage?",
     "pronoun 'the same' resolved in the question, which names 'mortgage'"),
    ("finance", ["chemo and fertility, before puberty, still?"],
     "Enough for a chemo and infertility, is this a hereditary?",
     "pronoun 'this' resolved in the question, which names 'chemo'"),
    ("finance", ["How should I total the points in a game?", "How to script a sprite?"],
     "other games?", "comparison 'other' resolved in the question, which names 'games'"),
    ("finance", ["买房和租房哪个更划算？"], "赠与", "a new noun phrase '赠与'"),
    ("finance", ["买房和租房哪个更划算？"], "什么是资本利得税？", "asks what '资本、利得税' is"),
    ("medical", ["化疗会影响生育吗？"], "化疗和不孕，这个会遗传吗？",
     "pronoun '这个' resolved in the question, which names '化疗'"),
]


@pytest.mark.parametrize(("pack_name", "history", "question", "why"), TOPIC_SWITCHES,
                         ids=[f"{c[0]}-{c[2][:30]}" for c in TOPIC_SWITCHES])
def test_a_follow_up_that_names_its_own_topic_is_searched_as_asked(
        pack_name: str, history: list[str], question: str, why: str) -> None:
    state, pack = _replay(pack_name, history)
    rewrite = _turn(state, pack, question)
    assert rewrite == Rewrite(question, f"standalone question ({why}): used as asked"), rewrite


def test_a_self_contained_question_after_a_mortgage_question_carries_nothing() -> None:
    state, pack = _replay("finance", ["When applying for a mortgage, can it also cover "
                                      "outstanding debts?"])
    question = "What is the capital gains tax on shares?"
    assert _turn(state, pack, question) == Rewrite(question, "standalone question: used as asked")


def test_after_a_topic_switch_a_pronoun_refers_to_the_new_topic() -> None:
    state, pack = _replay("finance", ["Which is more convenient: renting or buying?", "Gifting"])
    rewrite = _turn(state, pack, "is it taxed?")
    assert rewrite.query == "is it taxed gifting"
    assert "renting" not in rewrite.query


def test_a_new_noun_phrase_keeps_the_conversations_entity_only() -> None:
    state, pack = _replay("medical", ["Is metformin first-line for diabetes?"])
    rewrite = _turn(state, pack, "side effects?")
    assert rewrite.query == "side effects metformin"
    assert rewrite.reason == ("standalone question (a new noun phrase 'side effects'): added "
                              "'metformin' (medications, turn 1)")
    # A definition is the same whatever the conversation is about.
    state, pack = _replay("finance", ["What was Northbridge's profit before tax in 2022?"])
    assert _turn(state, pack, "What are ETFs?").query == "What are ETFs?"


def test_reason_says_what_was_carried_from_which_turn() -> None:
    state, pack = _replay("medical", ["Is metformin first-line for diabetes?"])
    rewrite = _turn(state, pack, "what about its side effects?")
    assert rewrite.query == "metformin side effects diabetes first line"
    assert rewrite.reason == (
        "follow-up (opener 'what about'): replaced 'its' with 'metformin' from turn 1; added "
        "'diabetes' (conditions, turn 1); added 'first', 'line' from turn 1")
    assert rewrite.used_slots == ["medications", "conditions"]


def test_a_noun_shortened_in_the_turn_before_carries_its_earlier_modifier() -> None:
    # "an order" in turn 2 is the restraining order of turn 1 (mtrag-mini: the court's
    # restraining-order page is found only with "restraining")
    state, pack = _replay("finance", [
        "How can I get a restraining order without notifying the other person of my address?",
        "How do I file an order?"])
    rewrite = _turn(state, pack, "I am in Sacramento.")
    assert rewrite.query == "I am in Sacramento file order restraining"
    assert rewrite.reason.endswith(
        "added 'file', 'order' from turn 2; added 'restraining' ('restraining order' in turn 1)")


def test_an_earlier_modifier_is_not_carried_without_its_noun() -> None:
    state, pack = _replay("finance", ["What is a restraining order?",
                                      "How do I file a claim?"])
    rewrite = _turn(state, pack, "I am in Sacramento.")
    assert "claim" in rewrite.query and "restraining" not in rewrite.query


def test_a_determiner_is_no_modifier() -> None:
    state, pack = _replay("finance", ["How do I serve papers on the other party?",
                                      "How do I file a claim against a party?"])
    rewrite = _turn(state, pack, "I am in Sacramento.")
    assert "party" in rewrite.query and "other" not in rewrite.query


def test_a_chain_of_follow_ups_keeps_the_topic_without_piling_up_aspects() -> None:
    state, pack = _replay("medical", ["Is metformin first-line for diabetes?",
                                      "what about its side effects?"])
    rewrite = _turn(state, pack, "and its interactions?")
    assert "metformin" in rewrite.query and "interactions" in rewrite.query
    assert "side effects" not in rewrite.query


def test_a_clarified_dosing_dialog_in_english() -> None:
    pack = load_pack("medical")
    state = DialogState("medical")
    first = _turn(state, pack, "What apixaban dose is used for atrial fibrillation?")
    assert state.turns[-1].decision == "clarify"
    assert state.turns[-1].answer_text == (
        "To answer about dosing, I need to know the patient age in years. Could you tell me?")

    # The age is a patient fact (use = "none" in the pack): it unlocks the answer and goes
    # into the prompt, but never into the search query (no protocol says "82").
    answer = _turn(state, pack, "82")
    assert state.turns[-1].decision == "answer"
    assert state.slots["age"].value == "82" and state.slots["age"].how == "user"
    assert answer.query == first.query
    assert "answer to the clarifying question" in answer.reason

    other_drug = _turn(state, pack, "and for rivaroxaban?")
    assert other_drug.query == "What rivaroxaban dose is used for atrial fibrillation?"

    corrected = _turn(state, pack, "no, she is 78")
    assert corrected.query == other_drug.query
    assert state.slots["age"].value == "78" and "correction" in corrected.reason

    side_effects = _turn(state, pack, "what about its side effects?")
    assert side_effects.query.startswith("rivaroxaban side effects")

    _turn(state, pack, "forget the age")
    assert "age" not in state.slots
    assert "78" not in state.turns[-1].query
    _turn(state, pack, "What dose of rivaroxaban is used in renal impairment?")
    assert state.turns[-1].decision == "clarify"


def test_a_clarified_dosing_dialog_in_chinese() -> None:
    pack = load_pack("medical")
    state = DialogState("medical")
    _turn(state, pack, "房颤患者的抗凝药剂量是多少？")
    assert state.turns[-1].answer_text == (
        "要回答用药剂量的问题，我还需要知道：患者年龄（岁）。能告诉我吗？")
    answer = _turn(state, pack, "75岁")
    assert state.turns[-1].decision == "answer"
    assert answer.query == "房颤患者的抗凝药剂量是多少？"  # age: a patient fact, not a term
    corrected = _turn(state, pack, "不是，是65岁")
    assert corrected.query == answer.query
    assert state.slots["age"].value == "65" and state.slots["age"].how == "user"
    usage = _turn(state, pack, "给药时间呢？")
    assert "给药时间" in usage.query and "抗凝" in usage.query
    _turn(state, pack, "不考虑年龄")
    assert "65" not in state.turns[-1].query
    _turn(state, pack, "剂量呢？")
    assert state.turns[-1].decision == "clarify"


def test_a_correction_rewrites_the_last_query_even_without_the_update() -> None:
    state, pack = _replay("finance", ["What was Northbridge's CET1 ratio in 2023?"])
    update_slots(state, "actually 2022", pack.slots)
    rewrite = rewrite_query("actually 2022", state, pack)
    assert rewrite.query == "What was Northbridge's CET1 ratio in 2022?"
    assert rewrite.reason == (
        "follow-up (correction): turn 1's query with fiscal_period '2023' -> '2022'")


def test_a_clear_command_followed_by_a_new_question_retrieves_the_question() -> None:
    state, pack = _replay("medical", ["What apixaban dose is used for an 80 year old?"])
    rewrite = _turn(state, pack, "Forget the age. How long should warfarin be stopped before "
                                 "a planned procedure?")
    assert rewrite.query == "How long should warfarin be stopped before a planned procedure?"
    assert "age" not in state.slots


def test_rewriting_reads_the_state_and_never_changes_it() -> None:
    state, pack = _replay("finance", ["What was Northbridge's profit before tax in 2022?"])
    update_slots(state, "and in 2023?", pack.slots)
    before = state.snapshot()
    rewrite_query("and in 2023?", state, pack)
    assert state.snapshot() == before


def test_recent_slot_values_join_a_standalone_question_only_when_asked_to() -> None:
    state, pack = _replay("medical", ["A 72-year-old on warfarin with atrial fibrillation."])
    question = "What INR range should the clinic aim for?"
    update_slots(state, question, pack.slots)
    assert rewrite_query(question, state, pack).query == question
    opted = rewrite_query(question, state, pack, carry_recent_turns=2)
    assert opted.query == "What INR range should the clinic aim for atrial fibrillation warfarin"
    assert opted.used_slots == ["conditions", "medications"]  # age: use = "none"
    assert not opted.follow_up


def test_slot_filters_turn_filter_slots_into_document_tags() -> None:
    medical = load_pack("medical")
    state, _ = _replay("medical", ["A 72-year-old on warfarin"])
    assert slot_filters(state, medical) == Filters()
    ward = SlotConfig(name="ward", description="hospital ward", use="filter",
                      values=["ICU", "maternity", "paediatrics"], patterns=[r"\b({values})\b"])
    pack = medical.model_copy(update={"slots": [*medical.slots, ward]})
    state = DialogState("medical")
    update_slots(state, "visiting rules on the icu?", pack.slots)
    filters = slot_filters(state, pack)
    assert filters.tags == frozenset({"ICU"}) and filters.active
    assert "ICU" not in rewrite_query("and in maternity?", state, pack).used_slots


def test_the_nouns_that_refer_back_are_the_packs_own() -> None:
    state, pack = _replay("medical", ["Is metformin first-line for diabetes?"])
    question = "what are the drug's side effects?"
    update = update_slots(state, question, pack.slots)
    rewrite = rewrite_query(question, state, pack, update=update)
    assert rewrite.query.startswith("what are metformin's side effects")
    assert "replaced 'the drug' with 'metformin'" in rewrite.reason

    # Without "drug" among the medications slot's entity_nouns it is an ordinary word.
    slots = [s.model_copy(update={"entity_nouns": []}) for s in pack.slots]
    plain = pack.model_copy(update={"slots": slots})
    assert "metformin" not in rewrite_query(question, state, plain, update=update).query
