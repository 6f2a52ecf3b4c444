"""On the CPU the engine serves the default Q4_1 GGUF from one Q8_0 copy of its weights.

What a user relies on: the copy predicts as the shipped file does, is made once and reused,
and a cache that cannot be written costs speed, never service.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.models.llamacpp import EngineOptions, LlamaCppGenerator
from app.models.llamacpp.native import Model
from app.models.llamacpp.reencode import (
    Q8_0,
    cpu_weights,
    divergence,
    file_type,
    next_token_logprobs,
)
from app.models.locate import default_generator
from verirag.settings import Settings

TEXT = ("The Board has set a total trading book VaR limit of £12 million (99%, 1-day). "
        "Between cases, a 2-minute scrub or alcohol surgical rub is acceptable if hands are not "
        "soiled. Give 1.5–2 tubes of glucose gel between the teeth and gums if the patient is "
        "able to cooperate, otherwise give glucagon 1 mg intramuscularly. 本合同自双方签字之日起"
        "生效，任何一方提前三十日书面通知对方，可以解除本合同。Either party may end this "
        "agreement with ninety days' written notice; clause 6.1 survives termination.")


def _shipped() -> Path:
    source = default_generator()
    return source.directory / (source.gguf_file or "")


def test_the_q8_0_copy_predicts_as_the_shipped_file_does(tmp_path: Path) -> None:
    assert file_type(_shipped()) == 3  # Q4_1: the format this exists for
    copy = cpu_weights(_shipped(), tmp_path)
    assert copy != _shipped() and file_type(copy) == Q8_0
    tokens = Model(_shipped()).tokenize(TEXT)
    agree, kl = divergence(next_token_logprobs(_shipped(), tokens),
                           next_token_logprobs(copy, tokens))
    # Measured here: 93 % agreement, mean KL 0.007 — as far as llama.cpp's own Q4_1 kernels are
    # from the exact weights (95 %, 0.004, against a float32 copy). Re-quantizing to Q4_0 instead
    # gives 60 % and 0.39: a different model, which these bounds would refuse.
    assert agree >= 0.9, f"the copy picks another next token at {1 - agree:.0%} of positions"
    assert kl < 0.02, f"mean KL divergence {kl:.3f} from the shipped model"


def test_the_engine_on_the_cpu_loads_the_copy(session_settings: Settings) -> None:
    gen = LlamaCppGenerator(default_generator(), session_settings.cache_dir,
                            EngineOptions(slots=1, context=1024))
    try:
        assert file_type(gen.model.path) == Q8_0
        assert gen.model.path.parent == session_settings.cache_dir / "engine"
    finally:
        gen.close()
    shipped = LlamaCppGenerator(default_generator(), session_settings.cache_dir,
                                EngineOptions(slots=1, context=1024, reencode=False))
    try:
        assert shipped.model.path == _shipped()
    finally:
        shipped.close()


def test_the_copy_is_made_once_and_reused(tmp_path: Path) -> None:
    first = cpu_weights(_shipped(), tmp_path)
    made = first.stat().st_mtime_ns
    assert first.parent == tmp_path / "engine" and cpu_weights(_shipped(), tmp_path) == first
    assert first.stat().st_mtime_ns == made
    assert list((tmp_path / "engine").iterdir()) == [first]  # no partial file left behind
    # A file already in a format with fast kernels is served as it is.
    assert cpu_weights(first, tmp_path) == first


def test_a_cache_that_cannot_be_written_serves_the_file_as_shipped(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    assert cpu_weights(_shipped(), blocked) == _shipped()
    assert "serving it as shipped" in caplog.text
