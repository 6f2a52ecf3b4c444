"""Training data: four JSONL formats, validated line by line, turned into chat messages.

One object a line, the format told by its keys:

- **chat**: ``{"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}``;
  every assistant turn is trained.
- **instruction**: ``{"instruction": "...", "input": "..." (optional), "output": "..."}``.
- **grounded**: ``{"question": "...", "passages": ["text" | {"text", "source", "location"}],
  "answer": "... [1].", "answerable": true}``. It becomes exactly the prompt the answerer sends
  at inference (``app.dialog.prompt.build_messages``: the pack's system prompt, its rules and
  the numbered passages), so the adapter learns the task it will serve: answer only from the
  passages, cite ``[n]``, and when ``"answerable": false`` reply with the pack's refusal (in
  the question's language; leave ``answer`` out). Passages not cited are distractors.
- **preference** (grounded): ``{"question", "passages", "chosen": "...", "rejected": "..."}``:
  the same prompt with a reply people preferred and one they rejected (``verirag finetune
  feedback-data`` writes these from rated answers); trained with DPO (``finetune.objective``).
  Either reply may be the pack's refusal; a cited reply must cite passages that exist.

A malformed line fails the whole load with ``file:line: what is wrong``: a silently skipped
example changes the adapter without anyone noticing. Left out: tokenisation (``encode``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from app.dialog.prompt import build_messages
from domains.pack import Pack
from knowledge.text.language import text_language
from knowledge.types import Passage
from verirag.errors import TrainingDataError
from verirag.jsonl import read_objects

Message = dict[str, str]
Kind = Literal["chat", "instruction", "grounded", "preference"]
ROLES = ("system", "user", "assistant")
MAX_PASSAGES = 20
# The answerer's own citation marker: [2], [1, 3], [1，3].
CITATION = re.compile(r"\[(\d{1,3}(?:\s*[,，]\s*\d{1,3})*)\]")


def language(text: str) -> str:
    """The answerer's rule (``knowledge.text.language``), so the refusal trained on is the
    one the answerer would give for the same question."""
    return text_language(text)


def cited_numbers(text: str) -> list[int]:
    """Every passage number cited in ``text``, in order of appearance, repeats removed."""
    found = (int(n) for m in CITATION.finditer(text) for n in re.split(r"\s*[,，]\s*", m[1]))
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class GroundedPassage:
    text: str
    source: str = ""
    location: str = ""


@dataclass(frozen=True)
class GroundedExample:
    """A question, numbered passages and the cited answer (or the refusal) they support."""

    question: str
    passages: tuple[GroundedPassage, ...]
    answer: str | None
    answerable: bool = True
    origin: str = ""  # the document the question is about (make-data's split, traceability)

    @property
    def gold(self) -> tuple[int, ...]:
        """Passage numbers the answer cites (1-based); empty for an unanswerable question."""
        return tuple(cited_numbers(self.answer or "")) if self.answerable else ()

    def reply(self, pack: Pack) -> str:
        """What the assistant should say: the cited answer, or the pack's refusal."""
        if self.answerable and self.answer:
            return self.answer
        return pack.refusal_for(language(self.question))

    def without(self, drop: set[int]) -> GroundedExample:
        """The example with passages ``drop`` (1-based, never cited ones) removed, renumbered."""
        if drop & set(self.gold):
            raise ValueError(f"cannot drop cited passages {sorted(drop & set(self.gold))}")
        kept = [n for n in range(1, len(self.passages) + 1) if n not in drop]
        new_number = {old: new for new, old in enumerate(kept, 1)}

        def renumber(m: re.Match[str]) -> str:
            parts = re.split(r"\s*[,，]\s*", m[1])
            return "[" + ", ".join(str(new_number[int(p)]) for p in parts) + "]"

        answer = CITATION.sub(renumber, self.answer) if self.answer else self.answer
        return replace(self, passages=tuple(self.passages[n - 1] for n in kept), answer=answer)

    def distractors(self) -> list[int]:
        gold = set(self.gold)
        return [n for n in range(1, len(self.passages) + 1) if n not in gold]

    def messages(self, pack: Pack) -> list[Message]:
        """The inference prompt for this example plus the assistant's reply."""
        passages = [Passage(chunk_id=i, doc_id=0, doc_name=p.source or f"passage-{i}",
                            text=p.text, heading_path=(p.location,) if p.location else (),
                            page=None, score=0.0)
                    for i, p in enumerate(self.passages, 1)]
        refusal = pack.refusal_for(language(self.question))
        prompt = build_messages(pack.system_prompt, refusal, self.question, passages)
        return [*prompt, {"role": "assistant", "content": self.reply(pack)}]

    def to_json(self) -> dict[str, Any]:
        passages = [{"text": p.text} | ({"source": p.source} if p.source else {})
                    | ({"location": p.location} if p.location else {}) for p in self.passages]
        row: dict[str, Any] = {"question": self.question, "passages": passages}
        if self.answerable:
            row["answer"] = self.answer
        else:
            row["answerable"] = False
        if self.origin:
            row["origin"] = self.origin
        return row


@dataclass(frozen=True)
class GroundedPreference:
    """One prompt, two replies: ``chosen`` is preferred to ``rejected`` (None: the refusal)."""

    chosen: GroundedExample
    rejected: GroundedExample

    def distractors(self) -> list[int]:
        """Passages neither reply cites: the ones that may go when the pair is too long."""
        return [n for n in self.chosen.distractors() if n not in self.rejected.gold]

    def without(self, drop: set[int]) -> GroundedPreference:
        return GroundedPreference(self.chosen.without(drop), self.rejected.without(drop))

    def to_json(self, pack: Pack) -> dict[str, Any]:
        row = self.chosen.to_json()
        row.pop("answer", None)
        row.pop("answerable", None)
        return {**row, "chosen": self.chosen.reply(pack), "rejected": self.rejected.reply(pack)}


@dataclass(frozen=True)
class Example:
    """One training example: chat messages (assistant turns are what is learned); for a
    preference, ``messages`` end with the chosen reply and ``rejected`` with the other."""

    messages: tuple[Message, ...]
    kind: Kind
    where: str = field(default="", metadata={"help": "file:line, for error messages."})
    grounded: GroundedExample | None = None
    preference: GroundedPreference | None = None
    rejected: tuple[Message, ...] = ()


# -- reading -------------------------------------------------------------------------------
def _objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    return read_objects(path, TrainingDataError)


def _text(obj: dict[str, Any], key: str, where: str, *, optional: bool = False) -> str:
    value = obj.get(key)
    if optional and (value is None or value == ""):
        return ""
    if not isinstance(value, str) or not value.strip():
        shown = "missing" if value is None else repr(value)[:60]
        raise TrainingDataError(f"{where}: '{key}' must be a non-empty string ({shown})")
    return value


def parse_chat(obj: dict[str, Any], where: str) -> tuple[Message, ...]:
    raw = obj["messages"]
    if not isinstance(raw, list) or not raw:
        raise TrainingDataError(f"{where}: 'messages' must be a non-empty list of "
                                "{role, content} objects")
    messages: list[Message] = []
    for i, m in enumerate(raw, 1):
        if not isinstance(m, dict):
            raise TrainingDataError(f"{where}: message {i} must be an object, "
                                    f"got {type(m).__name__}")
        role = m.get("role")
        if role not in ROLES:
            raise TrainingDataError(f"{where}: message {i} has role {role!r}; use one of "
                                    f"{', '.join(ROLES)}")
        if role == "system" and i != 1:
            raise TrainingDataError(f"{where}: message {i} is a system message; only the "
                                    "first message may be one")
        messages.append({"role": role, "content": _text(m, "content", f"{where}: message {i}")})
    if not any(m["role"] == "assistant" for m in messages):
        raise TrainingDataError(f"{where}: no assistant message, so nothing to learn; add the "
                                "reply as {\"role\": \"assistant\", ...}")
    return tuple(messages)


def parse_instruction(obj: dict[str, Any], where: str) -> tuple[Message, ...]:
    instruction = _text(obj, "instruction", where)
    extra = _text(obj, "input", where, optional=True)
    prompt = f"{instruction.strip()}\n\n{extra.strip()}" if extra.strip() else instruction.strip()
    return ({"role": "user", "content": prompt},
            {"role": "assistant", "content": _text(obj, "output", where)})


def _passage(raw: Any, i: int, where: str) -> GroundedPassage:
    if isinstance(raw, str) and raw.strip():
        return GroundedPassage(raw.strip())
    if isinstance(raw, dict):
        sub = f"{where}: passage {i}"
        return GroundedPassage(_text(raw, "text", sub).strip(),
                               _text(raw, "source", sub, optional=True),
                               _text(raw, "location", sub, optional=True))
    raise TrainingDataError(f"{where}: passage {i} must be a non-empty string or an object "
                            "with 'text'")


def parse_grounded(obj: dict[str, Any], where: str, pack: Pack) -> GroundedExample:
    question = _text(obj, "question", where).strip()
    raw = obj.get("passages")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_PASSAGES:
        raise TrainingDataError(f"{where}: 'passages' must be a list of 1 to {MAX_PASSAGES} "
                                "passages")
    passages = tuple(_passage(p, i, where) for i, p in enumerate(raw, 1))
    answerable = obj.get("answerable", True)
    if not isinstance(answerable, bool):
        raise TrainingDataError(f"{where}: 'answerable' must be true or false, "
                                f"not {answerable!r}")
    answer = obj.get("answer")
    if not answerable:
        refusal = pack.refusal_for(language(question))
        if answer not in (None, "", refusal):
            raise TrainingDataError(f"{where}: an unanswerable example's reply is the pack's "
                                    "refusal; leave 'answer' out")
        return GroundedExample(question, passages, None, answerable=False)
    answer = _text(obj, "answer", where).strip()
    cited = cited_numbers(answer)
    if not cited:
        raise TrainingDataError(f"{where}: the answer cites no passage; end each sentence "
                                "with [n], or set \"answerable\": false")
    bad = [n for n in cited if not 1 <= n <= len(passages)]
    if bad:
        raise TrainingDataError(f"{where}: the answer cites [{bad[0]}] but there are only "
                                f"{len(passages)} passages")
    return GroundedExample(question, passages, answer)


def _reply(obj: dict[str, Any], key: str, where: str, question: str,
           passages: tuple[GroundedPassage, ...], pack: Pack) -> GroundedExample:
    """``chosen`` / ``rejected`` as a grounded example: the refusal, or a reply whose
    citations (if any) point at passages that exist."""
    text = _text(obj, key, where).strip()
    if text == pack.refusal_for(language(question)):
        return GroundedExample(question, passages, None, answerable=False)
    bad = [n for n in cited_numbers(text) if not 1 <= n <= len(passages)]
    if bad:
        raise TrainingDataError(f"{where}: '{key}' cites [{bad[0]}] but there are only "
                                f"{len(passages)} passages")
    return GroundedExample(question, passages, text)


def parse_preference(obj: dict[str, Any], where: str, pack: Pack) -> Example:
    prompt = parse_grounded({k: v for k, v in obj.items()
                             if k in ("question", "passages")} | {"answerable": False},
                            where, pack)
    chosen = _reply(obj, "chosen", where, prompt.question, prompt.passages, pack)
    rejected = _reply(obj, "rejected", where, prompt.question, prompt.passages, pack)
    if chosen.reply(pack) == rejected.reply(pack):
        raise TrainingDataError(f"{where}: 'chosen' and 'rejected' are the same reply, so "
                                "there is no preference to learn")
    return preference_example(GroundedPreference(chosen, rejected), pack, where)


def preference_example(pair: GroundedPreference, pack: Pack, where: str = "") -> Example:
    """The chat messages of both replies to the pair's one prompt."""
    return Example(tuple(pair.chosen.messages(pack)), "preference", where,
                   preference=pair, rejected=tuple(pair.rejected.messages(pack)))


def parse_line(obj: dict[str, Any], where: str, pack: Pack) -> Example:
    """One JSONL object in any of the four formats, validated."""
    if "chosen" in obj or "rejected" in obj:
        return parse_preference(obj, where, pack)
    if "messages" in obj:
        return Example(parse_chat(obj, where), "chat", where)
    if "instruction" in obj or "output" in obj:
        return Example(parse_instruction(obj, where), "instruction", where)
    if "question" in obj or "passages" in obj:
        grounded = parse_grounded(obj, where, pack)
        return Example(tuple(grounded.messages(pack)), "grounded", where, grounded)
    keys = ", ".join(sorted(obj)) or "none"
    raise TrainingDataError(f"{where}: unknown format (keys: {keys}); expected 'messages', "
                            "'instruction' + 'output', 'question' + 'passages' + 'answer', or "
                            "'question' + 'passages' + 'chosen' + 'rejected'")


def load_examples(path: Path, pack: Pack) -> list[Example]:
    """Every example in ``path``; the first malformed line raises ``TrainingDataError``."""
    path = Path(path)
    examples = [parse_line(obj, f"{path}:{number}", pack) for number, obj in _objects(path)]
    if not examples:
        raise TrainingDataError(f"{path}: no examples found")
    return examples


def data_hash(train: Sequence[Path], eval_path: Path | None = None) -> str:
    """sha256 over the data files' bytes (and their roles): tells two training runs apart."""
    digest = hashlib.sha256()
    for role, path in [*(("train", p) for p in train), ("eval", eval_path)]:
        digest.update(role.encode())
        if path is not None:
            digest.update(Path(path).read_bytes())
    return f"sha256:{digest.hexdigest()}"


def write_rows(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """JSONL, one object a line, written whole or not at all (a temp file renamed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                   encoding="utf-8")
    tmp.replace(path)
    return path
