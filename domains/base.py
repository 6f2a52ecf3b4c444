"""What every pack section is built from: strict models, regexes checked at load, and the
en/zh choice of a text. Kept apart so sections live in their own modules without a cycle."""

from __future__ import annotations

import re
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

_Patterns = TypeVar("_Patterns", list[str], dict[str, str])


def _all_compile(patterns: _Patterns) -> _Patterns:
    """Compile each regex now, so a typo fails at load naming the pattern, not at the first
    question that reaches it. A mapping names its patterns ("pattern 'mrn'")."""
    named = (patterns.items() if isinstance(patterns, dict)
             else ((None, pattern) for pattern in patterns))
    for name, pattern in named:
        try:
            re.compile(pattern)
        except re.error as exc:
            what = repr(pattern) if name is None else f"pattern '{name}'"
            raise ValueError(f"{what} is not a valid regex: {exc}") from exc
    return patterns


Regexes = Annotated[list[str], AfterValidator(_all_compile)]
NamedRegexes = Annotated[dict[str, str], AfterValidator(_all_compile)]
Word = Annotated[str, Field(min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def in_language(language: str, english: str, chinese: str) -> str:
    return chinese if language == "zh" and chinese else english
