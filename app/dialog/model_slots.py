"""Slot values proposed by the generator where the pack's patterns found nothing.

The model only proposes: ``app.dialog.slots`` keeps a value solely when it occurs literally
in the user's message, so a small model's invention never enters the dialog state. Called only
when the user is answering a clarifying question and the patterns missed.
"""

from __future__ import annotations

import json
import re

from app.models.generator import GenerationParams, Generator
from domains.pack import SlotConfig

_JSON = re.compile(r"\{.*?\}", re.DOTALL)
_PARAMS = GenerationParams(max_new_tokens=48, temperature=0.0, repetition_penalty=1.0)


class GeneratorSlotExtractor:
    def __init__(self, generator: Generator) -> None:
        self.generator = generator

    def __call__(self, text: str, slots: list[SlotConfig]) -> dict[str, str]:
        if not slots:
            return {}
        fields = "\n".join(f'- "{s.name}": {s.description}' for s in slots)
        messages = [
            {"role": "system", "content": "You extract values from a message. Reply with one "
             "JSON object and nothing else. Use only words from the message; omit a field "
             "the message does not state."},
            {"role": "user", "content": f"Fields:\n{fields}\n\nMessage: {text}\n\nJSON:"},
        ]
        raw = "".join(self.generator.stream(messages, _PARAMS))
        match = _JSON.search(raw)
        if not match:
            return {}
        try:
            data = json.loads(match.group())
        except json.JSONDecodeError:
            return {}
        names = {s.name for s in slots}
        return {k: str(v) for k, v in data.items()
                if k in names and isinstance(v, str | int | float) and str(v).strip()}
