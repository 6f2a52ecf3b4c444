"""The verifier benchmark's fast subset: its corruptions are real, and the claim checker meets
the target on it (at least 0.95 of corrupted claims caught, at most 0.05 of true ones removed).

The claims are built by the benchmark's own generator (``benchmarks.claims``) with a fixed
seed from the evaluation sets in ../shared/evalsets (the 300-passage cuts, to stay fast); the
full run is ``python -m benchmarks.verifier_bench``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest

from benchmarks.claims.build import build_cases
from benchmarks.claims.corpus import EN_MINI_DATASETS, EVALSETS
from benchmarks.claims.edits import absent, normalised, number_values
from benchmarks.claims.score import (
    TARGET_CAUGHT,
    TARGET_REMOVED,
    evaluate,
    new_checker,
)
from benchmarks.claims.types import CORRUPT_KINDS, Case

pytestmark = pytest.mark.skipif(not (EVALSETS / "cjrc-zh-mini").is_dir(),
                                reason=f"evaluation sets not found at {EVALSETS}")

SEED = 7
_MARKER = re.compile(r"^\d\. \*\*")


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    english = build_cases("en", limit=40, seed=SEED, datasets=EN_MINI_DATASETS, rows=40)
    chinese = build_cases("zh", limit=12, seed=SEED, rows=40)
    return english + chinese


def _in(needle: str, haystack: str) -> bool:
    """Contained, ignoring case, spacing and punctuation (for quotes of the passage)."""
    return normalised(needle) in normalised(haystack)


def _has(needle: str, haystack: str) -> bool:
    """Contained, ignoring case and spacing only ("$1000" and "€1000" differ)."""
    return not absent(needle, haystack)


def test_subset_has_every_kind_in_both_languages(cases: Sequence[Case]) -> None:
    for lang, true_n, bad_n in (("en", 40, 40), ("zh", 12, 10)):
        mine = [c for c in cases if c.lang == lang]
        assert sum(c.truth for c in mine) == true_n
        assert sum(not c.truth for c in mine) >= bad_n
    kinds = {c.kind for c in cases if c.lang == "en" and not c.truth}
    assert kinds == set(CORRUPT_KINDS)
    assert {c.kind for c in cases if c.truth and c.lang == "en"} >= {"verbatim", "paraphrase",
                                                                       "table_row"}


def test_generator_is_seeded(cases: Sequence[Case]) -> None:
    again = build_cases("en", limit=40, seed=SEED, datasets=EN_MINI_DATASETS, rows=40)
    assert [(c.kind, c.claim, c.cited) for c in again] == \
        [(c.kind, c.claim, c.cited) for c in cases if c.lang == "en"]


def test_true_claims_are_in_their_source(cases: Sequence[Case]) -> None:
    for case in (c for c in cases if c.truth):
        source = case.source_text
        assert 1 <= case.source_n <= len(case.passages)
        assert case.cited in ((case.source_n,), ()), case
        assert number_values(case.claim) <= number_values(source), case.claim
        if case.kind in ("verbatim", "uncited"):
            assert _in(case.claim, re.sub(r"\[\d+(?:[,–-]\s*\d+)*\]", "", source)), case.claim


def test_corruptions_are_real_changes(cases: Sequence[Case]) -> None:
    for case in (c for c in cases if not c.truth):
        source = case.source_text
        if case.kind == "repetition":
            assert case.earlier, case
            earlier = case.earlier[0]
            assert _in(case.claim, earlier) or _in(earlier, case.claim), case
            continue
        if case.kind == "wrong_cite":
            assert case.wrong != case.source_n and case.cited == (case.wrong,)
            assert not _in(case.claim, case.passages[case.wrong - 1].text), case
            continue
        if case.kind == "echo":
            assert case.question and not _in(case.claim, source)
            continue
        assert " ".join(case.claim.split()) != " ".join(case.origin.split()), case
        if case.kind == "fragment":
            piece = _MARKER.sub("", case.claim)
            assert len(piece) < len(case.origin) and _in(piece, case.origin), case
            continue
        assert not _has(case.claim, source), case
        assert (case.new and case.new in case.claim) or case.kind == "negation", case
        if case.kind == "number":
            value = float(case.new.replace(",", ""))
            assert value not in number_values(source), case
        if case.kind == "entity":
            assert case.new.lower() not in source.lower(), case
            assert case.old in case.origin and case.new not in case.origin, case
        if case.kind == "negation":
            assert case.old != case.new, case


def test_claim_checker_meets_the_target_on_the_subset(cases: Sequence[Case]) -> None:
    checker = new_checker()
    assert checker is not None, "app.dialog.claims.check_claim is not implemented"
    result = evaluate(cases, checker)
    misses = "\n".join(
        f"{m.case.lang} {m.case.kind} ({'removed' if m.case.truth else 'kept'}, "
        f"reason {m.outcome.reason!r}): {m.case.claim}"
        for m in result.misses)
    assert result.caught >= TARGET_CAUGHT, misses
    assert result.removed <= TARGET_REMOVED, misses
