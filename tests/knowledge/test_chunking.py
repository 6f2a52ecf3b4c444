"""Chunking and sentence splitting: what a reader of a citation would notice if it went wrong."""

from __future__ import annotations

import itertools
import random

import pytest

from domains.pack import ChunkingConfig
from knowledge.chunking import chunk_document, render_markdown_table
from knowledge.text.sentences import count_tokens, split_sentences
from knowledge.types import Block, ChunkDraft, ParsedDocument


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def doc_of(*blocks: Block) -> ParsedDocument:
    return ParsedDocument(name="t.md", mime="text/markdown", blocks=list(blocks))


def h(text: str, level: int = 1) -> Block:
    return Block("heading", text, level=level)


def p(text: str, page: int | None = None) -> Block:
    return Block("paragraph", text, page=page)


def table(rows: list[tuple[str, ...]], page: int | None = None) -> Block:
    return Block("table", render_markdown_table(rows), page=page, rows=tuple(rows))


# --- sentences -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Dr. Smith saw the patient. She was well.",
            ["Dr. Smith saw the patient.", "She was well."],
        ),
        (
            "Give approx. 5 mg, e.g. at night. Then stop.",
            ["Give approx. 5 mg, e.g. at night.", "Then stop."],
        ),
        ("Use i.e. the lower dose. Done!", ["Use i.e. the lower dose.", "Done!"]),
        (
            "See No. 5 and Fig. 3 today. The answer is no. Next?",
            ["See No. 5 and Fig. 3 today.", "The answer is no.", "Next?"],
        ),
        ("Target INR 2.5 for now. Recheck.", ["Target INR 2.5 for now.", "Recheck."]),
        (
            "Apply section 3.2 first. Then 3.2.1 applies.",
            ["Apply section 3.2 first.", "Then 3.2.1 applies."],
        ),
        ("Read section 3.2. It is short.", ["Read section 3.2.", "It is short."]),
        ('He said "stop." Then he left.', ['He said "stop."', "Then he left."]),
        (
            "Acme Inc. reported gains. Why? Costs fell!",
            ["Acme Inc. reported gains.", "Why?", "Costs fell!"],
        ),
        ("1. Scope\n2. Definitions apply here.", ["1. Scope", "2. Definitions apply here."]),
        ("Para one\n\nPara two", ["Para one", "Para two"]),
        ("Hepatitis B. Patients need care.", ["Hepatitis B.", "Patients need care."]),
    ],
)
def test_english_sentences_respect_abbreviations_and_numbers(
    text: str, expected: list[str]
) -> None:
    assert sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "患者应每日服药。复查INR值！是否调整？",
            ["患者应每日服药。", "复查INR值！", "是否调整？"],
        ),
        ("第一条；第二条。", ["第一条；", "第二条。"]),
        ("中文问题?中文回答!好;结束", ["中文问题?", "中文回答!", "好;", "结束"]),
        ("他说：“今天休息。”明天上班。", ["他说：“今天休息。”", "明天上班。"]),
        ("剂量为2.5毫克。每日一次。", ["剂量为2.5毫克。", "每日一次。"]),
        (
            "资本充足率为14.2%。CET1 ratio is 14.2%. 符合要求。",
            ["资本充足率为14.2%。", "CET1 ratio is 14.2%.", "符合要求。"],
        ),
        ("事项如下：\n（一）第一项\n（二）第二项", ["事项如下：", "（一）第一项", "（二）第二项"]),
    ],
)
def test_chinese_and_mixed_sentences(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_sentence_spans_cover_all_text_without_overlap() -> None:
    text = "  First one.  Second, e.g. this!\n\n第三句。 Last words  "
    spans = split_sentences(text)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    covered = "".join(text[s:e] for s, e in spans)
    assert covered.replace(" ", "") == "".join(text.split())


def test_sentence_split_of_empty_text() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\n ") == []


def test_count_tokens_counts_cjk_characters_and_latin_words() -> None:
    assert count_tokens("") == 0
    assert count_tokens("The dose is 2.5 mg.") == 6  # The, dose, is, 2, 5, mg
    assert count_tokens("每日服药") == 4
    assert count_tokens("CET1比率14.2%") == 5  # CET1, 比, 率, 14, 2
    assert count_tokens("— , . ； 。") == 0


# --- chunking: structure ---------------------------------------------------------------------

CFG = ChunkingConfig(chunk_size=64, chunk_overlap=16, table_max_rows=10)


def test_heading_paths_follow_levels_and_headings_are_not_in_text() -> None:
    doc = doc_of(
        p("Preamble text."),
        h("Guide"),
        p("Intro."),
        h("Dosing", 2),
        p("Dose text."),
        h("Children", 3),
        p("Child text."),
        h("Monitoring", 2),
        p("Monitor text."),
        h("Appendix"),
        p("Appendix text."),
    )
    chunks = chunk_document(doc, CFG)
    assert [(c.heading_path, c.text) for c in chunks] == [
        ((), "Preamble text."),
        (("Guide",), "Intro."),
        (("Guide", "Dosing"), "Dose text."),
        (("Guide", "Dosing", "Children"), "Child text."),
        (("Guide", "Monitoring"), "Monitor text."),
        (("Appendix",), "Appendix text."),
    ]


def test_sections_starting_below_level_one_are_siblings_not_nested() -> None:
    """Many exported documents have no ``#`` title: their ``##`` sections are siblings."""
    doc = doc_of(h("Scope", 2), p("Scope text."), h("Dosing", 2), p("Dose text."),
                 h("Children", 4), p("Child text."), h("Monitoring", 3), p("Monitor text."))
    chunks = chunk_document(doc, CFG)
    assert [c.heading_path for c in chunks] == [
        ("Scope",), ("Dosing",), ("Dosing", "Children"), ("Dosing", "Monitoring")]


def test_small_paragraphs_pack_together_but_never_across_sections() -> None:
    doc = doc_of(h("A"), p("One."), p("Two."), p("Three."), h("B"), p("Four."), p("Five."))
    chunks = chunk_document(doc, CFG)
    assert [c.text for c in chunks] == ["One.\n\nTwo.\n\nThree.", "Four.\n\nFive."]
    assert [c.heading_path for c in chunks] == [("A",), ("B",)]


def test_chinese_document_chunks_within_size_with_overlap() -> None:
    text = "".join(f"第{i}条：患者应定期复查。" for i in range(40))
    doc = doc_of(h("总则"), p(text, page=2))
    chunks = chunk_document(doc, CFG)
    assert len(chunks) > 3
    assert all(count_tokens(c.text) <= CFG.chunk_size for c in chunks)
    assert all(c.heading_path == ("总则",) and c.page == 2 for c in chunks)
    for first, second in itertools.pairwise(chunks):
        assert second.start < first.end, "adjacent pieces of one paragraph should overlap"
        shared = doc.text[second.start : first.end]
        assert shared.endswith("。") and count_tokens(shared) <= CFG.chunk_overlap


def test_long_english_paragraph_overlaps_by_whole_sentences() -> None:
    text = " ".join(f"Sentence {i} notes that warfarin dose {i} needs review." for i in range(30))
    chunks = chunk_document(doc_of(p(text)), CFG)
    assert len(chunks) > 3
    for first, second in itertools.pairwise(chunks):
        assert second.text.startswith("Sentence ") and first.text.endswith("review.")
        assert 0 < count_tokens(doc_of(p(text)).text[second.start : first.end]) <= 16


def test_sentence_longer_than_chunk_is_hard_split_by_tokens() -> None:
    words = " ".join(f"w{i}" for i in range(300))
    chunks = chunk_document(doc_of(p(words + ".")), CFG)
    assert len(chunks) >= 5
    assert all(count_tokens(c.text) <= CFG.chunk_size for c in chunks)
    assert chunks[0].text.startswith("w0 ") and chunks[-1].text.endswith("w299.")


def test_zero_overlap_gives_disjoint_pieces() -> None:
    text = " ".join(f"Clause {i} applies to all accounts." for i in range(40))
    cfg = ChunkingConfig(chunk_size=40, chunk_overlap=0)
    chunks = chunk_document(doc_of(p(text)), cfg)
    assert all(a.end <= b.start for a, b in itertools.pairwise(chunks))


def test_page_is_that_of_first_block() -> None:
    doc = doc_of(p("On page one.", page=1), p("On page two.", page=2))
    (chunk,) = chunk_document(doc, CFG)
    assert chunk.page == 1 and chunk.kind == "paragraph"


def test_blank_blocks_are_skipped_and_output_is_deterministic() -> None:
    doc = doc_of(p("   "), h("  "), p("Real text."), p("\n\n"))
    first = chunk_document(doc, CFG)
    assert [c.text for c in first] == ["Real text."]
    assert first == chunk_document(doc, CFG)
    assert chunk_document(doc_of(), CFG) == []


# --- chunking: tables ------------------------------------------------------------------------

HEADER = ("Drug", "Dose", "Route")


def test_small_table_is_one_whole_chunk_apart_from_paragraphs() -> None:
    rows = [HEADER, ("Warfarin", "5 mg", "oral"), ("Heparin", "5000 units", "IV")]
    doc = doc_of(h("Drugs"), p("Before."), table(rows, page=4), p("After."))
    chunks = chunk_document(doc, CFG)
    assert [c.kind for c in chunks] == ["paragraph", "table", "paragraph"]
    tab = chunks[1]
    assert tab.text == render_markdown_table(rows) == doc.text[tab.start : tab.end]
    assert tab.page == 4 and tab.heading_path == ("Drugs",)


@pytest.mark.parametrize(
    ("above", "caption"),
    [
        ("Doses are reviewed yearly. Table 4. Doses by route", "Table 4. Doses by route"),
        ("表2：常用药物剂量", "表2：常用药物剂量"),
        ("Table 4 gives the usual adult doses.", None),  # a sentence about it, not a title
        ("Tables are reviewed yearly", None),
    ],
)
def test_a_table_caption_ends_the_heading_path_of_its_pieces(above: str,
                                                             caption: str | None) -> None:
    rows = [HEADER, *((f"drug{i}", f"{i} mg", "oral") for i in range(40))]
    chunks = chunk_document(doc_of(h("Drugs"), p(above), table(rows)), CFG)
    pieces = [c for c in chunks if c.kind == "table"]
    assert len(pieces) > 1
    expected = ("Drugs", caption) if caption else ("Drugs",)
    assert all(c.heading_path == expected for c in pieces)
    assert chunks[0].kind == "paragraph" and chunks[0].heading_path == ("Drugs",)


def test_large_table_splits_by_rows_with_header_in_every_piece() -> None:
    rows = [HEADER, *((f"drug{i}", f"{i} mg", "oral") for i in range(40))]
    block = table(rows)
    doc = doc_of(h("Formulary"), block)
    chunks = chunk_document(doc, CFG)
    assert len(chunks) >= 4 and all(c.kind == "table" for c in chunks)
    header_lines = render_markdown_table([HEADER]).split("\n")
    seen: list[str] = []
    for c in chunks:
        lines = c.text.split("\n")
        assert lines[:2] == header_lines
        assert 1 <= len(lines) - 2 <= CFG.table_max_rows
        assert count_tokens(c.text) <= CFG.chunk_size
        assert doc.text[c.start : c.end] == block.text  # cites the whole source table
        seen.extend(lines[2:])
    assert seen == render_markdown_table(rows).split("\n")[2:]  # every row once, in order


def test_table_over_row_limit_splits_even_when_small() -> None:
    rows = [("k", "v"), *((str(i), str(i)) for i in range(12))]
    chunks = chunk_document(doc_of(table(rows)), ChunkingConfig(chunk_size=500, table_max_rows=5))
    assert [len(c.text.split("\n")) - 2 for c in chunks] == [5, 5, 2]


def test_table_without_rows_splits_its_markdown_lines() -> None:
    lines = ["| a | b |", "|---|---|", *(f"| {i} | x{i} |" for i in range(30))]
    block = Block("table", "\n".join(lines))
    chunks = chunk_document(doc_of(block), ChunkingConfig(chunk_size=40, table_max_rows=50))
    assert len(chunks) > 1
    assert all(c.text.split("\n")[:2] == lines[:2] for c in chunks)


def test_cells_with_pipes_and_newlines_render_as_one_row() -> None:
    rendered = render_markdown_table([("a", "b"), ("x|y", "line\nbreak")])
    assert rendered.split("\n")[2] == "| x\\|y | line break |"


# --- property: spans, sizes and sections over generated documents ----------------------------

EN_WORDS = [
    "the",
    "dose",
    "of",
    "warfarin",
    "is",
    "approx.",
    "2.5",
    "mg",
    "e.g.",
    "daily",
    "per",
    "Dr.",
    "Lee",
    "see",
    "No.",
    "4",
    "capital",
    "CET1",
]
ZH_TEXT = "患者应当定期复查国际标准化比值并记录结果银行资本充足率须符合监管要求"


def _sentence(rng: random.Random) -> str:
    if rng.random() < 0.5:
        words = [rng.choice(EN_WORDS) for _ in range(rng.randint(1, 30))]
        return " ".join(words) + rng.choice([".", "!", "?", ". "])
    n = rng.randint(1, 60)
    start = rng.randrange(len(ZH_TEXT))
    body = (ZH_TEXT * 3)[start : start + n]
    return body + rng.choice(["。", "！", "；", "?", ""])


def _random_doc(rng: random.Random) -> ParsedDocument:
    blocks: list[Block] = []
    for _ in range(rng.randint(0, 25)):
        roll = rng.random()
        page = rng.choice([None, rng.randint(1, 9)])
        if roll < 0.15:
            blocks.append(
                Block("heading", f"Section {rng.randint(1, 99)}", level=rng.randint(1, 4))
            )
        elif roll < 0.25:
            width = rng.randint(1, 4)
            rows = [tuple(f"c{i}" for i in range(width))]
            rows += [
                tuple(rng.choice([*EN_WORDS, ZH_TEXT[:5]]) for _ in range(width))
                for _ in range(rng.randint(0, 40))
            ]
            blocks.append(table(rows, page=page))
        elif roll < 0.3:
            blocks.append(p(rng.choice(["", "  ", "\n"])))
        else:
            sep = rng.choice([" ", "", "\n"])
            text = sep.join(_sentence(rng) for _ in range(rng.randint(1, 40)))
            blocks.append(Block(rng.choice(["paragraph", "list", "code"]), text, page=page))
    return doc_of(*blocks)


def _expected_paths(doc: ParsedDocument) -> list[tuple[int, int, tuple[str, ...]]]:
    """(start, end, heading path) of every content block, computed independently."""
    out, position = [], 0
    path: tuple[str, ...] = ()
    stack: list[tuple[int, str]] = []  # (level, text) of the open headings
    for b in doc.blocks:
        if b.kind == "heading":
            stack = [(lv, t) for lv, t in stack if lv < max(1, b.level)] + [(b.level, b.text)]
            path = tuple(t for _, t in stack)
        elif b.text.strip():
            out.append((position, position + len(b.text), path))
        position += len(b.text) + 2
    return out


def _check(doc: ParsedDocument, cfg: ChunkingConfig, chunks: list[ChunkDraft]) -> None:
    text = doc.text
    blocks = _expected_paths(doc)
    covered = [False] * len(text)
    for c in chunks:
        owners = [(s, e, path) for s, e, path in blocks if s < c.end and c.start < e]
        assert owners, "chunk outside any content block"
        assert {path for *_, path in owners} == {c.heading_path}, "chunk crosses a section"
        if c.kind == "table":
            assert len(owners) == 1
            assert text[c.start : c.end] == text[owners[0][0] : owners[0][1]].strip()
        else:
            assert text[c.start : c.end] == c.text
            assert count_tokens(c.text) <= cfg.chunk_size
        for i in range(c.start, c.end):
            covered[i] = True
    for s, e, _ in blocks:
        missing = [text[i] for i in range(s, e) if not covered[i] and not text[i].isspace()]
        assert not missing, f"content dropped: {''.join(missing)[:40]!r}"
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)


@pytest.mark.parametrize("seed", range(150))
def test_span_invariant_on_generated_documents(seed: int) -> None:
    rng = random.Random(seed)
    doc = _random_doc(rng)
    size = rng.choice([32, 48, 64, 100, 220])
    cfg = ChunkingConfig(
        chunk_size=size,
        chunk_overlap=rng.choice([0, 5, size // 4, size // 2, size - 1]),
        table_max_rows=rng.choice([2, 5, 25]),
    )
    chunks = chunk_document(doc, cfg)
    _check(doc, cfg, chunks)
    assert chunks == chunk_document(doc, cfg)
