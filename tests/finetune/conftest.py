"""Fixtures for the fine-tune tests: the converted base model directory and its tokenizer.

Training loads its own copy of the base from this directory (LoRA wraps a model in place, so
the session's shared generator must never be the one trained).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.models import ModelRegistry
from app.models.generator import resolve_hf_dir
from app.models.locate import default_generator


@pytest.fixture(scope="session")
def base_dir(models: ModelRegistry) -> Path:
    """The float32 form of the default GGUF: what the fine-tune trains (the engine serves the
    GGUF itself)."""
    return resolve_hf_dir(default_generator(), models.settings.cache_dir)


@pytest.fixture(scope="session")
def tokenizer(base_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
