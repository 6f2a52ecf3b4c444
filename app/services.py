"""The application services over one ``Resources``: users, audit, conversations, dialog.

``Runtime`` is what the front doors (CLI, web app, HTTP API) hold. It adds to the shared
``Resources`` (models, packs, knowledge bases, adapters) the parts that act on someone's
behalf: the user store, the audit log, stored conversations and the dialog manager. Audited
changes to a knowledge base (upload, delete, relabel, re-index) live in ``app.kb_admin``.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy import Engine

from app.audit import AuditLog
from app.auth.keys import KeyStore
from app.auth.principal import Principal
from app.auth.records import SCHEMA as AUTH_SCHEMA
from app.auth.users import UserStore
from app.dialog.cache import AnswerCache
from app.dialog.manager import DialogManager
from app.dialog.model_slots import GeneratorSlotExtractor
from app.dialog.records import SCHEMA as DIALOG_SCHEMA
from app.dialog.sessions import SessionStore
from app.models import ModelRegistry
from app.resources import Resources
from knowledge.store.migrate import upgrade
from verirag.settings import Settings


class Runtime:
    def __init__(self, settings: Settings | None = None, models: ModelRegistry | None = None,
                 *, resources: Resources | None = None) -> None:
        self.resources = resources or Resources(settings, models)

    @cached_property
    def engine(self) -> Engine:
        """The resources' database with the conversation and user tables migrated in."""
        engine = self.resources.engine
        upgrade(engine, DIALOG_SCHEMA)
        upgrade(engine, AUTH_SCHEMA)
        return engine

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.engine)

    @cached_property
    def users(self) -> UserStore:
        settings = self.resources.settings
        return UserStore(self.engine, self.audit, max_failures=settings.login_max_failures,
                         lockout_minutes=settings.login_lockout_minutes)

    @cached_property
    def keys(self) -> KeyStore:
        return KeyStore(self.engine, self.audit, self.users)

    @cached_property
    def sessions(self) -> SessionStore:
        return SessionStore(self.engine)

    def dialog(self, name: str, *, user: str | None = None, principal: Principal | None = None,
               with_generator: bool = True, cache: AnswerCache | None = None) -> DialogManager:
        """A dialog manager for one pack; with a ``principal`` it checks the chat role, searches
        only documents the user is cleared for, and keeps the user to their own sessions.
        With a ``cache``, a first question asked before of the same documents is answered
        from it (the cache's key holds the clearance, so it never crosses one)."""
        clearance = None
        if principal is not None:
            principal.require(name, "chat")
            user, clearance = principal.name, principal.clearance(name)
        answerer = self.resources.answerer(name, with_generator=with_generator)
        fallback = GeneratorSlotExtractor(answerer.generator) if answerer.generator else None
        return DialogManager(answerer, self.sessions, model_fallback=fallback, user=user,
                             clearance=clearance, cache=cache)
