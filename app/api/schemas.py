"""Request and response bodies: OpenAI's chat-completions shapes plus verirag's own field.

Only what verirag honours is read; the sampling fields clients send by default (temperature,
top_p, max_tokens...) are accepted and ignored — the pack's settings decide how answers are
made, so a client cannot loosen grounding. What would change the contract (``n`` > 1, tools,
images) is refused with a reason. The checked answer and its sources come back in
``choices[0].message.content`` (with ``[n]`` markers) and in the extra ``verirag`` field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.dialog.manager import MAX_QUESTION_CHARS

MAX_MESSAGES = 200


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        """The message as text; an image or audio part is refused, not silently dropped."""
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        kinds = {p.type for p in self.content} - {"text", "input_text"}
        if kinds:
            raise ValueError(f"message parts of type {', '.join(sorted(kinds))} are not "
                             "supported; send text")
        return "".join(p.text or "" for p in self.content)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: bool = False


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str = Field(min_length=1, max_length=64)
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = 1
    tools: list[Any] | None = None
    session_id: str | None = Field(None, max_length=64)
    """Continue a stored conversation by id (from an earlier response's ``verirag``)."""
    adapter: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    """An adapter of the pack to answer with instead of the one it serves (admins only)."""

    @field_validator("n")
    @classmethod
    def _one_choice(cls, n: int) -> int:
        if n != 1:
            raise ValueError("only n=1 is supported: verirag gives one checked answer")
        return n

    @field_validator("tools")
    @classmethod
    def _no_tools(cls, tools: list[Any] | None) -> list[Any] | None:
        if tools:
            raise ValueError("tools are not supported: verirag answers from the pack's "
                             "documents only")
        return tools

    @field_validator("messages")
    @classmethod
    def _sized(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        total = sum(len(m.text()) for m in messages)
        if total > MAX_MESSAGES * MAX_QUESTION_CHARS:
            raise ValueError(f"the messages hold {total} characters; the limit is "
                             f"{MAX_MESSAGES * MAX_QUESTION_CHARS}")
        return messages


class Source(BaseModel):
    n: int
    document: str
    doc_id: int
    chunk_id: int
    location: str
    passage: str
    score: float
    supports: list[tuple[str, str]] = []
    """(answer sentence, the passage sentence or row that supports it)."""


class Verirag(BaseModel):
    decision: Literal["answer", "refuse", "clarify", "social"]
    mode: str
    session_id: str
    turn_id: int
    query: str
    sources: list[Source]
    removed_sentences: list[str]
    disclaimer: str
    slots: dict[str, str]
    cached: bool
    adapter: str | None = None
    """The adapter the pack's generator was given for this turn (None: the bare base)."""


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "verirag"
    title: str = ""
    languages: list[str] = []
    answer_mode: str = ""
    adapter: str | None = None
    """The adapter the pack serves now (None: the bare base, or an extractive pack)."""
    role: str | None = None


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


class LabelsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    labels: list[str] = Field(default_factory=list, max_length=32)
