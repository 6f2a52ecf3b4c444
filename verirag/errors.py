"""The verirag exception tree.

Every error a user can cause or fix is a ``VeriragError`` whose message says what happened
and what to do next, in one line. The library raises; only the CLI and the UI turn these into
exit codes or banners.
"""

from __future__ import annotations


class VeriragError(Exception):
    """Root of every error verirag raises on purpose."""


class ConfigError(VeriragError, ValueError):
    """A setting or a config file holds a value verirag cannot use."""


class PackError(ConfigError):
    """A domain pack's ``pack.toml`` is missing, unreadable or invalid."""


class DocumentRejected(VeriragError, ValueError):
    """A file cannot be indexed; the knowledge base is left as it was.

    ``reason`` is the one-line explanation shown next to the file name.
    """

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"{name}: {reason}")


class KnowledgeBaseError(VeriragError):
    """The knowledge base cannot be opened or written."""


class IndexMismatch(KnowledgeBaseError):
    """The vector index and the database disagree in a way repair cannot fix."""


class ModelNotFound(VeriragError, FileNotFoundError):
    """A configured model path does not exist or holds no model files."""


class AdapterMismatch(VeriragError, ValueError):
    """A LoRA adapter was trained on a different base model than the one loaded."""


class GenerationError(VeriragError, RuntimeError):
    """The generator backend failed to produce an answer."""


class FinetuneError(VeriragError, RuntimeError):
    """A fine-tune cannot start, resume or finish (bad settings, no checkpoint, no data)."""


class TrainingDataError(FinetuneError, ValueError):
    """A training or eval data file is malformed; the message names the file and line."""


class AdapterRegistryError(VeriragError, ValueError):
    """An adapter registry operation names an adapter that is absent or cannot change state."""


class AuthError(VeriragError, PermissionError):
    """A login that failed, or a user without the role an action needs."""


class SessionRevoked(AuthError):
    """A sign-in that no longer holds: the password was changed after it."""


class LoginThrottled(AuthError):
    """Too many failed logins for one name: wait, do not keep guessing."""
