"""Search tokens for BM25 and key terms for measuring how much of a question a passage covers.

Latin text is NFKC-normalised, lowercased and split into words and numbers; a number keeps its
decimals and loses its thousands separators ("2.5", "1,000" -> "1000") and an identifier keeps
its digits ("CET1" -> "cet1"): in finance and medicine those are the terms users search for.
Chinese (and other CJK) runs give jieba words *and* the run's character bigrams: jieba alone
misses whenever the question and the passage are segmented differently ("张某于" comes out as
"张" + "某于"), bigrams alone blur word boundaries; together they measured best (see
``search_tokens``). Left out on purpose: stemming (a plural-only stemmer moved covidqa MRR@10 by
+0.005 and cost cuad-mini two hits in the top 5), synonyms (the dense retriever covers
paraphrase), a user dictionary for jieba (bigrams make recall independent of it), and lone CJK
characters: "税" on its own is not a BM25 token (adding them measured slightly worse).

The token stream is part of the BM25 index format: change it and bump ``TOKENIZER_VERSION`` so
stored indexes are rebuilt instead of silently matching nothing.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from typing import TYPE_CHECKING

from knowledge.text.cjk import CJK, CJK_CHARS, CJK_RUN

if TYPE_CHECKING:
    import jieba

TOKENIZER_VERSION = 1

# CJK runs (scripts written without spaces) go through jieba and bigrams rather than the word
# pattern. A word is letters and digits; after a digit it may continue with decimals (".5") or
# thousands groups (",000"), so "2.5" and "1,000.50" stay whole while "2,3" splits.
_LATIN = re.compile(rf"[^\W_{CJK_CHARS}]+(?:(?<=\d)\.\d+|(?<=\d),\d{{3}}(?!\d))*")

# fmt: off
_EN_STOPWORDS = frozenset((
    "a", "about", "an", "and", "any", "are", "as", "at", "be", "been", "being", "but", "by",
    "can", "could", "did", "do", "does", "for", "from", "had", "has", "have", "how", "i", "if",
    "many", "much", "often", "above", "after", "before", "below", "between", "during", "over",
    "under", "per", "via",
    "in", "into", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "our", "s",
    "should", "so", "such", "t", "than", "that", "the", "their", "them", "then", "there",
    "these", "they", "this", "those", "to", "was", "we", "were", "what", "when", "where",
    "which", "who", "whom", "whose", "why", "will", "with", "would", "you", "your",
))

# Function words, pronouns and question words: they carry no topic, and in a question they
# would lower coverage for passages that answer it ("多少" never appears in the answer).
_ZH_STOPWORDS = frozenset((
    "的", "地", "得", "了", "着", "过", "是", "在", "和", "与", "及", "或", "等", "也", "都",
    "就", "而", "并", "且", "被", "把", "对", "于", "从", "向", "以", "之", "其", "该", "此",
    "这", "那", "这个", "那个", "这些", "那些", "吗", "呢", "吧", "啊", "呀", "么", "我", "你",
    "您", "他", "她", "它", "我们", "你们", "他们", "她们", "它们", "谁", "几", "哪", "哪些",
    "哪个", "哪里", "什么", "多少", "是否", "有无", "有没有", "是不是", "如何", "怎么", "怎样",
    "怎么样", "为什么", "为何", "请问", "一下", "何时", "何处", "何地", "因何", "多久", "哪儿",
    "哪一年", "哪一天", "哪位", "哪种", "哪家",
))
# fmt: on


@functools.cache
def _segmenter() -> jieba.Tokenizer:
    """Load jieba once, on first Chinese text, without its banner on stderr.

    A private ``Tokenizer`` instance keeps us independent of whatever another library does to
    jieba's global one (user dictionaries, parallel mode). jieba caches its prefix dictionary in
    the temp dir, so only the first process on a machine pays the full ~1 s build.
    """
    import jieba

    logging.getLogger("jieba").setLevel(logging.WARNING)
    segmenter = jieba.Tokenizer()
    segmenter.initialize()
    return segmenter


def _normalize(text: str) -> str:
    """Fold full-width letters and digits (common in Chinese documents) and case."""
    return unicodedata.normalize("NFKC", text).lower()


def _latin_tokens(text: str) -> list[str]:
    return [m.group().replace(",", "") for m in _LATIN.finditer(text)]


def _is_cjk(token: str) -> bool:
    return CJK.match(token) is not None


def _split(text: str) -> list[tuple[bool, str]]:
    """Cut normalised text into (is_cjk, piece) spans, in order."""
    pieces: list[tuple[bool, str]] = []
    position = 0
    for run in CJK_RUN.finditer(text):
        if run.start() > position:
            pieces.append((False, text[position : run.start()]))
        pieces.append((True, run.group()))
        position = run.end()
    if position < len(text):
        pieces.append((False, text[position:]))
    return pieces


def _cjk_words(run: str) -> list[str]:
    """jieba's words of two or more characters: single characters measured as noise."""
    return [w for w in _segmenter().lcut(run) if len(w) >= 2 and w not in _ZH_STOPWORDS]


def search_tokens(text: str) -> list[str]:
    """Tokens to index and to query BM25 with; repeats are kept because BM25 counts them.

    A CJK run gives its jieba words (two characters or more) plus its character bigrams, so a
    two-character word jieba recognises counts twice: real words outweigh bigrams that straddle
    a word boundary. On cjrc-zh-mini (20 questions, 300 judgments; MRR@10) this scored 0.775
    against 0.792 for bigrams alone and 0.708 for jieba alone, and with the parties' names
    deleted from the questions 0.547 against 0.528 and 0.504 (recall@5 0.75, 0.60, 0.75).
    """
    tokens: list[str] = []
    for is_cjk, piece in _split(_normalize(text)):
        if not is_cjk:
            tokens.extend(t for t in _latin_tokens(piece) if t not in _EN_STOPWORDS)
            continue
        tokens.extend(_cjk_words(piece))
        bigrams = (piece[i : i + 2] for i in range(len(piece) - 1))
        tokens.extend(b for b in bigrams if b not in _ZH_STOPWORDS)
    return tokens


def key_terms(text: str) -> list[str]:
    """The distinct content words of a question, in order of first appearance.

    Bigrams are left out on purpose: coverage should count the words a user asked about, and
    "原告赔偿" would otherwise count as three terms, one of them ("告赔") meaningless.
    """
    terms: list[str] = []
    for is_cjk, piece in _split(_normalize(text)):
        if is_cjk:
            terms.extend(_cjk_words(piece))
        else:
            terms.extend(t for t in _latin_tokens(piece) if t not in _EN_STOPWORDS)
    return list(dict.fromkeys(terms))


_SUFFIXES = ("ations", "ation", "ings", "ing", "ions", "ion", "ies", "es", "ed", "en", "ly", "s")


def stem(token: str) -> str:
    """A crude English suffix strip, for coverage only ("survives" ~ "survive").

    BM25 stays unstemmed (stemming measured mixed there); coverage asks a softer question —
    does the passage talk about this word at all — where inflection should not matter.
    """
    if not token.isalpha() or len(token) <= 4:
        return token
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            return token[: -len(suffix)].rstrip("e")
    return token.rstrip("e")


def coverage(question: str, passage: str, cap: int | None = None) -> float:
    """Share of the question's key terms that occur in the passage, from 0.0 to 1.0.

    Chinese terms are matched as substrings, so a passage that segments differently still
    counts; latin terms must match a whole token up to a crude suffix strip, so "cet1" is not
    found in "cet10" but "processed" is found in "processing". A question with no key terms
    ("是什么？") scores 0.0: nothing in it can be grounded. With ``cap``, a question of more
    key terms than that needs only ``cap`` of them: a clause description pasted as a question
    ("a right of first refusal, first offer or first negotiation to purchase, license, market
    or distribute equity, technology, assets, products or services") lists alternatives, and
    no one clause names them all.
    """
    terms = key_terms(question)
    if not terms:
        return 0.0
    text = _normalize(passage)
    words = _latin_tokens(text)
    latin = {stem(t) for t in words}
    initials = "".join(w[0] for w in words if w not in _EN_STOPWORDS)
    found = sum(1 for t in terms if (t in text if _is_cjk(t) else (
        stem(t) in latin or _is_acronym_of(t, initials))))
    return min(1.0, found / min(len(terms), cap or len(terms)))


def _is_acronym_of(term: str, initials: str) -> bool:
    """"dpa" is found in a passage that says "Data Processing Agreement"."""
    return 2 <= len(term) <= 5 and term.isalpha() and term in initials


def cjk_word_bounds(text: str) -> frozenset[int]:
    """Offsets in ``text`` where a jieba word of a CJK run starts or ends: a claim that stops
    anywhere else stopped inside a word ("...经公安机" cut from "公安机关")."""
    bounds: set[int] = set()
    for run in CJK_RUN.finditer(text):
        for _word, start, end in _segmenter().tokenize(run.group()):
            bounds.update((run.start() + start, run.start() + end))
    return frozenset(bounds)
