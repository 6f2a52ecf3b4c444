"""Grounded training examples from a pack's own indexed passages, with no hand-written data.

For each usable passage (a chunk of a ``ready`` document) it writes, RAFT-style:

- an **answerable** example: a question about the passage's topic, the passage hidden among
  ``distractors`` passages sampled from other documents, and an answer made of the passage's
  opening sentences, each cited ``[n]`` to its position;
- with probability ``unanswerable``, an **unanswerable** example: the same question with only
  distractors from other documents, whose reply is the pack's refusal.

Questions come from templates over the passage's heading (or its document's title) in the
passage's language (English or Chinese), so no model is needed and the run is deterministic
for a seed. They are plainer than what people ask: the point is to teach the *behaviour*
(answer from the numbered passages, cite, refuse when absent) on the institution's own text;
hand-written examples (``domains/*/finetune``) teach phrasing better, and both mix in one file.
Left out: paraphrasing questions with an LLM.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from domains.pack import Pack
from finetune.formats import GroundedExample, GroundedPassage, language, write_rows
from knowledge.kb import KnowledgeBase

_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")
_MIN_CHARS = 60  # of English prose; a Chinese character carries about three times as much

EN_TEMPLATES = ("What does the {title} say about {topic}?",
                "What is the rule on {topic}?",
                "According to the {title}, what applies to {topic}?")
ZH_TEMPLATES = ("《{title}》关于“{topic}”有什么规定？",
                "关于{topic}，文件是怎么规定的？",
                "根据{title}，{topic}有哪些要求？")


@dataclass(frozen=True)
class SourceChunk:
    doc_name: str
    text: str
    heading_path: tuple[str, ...] = ()
    page: int | None = None

    @property
    def location(self) -> str:
        parts = [f"p. {self.page}"] if self.page is not None else []
        if self.heading_path:
            parts.append(" > ".join(self.heading_path))
        return ", ".join(parts)


def chunks_from_kb(kb: KnowledgeBase) -> list[SourceChunk]:
    """Every passage of the pack's ready documents, in document order."""
    return [SourceChunk(c.doc_name, c.text, c.heading_path, c.page)
            for c in kb.repo.ready_chunk_sources()]


def _title(doc_name: str) -> str:
    stem = Path(doc_name).stem
    stem = re.sub(r"[-_](zh|en)$", "", stem)
    return re.sub(r"[-_]+", " ", stem).strip()


def _prose(text: str) -> str:
    """The chunk without table rows and markdown heading lines."""
    lines = [ln.strip() for ln in text.splitlines()]
    keep = [ln for ln in lines if ln and not ln.startswith(("|", "#", "---"))]
    return " ".join(keep)


def _long_enough(text: str) -> bool:
    prose = _prose(text)
    return len(prose) >= (_MIN_CHARS // 3 if language(prose) == "zh" else _MIN_CHARS)


def answer_sentences(text: str, max_chars: int = 320) -> list[str]:
    """The passage's opening sentences, up to ``max_chars``: the answer it supports best."""
    out: list[str] = []
    for sentence in (s.strip() for s in _SENTENCE.split(_prose(text))):
        if len(sentence) < 8:
            continue
        if out and sum(len(s) for s in out) + len(sentence) > max_chars:
            break
        out.append(sentence)
        if len(out) == 2:
            break
    return out


def _cite(sentence: str, n: int, lang: str) -> str:
    if lang == "zh":
        return sentence.rstrip("。！？.") + f"[{n}]。"
    end = sentence[-1] if sentence[-1] in ".!?" else "."
    return sentence.rstrip(".!?") + f" [{n}]{end}"


def question_for(chunk: SourceChunk, rng: random.Random) -> str:
    lang = language(chunk.text)
    title = _title(chunk.doc_name)
    topic = chunk.heading_path[-1] if chunk.heading_path else title
    topic = re.sub(r"^\s*[\d.]+\s*", "", topic).strip() or title
    templates = ZH_TEMPLATES if lang == "zh" else EN_TEMPLATES
    template = rng.choice(templates)
    if lang == "en":
        topic = topic[0].lower() + topic[1:] if topic[:2].istitle() else topic
    return template.format(title=title, topic=topic)


def grounded_passage(chunk: SourceChunk) -> GroundedPassage:
    return GroundedPassage(chunk.text.strip(), chunk.doc_name, chunk.location)


def make_examples(chunks: Sequence[SourceChunk], pack: Pack, *, distractors: int = 2,
                  unanswerable: float = 0.2, seed: int = 0, limit: int | None = None,
                  ) -> list[GroundedExample]:
    """Grounded examples (see the module docstring), shuffled, at most ``limit``."""
    del pack  # the refusal is filled in from the pack when the examples are loaded
    rng = random.Random(seed)
    usable = [c for c in chunks if _long_enough(c.text) and answer_sentences(c.text)]
    docs = sorted({c.doc_name for c in usable})
    if len(docs) < 2:
        return []
    out: list[GroundedExample] = []
    for chunk in usable:
        others = [c for c in usable if c.doc_name != chunk.doc_name]
        picked = rng.sample(others, min(distractors, len(others)))
        slot = rng.randrange(len(picked) + 1)
        passages = [grounded_passage(c) for c in picked]
        passages.insert(slot, grounded_passage(chunk))
        lang = language(chunk.text)
        answer = " ".join(_cite(s, slot + 1, lang) for s in answer_sentences(chunk.text))
        if lang == "zh":
            answer = answer.replace(" ", "")
        question = question_for(chunk, rng)
        out.append(GroundedExample(question, tuple(passages), answer))
        if rng.random() < unanswerable:
            away = rng.sample(others, min(max(distractors, 1), len(others)))
            out.append(GroundedExample(question, tuple(grounded_passage(c) for c in away), None,
                                       answerable=False))
    rng.shuffle(out)
    return out[:limit] if limit else out


def split(examples: Sequence[GroundedExample], eval_share: float, seed: int = 0,
          ) -> tuple[list[GroundedExample], list[GroundedExample]]:
    """(train, eval): a seeded split, eval getting ``eval_share`` (at least one when > 0)."""
    order = list(examples)
    random.Random(seed).shuffle(order)
    n_eval = round(len(order) * eval_share)
    if eval_share > 0 and order:
        n_eval = max(1, n_eval)
    return order[n_eval:], order[:n_eval]


def write_jsonl(examples: Sequence[GroundedExample], path: Path) -> Path:
    return write_rows([e.to_json() for e in examples], path)
