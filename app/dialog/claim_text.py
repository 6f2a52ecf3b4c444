"""A claim as text: its citation markers, Markdown residue, content words, and whether it is
a fragment at all — what the claim checker reads before it compares anything.

Chinese content words are jieba's words AND the character bigrams of each run: a
pseudonymised name ("崔某某") is cut by jieba into pieces every passage holds ("某某"), but
its bigram "崔某" is in no passage that does not name that person. Lead-ins that add no fact
("According to the documents," / "文件显示，") are not content.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

from app.dialog.quantities import is_unit_word, quantities
from knowledge.text.cjk import CJK_CHARS, han_count, has_han
from knowledge.text.tokenize import cjk_word_bounds, key_terms, stem

MARKER = re.compile(r"\s*\[(\d{1,3}(?:\s*[,，]\s*\d{1,3})*)\]")
_LEAD = re.compile(
    r"^\s*(?:(?:#{1,6}|[-*•·▪●◦>]|\d{1,3}[.)](?!\d)|[a-zA-Z][.)](?=\s)|"
    r"[（(][\d一二三四五六七八九十a-z]{1,3}[）)]|[一二三四五六七八九十]{1,3}、|\d{1,3}、)\s*)+")
# An answer's label, or a structured abstract's field name ("Text: China, with ...",
# "RESULTS: Of 17,137 referrals ..."): layout, not part of the sentence quoted.
_ANSWER_LABEL = re.compile(
    r"^\s*(?:A|Answer|Response|答案?|回答|Text|Abstract|Background|Introduction|Summary|"
    r"Objectives?|Aims?|Methods?|Results?|Findings|Discussion|Conclusions?)\s*[:：]\s*",
    re.IGNORECASE)
_EMPHASIS = re.compile(r"\*\*|__|`|~~")
# Words no finished English sentence ends with ("what it is for" does end with "for").
_DANGLING_EN = frozenset((
    "of", "the", "a", "an", "and", "or", "than", "that", "which", "its", "their", "per",
    "including", "such", "if", "when", "while", "but", "this", "these", "our", "your", "his",
    "her", "whose", "whether", "because"))
# Words a sentence may end with ("what it is for"), but not where its passage goes on.
DANGLING_IF_CUT = frozenset((
    "to", "for", "with", "in", "on", "at", "by", "from", "into", "as", "is", "are", "was",
    "were", "be", "been", "should", "must", "will", "can", "may", "not", "no", "has", "have",
    "had", "shall", "would", "could", "more", "less", "under", "over", "between", "after",
    "before", "during", "within", "without", "about"))
_DANGLING_ZH = "的和与及或在对为是于把被、"
_OPEN_CLOSE = (("(", ")"), ("（", "）"), ("[", "]"), ("【", "】"), ("“", "”"))
# Words an answer may add around what a passage says without adding a fact.
_GLUE = frozenset((
    "according", "document", "documents", "passage", "passages", "source", "sources",
    "state", "states", "stated", "say", "says", "said", "also", "however", "therefore",
    "additionally", "furthermore", "moreover", "note", "answer", "yes", "indeed", "based",
    "根据", "文件", "规定", "此外", "但是", "因此", "另外", "同时", "注意", "回答"))
# Lead-ins a Chinese answer wraps a passage's words in ("文件显示，...").
_ZH_GLUE = re.compile("根据(?:文件|规定|资料|材料)?|(?:文件|资料|材料)(?:显示|表明|指出|规定|称)|"
                      "此外|但是|因此|另外|同时|需要注意的是|注意|回答|综上")
LATIN_WORD = re.compile(f"[^\\W_{CJK_CHARS}]+")
HAN_RUN = re.compile(f"[{CJK_CHARS}]+")
_URL = re.compile(r"https?://|www\.|\borcid\b|\bdoi\s*:", re.IGNORECASE)
MIN_WORDS = 4
TITLE_WORDS = 5
# Verbs that end in neither -s nor -ed: what keeps "The patient must rest" a statement.
_VERBS = frozenset((
    "is", "are", "was", "were", "be", "been", "being", "am", "has", "have", "had", "do", "did",
    "can", "could", "may", "might", "must", "shall", "should", "will", "would", "need",
    "give", "take", "make", "go", "get", "rise", "fall", "apply", "remain", "stay", "cover",
    "include", "require", "start", "stop", "begin", "end", "last", "run", "keep", "rest",
    "cannot", "not", "never", "no", "came", "left", "lost", "rose", "fell", "went", "became",
    "underwent", "took", "gave", "made", "got", "ran", "began"))
MIN_HAN = 6


def _is_title(words: list[str]) -> bool:
    """A short phrase led by an article with no word that could be its verb: a heading or a
    label ("The one-hour bundle"), not a statement ("The dose doubles", "A bleed occurred").
    Only asked of text without a full stop: a heading has none."""
    return (len(words) <= TITLE_WORDS and words[0].lower() in ("the", "a", "an")
            and not any(w.lower() in _VERBS or w.lower().endswith(("ed", "s"))
                        for w in words[1:]))


def split_markers(piece: str) -> tuple[str, list[int]]:
    """A sentence without its ``[n]`` markers, and the numbers they held, in order."""
    numbers: list[int] = []
    for group in MARKER.findall(piece):
        numbers.extend(int(x) for x in re.split(r"\s*[,，]\s*", group))
    return MARKER.sub("", piece).strip(), numbers


def clean_claim(text: str) -> str:
    """The claim without list markers, an "A:" label, emphasis marks or heading hashes."""
    text = _ANSWER_LABEL.sub("", _LEAD.sub("", text))
    text = _EMPHASIS.sub("", text)
    return " ".join(text.split()).strip()


def is_fragment(text: str) -> bool:
    """Too short to state a fact, cut off mid-clause, or with an unclosed bracket."""
    body = text.rstrip(" .。!！")
    if _URL.search(body):
        return True  # "Weiss http://orcid.org/..." is a reference, not a statement
    if not body or body.endswith((":", "：", ",", "，", "、", ";", "；", "(", "（")):
        return True
    if any(body.count(a) != body.count(b) for a, b in _OPEN_CLOSE):
        return True
    if han_count(body) >= 2:
        return han_count(body) < MIN_HAN or body[-1] in _DANGLING_ZH
    words = LATIN_WORD.findall(body)
    if len(words) < MIN_WORDS or words[-1].lower() in _DANGLING_EN:
        return True
    if (not text.rstrip().endswith((".", "!", "。", "！")) and _is_title(words)
            and not re.search(r"n['’]t\b", body, re.I) and not quantities(body)):
        return True
    return len(terms(body)) + sum(not q.is_year for q in quantities(body)) < 2


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _is_number(term: str) -> bool:
    return bool(re.fullmatch(r"[\d.,]+", term))


def words(text: str) -> list[str]:
    text = _ZH_GLUE.sub(" ", text)
    return [t if has_han(t) else stem(t) for t in key_terms(text)]


def terms(text: str) -> list[str]:
    """Content words as compared: latin words stemmed; Chinese as jieba words AND character
    bigrams — a pseudonymised name ("崔某某") is cut by jieba into pieces that every passage
    holds ("某某"), but its bigram "崔某" is in no passage that does not name that person."""
    text = _ZH_GLUE.sub(" ", text)
    out = []
    for term in key_terms(text):
        if _is_number(term) or term in _GLUE or is_unit_word(term):
            continue
        out.append(term if has_han(term) else stem(term))
    for run in HAN_RUN.findall(fold(text)):
        out.extend(_bigrams(run))
    return list(dict.fromkeys(out))


def _bigrams(run: str) -> list[str]:
    """The run's character bigrams inside a jieba word, or joining a one-character word to
    its neighbour ("崔|某某" -> "崔某"); not those joining two longer words ("监护室|补钾"),
    which an answer may put side by side although its passage does not."""
    bounds = sorted(cjk_word_bounds(run) | {0, len(run)})
    single = {a for a, b in itertools.pairwise(bounds) if b - a == 1}
    out = []
    for i in range(len(run) - 1):
        across = i + 1 in bounds
        if (not across or i in single or i + 1 in single) and not is_unit_word(run[i : i + 2]):
            out.append(run[i : i + 2])
    return out
