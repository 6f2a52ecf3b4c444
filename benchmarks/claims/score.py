"""Run a checker over the cases and count what it got right, per language and kind.

Two checkers: the new claim checker (``app.dialog.claims.check_claim``) and, as the baseline,
the old answer check (``benchmarks.claims.baseline``: lexical support of a sentence by a
passage, numbers included). A true claim is wrongly removed when it is not kept. A corrupted
claim is caught when it is not kept; a wrongly cited one is also caught when it is kept but no
longer shown with the wrong passage number (the checker moved the citation to the right one).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from benchmarks.claims.baseline import old_check
from benchmarks.claims.types import CORRUPT_KINDS, TRUE_KINDS, Case

TARGET_CAUGHT = 0.95
TARGET_REMOVED = 0.05


@dataclass(frozen=True)
class Outcome:
    """What a checker did with one claim."""

    kept: bool
    citations: tuple[int, ...] = ()
    reason: str = ""
    evidence: str = ""


Checker = Callable[[Case], Outcome]


def new_checker() -> Checker | None:
    """The claim checker, or None while ``check_claim`` is still a stub."""
    from app.dialog.claims import check_claim

    def run(case: Case) -> Outcome:
        verdict = check_claim(case.claim, case.passages, cited=case.cited,
                              question=case.question, earlier=case.earlier)
        return Outcome(verdict.kept, tuple(verdict.citations), verdict.reason, verdict.evidence)

    try:
        from knowledge.types import Passage

        probe = Passage(0, 0, "probe", "The probe passage says nothing.", (), None, 1.0)
        check_claim("The probe passage says nothing.", [probe], cited=(1,))
    except NotImplementedError:
        return None
    return run


def old_checker(case: Case) -> Outcome:
    """The old rule (``baseline.old_check``): the claim with its [n] markers; kept when any of
    its sentences survives."""
    kept = old_check(case.claim, case.cited, case.passages, case.question)
    citations = tuple(dict.fromkeys(n for _, cited in kept for n in cited))
    return Outcome(bool(kept), citations, "" if kept else "unsupported")


def correct(case: Case, outcome: Outcome) -> bool:
    """Whether the checker did the right thing with this claim."""
    if case.truth:
        return outcome.kept
    if case.kind == "wrong_cite":
        return not outcome.kept or case.wrong not in outcome.citations
    return not outcome.kept


@dataclass
class Tally:
    n: int = 0
    right: int = 0

    @property
    def share(self) -> float:
        return self.right / self.n if self.n else 0.0

    def wrong_share(self) -> float:
        return (self.n - self.right) / self.n if self.n else 0.0


@dataclass
class Miss:
    case: Case
    outcome: Outcome


@dataclass
class LangResult:
    """One checker's counts for one language."""

    true: dict[str, Tally] = field(default_factory=dict)
    corrupted: dict[str, Tally] = field(default_factory=dict)
    misses: list[Miss] = field(default_factory=list)
    elsewhere: int = 0
    seconds: float = 0.0

    def add(self, case: Case, outcome: Outcome) -> None:
        table = self.true if case.truth else self.corrupted
        tally = table.setdefault(case.kind, Tally())
        tally.n += 1
        if correct(case, outcome):
            tally.right += 1
            if case.truth and case.source_n not in outcome.citations:
                self.elsewhere += 1
        else:
            self.misses.append(Miss(case, outcome))

    def overall(self, truth: bool) -> Tally:
        table = self.true if truth else self.corrupted
        return Tally(sum(t.n for t in table.values()), sum(t.right for t in table.values()))

    @property
    def caught(self) -> float:
        return self.overall(False).share

    @property
    def removed(self) -> float:
        return self.overall(True).wrong_share()

    def meets_target(self) -> bool:
        return self.caught >= TARGET_CAUGHT and self.removed <= TARGET_REMOVED

    def ordered(self, truth: bool) -> list[tuple[str, Tally]]:
        table = self.true if truth else self.corrupted
        kinds = TRUE_KINDS if truth else CORRUPT_KINDS
        return [(k, table[k]) for k in kinds if k in table]

    def as_json(self) -> dict:
        def kinds(truth: bool) -> dict:
            key = "removed" if truth else "caught"
            return {k: {"n": t.n, key: t.n - t.right if truth else t.right,
                        "share": round(t.wrong_share() if truth else t.share, 4)}
                    for k, t in self.ordered(truth)}

        total_true, total_bad = self.overall(True), self.overall(False)
        return {"true": kinds(True), "corrupted": kinds(False),
                "wrongly_removed": round(self.removed, 4),
                "wrongly_removed_count": total_true.n - total_true.right,
                "true_claims": total_true.n,
                "caught": round(self.caught, 4), "caught_count": total_bad.right,
                "corrupted_claims": total_bad.n, "kept_with_other_citation": self.elsewhere,
                "seconds": round(self.seconds, 2), "meets_target": self.meets_target()}


def evaluate(cases: Sequence[Case], checker: Checker) -> LangResult:
    result = LangResult()
    start = time.perf_counter()
    for case in cases:
        result.add(case, checker(case))
    result.seconds = time.perf_counter() - start
    return result
