"""What one process shares: settings, loaded models, packs, knowledge bases and adapters.

``Resources`` is what ``evals`` and ``finetune`` take: everything they need to index a corpus,
search it, and generate with a pack's adapter, and nothing of the application services
(users, audit, conversations: ``app.services.Runtime``), so those layers never import the
front doors' services. Built once per process (per CLI command; once per Streamlit server)
and handed down; it owns the one model registry, so all packs share one embedder and one base
generator.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine

from app.dialog.answerer import Answerer
from app.models import ModelRegistry
from app.models.adapter_store import AdapterRegistry, named_adapter_dir, served_adapter_dir
from app.models.generator import Generator
from domains.overrides import apply_override, override_path
from domains.pack import Pack, RetrievalConfig, list_pack_names, load_pack
from knowledge.ingest import Ingestor, IngestReport
from knowledge.kb import KnowledgeBase
from knowledge.originals import OriginalStore
from knowledge.retrieval import Retriever
from knowledge.store import make_engine
from verirag.settings import Settings, load_settings

StatusFn = Callable[[str], None]


class Resources:
    def __init__(self, settings: Settings | None = None,
                 models: ModelRegistry | None = None) -> None:
        self.settings = settings or load_settings()
        self.models = models or ModelRegistry(self.settings)
        self._kbs: dict[str, KnowledgeBase] = {}
        self._packs: dict[str, Pack] = {}
        # Streamlit serves each browser session on its own thread: two first visits at once
        # would otherwise both open (and repair) the same knowledge base.
        self._kb_lock = threading.Lock()

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.db_url)

    def pack_names(self) -> list[str]:
        return list_pack_names(self.settings.packs_path)

    def pack(self, name: str) -> Pack:
        if name not in self._packs:
            # What ``verirag tune`` measured best here, laid over the pack author's settings.
            self._packs[name] = apply_override(load_pack(name, self.settings.packs_path),
                                               override_path(self.settings.home, name))
        return self._packs[name]

    def kb(self, name: str, status: StatusFn | None = None) -> KnowledgeBase:
        with self._kb_lock:
            if name not in self._kbs:
                pack = self.pack(name)
                embedder = self.models.embedder(pack.models.embedder_path)
                kb = KnowledgeBase.open(
                    pack, self.engine, self.settings.index_dir, embedder,
                    flat_index_max=self.settings.flat_index_max, status=status)
                kb.originals = OriginalStore(self.settings.originals_dir / name)
                self._kbs[name] = kb
            return self._kbs[name]

    def ingestor(self, name: str) -> Ingestor:
        return Ingestor(self.kb(name), max_bytes=self.settings.max_upload_bytes,
                        ocr=self.settings.ocr)

    def retriever(self, name: str, kb: KnowledgeBase | None = None,
                  retrieval: RetrievalConfig | None = None) -> Retriever:
        """A pack's retriever over its own knowledge base, or over ``kb`` (an eval corpus)."""
        return Retriever(kb or self.kb(name), retrieval, reranker=self.models.reranker())

    def generator(self, pack: Pack) -> Generator:
        return self.models.generator(pack.models.generator_path)

    def answerer(self, name: str, *, with_generator: bool = True) -> Answerer:
        pack = self.pack(name)
        kb = self.kb(name)
        generator = None
        adapter = None
        if with_generator and pack.generation.mode == "generate":
            generator = self.generator(pack)
            adapter = self.attach_pack_adapter(pack, generator)
        return Answerer(pack, self.retriever(name), generator, kb.embedder, adapter=adapter)

    def adapters(self, pack: str) -> AdapterRegistry:
        """The pack's adapter registry in this data directory."""
        return AdapterRegistry(self.settings.adapters_dir, pack)

    def adapter_path(self, pack: Pack) -> Path | None:
        """The adapter the pack serves (``pack.toml`` pin, else the registry's active one)."""
        return served_adapter_dir(pack, self.settings.adapters_dir)

    def attach_pack_adapter(self, pack: Pack, generator: Generator,
                            name: str | None = None) -> str | None:
        """Attach the pack's served adapter (or the one named) to the shared base; returns the
        name to generate with.

        In-process the adapter is attached as ``PACK-FOLDER``, so activating another adapter in
        the registry while a server runs attaches the new one beside the old instead of
        colliding with it. A remote server serves adapters by its own names (vLLM
        ``--lora-modules medical=...``): the pack's name, or the name asked for.
        """
        root = self.settings.adapters_dir
        path = (served_adapter_dir(pack, root) if name is None
                else named_adapter_dir(pack, name, root))
        if path is None:
            return None
        attach = getattr(generator, "attach_adapter", None)
        if attach is None:
            return name or pack.name
        attached = f"{pack.name}-{path.name}"
        attach(attached, path)
        return attached

    def ensure_bundled_indexed(self, status: StatusFn | None = None) -> dict[str, IngestReport]:
        """First run: index each pack's sample documents into a knowledge base never used.

        A base whose revision moved has had documents, so one emptied on purpose (a hospital
        deleting the samples before loading its own files) stays empty across restarts.
        """
        reports: dict[str, IngestReport] = {}
        for name in self.pack_names():
            pack = self.pack(name)
            kb = self.kb(name, status=status)
            if kb.revision() or kb.documents() or not pack.docs_dir.is_dir():
                continue
            if status:
                status(f"indexing the {pack.title} sample documents (first run)")
            reports[name] = self.ingestor(name).ingest([pack.docs_dir], tags=["sample"])
        return reports
