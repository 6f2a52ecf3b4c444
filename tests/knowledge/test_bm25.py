"""BM25 over chunk ids: ranking in English and Chinese, filters, incremental changes that score
exactly like a fresh build, and crash-safe persistence."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path

import bm25s
import numpy as np
import pytest

from knowledge.index import bm25_files
from knowledge.index.bm25 import BM25Index
from knowledge.text.tokenize import search_tokens
from verirag.errors import KnowledgeBaseError

# Chunk ids are database keys: sparse and unordered on purpose.
ENGLISH = {
    101: "The CET1 ratio compares a bank's common equity tier 1 capital with its "
    "risk-weighted assets; regulators require at least 4.5 percent.",
    7: "Patients with type 2 diabetes should have their HbA1c measured every three months.",
    55: "The lease may be terminated by either party with ninety days written notice.",
    3000: "Remdesivir shortened the time to recovery in adults hospitalised with COVID-19.",
    12: "Liquidity coverage ratio: banks must hold enough high-quality liquid assets.",
}
CHINESE = {
    1: "被告人张某于2019年3月驾驶机动车撞伤行人王某,负事故全部责任",
    2: "被告人李某驾驶货车撞伤行人赵某,赔偿医疗费3万元",
    3: "原告与被告签订房屋买卖合同,约定首付款为人民币50万元",
    4: "借款人应于每月20日前偿还贷款本息,逾期按日加收万分之五罚息",
}
MIXED = {
    **ENGLISH,
    201: "本行核心一级资本充足率(CET1)为12.5%,高于监管要求",
    202: "患者糖化血红蛋白(HbA1c)应每三个月检测一次",
}


def build(corpus: dict[int, str]) -> BM25Index:
    return BM25Index.build(list(corpus), list(corpus.values()))


def top_ids(
    index: BM25Index, query: str, k: int = 5, allowed_ids: set[int] | None = None
) -> list[int]:
    return [chunk_id for chunk_id, _ in index.search(query, k, allowed_ids)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("How much capital must a bank hold against risk-weighted assets?", 101),
        ("how often to test hba1c in diabetic patients", 7),
        ("notice period for ending the lease", 55),
        ("Which drug speeds recovery from COVID-19?", 3000),
    ],
)
def test_english_question_finds_its_passage_first(query: str, expected: int) -> None:
    assert top_ids(build(ENGLISH), query)[0] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # jieba cuts the passage's "张某于" into "张" + "某于": only the bigram "张某" matches,
        # and it is what separates passage 1 from passage 2, which also has "撞伤行人".
        ("张某撞伤了谁？", 1),
        ("李某赔偿了多少医疗费", 2),
        ("房屋买卖的首付款是多少？", 3),
        ("逾期还款的罚息怎么算", 4),
    ],
)
def test_chinese_question_finds_its_passage_first(query: str, expected: int) -> None:
    assert top_ids(build(CHINESE), query)[0] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("CET1充足率是多少？", 201),
        ("HbA1c多久检测一次", 202),
        ("CET1 ratio regulatory minimum", 101),
    ],
)
def test_mixed_language_corpus(query: str, expected: int) -> None:
    assert top_ids(build(MIXED), query)[0] == expected


def test_results_are_chunk_ids_with_descending_scores() -> None:
    hits = build(ENGLISH).search("banks capital liquid assets ratio", 5)
    assert {chunk_id for chunk_id, _ in hits} == {101, 12}
    assert [score for _, score in hits] == sorted((score for _, score in hits), reverse=True)
    assert all(isinstance(c, int) and isinstance(s, float) for c, s in hits)


def test_allowed_ids_filter_before_the_cut_to_k() -> None:
    index = build(CHINESE)
    assert top_ids(index, "张某撞伤行人", k=5)[:2] == [1, 2]
    # The best hit is not allowed: the weaker one must still come back with k=1.
    assert top_ids(index, "张某撞伤行人", k=1, allowed_ids={2, 3}) == [2]
    assert top_ids(index, "张某撞伤行人", k=5, allowed_ids=set()) == []
    assert top_ids(index, "张某撞伤行人", k=5, allowed_ids={999}) == []


@pytest.mark.parametrize("query", ["zzyzx quokka", "", "what is the", "？？"])
def test_a_query_with_no_indexed_token_returns_nothing(query: str) -> None:
    assert build(MIXED).search(query, 5) == []


def test_only_passages_sharing_a_token_are_returned() -> None:
    assert top_ids(build(ENGLISH), "remdesivir", k=10) == [3000]
    assert build(ENGLISH).search("remdesivir", 0) == []


def test_equal_scores_are_ordered_by_chunk_id() -> None:
    index = BM25Index.build([9, 3, 6], ["same words here", "same words here", "other"])
    assert top_ids(index, "same words", k=5) == [3, 9]
    assert top_ids(index, "same words", k=1) == [3]


def test_build_rejects_duplicate_ids_and_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="appears more than once"):
        BM25Index.build([1, 1], ["a text", "another"])
    with pytest.raises(ValueError, match="one id per text"):
        BM25Index.build([1, 2], ["only one text"])


def test_build_rejects_an_id_already_indexed() -> None:
    index = build(ENGLISH)
    with pytest.raises(ValueError, match="chunk id 7 is already indexed"):
        index.add([7], ["again"])
    index.remove([7])
    index.add([7], ["HbA1c again"])  # a removed id may come back
    assert top_ids(index, "hba1c")[0] == 7


# -- incremental changes ---------------------------------------------------------------------
def _corpus(n: int, seed: int = 0) -> dict[int, str]:
    """Passages drawn from a small vocabulary, English and Chinese, so terms repeat a lot."""
    rng = random.Random(seed)
    words = ["capital", "ratio", "liquidity", "warfarin", "dose", "INR", "lease", "notice",
             "tenant", "clause", "2.5", "CET1", "资本", "充足率", "流动性", "华法林", "剂量",
             "租赁", "通知", "条款", "违约", "赔偿"]
    return {10 + 3 * i: " ".join(rng.choices(words, k=rng.randint(3, 40))) for i in range(n)}


QUERIES = ("capital ratio", "warfarin INR dose", "租赁通知条款", "CET1 充足率 2.5", "违约赔偿",
           "lease lease notice")


def _bm25s_scores(corpus: dict[int, str], query: str) -> dict[int, float]:
    """What bm25s (Lucene BM25, k1 1.5, b 0.75) scores a fresh build of ``corpus`` with."""
    vocab: dict[str, int] = {}
    tokens = [[vocab.setdefault(t, len(vocab)) for t in search_tokens(text)]
              for text in corpus.values()]
    model = bm25s.BM25()
    model.index((tokens, vocab), create_empty_token=False, show_progress=False)
    query_ids = model.get_tokens_ids(search_tokens(query))
    scores = model.get_scores_from_ids(query_ids) if query_ids else np.zeros(len(corpus))
    return {cid: float(score) for cid, score in zip(corpus, scores, strict=True) if score > 0}


def test_after_adds_and_deletes_scores_equal_a_fresh_bm25s_build() -> None:
    corpus = _corpus(600)
    ids = list(corpus)
    index = BM25Index()
    for start in range(0, len(ids), 37):  # one "document" at a time, as ingestion adds them
        index.add(ids[start:start + 37], [corpus[i] for i in ids[start:start + 37]])
    gone = set(random.Random(1).sample(ids, 150))
    index.remove(gone)
    live = {cid: text for cid, text in corpus.items() if cid not in gone}
    assert len(index) == len(live) and index.ids() == set(live)
    for query in QUERIES:
        expected = _bm25s_scores(live, query)
        got = dict(index.search(query, k=len(corpus)))
        assert got.keys() == expected.keys(), query
        for cid, score in expected.items():
            assert got[cid] == pytest.approx(score, rel=1e-5), (query, cid)


def test_deleted_chunks_leave_no_trace_in_results_or_vocabulary() -> None:
    index = build(MIXED)
    assert index.knows("remdesivir")
    assert index.remove([3000, 999]) == 1  # 999 was never there
    assert index.search("remdesivir", 5) == []
    assert not index.knows("remdesivir")
    assert index.remove([3000]) == 0


def test_many_small_adds_keep_few_segments() -> None:
    corpus = _corpus(1024, seed=3)
    ids = list(corpus)
    index = BM25Index()
    for start in range(0, len(ids), 8):
        index.add(ids[start:start + 8], [corpus[i] for i in ids[start:start + 8]])
        sizes = [seg.live for seg in index._segments]
        # Each segment is smaller than the one before it: at most log2(N / 8) + 1 of them.
        assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes)
    assert len(index._segments) == 1  # 1024 = 8 * 2^7 merges all the way up


def test_searches_running_during_writes_see_consistent_results() -> None:
    corpus = _corpus(400, seed=5)
    ids = list(corpus)
    index = BM25Index.build(ids[:200], [corpus[i] for i in ids[:200]])
    errors: list[BaseException] = []
    done = threading.Event()

    def search() -> None:
        while not done.is_set():
            try:
                hits = index.search("capital ratio 资本", 20)
                assert all(cid in corpus for cid, _ in hits)
                assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
            except BaseException as exc:  # collected and re-raised in the test thread
                errors.append(exc)
                return

    reader = threading.Thread(target=search)
    reader.start()
    for start in range(200, 400, 10):
        index.add(ids[start:start + 10], [corpus[i] for i in ids[start:start + 10]])
        index.remove(ids[start - 200:start - 190])
    done.set()
    reader.join()
    assert not errors, errors[0]
    assert index.ids() == set(ids[200:])


# -- files -----------------------------------------------------------------------------------
def _segment_files(directory: Path) -> set[str]:
    return {p.name for p in directory.glob("seg-*")}


def test_empty_index_searches_saves_and_loads(tmp_path: Path) -> None:
    for index in (BM25Index.build([], []), BM25Index.build([4], ["？！"])):
        assert index.search("anything", 5) == []
        index.save(tmp_path / "bm25", revision=1)
        loaded = BM25Index.load(tmp_path / "bm25")
        assert len(loaded) == len(index)
        assert loaded.search("anything", 5) == []


def test_save_and_load_round_trip_keeps_results_revision_and_deletions(tmp_path: Path) -> None:
    index = build(MIXED)
    index.remove([7])
    assert index.revision is None
    index.save(tmp_path / "bm25", revision=42)
    assert index.revision == 42
    loaded = BM25Index.load(tmp_path / "bm25")
    assert loaded.revision == 42
    assert BM25Index.stored_revision(tmp_path / "bm25") == 42
    assert len(loaded) == len(MIXED) - 1 and 7 not in loaded.ids()
    for query in ("CET1充足率是多少？", "lease notice", "糖化血红蛋白", "hba1c diabetes"):
        assert loaded.search(query, 5) == index.search(query, 5)
    assert loaded.search("banks", 5, allowed_ids={12}) == index.search("banks", 5, {12})


def test_a_small_change_writes_a_small_file_not_the_whole_index(tmp_path: Path) -> None:
    directory = tmp_path / "bm25"
    corpus = _corpus(500, seed=7)
    index = BM25Index.build(list(corpus), list(corpus.values()))
    index.save(directory, revision=1)
    (big,) = _segment_files(directory)
    index.add([5], ["warfarin tenant notice"])
    index.save(directory, revision=2)
    assert big in _segment_files(directory) and len(_segment_files(directory)) == 2
    index.remove([10, 13, 5])  # deletions are recorded in the manifest only
    index.save(directory, revision=3)
    assert big in _segment_files(directory)
    loaded = BM25Index.load(directory)
    assert loaded.ids() == set(corpus) - {10, 13}
    assert loaded.search("capital ratio", 10) == index.search("capital ratio", 10)


def test_saving_again_keeps_only_what_two_generations_need(tmp_path: Path) -> None:
    directory = tmp_path / "bm25"
    build(ENGLISH).save(directory, revision=1)
    build(CHINESE).save(directory, revision=2)
    build(CHINESE).save(directory, revision=3)
    loaded = BM25Index.load(directory)
    assert loaded.revision == 3
    assert top_ids(loaded, "张某撞伤了谁？")[0] == 1
    # The live generation and the one a reader may still be opening, one segment each.
    assert len(list(directory.glob("gen-*"))) == 2
    assert len(_segment_files(directory)) == 2


def test_a_crash_before_the_swap_leaves_the_previous_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "bm25"
    build(ENGLISH).save(directory, revision=1)

    def crash(directory: Path, generation: str) -> None:
        raise KeyboardInterrupt  # the process dies after writing, before switching

    monkeypatch.setattr(bm25_files, "replace_pointer", crash)
    with pytest.raises(KeyboardInterrupt):
        build(CHINESE).save(directory, revision=2)
    monkeypatch.undo()

    loaded = BM25Index.load(directory)
    assert loaded.revision == 1
    assert top_ids(loaded, "remdesivir") == [3000]
    build(CHINESE).save(directory, revision=3)  # the next save clears the orphans
    assert len(list(directory.glob("gen-*"))) == 2
    assert len(_segment_files(directory)) == 2


def test_a_failed_write_raises_and_leaves_the_previous_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "bm25"
    build(ENGLISH).save(directory, revision=1)

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bm25_files, "fsync", disk_full)
    with pytest.raises(KnowledgeBaseError, match="No space left"):
        build(CHINESE).save(directory, revision=2)
    monkeypatch.undo()
    assert BM25Index.load(directory).revision == 1
    assert not [p for p in directory.iterdir() if p.name.startswith(".tmp")]


def current_manifest(directory: Path) -> Path:
    return directory / (directory / "CURRENT").read_text(encoding="utf-8").strip()


@pytest.mark.parametrize(
    "damage",
    [
        "truncate_segment",
        "flip_byte_in_segment",
        "garbage_manifest",
        "missing_segment",
        "pointer_to_nowhere",
        "garbage_pointer",
    ],
)
def test_a_damaged_index_raises_with_the_rebuild_command(tmp_path: Path, damage: str) -> None:
    directory = tmp_path / "bm25"
    build(MIXED).save(directory, revision=5)
    (segment,) = directory.glob("seg-*")
    if damage == "truncate_segment":
        segment.write_bytes(segment.read_bytes()[:40])
    elif damage == "flip_byte_in_segment":
        raw = bytearray(segment.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        segment.write_bytes(bytes(raw))
    elif damage == "garbage_manifest":
        current_manifest(directory).write_text("{not json", encoding="utf-8")
    elif damage == "missing_segment":
        segment.unlink()
    elif damage == "pointer_to_nowhere":
        (directory / "CURRENT").write_text("gen-5-deadbeef.json\n", encoding="utf-8")
    else:
        (directory / "CURRENT").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(KnowledgeBaseError, match="verirag kb rebuild DOMAIN"):
        BM25Index.load(directory)
    # Rebuilding over the damage works.
    build(MIXED).save(directory, revision=6)
    assert BM25Index.load(directory).revision == 6


def test_an_index_from_another_tokenizer_version_asks_for_a_rebuild(tmp_path: Path) -> None:
    directory = tmp_path / "bm25"
    build(ENGLISH).save(directory, revision=1)
    meta_path = current_manifest(directory)
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["tokenizer"] += 1
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match=r"another verirag version.*kb rebuild"):
        BM25Index.load(directory)


def test_an_index_in_the_old_directory_format_asks_for_a_rebuild(tmp_path: Path) -> None:
    directory = tmp_path / "bm25"
    (directory / "gen-3-1a2b3c4d").mkdir(parents=True)
    (directory / "CURRENT").write_text("gen-3-1a2b3c4d\n", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match=r"another verirag version.*kb rebuild"):
        BM25Index.load(directory)
    build(ENGLISH).save(directory, revision=4)
    assert not (directory / "gen-3-1a2b3c4d").exists()
    assert BM25Index.load(directory).revision == 4


def test_loading_where_nothing_was_saved_says_how_to_build(tmp_path: Path) -> None:
    assert BM25Index.stored_revision(tmp_path / "bm25") is None
    with pytest.raises(KnowledgeBaseError, match=r"no BM25 index.*verirag kb rebuild DOMAIN"):
        BM25Index.load(tmp_path / "bm25")


def test_ids_survive_as_64_bit_integers(tmp_path: Path) -> None:
    big = 2**40 + 7
    BM25Index.build([big], ["large id chunk"]).save(tmp_path / "bm25", revision=1)
    assert BM25Index.load(tmp_path / "bm25").search("chunk", 1)[0][0] == big


def test_the_ceiling_bounds_every_score_of_the_query() -> None:
    """Score fusion divides by it: no chunk may score above it, and a chunk that repeats
    every query term comes near it."""
    from knowledge.index.bm25 import BM25Index

    index = BM25Index.build([1, 2, 3], ["warfarin dose " * 30, "apixaban dose", "visiting hours"])
    query = "warfarin dose"
    ceiling = index.ceiling(query)
    hits = index.search(query, 3)
    assert hits and all(score <= ceiling for _, score in hits)
    assert hits[0][0] == 1 and hits[0][1] > 0.8 * ceiling
    assert index.ceiling("") == 0.0
