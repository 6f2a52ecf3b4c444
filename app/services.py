"""The services the CLI and the UI share: packs, knowledge bases and answerers for one process.

A ``Runtime`` is built once per process (per CLI command; once per Streamlit server through
``st.cache_resource``) and handed to whoever needs it; it owns the one model registry, so all
packs share one embedder and one base generator.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine

from app.audit import AuditLog
from app.auth.principal import Principal
from app.auth.records import SCHEMA as AUTH_SCHEMA
from app.auth.users import UserStore
from app.dialog.answerer import Answerer
from app.dialog.manager import DialogManager
from app.dialog.model_slots import GeneratorSlotExtractor
from app.dialog.records import SCHEMA as DIALOG_SCHEMA
from app.dialog.sessions import SessionStore
from app.models import ModelRegistry
from app.models.adapters import read_active_adapter
from app.models.generator import Generator
from domains.pack import Pack, list_pack_names, load_pack
from knowledge.ingest import FileResult, Ingestor, IngestReport
from knowledge.kb import KnowledgeBase
from knowledge.retrieval import Retriever
from knowledge.store import make_engine
from knowledge.store.migrate import upgrade
from verirag.errors import ConfigError
from verirag.settings import Settings, load_settings

StatusFn = Callable[[str], None]


class Runtime:
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
        engine = make_engine(self.settings.db_url)
        upgrade(engine, DIALOG_SCHEMA)
        upgrade(engine, AUTH_SCHEMA)
        return engine

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.engine)

    @cached_property
    def users(self) -> UserStore:
        return UserStore(self.engine, self.audit, max_failures=self.settings.login_max_failures,
                         lockout_minutes=self.settings.login_lockout_minutes)

    def pack_names(self) -> list[str]:
        return list_pack_names(self.settings.packs_path)

    def pack(self, name: str) -> Pack:
        if name not in self._packs:
            self._packs[name] = load_pack(name, self.settings.packs_path)
        return self._packs[name]

    def kb(self, name: str, status: StatusFn | None = None) -> KnowledgeBase:
        with self._kb_lock:
            if name not in self._kbs:
                pack = self.pack(name)
                embedder = self.models.embedder(pack.models.embedder_path)
                self._kbs[name] = KnowledgeBase.open(
                    pack, self.engine, self.settings.index_dir, embedder,
                    flat_index_max=self.settings.flat_index_max, status=status)
            return self._kbs[name]

    def ingestor(self, name: str) -> Ingestor:
        return Ingestor(self.kb(name), max_bytes=self.settings.max_upload_bytes)

    def ingest_uploads(self, name: str, files: list[tuple[str, bytes]], *,
                       tags: list[str] | None = None, labels: list[str] | None = None,
                       on_file: Callable[[int, int, FileResult], None] | None = None,
                       ) -> IngestReport:
        """Index uploaded bytes under their original names (the web app's upload).

        Browsers hand over bytes, the ingestor reads files: each upload is written to a private
        temp folder under a safe name and indexed under the name the user chose, so citations
        name the user's file, never a temp path. The temp copies are removed afterwards.
        """
        import tempfile

        with tempfile.TemporaryDirectory(prefix="verirag-upload-") as tmp:
            names: dict[Path, str] = {}
            for i, (filename, data) in enumerate(files):
                display = Path(filename.replace("\\", "/")).name or f"upload-{i}"
                path = Path(tmp) / f"{i:04d}{Path(display).suffix[:16]}"
                path.write_bytes(data)
                names[path] = display
            return self.ingestor(name).ingest(list(names), tags=tags, labels=labels,
                                              names=names, on_file=on_file)

    def answerer(self, name: str, *, with_generator: bool = True) -> Answerer:
        pack = self.pack(name)
        kb = self.kb(name)
        generator = None
        adapter = None
        if with_generator and pack.generation.mode == "generate":
            generator = self.models.generator(pack.models.generator_path)
            adapter = self.attach_pack_adapter(pack, generator)
        return Answerer(pack, self.retriever(name), generator, kb.embedder, adapter=adapter)

    def adapter_path(self, pack: Pack) -> Path | None:
        """Where the pack's adapter lives: a folder relative to the pack, or a name in the
        data directory's adapter registry (``$VERIRAG_HOME/adapters/PACK/NAME``).

        A ``models.adapter`` in ``pack.toml`` wins (an institution pins what it serves);
        without one the registry's active adapter is served (``verirag adapters activate``),
        and with neither the bare base.
        """
        name = pack.models.adapter
        if not name:
            registry = self.settings.home / "adapters" / pack.name
            active = read_active_adapter(registry)
            if active is None:
                return None
            if not (registry / active / "adapter_config.json").is_file():
                raise ConfigError(f"{registry / 'active'} names adapter '{active}', which is not "
                                  f"in {registry}; run `verirag adapters list {pack.name}` and "
                                  f"activate another, or `verirag adapters deactivate {pack.name}`")
            return registry / active
        return self.named_adapter_path(pack, name)

    def named_adapter_path(self, pack: Pack, name: str) -> Path:
        """An adapter by name: a folder in the pack, or one in the data directory's registry."""
        for candidate in (pack.root / name, self.settings.home / "adapters" / pack.name / name):
            if (candidate / "adapter_config.json").is_file():
                return candidate
        raise ConfigError(f"adapter '{name}' of the {pack.name} pack not found in "
                          f"{pack.root} or {self.settings.home / 'adapters' / pack.name}; "
                          f"see `verirag adapters list {pack.name}` or train one with "
                          "`verirag finetune`")

    def attach_pack_adapter(self, pack: Pack, generator: Generator,
                            name: str | None = None) -> str | None:
        """Attach the pack's served adapter (or the one named) to the shared base; returns the
        name to generate with.

        In-process the adapter is attached as ``PACK-FOLDER``, so activating another adapter in
        the registry while a server runs attaches the new one beside the old instead of
        colliding with it. A remote server serves adapters by its own names (vLLM
        ``--lora-modules medical=...``): the pack's name, or the name asked for.
        """
        path = self.adapter_path(pack) if name is None else self.named_adapter_path(pack, name)
        if path is None:
            return None
        attach = getattr(generator, "attach_adapter", None)
        if attach is None:
            return name or pack.name
        attached = f"{pack.name}-{path.name}"
        attach(attached, path)
        return attached

    @cached_property
    def sessions(self) -> SessionStore:
        return SessionStore(self.engine)

    def dialog(self, name: str, *, user: str | None = None, principal: Principal | None = None,
               with_generator: bool = True) -> DialogManager:
        """A dialog manager for one pack; with a ``principal`` it checks the chat role, searches
        only documents the user is cleared for, and keeps the user to their own sessions."""
        clearance = None
        if principal is not None:
            principal.require(name, "chat")
            user, clearance = principal.name, principal.clearance(name)
        answerer = self.answerer(name, with_generator=with_generator)
        fallback = GeneratorSlotExtractor(answerer.generator) if answerer.generator else None
        return DialogManager(answerer, self.sessions, model_fallback=fallback, user=user,
                             clearance=clearance)

    def retriever(self, name: str) -> Retriever:
        return Retriever(self.kb(name), reranker=self.models.reranker())

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


def default_runtime(home: Path | None = None) -> Runtime:
    return Runtime(load_settings(home=home) if home else load_settings())
