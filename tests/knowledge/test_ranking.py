"""How retrieval ranks: one passage per page or section, fusion that can follow one retriever,
and what of a file name is embedded."""

from __future__ import annotations

from app.services import Runtime
from knowledge.ingest import Ingestor, TextDoc
from knowledge.kb import embedding_text, title_from_name
from knowledge.retrieval import Retriever

# One long section that mentions potassium in every paragraph, and short other documents.
# A made-up drug, so the bundled sample documents never compete.
LONG = "\n\n".join(
    f"Velmorastat note {i}: velmorastat is given on general wards at the rate the protocol "
    f"sets, and the velmorastat level is rechecked after each dose {i}."
    for i in range(12))
SHORT = {
    "icu-velmorastat": "In intensive care, concentrated velmorastat may be given through a "
                       "central line at up to 40 mg per hour with cardiac monitoring.",
    "renal-velmorastat": "Patients with renal failure receive velmorastat only after the renal "
                         "team has reviewed the velmorastat level.",
    "visiting": "Visiting hours on general wards are 14:00 to 20:00 every day.",
}


def _ingest(rt: Runtime) -> Retriever:
    kb = rt.resources.kb("medical")
    docs = [TextDoc("velmorastat-protocol", LONG, "Velmorastat protocol"),
            *(TextDoc(name, text, name.replace("-", " ")) for name, text in SHORT.items())]
    Ingestor(kb, max_bytes=10**6).ingest_texts(docs)
    return Retriever(kb)


def test_a_long_section_is_listed_once_so_other_documents_are_found(
        fresh_runtime: Runtime) -> None:
    retriever = _ingest(fresh_runtime)
    query = "How is velmorastat given?"
    per_section = retriever.search(query, k=4).passages
    names = [p.doc_name for p in per_section]
    assert names.count("velmorastat-protocol") == 1
    assert {"icu-velmorastat", "renal-velmorastat"} <= set(names)
    per_chunk = Retriever(retriever.kb, retriever.cfg.model_copy(update={"group_by": "chunk"}))
    chunk_names = [p.doc_name for p in per_chunk.search(query, k=4).passages]
    assert chunk_names.count("velmorastat-protocol") > 1  # what grouping prevents


def test_score_fusion_with_all_weight_on_one_side_ranks_as_that_retriever(
        fresh_runtime: Runtime) -> None:
    retriever = _ingest(fresh_runtime)
    query = "central line velmorastat rate in intensive care"
    for dense, bm25, mode in ((1.0, 0.0, "dense"), (0.0, 1.0, "bm25")):
        cfg = retriever.cfg.model_copy(update={"dense_weight": dense, "bm25_weight": bm25})
        fused = Retriever(retriever.kb, cfg).search(query, k=4).passages
        alone = retriever.search(query, k=4, mode=mode).passages
        assert [p.chunk_id for p in fused] == [p.chunk_id for p in alone]


def test_opaque_file_names_are_not_embedded_and_descriptive_ones_are() -> None:
    assert title_from_name("52164b70-6973-4844-af6a-76e8f1298d64.txt") == ""
    assert title_from_name("scan_000123.pdf") == "scan"
    assert title_from_name("pmid2224269_s2") == ""
    assert title_from_name("3M_2018_10K.pdf") == "3M 2018 10K"
    assert title_from_name("warfarin-guideline.md") == "warfarin guideline"
    # Said already by the document's own first heading: not repeated.
    assert title_from_name("zorvatinib-protocol.md", ("Zorvatinib protocol",)) == ""
    assert embedding_text("0a1b2c3d4e5f.pdf", ("Dosing",), "Give 5 mg.") == "Dosing\nGive 5 mg."
    assert title_from_name("华信银行2023年报.pdf") == "华信银行2023年报"


def test_a_question_naming_a_year_finds_that_years_report_first(
        fresh_runtime: Runtime) -> None:
    """Two reports say the same sentence; only the title says which year each is about."""
    kb = fresh_runtime.resources.kb("finance")
    body = "The quarnex capital ratio stood at the level set out in note 4 of this report."
    Ingestor(kb, max_bytes=10**6).ingest_texts([
        TextDoc("quarnex-annual-report-a", body, "Quarnex annual report 2022"),
        TextDoc("quarnex-annual-report-b", body + " ", "Quarnex annual report 2023")])
    retriever = Retriever(kb)
    for year in ("2023", "2022"):
        top = retriever.search(f"What was the Quarnex capital ratio in FY{year}?", k=2)
        assert top.passages[0].heading_path[0].endswith(year)
    off = Retriever(kb, retriever.cfg.model_copy(update={"metadata_boost": 0.0}))
    firsts = {off.search(f"What was the Quarnex capital ratio in FY{y}?", k=2)
              .passages[0].doc_name for y in ("2023", "2022")}
    assert len(firsts) == 1  # without the facts, the year asked changes nothing


def test_years_and_titles_are_read_from_name_title_and_first_headings() -> None:
    from knowledge.metadata import document_facts, match, years_in
    from knowledge.types import Block, ParsedDocument

    assert years_in("FY2018 capital expenditure; FY19 guidance; 2023年报; $2,018") == {
        "2018", "2019", "2023"}
    parsed = ParsedDocument("3M_2018_10K.pdf", "application/pdf", [
        Block("heading", "3M Company Form 10-K", page=1, level=1),
        Block("paragraph", "Compared with 2016 and 2017, sales grew.", page=1)])
    facts = document_facts("3M_2018_10K.pdf", parsed)
    assert facts == {"title": "3M Company Form 10-K", "years": ["2018"]}  # not the body's
    assert match(facts, "3M_2018_10K.pdf", {"2018"}, ["3m"]) == 1.0
    assert match(facts, "3M_2018_10K.pdf", {"2019"}, ["3m"]) == 0.5
    assert match({}, "notes.txt", {"2019"}, []) == 0.0


def test_a_word_that_tells_documents_apart_by_name_is_preferred() -> None:
    from knowledge.metadata import title_terms

    names = ["microsoft_2023_10k microsoft 2023 10k", "3m_2022_10k 3m 2022 10k",
             "jpmorgan_2022q2_10q jpmorgan 2022q2 10q"]
    question = "Has Microsoft increased its debt between FY2023 and FY2022?"
    assert title_terms(question, names) == ["microsoft"]
    # A word every candidate's name holds tells nothing apart; a lone candidate needs nothing.
    assert title_terms("What does the 10k say?", [n + " 10k" for n in names]) == []
    assert title_terms(question, names[:1]) == []


def test_a_legal_form_does_not_pick_the_document_but_the_name_glued_to_it_does() -> None:
    """cuad: "iVillage, Inc" preferred IPAYMENT,INC's contract, whose name spells out "inc",
    over IVILLAGEINC's own (recall@10 0.77 -> 0.72)."""
    from knowledge.metadata import file_words, match, title_terms

    files = ["IVILLAGEINC_03_17_1999-EX-10.16-SPONSORSHIP AGREEMENT#c10",
             "IPAYMENT,INC_05_14_2007-EX-10.1-SPONSORSHIP AGREEMENT#c85",
             "LOOKSMARTLTD_07_20_2012-EX-99-SPONSORSHIP AGREEMENT#c1"]
    names = [file_words(f) for f in files]
    question = ('When does the "Sponsorship Agreement" between J. Walter Thompson and '
                "iVillage, Inc expire?")
    terms = title_terms(question, names)
    assert terms == ["ivillage"]  # the contract type is in every name; "inc" names no one
    assert [match({}, f, set(), terms) for f in files] == [1.0, 0.0, 0.0]
    # A dot inside the name ("EX-10.16") is not an extension's: the words after it count.
    assert file_words(files[0]).endswith("sponsorship agreement c10")


def test_a_document_is_asked_whether_it_mentions_a_word_anywhere(
        fresh_runtime: Runtime) -> None:
    """The answer check looks up a question's specific word in the whole cited document."""
    retriever = _ingest(fresh_runtime)
    by_name = {p.doc_name: p.doc_id for p in retriever.search("velmorastat wards", k=4).passages}
    protocol, icu = by_name["velmorastat-protocol"], by_name["icu-velmorastat"]
    assert retriever.documents_mention([icu], ["monitoring"])
    assert not retriever.documents_mention([protocol], ["monitoring"])
    assert retriever.documents_mention([protocol, icu], ["renal", "monitoring"])
    assert not retriever.documents_mention([], ["monitoring"])
