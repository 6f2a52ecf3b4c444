"""The llama.cpp engine on the real default GGUF (SmolLM2-135M Q4_1): what a user relies on.

It feeds the model the same prompt tokens transformers does, answers the same whether a chat
runs alone or batched with others, reuses the cached system prompt, lets go of a chat the
reader abandons, and refuses a prompt too big for its context with the setting to change.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.models import ModelRegistry
from app.models.generator import GenerationParams, resolve_hf_dir
from app.models.llamacpp import EngineOptions, LlamaCppGenerator
from app.models.llamacpp.native import refuse_amx_build
from app.models.locate import default_generator
from verirag.errors import GenerationError, ModelNotFound
from verirag.settings import Settings

GREEDY = GenerationParams(max_new_tokens=24, temperature=0.0, repetition_penalty=1.0)
SYSTEM = ("You answer only from the numbered passages and cite them like [1]. If they do not "
          "say, answer: the documents do not say.")


def chat(question: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]


@pytest.fixture(scope="module")
def engine(session_settings: Settings) -> Iterator[LlamaCppGenerator]:
    gen = LlamaCppGenerator(default_generator(), session_settings.cache_dir,
                            EngineOptions(threads=1, slots=4, context=2048))
    yield gen
    gen.close()


def say(gen: LlamaCppGenerator, messages: list[dict[str, str]],
        params: GenerationParams = GREEDY) -> str:
    return "".join(gen.stream(messages, params))


def test_registry_serves_the_gguf_with_the_engine_by_default(models: ModelRegistry) -> None:
    assert models.settings.generator_backend == "llamacpp"
    assert isinstance(models.generator(), LlamaCppGenerator)


@pytest.mark.parametrize("messages", [
    chat("What dose of apixaban is used after knee replacement?"),
    [{"role": "user", "content": "合同的终止条款是什么？"}],  # no system prompt: the default one
])
def test_prompt_tokens_are_the_ones_transformers_feeds(engine: LlamaCppGenerator,
                                                       session_settings: Settings,
                                                       messages: list[dict[str, str]]) -> None:
    from transformers import AutoTokenizer

    hf_dir = resolve_hf_dir(default_generator(), session_settings.cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(hf_dir, local_files_only=True)
    expected = tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                             return_dict=True)["input_ids"]
    assert engine.prompt_tokens(messages) == list(expected)


def test_answers_stream_and_count_tokens(engine: LlamaCppGenerator) -> None:
    stream = engine.stream(chat("Name one symptom of anaemia."), GREEDY)
    pieces = list(stream)
    assert len(pieces) > 1 and "".join(pieces).strip()
    assert 0 < stream.n_tokens <= GREEDY.max_new_tokens
    assert stream.first_token_s is not None and stream.total_s is not None


def test_a_chat_answers_the_same_alone_and_batched_with_others(
        engine: LlamaCppGenerator) -> None:
    questions = [f"In one sentence, what is clause {i} of a lease about?" for i in range(4)]
    alone = [say(engine, chat(q)) for q in questions]
    steps_before = engine.scheduler.steps
    together: dict[int, str] = {}

    def ask(i: int) -> None:
        together[i] = say(engine, chat(questions[i]))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    # The same answers: no chat sees another's tokens. Compared on the first words, since a
    # batch may round differently from a lone decode and a near-tie can later tip.
    assert [together[i].split()[:4] for i in range(len(questions))] == [
        a.split()[:4] for a in alone]
    # Batched: far fewer decode steps than tokens produced (one step serves every chat).
    produced = sum(len(engine.model.tokenize(a)) for a in alone)
    assert engine.scheduler.steps - steps_before < produced


def test_the_shared_system_prompt_is_reused_not_recomputed(engine: LlamaCppGenerator) -> None:
    first = say(engine, chat("What is a fiscal year?"))
    reused_before = engine.scheduler.reused_tokens
    again = say(engine, chat("What is a fiscal year?"))
    other = engine.scheduler.reused_tokens
    say(engine, chat("What does EBITDA stand for?"))
    # The same answer, up to float rounding (the last prompt token is read alone, not in
    # the prompt's batch, so a near-tie may later resolve the other way).
    assert again.split()[:4] == first.split()[:4]
    system_len = len(engine.prompt_tokens([{"role": "system", "content": SYSTEM}]))
    assert other - reused_before >= system_len
    assert engine.scheduler.reused_tokens - other >= system_len - 2


def test_an_abandoned_chat_frees_its_place(engine: LlamaCppGenerator) -> None:
    long = GenerationParams(max_new_tokens=400, temperature=0.0)
    for _ in range(engine.options.slots * 2):  # more than the slots: each must be let go
        stream = iter(engine.stream(chat("Write a long essay on contracts."), long))
        next(stream)
        stream.close()  # type: ignore[attr-defined]
    assert say(engine, chat("Name one symptom of anaemia.")).strip()


def test_sampling_is_seeded_and_answers_differ_from_greedy(engine: LlamaCppGenerator) -> None:
    hot = GenerationParams(max_new_tokens=24, temperature=1.5, top_p=0.95)
    messages = chat("Give a name for a law firm.")
    assert say(engine, messages, hot) == say(engine, messages, hot), "seeded"
    assert say(engine, messages, hot) != say(engine, messages)


def test_a_prompt_too_big_for_the_context_names_the_setting(
        engine: LlamaCppGenerator) -> None:
    huge = chat("word " * 5000)
    with pytest.raises(GenerationError, match="generator_context"):
        say(engine, huge)
    assert say(engine, chat("Name one symptom of anaemia.")).strip(), "the engine still answers"


def test_a_hugging_face_directory_goes_to_transformers(models: ModelRegistry,
                                                       session_settings: Settings,
                                                       tmp_path: Path) -> None:
    from app.models.generator import TransformersGenerator

    hf_dir = resolve_hf_dir(default_generator(), session_settings.cache_dir)
    assert isinstance(models.generator(hf_dir), TransformersGenerator)


def test_a_llamacpp_build_with_amx_kernels_is_refused_before_it_can_crash() -> None:
    """An AMX build segfaulted at its first decode here (a wheel pip had cached from an earlier
    build slipped into CI): the engine must refuse it with the fix, and setup must not ship it."""
    import llama_cpp

    amx = "CPU : AVX2 = 1 | AVX512 = 1 | AVX512_BF16 = 1 | AMX_INT8 = 1 | REPACK = 1 |"
    with pytest.raises(ModelNotFound, match=r"AMX.*scripts/setup\.sh"):
        refuse_amx_build(amx)
    refuse_amx_build(amx.replace("AMX_INT8 = 1 | ", ""))
    refuse_amx_build(llama_cpp.llama_print_system_info().decode())  # what setup installed


def test_a_new_chat_takes_the_lowest_empty_slot_and_spares_the_caches() -> None:
    """A decode step costs more the higher the busy KV streams reach: four chats in slots 4-7
    (or 0, 1, 6, 7) decoded at two thirds of their speed in slots 0-3. A follow-up's own
    cache still wins, a system prompt every cache holds does not, and when every idle slot
    holds a cache the one unused longest gives way."""
    from app.models.llamacpp.scheduler import Request, Slot, choose_slot

    slots = [Slot(i) for i in range(6)]
    slots[0].request = slots[1].request = Request([1], GREEDY, None)
    slots[2].cached, slots[2].used = [5, 8], 3  # an older chat: shares the system prompt [5]
    slots[3].cached, slots[3].used = [5, 9], 7  # the latest chat
    assert choose_slot(slots, Request([5, 6, 7], GREEDY, None)).seq == 4
    assert choose_slot(slots, Request([5, 9, 7], GREEDY, None)).seq == 3  # its follow-up
    slots[4].request = slots[5].request = Request([1], GREEDY, None)
    assert choose_slot(slots, Request([5, 6, 7], GREEDY, None)).seq == 2
    slots[2].request = slots[3].request = Request([1], GREEDY, None)
    assert choose_slot(slots, Request([5], GREEDY, None)) is None


def test_chats_one_after_another_stay_in_the_first_slot(engine: LlamaCppGenerator) -> None:
    """The slot idle longest was taken before, so chats walked over every KV stream."""
    for question in ("What is a fiscal year?", "What does EBITDA stand for?"):
        engine.scheduler.clear_cache()
        say(engine, chat(question))
        assert [bool(s.cached) for s in engine.scheduler.slots] == [True, False, False, False]
