"""Should a newly trained adapter replace the one the pack serves? Measured, not assumed.

Both adapters (or the bare base, when none is served) answer the pack's own evaluation
questions through the whole pipeline — retrieval, decision, generation, citation check —
with the same retrieved passages, and each answer is judged correct, refused or confidently
wrong (``evals.metrics.correctness``). The candidate may be served only if it does not make
things worse: no larger share of confidently wrong answers (the error that matters here) and
no smaller share of correct ones. The verdict always says why, with the figures, so an admin
sees what was measured whichever way it went. Ties keep the candidate: it was trained on newer
data (users' ratings) and measured no worse.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from app.resources import Resources
from evals.runner import StepFn
from evals.service import run_evaluation
from evals.summary import Summary

DATASET = "pack"  # the pack's own eval/questions.jsonl


@dataclass(frozen=True)
class Verdict:
    activate: bool
    reason: str
    incumbent: str  # "base" or "adapter:NAME"
    candidate: str
    report: Path | None = None


def _share(summary: Summary, key: str) -> float | None:
    value = summary.get(key)
    return float(value) if isinstance(value, int | float) else None


def judge(incumbent: Summary, candidate: Summary, *, before: str, after: str) -> Verdict:
    """The rule in the module docstring, on two evaluation summaries."""
    n = int(candidate.get("n_outcomes") or 0)
    wrong = (_share(incumbent, "confidently_wrong"), _share(candidate, "confidently_wrong"))
    right = (_share(incumbent, "correct"), _share(candidate, "correct"))
    if not n or None in wrong or None in right:
        return Verdict(False, f"not served: no question of the pack's evaluation set could be "
                       f"judged, so {after} cannot be shown to be no worse than {before}",
                       before, after)
    figures = (f"confidently wrong {wrong[0]:.2f} -> {wrong[1]:.2f}, correct {right[0]:.2f} -> "
               f"{right[1]:.2f} on {n} questions")
    if wrong[1] > wrong[0]:  # type: ignore[operator]
        return Verdict(False, f"not served: more answers confidently wrong than {before} "
                       f"({figures})", before, after)
    if right[1] < right[0]:  # type: ignore[operator]
        return Verdict(False, f"not served: fewer answers correct than {before} ({figures})",
                       before, after)
    return Verdict(True, f"served: no worse than {before} ({figures})", before, after)


def compare_adapters(res: Resources, domain: str, candidate: str, incumbent: str | None, *,
                     limit: int | None = None, on_step: StepFn | None = None) -> Verdict:
    """Evaluate registry adapter ``candidate`` against ``incumbent`` (None: the base)."""
    before = f"adapter:{incumbent}" if incumbent else "base"
    after = f"adapter:{candidate}"
    done = run_evaluation(res, domain, DATASET, compare=f"{before},{after}", limit=limit,
                          on_step=on_step)
    summary = done.report.summary
    verdict = judge(summary[before], summary[after], before=before, after=after)
    return replace(verdict, report=done.folder)


def serve_if_no_worse(res: Resources, domain: str, candidate: str, *,
                      limit: int | None = None, on_step: StepFn | None = None) -> Verdict:
    """Compare ``candidate`` with what the pack serves now and serve it only if it is no
    worse; either way the verdict says why."""
    registry = res.adapters(domain)
    verdict = compare_adapters(res, domain, candidate, registry.active(), limit=limit,
                               on_step=on_step)
    if verdict.activate:
        registry.activate(candidate)
    return verdict
