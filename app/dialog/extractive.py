"""Extractive answers: the sentences or table rows of the passages that best answer it.

Faithful by construction, so it is a pack's choice where exact wording matters (legal) or the
base model is small, and the fallback when a generated answer keeps no supported sentence.
Sentences are ranked by cosine similarity to the question plus question-term coverage. A table
passage (Markdown rows) offers each row instead, its cells named by the header ("Indication:
Atrial fibrillation; Target INR: 2.5"): a bare "| Atrial fibrillation | 2.5 |" does not say
what 2.5 is. Every word still comes from the passage.

A sentence holding the kind of number the question asks for ("how long" -> a duration, "dose"
-> a mass or volume, "多少钱" -> an amount of money) ranks higher: for those questions the
number is the answer. The answer is the shortest set that answers: the best-ranked sentence,
plus a second only when it is nearly as good AND covers a question term the first does not —
a second sentence that says the same thing again is noise, and a duplicate is never shown.
List numbers and Markdown emphasis are stripped from a quoted sentence ("4. **Give** 15 g"
reads "Give 15 g").

Only sentences that read as statements are quoted: not one cut off at a passage's edge, not a
run of capitalised words or of more than six numbers (a table flattened by PDF extraction, a
signature block), not an abstract's aim ("To examine whether ...") or a document's note on
itself ("In this section we will describe ..."), not a question restated without its mark,
and not one over 200 tokens (quoting a window of it would be a garbled fragment).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.dialog.claim_text import DANGLING_IF_CUT, LATIN_WORD, clean_claim, is_fragment
from app.dialog.injection import looks_like_instruction
from app.dialog.quantities import quantities
from app.dialog.relevance import has_answer_type
from app.dialog.tables import Row, row_text, table_cells, table_rows
from app.dialog.types import AnswerSentence
from knowledge.embedding import Embedder
from knowledge.text.cjk import han_count
from knowledge.text.sentences import split_sentences, token_spans
from knowledge.text.tokenize import coverage, key_terms
from knowledge.types import Passage

MAX_SENTENCES = 2
MAX_CANDIDATES = 60
MARGIN = 0.15
LEAD_DISCOUNT = 0.1
# Per sentence before it in its passage, up to the cap: a section states its rule first and
# its exceptions after ("Give 15-20 g ..." before "If still below 4.0 after 3 cycles, give
# glucagon"), so of two sentences that match alike the earlier one is the answer.
POSITION_DISCOUNT = 0.01
POSITION_CAP = 0.05
MIN_TOKENS = 6

__all__ = ["Candidate", "candidate_sentences", "extract", "table_rows"]


# Sentences that state no finding: an abstract's aim ("To examine whether ...", "The aim of
# the present study was ..."), its method ("we tested whether ..."), the open question it
# starts from ("it is unclear whether ...") and a question restated without its mark ("Do
# polyps from pre- and post-menopausal women differ ...").
_NO_FINDING = re.compile(
    r"^(?:to (?:investigate|examine|determine|assess|evaluate|compare|explore|describe|"
    r"identify|analy[sz]e|test|study|review|report|show|estimate|measure|clarify|establish|"
    r"characteri[sz]e|quantify|understand|ascertain|elucidate|discuss)\b|"
    r"(?:the |our |this )?(?:main |primary )?(?:aims?|objectives?|purposes?|goals?)"
    r"(?: of [\w\s-]{0,40}?)? (?:is|was|were|are) to\b|"
    r"(?:do|does|did|is|are|can) (?!not\b|n't\b)[^.;]*\.?$)|"
    r"\b(?:we|this (?:study|paper|work|trial|review|analysis)|the (?:present |current )?"
    r"(?:study|paper|trial|review|analysis))\s+(?:aims?|aimed|sought|seeks|tested|tests|"
    r"examined|examines|investigated|investigates|assessed|assesses|evaluated|evaluates|"
    r"explored|explores|asked|asks|hypothesi[sz]ed)\s+(?:to\b|whether\b|if\b|how\b)|"
    # "we conducted a systematic review ... to evaluate the association": a method
    r"\bwe (?:conducted|performed|carried out|undertook|designed|added|used|developed)\b"
    r"[^.;]{0,160}?\bto (?:test|evaluate|assess|examine|investigate|determine|explore|"
    r"identify|study)\b|"
    r"\bin this (?:section|chapter|part|report|document)\b[^.]{0,20}\b(?:we|you) (?:will|shall)\b|"
    r"\bthis (?:section|chapter) (?:describes|presents|discusses|sets out|explains)\b|"
    # the open question an introduction poses: "it remains unclear whether X reduces Y"
    r"\b(?:remains?|is|was|are|were) (?:still |as yet |yet )?(?:unclear|unknown|uncertain|"
    r"not (?:known|clear)) (?:whether|if|how|why|what|which)\b|\blittle is known\b",
    re.I)
# A table's or figure's caption says what it shows, not what it found ("Table 1: Posterior
# model estimates of percentage of total population infected as of 28th March 2020" quoted
# for Austria's estimate, which is a cell of that table). "Table l" is OCR's "Table 1".
_CAPTION = re.compile(r"^(?:supplementa(?:l|ry) )?(?:table|figure|fig\.|chart|exhibit)\s*"
                      r"(?:[\dIVXl]{1,4}[a-z]?|[A-Z]\d*)(?:\.\d+)?\s*[:.|–-]|^[表图]\s*\d+", re.I)
_NUMBER_TOKEN = re.compile(r"(?<![\w.])[$€£¥(]?-?\d[\d,.]*%?\)?(?![\w])")
MAX_NUMBERS = 6
# a paper's own reference numbers ("[6, 18, 23]"): read as verirag's citations otherwise
_REFERENCES = re.compile(r"\s*\[\d+(?:\s*[,–-]\s*\d+)*\]")
_TERMINAL = tuple(".!?。！？；;:：\"”’)）」』")
MAX_TOKENS = 200
MIN_LOWER_SHARE = 0.3
CUT_OFF_TOKENS = 25
_LABEL = re.compile(r"^[\w-]+(?: [\w-]+)?:")  # "non-compete: for 6 months ..." labels a term
_CUT_AFTER = DANGLING_IF_CUT | {"who", "whom", "where"}


def _quotable(piece: str, last: bool, alone: bool, previous: str = "") -> bool:
    """A sentence that reads as a statement: not cut off at the passage's edges, not a
    heading/table/signature run of capitalised words, not an aim or a restated question."""
    # "；" ends a clause that stands alone ("截至2023年末，不良贷款率为1.36%；")
    if is_fragment(piece.rstrip("；; ")) or _NO_FINDING.search(piece) or _CAPTION.match(piece):
        return False
    if piece.lstrip()[:1] in ")]},;:、，；）":
        return False
    end = previous.rstrip()[-1:]
    if (piece[:1].islower() and not piece[1:2].isupper() and not _LABEL.match(piece)
            and not (end and (end.islower() or end in ",;:(-–"))):
        # lower case after a full stop or a title line: text lost in extraction ("... 28th
        # March 2020" then "estimates that ..."); after "on the" it is a wrapped line. At the
        # passage's start it is a sentence cut in two by chunking ("number of customers will
        # continue ..."); "mRNA" and "eGFR" are names, not lower case
        return False
    if last and not alone and not piece.rstrip().endswith(_TERMINAL) and (
            han_count(piece) >= 2 or len(token_spans(piece)) > CUT_OFF_TOKENS
            or piece.split()[-1].lower() in _CUT_AFTER):
        # the passage ends mid-sentence; a short last line without a stop is a list item
        # ("- Give 15 g of glucose"), which protocols write that way
        return False
    words = [w for w in LATIN_WORD.findall(piece) if w.isalpha()]
    if han_count(piece) < 2 and len(_NUMBER_TOKEN.findall(piece)) > MAX_NUMBERS:
        return False  # "Working capital $ 4,237 $ 3,942 Current ratio 1.6 1.4 ...": a table
    # "Fiscal 2024 Fiscal 2023 Total Stores at Beginning of ...": a table or signature run
    return not (len(words) >= 8 and han_count(piece) < 2
                and sum(1 for w in words if w.islower()) / len(words) < MIN_LOWER_SHARE)


@dataclass(frozen=True)
class Candidate:
    """A quotable sentence or row of passage ``n``; ``context`` is what it is ranked by."""

    n: int
    text: str
    context: str
    row: Row = ()
    lead: str = ""
    """The sentence before it in the passage: read for coverage only ("Apply enough rub ...
    for 20-30 seconds" follows the sentence saying it is about alcohol hand rub)."""
    position: int = 0
    """How many quoted sentences of its passage come before it."""


def candidate_sentences(passages: Sequence[Passage]) -> list[Candidate]:
    out: list[Candidate] = []
    for n, p in enumerate(passages, 1):
        rows = table_cells(p.text)
        title = p.heading_path[-1] if p.heading_path else ""
        if rows is not None:
            # A row is ranked with the table's caption or section ("Table 2. DOAC dose for
            # atrial fibrillation"): "DOAC: Apixaban; ...: 5 mg" alone never mentions it.
            for row in rows:
                text = row_text(row)
                if not looks_like_instruction(text):
                    out.append(Candidate(n, text, f"{title}: {text}" if title else text, row))
            continue
        previous, first = "", len(out)
        spans = split_sentences(p.text)
        for i, (start, end) in enumerate(spans):
            piece = _REFERENCES.sub("", clean_claim(p.text[start:end]))
            # a heading line ("5.1 Single-name limit") names a topic, it answers nothing
            # nor does a question the document asks ("Do polyps differ?")
            if (MIN_TOKENS <= len(token_spans(piece)) <= MAX_TOKENS
                    and not looks_like_instruction(piece)
                    and not piece.rstrip().endswith(("?", "？"))
                    and _quotable(piece, i == len(spans) - 1, len(spans) == 1, previous)):
                # ranked with its section title: "Give 15-20 g" sits under "able to swallow"
                context = f"{title}: {piece}" if title else piece
                out.append(Candidate(n, piece, context, lead=previous,
                                     position=len(out) - first))
            previous = piece
    return out[:MAX_CANDIDATES]


# What kind of number a question asks for: a sentence holding one is likelier the answer.
_ASKS_FOR: tuple[tuple[re.Pattern[str], frozenset[str]], ...] = (
    (re.compile(r"\bhow (?:long|often|soon|quickly|many (?:days|hours|minutes|weeks|months|"
                r"years))\b|\bwithin how\b|多久|多长时间|几天|几小时|多少天|多少小时|多长"),
     frozenset({"second", "minute", "hour", "day", "week", "month", "year_span"})),
    (re.compile(r"\b(?:dose|dosage|how much|mg|maximum daily)\b|剂量|用量|多少毫克|几毫克"),
     frozenset({"mg", "g", "mcg", "ml", "unit", "mmol", "kg"})),
    (re.compile(r"\b(?:percentage|percent|ratio|rate|share)\b|百分比|比例|比率|占比"),
     frozenset({"percent"})),
    (re.compile(r"\bhow much (?:money|revenue|income|profit|cash)\b|\b(?:revenue|income|"
                r"profit|amount|price|cost|fee|fine|penalty|damages|compensation|deposit)\b|"
                r"金额|收入|利润|费用|多少钱|多少元|违约金|赔偿金|补偿金|罚款|罚金|押金|保证金"),
     frozenset({"usd", "gbp", "eur", "cny", "hkd"})),
)
ANSWER_TYPE_BONUS = 0.2


def _asked_units(question: str) -> frozenset[str]:
    lowered = question.lower()
    return frozenset().union(*(units for rx, units in _ASKS_FOR if rx.search(lowered)))


def _new_terms(question_terms: set[str], text: str, covered: set[str]) -> set[str]:
    lowered = text.lower()
    return {t for t in question_terms - covered if t in lowered}


def extract(question: str, passages: Sequence[Passage], embedder: Embedder,
            max_sentences: int = MAX_SENTENCES) -> list[AnswerSentence]:
    # a "how much" answer needs a number, a "how long" one a time: rank only those that can be
    candidates = [c for c in candidate_sentences(passages) if has_answer_type(question, c.text)]
    if not candidates:
        return []
    qvec = embedder.embed_query(question)
    vecs = embedder.embed_documents([c.context for c in candidates])
    cos = vecs @ qvec
    # the sentence before counts, a little less than the sentence's own words
    cov = np.array([max(coverage(question, c.context),
                        coverage(question, f"{c.lead} {c.context}") - LEAD_DISCOUNT)
                    for c in candidates])
    rank_bonus = np.array([0.05 * (len(passages) - c.n)
                           - min(POSITION_DISCOUNT * c.position, POSITION_CAP)
                           for c in candidates])
    asked = _asked_units(question)
    typed = np.array([ANSWER_TYPE_BONUS if asked and any(
        q.unit in asked for q in quantities(c.text)) else 0.0 for c in candidates])
    score = cos + 0.5 * cov + rank_bonus + typed
    order = [int(i) for i in np.argsort(-score, kind="stable")]
    best = float(score[order[0]])
    terms = set(key_terms(question))
    chosen = [order[0]]
    covered = _new_terms(terms, candidates[order[0]].context, set())
    # a second sentence must add a question term in its own words, not in its heading
    for i in order[1:]:
        if len(chosen) >= max_sentences or score[i] < best - MARGIN:
            break
        text = candidates[i].text
        if any(text in candidates[j].text or candidates[j].text in text for j in chosen):
            continue
        gained = _new_terms(terms, candidates[i].text, covered)
        if gained:
            chosen.append(i)
            covered |= gained
    chosen.sort(key=lambda i: (candidates[i].n, i))  # keep reading order within passages
    return [AnswerSentence(candidates[i].text, (candidates[i].n,), evidence=candidates[i].text,
                           row=candidates[i].row) for i in chosen]
