"""What the runner asks questions through: the ``TurnAnswerer`` boundary and its defaults.

The runner knows nothing of how an answer is produced: it hands a question and the earlier
turns (as chat messages) to a ``TurnAnswerer`` and scores the ``Answer`` it gets back. The
default wraps ``Answerer`` and passes the dataset's earlier turns (questions and their gold
answers) as history; a multi-turn dialog manager (query rewriting, slots) plugs in through a
``TurnAnswererFactory`` without the runner changing.

``NoRetrievalAnswerer`` is the ``no-retrieval`` baseline: the pack's system prompt and the
question, no passages. Its answers are never cited, so its grounding figures are zero by
construction; the report marks it as a baseline.

``PlainRagAnswerer`` is the ``plain`` baseline: what a RAG built from a tutorial would say with
the same passages and the same model. It uses LangChain ``RetrievalQA``'s default "stuff"
prompt, the most common one in the wild, so its confidently-wrong share is a fair reference
for what verirag's evidence threshold, citation checks and refusals prevent.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from app.dialog.answerer import Answerer, question_language
from app.dialog.citations import trim_runaway
from app.dialog.types import Answer, AnswerSentence
from app.models.generator import Generator
from app.resources import Resources
from evals.configs import EvalConfig
from evals.errors import EvalDataError
from knowledge.kb import KnowledgeBase
from knowledge.retrieval import Retriever

History = Sequence[dict[str, str]]

_BASELINE_RULES = ("Answer the question in one to three sentences from what you know. If you "
                   "do not know, reply exactly: {refusal}")


# LangChain's ``RetrievalQA`` default prompt (chains/retrieval_qa/prompt.py), verbatim.
PLAIN_PROMPT = ("Use the following pieces of context to answer the question at the end. If you "
                "don't know the answer, just say that you don't know, don't try to make up an "
                "answer.\n\n{context}\n\nQuestion: {question}\nHelpful Answer:")


class TurnAnswerer(Protocol):
    """Answers one turn of a conversation, given the turns before it as chat messages.

    ``query`` is what to search for when it differs from the question (a rewritten follow-up).
    """

    def answer(self, question: str, history: History, query: str | None = None) -> Answer: ...


TurnAnswererFactory = Callable[[EvalConfig, KnowledgeBase], TurnAnswerer]


class AnswererTurns:
    """The single-question ``Answerer`` with the dataset's earlier turns as history."""

    def __init__(self, answerer: Answerer, adapter: str | None = None) -> None:
        self.answerer = answerer
        self.adapter = adapter

    def answer(self, question: str, history: History, query: str | None = None) -> Answer:
        return self.answerer.answer(question, query=query, history=history,
                                    adapter=self.adapter)


def is_refusal(text: str, refusal: str) -> bool:
    """The model replied with (the start of) the refusal message, ignoring case and punctuation."""
    norm = re.sub(r"\W+", " ", text).strip().lower()
    ref = re.sub(r"\W+", " ", refusal).strip().lower()
    return bool(ref) and (ref[:40] in norm or (len(norm) > 10 and norm in ref))


class NoRetrievalAnswerer:
    """Baseline: the model answers from its own weights, with no passages to cite."""

    def __init__(self, config: EvalConfig, generator: Generator) -> None:
        self.pack = config.pack
        self.generator = generator
        self.adapter = config.adapter

    def answer(self, question: str, history: History, query: str | None = None) -> Answer:
        refusal = self.pack.refusal_for(question_language(question))
        system = f"{self.pack.system_prompt.strip()}\n\n{_BASELINE_RULES.format(refusal=refusal)}"
        messages = [{"role": "system", "content": system}, *history,
                    {"role": "user", "content": question.strip()}]
        params = self.pack.generation
        answer = Answer(question=question, query=question, decision="answer", text="",
                        mode="no-retrieval")
        started = time.perf_counter()
        stream = self.generator.stream(messages, params, adapter=self.adapter)
        raw = "".join(stream)
        answer.raw_output = raw
        answer.timings.first_token_s = stream.first_token_s
        answer.timings.generation_s = stream.total_s or time.perf_counter() - started
        answer.timings.tokens = stream.n_tokens
        text = trim_runaway(raw)
        if is_refusal(text, refusal) or not text:
            answer.decision, answer.text = "refuse", refusal
            return answer
        answer.text = text
        answer.sentences = [AnswerSentence(text, ())]
        return answer


class PlainRagAnswerer:
    """Baseline: the pack's retrieval and model, a plain prompt, and no checking at all.

    The prompt is a user message with no system prompt, as ``RetrievalQA`` sends it to a chat
    model. Whatever the model writes is the answer: no evidence threshold, no citation check,
    no refusal logic of verirag's. A reply that opens with "I don't know" (what the prompt
    asks for when the context lacks the answer) is counted as a refusal. Only a runaway
    continuation (the model writing the next
    "Question:") is cut, since that is the model not stopping, not an answer; an empty
    output counts as a refusal because nothing was said.
    """

    def __init__(self, config: EvalConfig, retriever: Retriever, generator: Generator,
                 adapter: str | None = None) -> None:
        self.pack = config.pack
        self.retriever = retriever
        self.generator = generator
        self.adapter = adapter

    def answer(self, question: str, history: History, query: str | None = None) -> Answer:
        query = query or question
        started = time.perf_counter()
        found = self.retriever.search(query)
        answer = Answer(question=question, query=query, decision="answer", text="",
                        sources=list(found.passages), mode="plain",
                        evidence={"best_dense": found.best_dense,
                                  "best_coverage": found.best_coverage})
        answer.timings.retrieval_s = time.perf_counter() - started
        context = "\n\n".join(p.text for p in found.passages)
        prompt = PLAIN_PROMPT.format(context=context, question=question.strip())
        messages = [*history, {"role": "user", "content": prompt}]
        started = time.perf_counter()
        stream = self.generator.stream(messages, self.pack.generation, adapter=self.adapter)
        raw = "".join(stream)
        answer.raw_output = raw
        answer.timings.first_token_s = stream.first_token_s
        answer.timings.generation_s = stream.total_s or time.perf_counter() - started
        answer.timings.tokens = stream.n_tokens
        answer.text = trim_runaway(raw)
        if not answer.text or says_it_does_not_know(answer.text):
            answer.decision = "refuse"
            return answer
        answer.sentences = [AnswerSentence(answer.text, ())]
        return answer


_DONT_KNOW = re.compile(
    r"^\W*(?:i\s+(?:do\s*n[o']t|don't)\s+know|(?:the\s+)?(?:answer|information)\s+is\s+"
    r"not\s+(?:provided|given|mentioned|available|in\s+the)|(?:the\s+)?(?:context|passages?|"
    r"documents?|text)\s+(?:does|do)\s+not\s+(?:say|mention|provide|contain|specify)|"
    r"not\s+(?:provided|mentioned|specified)|我不知道|不知道|文中没有|没有提到|未提及)",
    re.IGNORECASE)


def says_it_does_not_know(text: str) -> bool:
    """The plain prompt asks the model to "say that you don't know": when it opens with that,
    it declined, and scoring it confidently wrong would flatter verirag."""
    return _DONT_KNOW.search(text.strip()) is not None


def check_adapter(generator: Generator, adapter: str | None) -> None:
    """Fail before the run, not on question 1 of 200, when the adapter is not attached."""
    if adapter is None:
        return
    attached = getattr(generator, "adapters", None)
    if attached is None:  # a served model (vLLM): the server knows its adapters
        return
    if adapter not in attached:
        raise EvalDataError(
            f"the generator {generator.model_id} has no adapter named '{adapter}' (attached: "
            f"{', '.join(attached) or 'none'}); train or attach it first, or compare "
            "without adapter:NAME")


def default_factory(resources: Resources) -> TurnAnswererFactory:
    """Build each configuration's answerer from the shared models."""

    def make(config: EvalConfig, kb: KnowledgeBase) -> TurnAnswerer:
        pack = config.pack
        needs_generator = (not config.use_retrieval or config.plain
                           or pack.generation.mode == "generate")
        generator = resources.generator(pack) if needs_generator else None
        adapter = config.adapter
        if generator is not None and adapter is not None:
            # adapter:NAME is looked up like the pack's own (pack folder, then the registry);
            # an already attached name (a test's, a served model's) is used as it is.
            attached = getattr(generator, "adapters", None)  # None: a served model
            if attached is not None and adapter not in attached:
                adapter = resources.attach_pack_adapter(pack, generator, adapter)
            check_adapter(generator, adapter)
        if not config.use_retrieval:
            assert generator is not None
            return NoRetrievalAnswerer(config, generator)
        retriever = resources.retriever(pack.name, kb, pack.retrieval)
        if config.plain:
            assert generator is not None
            return PlainRagAnswerer(config, retriever, generator, adapter)
        return AnswererTurns(Answerer(pack, retriever, generator, kb.embedder), adapter)

    return make
