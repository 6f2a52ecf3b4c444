"""Meaning-preserving rewrites of a true sentence: what a faithful writer does to a quote.

Only edits that keep every number, every negation and every content word (except a dropped
parenthetical that holds no number): a lead-in ("According to the documents, "), a dropped
discourse word ("However, "), a dropped parenthetical, a contraction or its expansion, and a
different final stop. Anything cleverer (synonyms, reordering) could change the meaning, and
then a removal would not be the checker's fault.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

EN_PREFIXES = ("According to the documents, ", "The documents state that ")
ZH_PREFIXES = ("根据文件，", "文件显示，")
_EN_DISCOURSE = re.compile(
    r"^(?:However|In addition|Moreover|Furthermore|Additionally|Therefore|Thus|Also|Finally|"
    r"In contrast|Similarly|Notably|Importantly|In particular|Overall|Indeed|Hence),\s+")
_ZH_DISCOURSE = re.compile(
    r"^(?:此外|但是|同时|另查明|经审理查明|本院认为|经查|另|综上|因此|并且|而且)[,，:：]?")
_EN_PAREN = re.compile(r"\s*\(([^()]{2,60})\)")
_ZH_PAREN = re.compile(r"[(（]([^()（）]{1,30})[)）]")
# Lowercased after a lead-in; anything else may be a name ("Sanofi", "ADMA") and keeps its case.
_COMMON_FIRST = frozenset((
    "the", "this", "these", "that", "those", "a", "an", "in", "we", "it", "our", "there", "all",
    "each", "both", "most", "some", "many", "its", "patients", "no", "none", "one", "two",
    "several", "such"))

CONTRACTIONS = (("do not", "don't"), ("does not", "doesn't"), ("did not", "didn't"),
                ("is not", "isn't"), ("are not", "aren't"), ("was not", "wasn't"),
                ("were not", "weren't"), ("cannot", "can't"), ("will not", "won't"),
                ("has not", "hasn't"), ("have not", "haven't"), ("should not", "shouldn't"),
                ("would not", "wouldn't"), ("could not", "couldn't"))


def lead_in(prefix: str, claim: str, vocab: frozenset[str] = frozenset()) -> str:
    """``prefix`` + the claim, its first word lowercased when it is an ordinary word (one
    the corpus also writes in lowercase), never when it may be a name."""
    first = claim.split(" ", 1)[0].rstrip(",")
    ordinary = first.lower() in _COMMON_FIRST or first.lower() in vocab
    if first == "A" or (ordinary and first[1:].islower()):
        claim = claim[0].lower() + claim[1:]
    return prefix + claim


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _en_discourse(claim: str, rng: random.Random) -> str | None:
    match = _EN_DISCOURSE.match(claim)
    return _capitalise(claim[match.end():]) if match else None


def _en_paren(claim: str, rng: random.Random) -> str | None:
    options = [m for m in _EN_PAREN.finditer(claim) if not any(c.isdigit() for c in m.group(1))]
    if not options:
        return None
    m = rng.choice(options)
    out = claim[:m.start()] + claim[m.end():]
    return out if len(out.split()) >= 6 else None


def _en_contraction(claim: str, rng: random.Random) -> str | None:
    for long, short in rng.sample(CONTRACTIONS, len(CONTRACTIONS)):
        for a, b in ((long, short), (short, long)):
            pattern = re.compile(rf"\b{re.escape(a)}\b")
            if pattern.search(claim):
                return pattern.sub(b, claim, count=1)
    return None


def _en_stop(claim: str, rng: random.Random) -> str | None:
    return claim[:-1] if claim.endswith(".") else claim + "."


def _zh_discourse(claim: str, rng: random.Random) -> str | None:
    match = _ZH_DISCOURSE.match(claim)
    out = claim[match.end():] if match else ""
    return out if len(out) >= 10 else None


def _zh_paren(claim: str, rng: random.Random) -> str | None:
    options = [m for m in _ZH_PAREN.finditer(claim) if not any(c.isdigit() for c in m.group(1))]
    if not options:
        return None
    m = rng.choice(options)
    out = claim[:m.start()] + claim[m.end():]
    return out if len(out) >= 10 else None


def _zh_punct(claim: str, rng: random.Random) -> str | None:
    out = claim.replace(",", "，").replace(":", "：").replace(";", "；")
    return out if out != claim else None


def _zh_stop(claim: str, rng: random.Random) -> str | None:
    return claim[:-1] if claim.endswith("。") else claim + "。"


Edit = Callable[[str, random.Random], str | None]
_EN_EDITS: tuple[Edit, ...] = (_en_discourse, _en_paren, _en_contraction)
_ZH_EDITS: tuple[Edit, ...] = (_zh_discourse, _zh_paren, _zh_punct)


def paraphrase(claim: str, lang: str, rng: random.Random, vocab: frozenset[str] = frozenset()
               ) -> str | None:
    """One or two rewrites, maybe a lead-in (last, so no rewrite undoes it), maybe a new final
    stop; None when nothing but the stop could change."""
    edits = _ZH_EDITS if lang == "zh" else _EN_EDITS
    stop = _zh_stop if lang == "zh" else _en_stop
    out = claim
    applied = 0
    wanted = rng.choice((1, 1, 2))
    for edit in edits:
        if applied < wanted and rng.random() < 0.7:
            changed = edit(out, rng)
            if changed and changed != out:
                out, applied = changed, applied + 1
    if applied == 0 or rng.random() < 0.3:
        if lang == "zh":
            out = rng.choice(ZH_PREFIXES) + out
        else:
            out = lead_in(rng.choice(EN_PREFIXES), out, vocab)
    if rng.random() < 0.3:
        out = stop(out, rng) or out
    return out if out != claim else None
