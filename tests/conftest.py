"""Shared fixtures: one data directory and one set of loaded models per test session.

Every test runs with ``VERIRAG_HOME`` pointing into its own temp folder (autouse), so nothing
reads or writes the user's real data. Models are real (the small embedded defaults) and are
loaded once per session; the converted generator is cached in the user's cache directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.models import ModelRegistry
from app.services import Runtime
from verirag.settings import Settings, load_settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "verirag-home"
    monkeypatch.setenv("VERIRAG_HOME", str(home))
    for var in ("VERIRAG_CONFIG", "VERIRAG_DATABASE_URL", "VERIRAG_GENERATOR_PATH",
                "VERIRAG_EMBEDDER_PATH", "VERIRAG_PACKS_PATH", "VERIRAG_DEVICE"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="session")
def session_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(home=tmp_path_factory.mktemp("session-home"))


@pytest.fixture(scope="session")
def models(session_settings: Settings) -> ModelRegistry:
    return ModelRegistry(session_settings)


@pytest.fixture(scope="session")
def runtime(session_settings: Settings, models: ModelRegistry) -> Runtime:
    """The three bundled packs indexed once; tests must not modify this one."""
    rt = Runtime(session_settings, models)
    rt.ensure_bundled_indexed()
    return rt


@pytest.fixture
def fresh_runtime(tmp_path: Path, models: ModelRegistry) -> Iterator[Runtime]:
    """An empty data directory sharing the session's loaded models; safe to modify."""
    settings = load_settings(home=tmp_path / "fresh-home")
    yield Runtime(settings, models)
