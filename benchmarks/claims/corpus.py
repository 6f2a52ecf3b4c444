"""Evaluation corpora cut into passages the way retrieval would return them, and the sentences
in them that can serve as true claims.

Passages are a few sentences (about 160 tokens), as the chunker makes them, so a claim is
checked against text of realistic size rather than a whole document or a single sentence. The
Chinese judgments (cjrc) are written with commas and hardly a full stop, so they are packed
from clauses and their claims are clause runs: a "sentence" there is often the whole passage.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import random
import re
from collections.abc import Iterator
from pathlib import Path

from benchmarks.claims.tables import parse_table, table_passages
from benchmarks.claims.types import Doc, Source
from knowledge.text.cjk import han_count
from knowledge.text.sentences import count_tokens, split_sentences
from knowledge.types import Passage


def _evalsets() -> Path:
    """$VERIRAG_EVALSETS, else ../shared/evalsets beside the checkout, else /work/shared."""
    if os.environ.get("VERIRAG_EVALSETS"):
        return Path(os.environ["VERIRAG_EVALSETS"])
    beside = Path(__file__).resolve().parents[2].parent / "shared" / "evalsets"
    return beside if beside.is_dir() else Path("/work/shared/evalsets")


EVALSETS = _evalsets()
EN_DATASETS = ("covidqa", "pubmedqa-mini", "tatqa", "cuad", "legalbenchrag-mini", "mtrag-mini")
# The same sources in their 300-passage cuts: what the fast test subset reads.
EN_MINI_DATASETS = ("covidqa-mini", "pubmedqa-mini", "tatqa-mini", "cuad-mini",
                    "legalbenchrag-mini", "mtrag-mini")
ZH_DATASETS = ("cjrc-zh-mini",)
MEDICAL = frozenset({"covidqa", "covidqa-mini", "pubmedqa-mini"})

EN_PASSAGE_TOKENS = 160
ZH_PASSAGE_TOKENS = 200

_REF_MARKER = re.compile(r"\s*\[\d+(?:\s*[,–-]\s*\d+)*\]")
# A clause ends at a comma, colon or stop, but not at a thousands separator ("87,654元").
_ZH_CLAUSE = re.compile(r"(?:[^。！？；;，,：:]|(?<=\d)[,，](?=\d))+[。！？；;，,：:]*")
_JUNK = re.compile(r"https?:|www\.|doi|@|&|[\[\]|*#_<>{}]|\.\.\.|…", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*|\d[\d.,]*")
_ZH_PLACEHOLDER = re.compile(r"[×X＊*]{2,}|x{2,}|X{2,}")
_ZH_DANGLING = (*"的和与及或在对为是于把被、时后前", "约定", "如下", "认为", "查明", "规定")
_ZH_BAD_START = tuple("的了和与及或、")
_ZH_SUBORDINATE = ("如遇", "如果", "如", "若", "因", "由于", "为了", "虽然", "虽", "当", "待")
_ZH_LIST_MARKER = re.compile(
    r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[）)]|\d+[.、])")


def balanced(text: str) -> bool:
    """Brackets and quotes closed: a claim cut inside "(卡号" or "(n=6" is not a sentence."""
    pairs = ("()", "（）", "“”", "《》", "[]")
    return all(text.count(a) == text.count(b) for a, b in pairs) and text.count('"') % 2 == 0


@functools.cache
def load_rows(root: Path, dataset: str, name: str = "corpus.jsonl") -> tuple[dict, ...]:
    """A dataset file's records; cached because every case builder reads the same few files."""
    path = root / dataset / name
    with path.open(encoding="utf-8") as fh:
        return tuple(json.loads(line) for line in fh if line.strip())


def group_of(dataset: str, corpus_id: str) -> str:
    """The source document a corpus record belongs to (its paper, contract, report excerpt)."""
    base = corpus_id.split("#")[0]
    if dataset.startswith("pubmedqa"):
        return re.sub(r"_s\d+$", "", base)
    if dataset.startswith("mtrag"):
        return base.rsplit("-", 2)[0]
    return base


def _pack(text: str, spans: list[tuple[int, int]], budget: int) -> list[str]:
    """Contiguous runs of ``spans`` of at most ``budget`` tokens (a longer span stands alone)."""
    out: list[str] = []
    run: list[tuple[int, int]] = []
    size = 0
    for start, end in spans:
        tokens = count_tokens(text[start:end])
        if run and size + tokens > budget:
            out.append(text[run[0][0]:run[-1][1]])
            run, size = [], 0
        run.append((start, end))
        size += tokens
    if run:
        out.append(text[run[0][0]:run[-1][1]])
    return out


def zh_clauses(text: str) -> list[tuple[int, int]]:
    """Clause spans of Chinese text: cut after every comma, colon or sentence stop."""
    return [m.span() for m in _ZH_CLAUSE.finditer(text) if m.group().strip()]


def prose_passages(text: str, lang: str) -> list[str]:
    if lang == "zh":
        return _pack(text, zh_clauses(text), ZH_PASSAGE_TOKENS)
    return _pack(text, split_sentences(text), EN_PASSAGE_TOKENS)


class DocMaker:
    """Turns corpus records into ``Doc``s with passage ids unique across one build."""

    def __init__(self) -> None:
        self._chunk_ids = itertools.count(1)
        self._doc_ids: dict[str, int] = {}

    def make(self, dataset: str, row: dict, lang: str) -> Doc | None:
        corpus_id = str(row["id"])
        group = group_of(dataset, corpus_id)
        doc_id = self._doc_ids.setdefault(group, len(self._doc_ids) + 1)
        title = str(row.get("title") or "").strip()
        text = str(row.get("text") or "")
        if not text.strip():
            return None
        heading = (title,) if title else ()
        table = parse_table(text) if corpus_id.endswith("#table") else None
        if table is not None:
            pieces = table_passages(table)
            headings = [(*heading, *table.captions)] * len(pieces)
        else:
            pieces = prose_passages(text, lang)
            headings = [heading] * len(pieces)
        passages = tuple(
            Passage(chunk_id=next(self._chunk_ids), doc_id=doc_id, doc_name=title or group,
                    text=piece, heading_path=path, page=None, score=1.0)
            for piece, path in zip(pieces, headings, strict=True))
        return Doc(dataset, corpus_id, group, title, lang, passages)


def sample_docs(root: Path, dataset: str, lang: str, n_rows: int, rng: random.Random,
                maker: DocMaker, must: frozenset[str] = frozenset()) -> list[Doc]:
    """``n_rows`` random records of a dataset (plus the ``must`` ids, e.g. questions' gold)."""
    rows = load_rows(root, dataset)
    picked = {i for i, row in enumerate(rows) if row["id"] in must}
    order = list(range(len(rows)))
    rng.shuffle(order)
    for i in order:
        if len(picked) >= n_rows + len(must):
            break
        picked.add(i)
    docs = (maker.make(dataset, rows[i], lang) for i in sorted(picked))
    return [d for d in docs if d is not None]


def clean_claim(sentence: str) -> str:
    """A passage sentence as an answer would quote it: reference markers ("[7]") dropped."""
    text = _REF_MARKER.sub("", sentence)
    text = re.sub(r"\s+([.,;:])", r"\1", text)
    return " ".join(text.split())


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def good_en_sentence(sentence: str, claim: str) -> bool:
    """A sentence an answer could plausibly consist of: a whole statement, not a heading, a
    table flattened by PDF extraction, a reference, or a list of numbers."""
    if "\n" in sentence or "\r" in sentence or _JUNK.search(claim):
        return False
    tokens = words(claim)
    if not 6 <= len(tokens) <= 45 or not claim[:1].isupper() or not claim.endswith("."):
        return False
    numeric = sum(1 for t in tokens if t[0].isdigit())
    letters = [c for c in claim if c.isalpha()]
    upper = sum(1 for c in letters if c.isupper())
    return numeric <= len(tokens) * 0.3 and upper <= len(letters) * 0.3 and balanced(claim)


def good_zh_claim(claim: str) -> bool:
    if not 12 <= len(claim) <= 60 or han_count(claim) < 10 or _ZH_PLACEHOLDER.search(claim):
        return False
    digits = sum(ch.isdigit() for ch in claim)
    inner_stop = any(ch in "。！？" for ch in claim[:-1]) or claim.endswith(("?", "？"))
    return (digits <= len(claim) * 0.3 and not _JUNK.search(claim) and balanced(claim)
            and not inner_stop)


def en_sources(doc: Doc) -> Iterator[Source]:
    for passage in doc.passages:
        if passage.text.lstrip().startswith("|"):
            continue  # table rows are offered by ``tables.row_sources``
        for start, end in split_sentences(passage.text):
            sentence = passage.text[start:end]
            claim = clean_claim(sentence)
            if good_en_sentence(sentence, claim):
                yield Source(doc, passage, sentence, claim)


def _zh_complete(piece: str, closer: str) -> bool:
    """Not a subordinate clause or an introduction: "如遇...的", "...时", "合同约定:" all wait
    for the clause that completes them."""
    return (closer not in ":：" and not piece.endswith(_ZH_DANGLING)
            and not piece.startswith(_ZH_SUBORDINATE) and not piece.startswith(_ZH_BAD_START)
            and ":" not in piece and "：" not in piece)


def zh_sources(doc: Doc, rng: random.Random) -> Iterator[Source]:
    """Runs of whole clauses of 12-60 characters inside one sentence, cut at a comma, without
    the trailing comma: the judgments barely use full stops, so a sentence is far longer than
    anything an answer would say in one go."""
    for passage in doc.passages:
        text = passage.text
        for s_start, s_end in split_sentences(text):
            sentence = text[s_start:s_end]
            spans = zh_clauses(sentence)
            i = rng.randrange(2) if len(spans) > 2 else 0
            while i < len(spans):
                j = i
                while j < len(spans) - 1 and len(sentence[spans[i][0]:spans[j][1]]) < 16:
                    j += 1
                piece = sentence[spans[i][0]:spans[j][1]].strip()
                closer = piece[-1:]
                claim = _ZH_LIST_MARKER.sub("", piece.rstrip(",，:：;；、")).strip()
                if good_zh_claim(claim) and _zh_complete(claim, closer):
                    yield Source(doc, passage, claim, claim)
                i = j + 1 + rng.randrange(2)
