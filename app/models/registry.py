"""The one place models are loaded and cached for a process.

Not a global: the CLI builds one registry per command and the Streamlit app keeps one in
``st.cache_resource``; tests share one per session. Asking twice for the same model returns
the same object, so three packs on one base model hold one copy of its weights.
"""

from __future__ import annotations

import threading
from pathlib import Path

from app.models.device import resolve_device
from app.models.generator import Generator, TransformersGenerator
from app.models.locate import default_generator, embedder_path, source_from_path
from knowledge.embedding import SentenceTransformerEmbedder
from verirag.settings import Settings


class ModelRegistry:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._embedders: dict[Path, SentenceTransformerEmbedder] = {}
        self._generators: dict[str, Generator] = {}
        self._lock = threading.Lock()

    @property
    def device(self) -> str:
        return resolve_device(self.settings.device)

    def embedder(self, path: Path | None = None) -> SentenceTransformerEmbedder:
        resolved = embedder_path(path or self.settings.embedder_path).resolve()
        with self._lock:
            if resolved not in self._embedders:
                self._embedders[resolved] = SentenceTransformerEmbedder(resolved, self.device)
            return self._embedders[resolved]

    def generator(self, path: Path | None = None) -> Generator:
        chosen = path or self.settings.generator_path
        source = source_from_path(chosen) if chosen else default_generator()
        key = f"{source.directory.resolve()}::{source.gguf_file}"
        with self._lock:
            if key not in self._generators:
                self._generators[key] = TransformersGenerator(
                    source, self.device, self.settings.cache_dir)
            return self._generators[key]
