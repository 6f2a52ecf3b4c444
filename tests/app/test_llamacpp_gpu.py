"""The llama.cpp engine on a CUDA GPU: every layer offloaded, same contract as on the CPU.

Runs only where llama.cpp was built with a GPU backend (``LLAMA_CMAKE_ARGS="-DGGML_CUDA=on"``
at setup) and a GPU is present; skipped elsewhere, so the suite passes on CPU-only machines.
"""

from __future__ import annotations

import threading

import pytest

from app.models.generator import GenerationParams
from app.models.llamacpp import EngineOptions, LlamaCppGenerator
from app.models.locate import default_generator
from verirag.settings import Settings


def _gpu_build() -> bool:
    try:
        import llama_cpp
    except ImportError:
        return False
    return bool(llama_cpp.llama_supports_gpu_offload())


pytestmark = [pytest.mark.gpu, pytest.mark.skipif(
    not _gpu_build(), reason="llama.cpp has no GPU backend here (CPU build or no GPU)")]

GREEDY = GenerationParams(max_new_tokens=24, temperature=0.0, repetition_penalty=1.0)


def test_the_engine_answers_on_the_gpu_alone_and_batched(session_settings: Settings) -> None:
    gen = LlamaCppGenerator(default_generator(), session_settings.cache_dir,
                            EngineOptions(slots=4, gpu=True))
    questions = [[{"role": "user", "content": f"Name symptom number {i} of anaemia."}]
                 for i in range(4)]
    alone = ["".join(gen.stream(q, GREEDY)) for q in questions]
    assert all(a.strip() for a in alone)
    together: dict[int, str] = {}
    threads = [threading.Thread(target=lambda i=i: together.__setitem__(
        i, "".join(gen.stream(questions[i], GREEDY)))) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(together) == [0, 1, 2, 3] and all(together.values())
    gen.close()
