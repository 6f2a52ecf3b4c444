"""Plain data for answers: what was decided, what was said, and where each sentence came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from knowledge.types import Passage

Decision = Literal["answer", "refuse", "clarify", "social"]


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of the answer and the passage numbers (1-based) that support it.

    ``attributed`` marks citations verirag added by matching the sentence against the
    passages because the model wrote none; ``supported`` is False for a sentence no passage
    supports (those are removed from the answer and reported).
    """

    text: str
    citations: tuple[int, ...]
    supported: bool = True
    attributed: bool = False
    evidence: str = ""
    """The passage sentence or table row that supports it (shown in the detail view)."""
    row: tuple[tuple[str, str], ...] = ()
    """For a table row quoted as the answer: (column, cell) pairs, rendered as a small table."""


@dataclass
class Timings:
    retrieval_s: float = 0.0
    first_token_s: float | None = None
    generation_s: float | None = None
    tokens: int = 0
    prompt_tokens: int = 0

    @property
    def tokens_per_s(self) -> float | None:
        if not self.generation_s or not self.tokens:
            return None
        decode = self.generation_s - (self.first_token_s or 0.0)
        return self.tokens / decode if decode > 0 else None


@dataclass
class Answer:
    question: str
    query: str
    decision: Decision
    text: str
    sources: list[Passage] = field(default_factory=list)
    sentences: list[AnswerSentence] = field(default_factory=list)
    mode: str = "generate"
    invalid_markers: int = 0
    removed_sentences: list[str] = field(default_factory=list)
    disclaimer: str = ""
    evidence: dict[str, float] = field(default_factory=dict)
    timings: Timings = field(default_factory=Timings)
    raw_output: str = ""

    @property
    def cited(self) -> list[int]:
        """Passage numbers cited anywhere in the answer, in order of first use."""
        seen: list[int] = []
        for s in self.sentences:
            for n in s.citations:
                if n not in seen:
                    seen.append(n)
        return seen

    def cited_passages(self) -> list[tuple[int, Passage]]:
        return [(n, self.sources[n - 1]) for n in self.cited if 0 < n <= len(self.sources)]
