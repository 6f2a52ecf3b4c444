"""Claims that are wrong by their form rather than their content: a fragment of a sentence, a
sentence said twice, the user's question handed back as an answer.

A small model produces all three (it stops mid-clause, repeats itself, restates the question),
and each can pass a word-overlap test: the words are the passage's or the question's own.
"""

from __future__ import annotations

import random
import re

from benchmarks.claims.edits import split_lead_in
from benchmarks.claims.truths import EN_PREFIXES, ZH_PREFIXES, lead_in

# Words a clause cannot end on: a piece cut right after one is unfinished for certain.
_EN_CUT_AFTER = frozenset(("of", "the", "to", "and", "with", "for", "in", "a", "an", "by",
                           "that", "from", "on", "is", "are", "was", "were"))
_ZH_CUT_AFTER = "的和与及在对于向将把被"


def _marker(piece: str, rng: random.Random) -> str:
    return f"{rng.randint(1, 9)}. **{piece}"


def fragment(claim: str, lang: str, rng: random.Random) -> str | None:
    """A piece of the claim that is unfinished for certain: cut right after a function word
    ("... the risk of", "...将"), or (Chinese) inside a word ("被告与中国光"); sometimes with a
    list marker and Markdown residue ("4. **Monitoring of"). A cut at an arbitrary word could
    leave a complete statement ("邵某向原告借款"), which would be true, not a fragment."""
    if lang == "zh":
        return _zh_fragment(claim, rng)
    words = claim.rstrip(".").split()
    cuts = [i + 1 for i, w in enumerate(words)
            if w.lower() in _EN_CUT_AFTER and 1 <= i < len(words) - 2]
    if not cuts:
        return None
    style = rng.choice(("head", "cut", "marker"))
    end = cuts[0] if style == "head" else rng.choice(cuts)
    piece = " ".join(words[:end])
    return _marker(piece, rng) if style == "marker" else piece


def _zh_fragment(claim: str, rng: random.Random) -> str | None:
    from benchmarks.claims.corrupt_zh import is_word, tag

    body = claim.rstrip("。")
    cuts = [i + 1 for i, ch in enumerate(body) if ch in _ZH_CUT_AFTER and 3 <= i < len(body) - 3]
    pos = 0
    for word, _ in tag(body):
        if (len(word) >= 3 and pos >= 3 and pos + len(word) <= len(body) - 3
                and all("\u4e00" <= ch <= "\u9fff" for ch in word)):  # "200000" -> "20": a number
            # inside a long word, where what is left is no word ("中国光大银行" -> "中国光"):
            # "出具" -> "出" or "文艺创作" -> "文艺" could still end a sentence
            cuts.extend(pos + k for k in range(2, len(word)) if not is_word(word[:k]))
        pos += len(word)
    if not cuts:
        return None
    piece = body[:rng.choice(cuts)]
    return _marker(piece, rng) if rng.random() < 0.3 else piece


def near_repeat(claim: str, lang: str, rng: random.Random) -> str:
    """The claim as an earlier sentence of the same answer said it: identical, or with a
    lead-in or a different final stop."""
    style = rng.choice(("same", "same", "prefix", "stop"))
    if style == "same":
        return claim
    if lang == "zh":
        lead, body = split_lead_in(claim, ZH_PREFIXES)
        if style == "prefix":
            return (body if lead else rng.choice(ZH_PREFIXES) + claim)
        return claim[:-1] if claim.endswith("。") else claim + "。"
    lead, body = split_lead_in(claim, EN_PREFIXES)
    if style == "prefix":
        return body[:1].upper() + body[1:] if lead else lead_in(rng.choice(EN_PREFIXES), claim)
    return claim[:-1] if claim.endswith(".") else claim + "."


def echoes(question: str, lang: str) -> list[str]:
    """The question handed back: verbatim, and as a statement (its "?" turned into a stop)."""
    q = " ".join(question.split())
    out = [q]
    if lang == "zh":
        if q.endswith(("？", "?")):
            out.append(q[:-1] + "。")
        return out
    if q.endswith("?"):
        out.append(q[:-1] + ".")
    m = re.match(r"(?i)^(what|which) (is|are|was|were) (the )?(.+)\?$", q)
    if m:
        out.append(f"The {m.group(4)} {m.group(2).lower()} as follows:")
    return out
