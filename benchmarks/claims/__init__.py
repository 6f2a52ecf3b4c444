"""Claims for the verifier benchmark: true and corrupted answer sentences with their passages.

The checker (``app.dialog.claims.check_claim``) decides whether one answer sentence stands on
one passage sentence or table row. To measure it we need answer sentences whose truth we know
without a model or a human: true ones are taken from real evaluation passages (verbatim,
lightly paraphrased, or a table row as an extractive answer shows it), corrupted ones are the
same sentences with one deliberate, verified change (a number, a unit, a negation, a name...).
Everything is seeded, so two runs on the same data build the same claims.
"""

from benchmarks.claims.build import build_cases
from benchmarks.claims.types import Case

__all__ = ["Case", "build_cases"]
