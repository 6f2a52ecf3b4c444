"""Examples -> token ids and labels, with the loss on the assistant's tokens only.

The conversation is rendered with the tokenizer's chat template (exactly as the generator
renders a prompt), and each assistant reply's character span is found by rendering the
conversation up to it with the generation prompt: a reply starts where that prefix ends.
Tokens inside a reply (its text and the end-of-turn marker, so the model learns to stop) get
their ids as labels; everything else gets -100 and adds nothing to the loss. Learning to
reproduce the system prompt and the passages would teach nothing useful and swamp the signal.

A grounded example longer than ``max_length`` first drops distractor passages (renumbering
the citations); one that still does not fit, or a chat example that does not, is skipped and
counted rather than truncated: a cut-off reply would teach the model to stop mid-sentence.
A preference example becomes a :class:`Pair`, both replies encoded the same way.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from domains.pack import Pack
from finetune.formats import Example, GroundedExample, GroundedPreference, Message
from verirag.errors import FinetuneError

IGNORE = -100
Span = tuple[int, int]


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]
    where: str = ""

    @property
    def n_trained(self) -> int:
        return sum(1 for t in self.labels if t != IGNORE)


@dataclass(frozen=True)
class Pair:
    """A preference: the same prompt with the chosen and the rejected reply, both labelled."""

    chosen: Encoded
    rejected: Encoded

    @property
    def where(self) -> str:
        return self.chosen.where


Item = Encoded | Pair


@dataclass
class EncodeStats:
    encoded: int = 0
    shortened: int = 0
    skipped: list[str] = field(default_factory=list)


def _render(tokenizer: Any, messages: Sequence[Message], generation_prompt: bool) -> str:
    """The text the generator feeds the model (``TransformersGenerator.prompt_ids``)."""
    if tokenizer.chat_template:
        return str(tokenizer.apply_chat_template(list(messages), tokenize=False,
                                                 add_generation_prompt=generation_prompt))
    text = "\n\n".join(f"{m['role'].upper()}: {m['content']}" for m in messages)
    return text + ("\n\nASSISTANT:" if generation_prompt else "")


def assistant_spans(tokenizer: Any, messages: Sequence[Message]) -> tuple[str, list[Span]]:
    """The rendered conversation and the character spans of its assistant replies."""
    full = _render(tokenizer, messages, False)
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        before = _render(tokenizer, messages[:i], True)
        through = _render(tokenizer, messages[:i + 1], False)
        if not (full.startswith(through) and through.startswith(before)):
            raise FinetuneError("the tokenizer's chat template does not render a conversation "
                                "as a prefix of its continuation, so replies cannot be located; "
                                "use a model whose template appends turns")
        spans.append((len(before), len(through)))
    return full, spans


def _token_labels(tokenizer: Any, text: str, spans: list[Span]) -> tuple[list[int], list[int]]:
    if tokenizer.is_fast:
        enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = list(enc["input_ids"])
        labels = [t if any(a <= s < b for a, b in spans) and e > s else IGNORE
                  for t, (s, e) in zip(ids, enc["offset_mapping"], strict=True)]
        return ids, labels
    # A slow tokenizer has no offsets: tokenise the pieces between span edges separately.
    edges = sorted({0, len(text), *(x for span in spans for x in span)})
    ids, labels = [], []
    for a, b in itertools.pairwise(edges):
        piece = tokenizer(text[a:b], add_special_tokens=False)["input_ids"]
        trained = any(s <= a < e for s, e in spans)
        ids += piece
        labels += piece if trained else [IGNORE] * len(piece)
    return ids, labels


def encode_messages(tokenizer: Any, messages: Sequence[Message], where: str = "") -> Encoded:
    text, spans = assistant_spans(tokenizer, messages)
    ids, labels = _token_labels(tokenizer, text, spans)
    return Encoded(ids, labels, where)


def _fitted(tokenizer: Any, example: Example, pack: Pack, max_length: int,
            stats: EncodeStats) -> list[Encoded]:
    """The example's encoded replies (one, or a pair's two), grounded ones first dropping the
    passages no reply cites, last first, until every encoding fits ``max_length``."""
    where = example.where
    source: GroundedExample | GroundedPreference | None = example.preference or example.grounded
    encoded = [encode_messages(tokenizer, m, where)
               for m in (example.messages, example.rejected) if m]

    def too_long() -> bool:
        return max(len(e.input_ids) for e in encoded) > max_length

    while too_long() and source is not None and source.distractors():
        source = source.without({source.distractors()[-1]})
        replies = ((source.chosen, source.rejected) if isinstance(source, GroundedPreference)
                   else (source,))
        encoded = [encode_messages(tokenizer, r.messages(pack), where) for r in replies]
        if not too_long():
            stats.shortened += 1
    return encoded


def encode_example(tokenizer: Any, example: Example, pack: Pack, max_length: int,
                   stats: EncodeStats | None = None) -> Item | None:
    """Token ids and labels within ``max_length``, or None when the example cannot fit."""
    stats = stats if stats is not None else EncodeStats()
    encoded = _fitted(tokenizer, example, pack, max_length, stats)
    if any(len(e.input_ids) > max_length or e.n_trained == 0 for e in encoded):
        stats.skipped.append(example.where)
        return None
    stats.encoded += 1
    return Pair(*encoded) if example.kind == "preference" else encoded[0]


def encode_all(tokenizer: Any, examples: Sequence[Example], pack: Pack, max_length: int,
               ) -> tuple[list[Item], EncodeStats]:
    stats = EncodeStats()
    out = [e for ex in examples
           if (e := encode_example(tokenizer, ex, pack, max_length, stats)) is not None]
    return out, stats


def collate(batch: Sequence[Encoded], pad_id: int) -> dict[str, Any]:
    """Right-pad a batch; padding is masked out of attention and of the loss."""
    import torch

    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, e in enumerate(batch):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        labels[row, :n] = torch.tensor(e.labels)
        mask[row, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}
