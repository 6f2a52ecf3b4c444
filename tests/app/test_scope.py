"""Scope: a question about children, 2021 or Delaware is never answered silently with a rule
that holds for adults, 2023 or English law.

The pure tests read the bundled packs' ``[[scopes]]`` (the words are the pack's, so a pack
edit that breaks them fails here); the dialog tests run the real manager on the indexed
sample packs (extractive, no generator) and check what a user sees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from app.dialog.scope import (
    ChunkLoader,
    Documents,
    Mention,
    apply_scopes,
    asked,
    in_scope,
    lost_evidence,
    mention,
    named_values,
    refusal,
    statement_units,
)
from app.dialog.state import DialogState, SlotValue
from app.services import Runtime
from domains.pack import Pack, load_pack, load_pack_file
from domains.scopes import ScopeConfig
from knowledge.retrieval import RetrievalResult
from knowledge.store.repository import ChunkSource
from knowledge.types import Passage
from verirag.errors import PackError


@pytest.fixture(scope="module")
def medical() -> Pack:
    return load_pack("medical")


def _scope(pack_name: str) -> ScopeConfig:
    return load_pack(pack_name).scopes[0]


# --- values named in a text -------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("and for children?", {"child"}),
    ("What about a paediatric patient?", {"child"}),
    ("neonates on the ward", {"child"}),
    ("Adults aged 18 and over in the Emergency Department", {"adult"}),
    ("新生儿黄疸达到什么胆红素水平需要光疗？", {"child"}),
    ("本制度适用于全院成人住院患者。", {"adult"}),
    ("What is the sepsis bundle?", set()),
    ("unknown reaction in childhood", set()),
])
def test_population_values_are_read_in_english_and_chinese(text: str, expected: set[str]) -> None:
    assert named_values(_scope("medical"), text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("What was profit before tax in 2021?", {"2021"}),
    ("operating income of £1,642 million (2022: £1,489 million)", {"2022"}),
    ("FY2023 results", {"2023"}),
    ("华信商业银行2023年实现净利润多少？", {"2023"}),
    ("the Money Laundering, Terrorist Financing and Transfer of Funds Regulations 2017", set()),
    ("Approved by Board Risk Committee, 14 March 2024 Next review March 2025", set()),
    ("本办法自2024年1月1日起施行。", set()),
    ("文件编号：HX-HG-2023-017", set()),
    ("a 12-month period of significant financial stress (currently the 2008-09 period)", set()),
])
def test_a_period_is_a_year_read_from_the_text_not_a_law_or_an_approval_date(
        text: str, expected: set[str]) -> None:
    assert named_values(_scope("finance"), text) == expected


def test_jurisdictions_are_read_and_distinguished() -> None:
    scope = _scope("legal")
    assert named_values(scope, "governed by the law of England and Wales") == {"uk"}
    assert named_values(scope, "Can we enforce the NDA in Delaware?") == {"delaware"}
    assert named_values(scope, "提交中国国际经济贸易仲裁委员会") == {"prc"}


# --- covered or left out ----------------------------------------------------------------------


def test_a_clause_that_leaves_a_group_out_excludes_it_rather_than_covering_it() -> None:
    scope = _scope("medical")
    sepsis = ("| Applies to | Adults aged 18 and over in the Emergency Department and all "
              "inpatient wards (excluding maternity, which uses the Maternal Sepsis Pathway) |")
    assert mention(scope, sepsis) == Mention(frozenset({"adult"}))
    discharge = ("The policy applies to all adult inpatient wards. Maternity, paediatric and "
                 "mental health discharges follow their own policies.")
    assert mention(scope, discharge) == Mention(frozenset({"adult"}), frozenset({"child"}))
    falls = ("本制度适用于全院成人住院患者。儿科患者采用 Humpty Dumpty 跌倒评估量表，"
             "另按《儿科住院患者跌倒预防规范》执行。")
    assert mention(scope, falls) == Mention(frozenset({"adult"}), frozenset({"child"}))
    anticoagulation = "It does not cover children, anticoagulation in pregnancy."
    assert mention(scope, anticoagulation).excluded == {"child"}


@pytest.mark.parametrize(("wanted", "own", "document", "expected"), [
    ({"child"}, Mention(), Mention(frozenset({"adult"})), False),  # the bundle's steps
    ({"adult"}, Mention(), Mention(frozenset({"adult"})), True),
    ({"child"}, Mention(), Mention(), True),  # a general passage is kept
    ({"child"}, Mention(frozenset({"child"})), Mention(frozenset({"adult"})), True),
    ({"child"}, Mention(), Mention(frozenset({"adult"}), frozenset({"child"})), False),
    ({"child"}, Mention(), Mention(excluded=frozenset({"child"})), False),
    ({"adult"}, Mention(), Mention(excluded=frozenset({"child"})), True),
    ({"adult", "child"}, Mention(), Mention(frozenset({"adult"})), True),
])
def test_a_passage_is_out_of_scope_only_when_its_document_excludes_or_does_not_cover_it(
        wanted: set[str], own: Mention, document: Mention, expected: bool) -> None:
    assert in_scope(frozenset(wanted), own, document) is expected


def _chunk(cid: int, text: str, *path: str, name: str = "doc.md") -> ChunkSource:
    return ChunkSource(cid, name, text, tuple(path), None)


def test_a_documents_statement_is_its_title_scope_section_and_cue_sentences() -> None:
    chunks = [
        _chunk(1, "| Owner | Deteriorating Patient Group |\n| Applies to | Adults aged 18 and "
                  "over |", "Sepsis Bundle"),
        _chunk(2, "This guideline sets out how patients are screened.", "Sepsis Bundle",
               "1. Purpose"),
        _chunk(3, "Give oxygen. Take two sets of blood cultures.", "Sepsis Bundle", "4. Bundle"),
        _chunk(4, "Infants follow another pathway.", "Sepsis Bundle", "2. Scope"),
    ]
    units = statement_units(chunks)
    assert "Sepsis Bundle" in units and "doc md" in units
    assert "| Applies to | Adults aged 18 and over |" in units
    assert "Infants follow another pathway." in units  # the whole scope section
    assert not any("blood cultures" in u or "screened" in u for u in units)
    assert statement_units([]) == []


# --- asked --------------------------------------------------------------------------------------


def test_the_message_names_the_scope_before_the_query_and_the_state(medical: Pack) -> None:
    scope = medical.scopes[0]
    state = DialogState("medical", slots={"age": SlotValue("45", 1)})
    found = asked(scope, ["and for children?", "What is the sepsis bundle children"], state)
    assert found is not None and found.values == {"child"} and found.source == "question"
    from_query = asked(scope, ["what about the antibiotics?", "antibiotics children sepsis"],
                       state)
    assert from_query is not None and from_query.source == "query"


def test_the_state_carries_the_group_and_an_age_implies_one(medical: Pack) -> None:
    scope = medical.scopes[0]
    assert asked(scope, ["What is the sepsis bundle?"], DialogState("medical")) is None
    child = asked(scope, ["and the antibiotics?"],
                  DialogState("medical", slots={"age": SlotValue("12", 1)}))
    assert child is not None and child.values == {"child"} and child.source == "slot age"
    adult = asked(scope, ["and the antibiotics?"],
                  DialogState("medical", slots={"age": SlotValue("82", 1)}))
    assert adult is not None and adult.values == {"adult"}
    # The newest statement wins: "children" said after an adult's age.
    later = DialogState("medical", slots={"age": SlotValue("45", 1),
                                          "population": SlotValue("children", 3)})
    newest = asked(scope, ["and the antibiotics?"], later)
    assert newest is not None and newest.values == {"child"}


def test_a_finance_year_is_not_carried_by_the_slot() -> None:
    """A policy question after a figure question is not about that year."""
    scope = _scope("finance")
    state = DialogState("finance", slots={"fiscal_period": SlotValue("2023", 1)})
    assert asked(scope, ["What is the single-name concentration limit?"], state) is None


# --- filtering and the refusal ------------------------------------------------------------------


def _passage(cid: int, doc_id: int, text: str, *path: str, name: str = "doc.md") -> Passage:
    return Passage(cid, doc_id, name, text, tuple(path), None, 0.5)


def _loader(docs: Mapping[int, Sequence[ChunkSource]]) -> ChunkLoader:
    def load(ids: Sequence[int]) -> dict[int, list[ChunkSource]]:
        return {i: list(docs[i]) for i in ids if i in docs}
    return load


def test_out_of_scope_passages_are_removed_and_the_refusal_names_what_is_covered(
        medical: Pack) -> None:
    sepsis = [_chunk(10, "| Applies to | Adults aged 18 and over |", "Sepsis Bundle",
                     name="sepsis.md"),
              _chunk(11, "Give antibiotics within 1 hour.", "Sepsis Bundle", "4. Bundle",
                     name="sepsis.md")]
    hygiene = [_chunk(20, "Rub hands for 20 to 30 seconds.", "Hand hygiene", name="hh.md")]
    documents = Documents.for_pack(_loader({1: sepsis, 2: hygiene}), medical)
    found = RetrievalResult("sepsis bundle children", [
        _passage(11, 1, "Give antibiotics within 1 hour.", "Sepsis Bundle", "4. Bundle",
                 name="sepsis.md"),
        _passage(20, 2, "Rub hands for 20 to 30 seconds.", "Hand hygiene", name="hh.md")],
        dense={11: 0.7, 20: 0.1}, lexical={11: 0.7, 20: 0.0})
    outcome = apply_scopes(found, medical, ["and for children?", "sepsis bundle children"],
                           DialogState("medical"), documents)
    assert [p.chunk_id for p in outcome.removed] == [11]
    assert [p.chunk_id for p in outcome.found.passages] == [20]
    assert lost_evidence(found, outcome, medical.retrieval, "en")
    assert refusal(outcome, "en") == ("The documents found cover adults (aged 18 and over) "
                                      "only; they do not say for children (under 18).")
    assert refusal(outcome, "zh") == ("检索到的文件只适用于成人（18岁及以上），"
                                      "没有关于儿童（18岁以下）的规定。")
    adults = apply_scopes(found, medical, ["and for adults?", "sepsis bundle adults"],
                          DialogState("medical"), documents)
    assert not adults.removed and not lost_evidence(found, adults, medical.retrieval, "en")


def test_an_unknown_name_that_is_the_asked_value_is_the_scope_gap() -> None:
    legal = load_pack("legal")
    nda = [_chunk(5, "This agreement shall be governed by the law of England and Wales.",
                  "Mutual NDA", "11. Governing law", name="nda.pdf"),
           _chunk(6, "The Recipient shall return information within 10 Business Days.",
                  "Mutual NDA", "6. Return", name="nda.pdf")]
    documents = Documents.for_pack(_loader({1: nda}), legal)
    found = RetrievalResult("enforce the NDA in Delaware", [
        _passage(6, 1, nda[1].text, "Mutual NDA", "6. Return", name="nda.pdf")],
        dense={6: 0.6}, lexical={6: 0.6}, unknown_terms=["Delaware"])
    outcome = apply_scopes(found, legal, ["Can we enforce the NDA in Delaware?"],
                           DialogState("legal"), documents)
    assert outcome.removed and lost_evidence(found, outcome, legal.retrieval, "en")
    assert "cover England and Wales (UK) only" in refusal(outcome, "en")
    other = RetrievalResult(found.query, found.passages, found.dense, found.lexical,
                            unknown_terms=["Manchester"])
    assert not lost_evidence(other, outcome, legal.retrieval, "en")


def test_a_scope_reading_an_undeclared_slot_or_a_capture_without_group_fails_at_load(
        tmp_path: Path) -> None:
    base = ('name = "x"\ntitle = "X"\nlanguages = ["en"]\nsystem_prompt = "Answer from the '
            'documents."\nrefusal_message = "Not said."\n')
    bad_slot = tmp_path / "a" / "pack.toml"
    bad_slot.parent.mkdir()
    bad_slot.write_text(base + '[[scopes]]\nname = "period"\ndescription = "period"\n'
                        'slots = ["year"]\ncapture = [\'(20\\d\\d)\']\n', encoding="utf-8")
    with pytest.raises(PackError, match="reads slot 'year'"):
        load_pack_file(bad_slot)
    no_group = tmp_path / "b" / "pack.toml"
    no_group.parent.mkdir()
    no_group.write_text(base + '[[scopes]]\nname = "period"\ndescription = "period"\n'
                        'capture = [\'20\\d\\d\']\n', encoding="utf-8")
    with pytest.raises(PackError, match="no group"):
        load_pack_file(no_group)
    bad_regex = tmp_path / "c" / "pack.toml"
    bad_regex.parent.mkdir()
    bad_regex.write_text(base + '[[scopes]]\nname = "population"\ndescription = "group"\n'
                         '[[scopes.values]]\nname = "adult"\nlabel = "adults"\n'
                         'patterns = [\'(adults\']\n', encoding="utf-8")
    with pytest.raises(PackError, match="not a valid regex"):
        load_pack_file(bad_regex)


# --- whole conversations on the sample packs -----------------------------------------------------


def test_and_for_children_after_the_adult_sepsis_bundle_says_so_instead_of_answering(
        runtime: Runtime) -> None:
    dm = runtime.dialog("medical", with_generator=False)
    sid = dm.start()
    first = dm.turn(sid, "What is the sepsis bundle?")
    assert first.answer.decision == "answer"
    assert {p.doc_name for _, p in first.answer.cited_passages()} == {"sepsis-bundle.md"}

    children = dm.turn(sid, "and for children?")
    assert children.answer.decision == "refuse" and not children.answer.cited
    assert children.answer.text == ("The documents found cover adults (aged 18 and over) only; "
                                     "they do not say for children (under 18).")
    assert "scope: patient group = children (under 18)" in children.rewrite.reason

    # The conversation keeps the children's scope for the next follow-up.
    antibiotics = dm.turn(sid, "what about the antibiotics?")
    assert antibiotics.answer.decision == "refuse" and not antibiotics.answer.cited
    assert "children" in antibiotics.answer.text

    adults = dm.turn(sid, "And for adults?")
    assert adults.answer.decision == "answer"
    assert {p.doc_name for _, p in adults.answer.cited_passages()} == {"sepsis-bundle.md"}


def test_a_childs_age_in_the_state_keeps_adult_protocols_out(runtime: Runtime) -> None:
    dm = runtime.dialog("medical", with_generator=False)
    sid = dm.start()
    dm.turn(sid, "The patient is 9 years old.")
    bundle = dm.turn(sid, "What is the one-hour sepsis bundle?")
    assert bundle.answer.decision == "refuse" and not bundle.answer.cited
    assert "slot age" in bundle.rewrite.reason


def test_a_year_the_reports_do_not_cover_is_refused_naming_the_years_they_do(
        runtime: Runtime) -> None:
    dm = runtime.dialog("finance", with_generator=False)
    sid = dm.start()
    old = dm.turn(sid, "What was Northbridge Bank's profit before tax in 2021?")
    assert old.answer.decision == "refuse"
    assert old.answer.text == ("The documents found cover 2022 and 2023 only; they do not say "
                               "for 2021.")
    covered = dm.turn(sid, "And in 2022?")
    assert covered.answer.decision == "answer"
    assert "annual-report-2023.html" in {p.doc_name for _, p in covered.answer.cited_passages()}
    policy = dm.turn(sid, "What is the single-name concentration limit?")
    assert "10%" in policy.answer.text


def test_a_jurisdiction_the_contract_is_not_governed_by_is_named(runtime: Runtime) -> None:
    dm = runtime.dialog("legal", with_generator=False)
    sid = dm.start()
    result = dm.turn(sid, "Can we enforce the mutual NDA in Delaware?")
    assert result.answer.decision == "refuse" and not result.answer.cited
    assert result.answer.text.startswith("The documents found cover England and Wales (UK)")
