"""Whether a message refers back to the conversation, and why: the cues ``rewrite`` acts on.

A follow-up is searched with the previous turn's topic only when it refers back; a message
that names its own topic is searched as asked, because the old topic's words would outweigh
the new ones (after "renting or buying?", "Value" carrying "renting buying convenient" fetches
the renting passages). The cues, first match wins:

===============================  ==========================================  ==============
cue                              examples                                    carries topic
===============================  ==========================================  ==============
answer to a clarifying question  "82" after "How old is the patient?"        yes
continuation opener, final 呢    "and in 2023?", "what about its dose?",     yes
                                 "how about", "also", "那儿童呢？"
referring expression             "is it given IV?", "where to buy those?",   yes, unless
                                 "its dose", "the drug", "该药", "它"        anchored
ellipsis: a short fragment with  "for children?" (preposition), "any         yes, unless
no topic of its own              awards?" (quantifier), "the dose?"          anchored
                                 (definite), "other games?" (comparative),
                                 "who approves?" / "由谁审批？" (question
                                 word, no noun), "I am in Sacramento" (the
                                 asker's situation), "2023?" (slot values)
a new noun phrase                "Value", "Gifting", "streaming services?",  no (only the
                                 "What are ETFs?" (asks what X is), "赠与",  pack's entity)
                                 "什么是资本利得税？"
===============================  ==========================================  ==============

*Anchored*: the message has two or more content words and one of them was already said in
the conversation, so its pronoun or its comparison is resolved inside it: "Enough for chemo
and infertility, is this hereditary?", "Is refinancing the same as getting a mortgage?",
"other games?" after "the game". Possessives ("its", "their", "它的"), the pack's entity nouns
("the drug"), an "any ..." fragment and a preposition fragment always point outside ("is its
dose reduced?" after an apixaban dose question is still about apixaban).

A fragment is at most four words (eight Chinese characters) with at most two key terms;
everything else without a cue is an ordinary standalone question ("What is the capital gains
tax on shares?"). The
word lists are English and Chinese, read together as the phrasebooks are; left out on purpose:
a parser or tagger (none ships offline; a word-class guess from jieba's tagger was wrong on
"赠与" and "生效").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.dialog.phrases import References, en, references, zh
from app.dialog.state import Turn
from domains.pack import Pack
from knowledge.text.cjk import han_count, has_han
from knowledge.text.tokenize import key_terms

SHORT_TERMS = 2
SHORT_WORDS = 4
SHORT_HAN = 8
STRONG_PRONOUN_MAX_TERMS = 8
WEAK_PRONOUN_MAX_TERMS = 5
ZH_TAIL_MAX_TERMS = 3
ANCHOR_MIN_TERMS = 2

_FLAGS = re.IGNORECASE

# Words that never name a topic, so are not carried into a follow-up: general verbs (what the
# asker does, not what about) and vague adjectives and adverbs. "what happens to Toby at the
# end of The Office?" -> "any reason to end?" carries "toby office", not "happens".
NON_TOPIC_WORDS = frozenset({
    "happen", "happens", "happened", "happening", "get", "gets", "got", "getting", "take",
    "takes", "took", "taking", "make", "makes", "made", "making", "need", "needs", "needed",
    "want", "wants", "wanted", "go", "goes", "going", "went", "come", "comes", "see", "look",
    "looking", "find", "try", "tried", "trying", "keep", "keeps", "put", "say", "says", "ask",
    "asked", "help", "let", "seem", "seems", "become", "able", "work", "works", "use", "used",
    "using", "include", "includes", "including", "explain", "describe", "good", "best",
    "better", "most", "more", "only", "certain", "possible", "available", "various",
    "currently", "usually", "typically", "generally", "basically", "exactly", "specifically",
    "speaking", "way", "thing", "things", "anything", "something", "cannot", "am",
})
_EN_OPENER = re.compile(en.FOLLOW_UP_OPENER, _FLAGS)
_ZH_OPENER = re.compile(zh.FOLLOW_UP_OPENER)
_ZH_TAIL = re.compile(zh.FOLLOW_UP_TAIL)
LATIN_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")

# --- the words of a fragment (English) ---------------------------------------------------------

# A fragment that opens with one of these modifies the question before: "for children?".
_EN_PREPOSITIONS = frozenset({
    "for", "in", "with", "without", "during", "after", "before", "at", "on", "from", "under",
    "over", "by", "about", "regarding", "concerning", "vs", "versus", "than", "to", "into",
    "within", "between", "among", "per", "via", "like", "unlike", "besides", "except",
})
# "any awards?", "the dose?", "more details?": a determiner that presupposes what it is of.
_EN_PRESUPPOSING = frozenset({
    "any", "anything", "anyone", "some", "something", "more", "less", "fewer", "the", "its",
    "their", "his", "her", "this", "that", "these", "those", "such", "each", "both", "either",
    "neither", "same", "similar",
})
# "other games?", "different versions?": a comparison with what was asked before; its noun
# may name the topic itself, so these may be anchored.
_EN_COMPARATIVES = frozenset({"other", "another", "others", "different", "else", "alternative",
                              "alternatives"})
# Words before a noun that point at it rather than say which one it is.
DETERMINERS = _EN_PRESUPPOSING | _EN_COMPARATIVES
_EN_QUESTION_WORDS = frozenset({
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "is", "are", "was",
    "were", "do", "does", "did", "can", "could", "should", "would", "will", "may", "might",
    "must", "has", "have", "had", "shall",
})
# "What are ETFs?", "who is Toby?": asks what a bare noun phrase is, so it names its topic;
# not "what is the dose?" nor "what is it?".
_EN_DEFINITION = re.compile(
    r"^\W*(?:what|who)(?:\s+(?:is|are|was|were)|['’]s)\s+"
    r"(?!(?:the|this|that|these|those|its|their|it|they|them|he|she|his|her|there)\b)\w",
    _FLAGS)
# "I am in Sacramento", "she's 82", "we're based in Leeds": the asker's situation qualifies
# the question before, as a slot value does.
_EN_SITUATION = re.compile(
    r"^\W*(?:i|we|she|he)\s*(?:am|is|are|was|were|['’](?:m|s|re))\s+"
    r"(?:(?:now|currently|still|also)\s+)?(?:in|at|on|from|based|located|living|aged|over"
    r"|under|about|\d)", _FLAGS)
_EN_POSSESSIVE = re.compile(r"\b(?:its|their)\b", _FLAGS)

# --- the words of a fragment (Chinese) ---------------------------------------------------------

_ZH_QUESTION_WORDS = re.compile(
    r"谁|什么|哪|多少|多久|多长|多大|几|怎么|怎样|如何|为什么|为何|何时|是否|吗|有没有|是不是|能否|可否")
_ZH_DEFINITION = re.compile(r"^\W*什么(?:是|叫)|是什么\W*$|指什么|的(?:定义|含义|意思)")
_ZH_PREPOSITIONS = re.compile(r"^\W*(?:对于|至于|关于|针对|对|给|在|按|按照|根据|除了)")
_ZH_COMPARATIVES = re.compile(r"^\W*(?:其他|其它|别的|另一|不同)")
_ZH_POSSESSIVE = re.compile(r"它的|其(?![他它中余实次])")


@dataclass(frozen=True)
class Cue:
    """What a message does with the conversation, in words for ``Rewrite.reason``.

    ``refers_back`` True: rewrite it with the previous turn. False: it names its own topic
    (``label`` says how), so it is searched as asked, with the conversation's entity unless
    ``keeps_entity`` is False (a definition: "What are ETFs?" is the same in any company).
    """

    refers_back: bool
    label: str
    keeps_entity: bool = True


def read_cue(text: str, last: Turn, aspect: list[str], pack: Pack,
             earlier: Iterable[Turn]) -> Cue | None:
    """The cue in ``text`` (one message, whitespace-normalised) after turn ``last``, or None
    for an ordinary standalone question. ``aspect`` is the message's own key terms (no slot
    values, fillers or reference words); ``earlier`` the conversation's turns so far."""
    if last.decision == "clarify" and not aspect:
        return Cue(True, "answer to the clarifying question")
    opener = _EN_OPENER.match(text) or _ZH_OPENER.match(text)
    if opener and opener.group().strip(" \t,，"):
        return Cue(True, f"opener {opener.group().strip(' ,，?？').lower()!r}")
    terms = key_terms(text)
    if _ZH_TAIL.search(text) and len(terms) <= ZH_TAIL_MAX_TERMS:
        # Only short: "…完成首次跌倒风险评估呢？" is a whole question that merely ends in 呢.
        return Cue(True, "ends with '呢'")
    refs = references(pack.entity_nouns("en"), pack.entity_nouns("zh"))
    pronoun = _pronoun(text, terms, refs)
    if pronoun is not None:
        label = f"pronoun {pronoun.lower()!r}"
        if _points_outside(text, refs):
            return Cue(True, label)
        return _unless_anchored(label, aspect, earlier)
    if len(terms) <= SHORT_TERMS and is_short(text):
        return _fragment(text, aspect, earlier)
    return None


def is_short(text: str) -> bool:
    """At most four words or eight Chinese characters: a fragment rather than a question."""
    return len(LATIN_WORD.findall(text)) <= SHORT_WORDS and han_count(text) <= SHORT_HAN


def fold(term: str) -> str:
    """A term for "was it said before": plurals folded ("games" ~ "game", "policies")."""
    if has_han(term) or len(term) <= 3 or not term.isalpha():
        return term
    if term.endswith("ies"):
        return term[:-3] + "y"
    if term.endswith("s") and not term.endswith("ss"):
        return term[:-1]
    return term


# --- the cues ---------------------------------------------------------------------------------


def _pronoun(text: str, terms: list[str], refs: References) -> str | None:
    # A long question that says "its" or "该" usually refers inside itself; a short one back.
    found = None
    if len(terms) <= STRONG_PRONOUN_MAX_TERMS:
        found = refs.en_strong.search(text) or refs.zh_strong.search(text)
    if found is None and len(terms) <= WEAK_PRONOUN_MAX_TERMS:
        found = refs.en_weak.search(text)
    return found.group() if found else None


def _points_outside(text: str, refs: References) -> bool:
    """A possessive or a pack noun ("its", "the drug", "该药", "它的") needs its antecedent
    outside the message; "it", "this", "the same" may find one inside."""
    return any(p.search(text) for p in (refs.en_replace_noun, refs.zh_replace_noun,
                                        _EN_POSSESSIVE, _ZH_POSSESSIVE))


def _fragment(text: str, aspect: list[str], earlier: Iterable[Turn]) -> Cue:
    """A short message without opener or pronoun: ellipsis, or a new noun phrase."""
    if not aspect:
        return Cue(True, "short, no topic of its own")
    words = [w.lower() for w in LATIN_WORD.findall(text)]
    if han_count(text) > len(words):
        return _fragment_zh(text, aspect, earlier)
    first = re.split(r"['’]", words[0])[0] if words else ""  # "what's" -> "what"
    if first in _EN_PREPOSITIONS or first in _EN_PRESUPPOSING:
        return Cue(True, f"fragment opening with {first!r}")
    if _EN_SITUATION.match(text):
        return Cue(True, "the asker's situation")
    if first in _EN_COMPARATIVES:
        return _unless_anchored(f"comparison {first!r}", aspect, earlier)
    if first in _EN_QUESTION_WORDS:
        if _EN_DEFINITION.match(text):
            return Cue(False, f"asks what {_phrase(text, first)!r} is", keeps_entity=False)
        return _unless_anchored("short question without a topic noun", aspect, earlier)
    return Cue(False, f"a new noun phrase {_phrase(text)!r}")


def _fragment_zh(text: str, aspect: list[str], earlier: Iterable[Turn]) -> Cue:
    if _ZH_DEFINITION.search(text):
        return Cue(False, f"asks what {'、'.join(aspect)!r} is", keeps_entity=False)
    preposition = _ZH_PREPOSITIONS.match(text)
    if preposition:
        return Cue(True, f"fragment opening with {preposition.group().strip()!r}")
    comparative = _ZH_COMPARATIVES.match(text)
    if comparative:
        return _unless_anchored(f"comparison {comparative.group().strip()!r}", aspect, earlier)
    if _ZH_QUESTION_WORDS.search(text):
        return _unless_anchored("short question without a topic noun", aspect, earlier)
    return Cue(False, f"a new noun phrase {_phrase(text)!r}")


def _unless_anchored(label: str, aspect: list[str], earlier: Iterable[Turn]) -> Cue:
    """Refers back, unless the message names a word the conversation already used."""
    if len(aspect) >= ANCHOR_MIN_TERMS:
        said = {fold(t) for turn in earlier if turn.decision != "social"
                for t in key_terms(turn.question)}
        anchor = next((t for t in aspect if fold(t) in said and t not in NON_TOPIC_WORDS), None)
        if anchor is not None:
            return Cue(False, f"{label} resolved in the question, which names {anchor!r}")
    return Cue(True, label)


def _phrase(text: str, skip: str = "") -> str:
    phrase = text.strip(" \t?？。.!！")
    if skip:
        phrase = re.sub(rf"^\W*{re.escape(skip)}(?:['’]s|\s+(?:is|are|was|were))?\s*", "",
                        phrase, flags=_FLAGS)
    return phrase
