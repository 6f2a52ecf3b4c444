"""A pack's ``[[scopes]]``: what its documents' rules hold for (a population, a period, a
jurisdiction), read by ``app.dialog.scope`` to leave out passages that do not cover the
question's value."""

from __future__ import annotations

import re

from pydantic import Field, model_validator

from domains.base import Regexes, Strict, in_language


class SlotRange(Strict):
    """A numeric slot value that implies a scope value: an age below 18 means a child."""

    slot: str
    below: float | None = None
    at_least: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> SlotRange:
        if self.below is None and self.at_least is None:
            raise ValueError("give below, at_least or both")
        return self

    def holds(self, number: float) -> bool:
        return ((self.at_least is None or number >= self.at_least)
                and (self.below is None or number < self.below))


class ScopeValue(Strict):
    """One value of a scope dimension (adult, child), the words that name it and its label."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1, description="How messages name it: 'adults (aged 18 "
                       "and over)'.")
    label_zh: str = ""
    patterns: Regexes = Field(min_length=1, description="Regexes (en and zh) naming it.")
    implied_by: SlotRange | None = Field(
        None, description="A numeric slot range that means this value (age below 18).")

    def label_for(self, language: str) -> str:
        return in_language(language, self.label, self.label_zh)


class ScopeConfig(Strict):
    """A dimension a document's rules hold for (population, period, jurisdiction).

    A passage whose document or text names values of it, none of them the one the question
    names, is out of scope for that question. Values of one dimension exclude each other
    (adult / child; not adult / pregnant). They are either listed (``values``) or read from
    the text (``capture``: group 1 is the value, as the year of 'FY2023').
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = Field(min_length=1, description="The dimension in plain words, for "
                             "the turn's explanation: 'patient group'.")
    description_zh: str = ""
    values: list[ScopeValue] = Field(default_factory=list)
    capture: Regexes = Field(default_factory=list, description="Regexes whose group 1 is a "
                             "value not listed (a year).")
    capture_label: str = Field("{value}", description="Label of a captured value.")
    capture_label_zh: str = "{value}"
    ignore: Regexes = Field(default_factory=list, description="Text that looks like a value "
                            "and is none ('Regulations 2017', an approval date): blanked first.")
    cues: Regexes = Field(default_factory=list, description="Sentences of a document that "
                          "state its scope on this dimension ('governed by the law of'), "
                          "besides 'applies to', 'scope', '适用范围'.")
    slots: list[str] = Field(default_factory=list, description="Slots whose values carry this "
                             "dimension from turn to turn (a patient's group holds for every "
                             "later question; a year is carried by the rewritten query).")

    def description_for(self, language: str) -> str:
        return in_language(language, self.description, self.description_zh)

    @model_validator(mode="after")
    def _has_values(self) -> ScopeConfig:
        if not self.values and not self.capture:
            raise ValueError(f"scope '{self.name}' lists no values and no capture patterns")
        for pattern in self.capture:
            if re.compile(pattern).groups < 1:
                raise ValueError(f"capture pattern {pattern!r} has no group for the value")
        names = [v.name for v in self.values]
        if len(set(names)) != len(names):
            raise ValueError(f"scope '{self.name}' lists a value twice: {names}")
        return self
