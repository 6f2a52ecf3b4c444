"""Chat messages to prompt text with the model's own chat template, as transformers renders it.

The template is the GGUF's ``tokenizer.chat_template``, rendered with the same sandboxed Jinja
settings transformers uses, so both backends feed the model the same tokens for the same
messages (a test compares them). A model without a template gets the plain
``ROLE: text`` layout the transformers backend falls back to.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from verirag.errors import GenerationError

Message = dict[str, str]


def _raise(message: str) -> None:
    raise GenerationError(f"the model's chat template refused the messages: {message}")


@lru_cache(maxsize=8)
def _compile(template: str) -> Any:
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[loopcontrols])
    env.filters["tojson"] = lambda x, indent=None, **_: json.dumps(x, ensure_ascii=False,
                                                                   indent=indent)
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env.from_string(template)


def render_chat(template: str | None, messages: Sequence[Message], *, bos: str,
                eos: str) -> str:
    if not template:
        text = "\n\n".join(f"{m['role'].upper()}: {m['content']}" for m in messages)
        return text + "\n\nASSISTANT:"
    return str(_compile(template).render(messages=list(messages), add_generation_prompt=True,
                                         bos_token=bos, eos_token=eos))
