"""Configurations to compare (``--compare A,B``): named presets or a TOML override file.

Each configuration is the DOMAIN pack with something changed, so two configurations differ in
exactly what their names say. Presets live in a registry (``PRESETS``); ``adapter:NAME`` and
file paths are resolved by ``resolve_config``:

| name | what changes |
|---|---|
| ``pack`` | nothing: the pack as configured (the default when ``--compare`` is absent) |
| ``dense`` / ``bm25`` / ``hybrid`` | ``retrieval.mode`` |
| ``rag`` | nothing (named for the comparison with ``no-retrieval``) |
| ``no-retrieval`` | the model answers from the question alone: a **baseline**, not a mode |
| ``plain`` | a **baseline**: the pack's passages and model, a plain prompt, no checks |
| ``generate`` / ``extractive`` | ``generation.mode`` |
| ``base`` / ``adapter:NAME`` | the LoRA adapter passed to ``Answerer.answer`` (none / NAME) |
| ``no-rewrite`` | follow-ups are searched as asked, not as the dialog manager rewrites them |
| ``path/to/file.toml`` | ``[retrieval]``, ``[generation]`` fields; optional ``name``, ``adapter`` |
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domains.overrides import with_sections
from domains.pack import Pack
from evals.errors import EvalDataError
from verirag.errors import PackError

OVERRIDABLE = ("retrieval", "generation")


@dataclass(frozen=True)
class EvalConfig:
    """One column of the report: a pack variant plus how it is asked."""

    name: str
    pack: Pack
    use_retrieval: bool = True
    adapter: str | None = None
    baseline: bool = False
    description: str = ""
    # Multi-turn sets: search a follow-up as the dialog manager's standalone query (the
    # product's behaviour) or as the user typed it.
    rewrite_follow_ups: bool = True
    # Answer through ``evals.answerers.PlainRagAnswerer`` (same passages, plain prompt, no
    # checks or refusal rules) instead of the product's ``Answerer``.
    plain: bool = False

    def __post_init__(self) -> None:
        if self.plain and not self.use_retrieval:
            raise ValueError(f"configuration '{self.name}': a plain RAG answer needs retrieval")

    @property
    def label(self) -> str:
        """The name as shown in tables and plots; baselines say so."""
        return f"{self.name} (baseline)" if self.baseline else self.name


def with_section(pack: Pack, section: str, values: dict[str, Any], source: str) -> Pack:
    """``pack`` with ``[section]`` fields replaced, validated like a ``pack.toml`` would be."""
    try:
        return with_sections(pack, {section: values})
    except PackError as exc:
        raise EvalDataError(f"{source}: {exc}") from exc


def _mode(section: str, value: str, text: str) -> Callable[[Pack], EvalConfig]:
    def make(pack: Pack) -> EvalConfig:
        return EvalConfig(value, with_section(pack, section, {"mode": value}, value),
                          description=text)
    return make


PRESETS: dict[str, Callable[[Pack], EvalConfig]] = {
    "pack": lambda p: EvalConfig("pack", p, description="the pack as configured"),
    "rag": lambda p: EvalConfig("rag", p, description="retrieve, then answer from passages"),
    "no-retrieval": lambda p: EvalConfig(
        "no-retrieval", p, use_retrieval=False, baseline=True,
        description="baseline: the model answers from the question alone, no passages"),
    "plain": lambda p: EvalConfig(
        "plain", with_section(p, "generation", {"mode": "generate"}, "plain"), plain=True,
        baseline=True,
        description="baseline: the same passages and model in a plain RAG prompt; whatever "
                    "the model writes is the answer (no checks, no refusal rules)"),
    "base": lambda p: EvalConfig("base", p, description="the base model, no LoRA adapter"),
    "no-rewrite": lambda p: EvalConfig(
        "no-rewrite", p, rewrite_follow_ups=False,
        description="follow-up questions searched as asked, without the dialog manager's "
                    "standalone rewrite"),
    "dense": _mode("retrieval", "dense", "dense (embedding) retrieval only"),
    "bm25": _mode("retrieval", "bm25", "BM25 keyword retrieval only"),
    "hybrid": _mode("retrieval", "hybrid", "dense + BM25 fused by weighted RRF"),
    "generate": _mode("generation", "generate", "the generator writes a cited answer"),
    "extractive": _mode("generation", "extractive", "verbatim sentences from the passages"),
}


def _from_toml(pack: Pack, path: Path) -> EvalConfig:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise EvalDataError(f"{path}: not valid TOML: {exc}") from exc
    extra = sorted(set(data) - {*OVERRIDABLE, "name", "adapter"})
    if extra:
        raise EvalDataError(f"{path}: cannot override '{extra[0]}'; a comparison file may set "
                            "name, adapter, [retrieval] and [generation] only")
    variant = pack
    for section in OVERRIDABLE:
        values = data.get(section, {})
        if not isinstance(values, dict):
            raise EvalDataError(f"{path}: '{section}' must be a [{section}] table")
        if values:
            variant = with_section(variant, section, values, str(path))
    name, adapter = data.get("name", path.stem), data.get("adapter")
    if not isinstance(name, str) or not name or not isinstance(adapter, str | None):
        raise EvalDataError(f"{path}: 'name' and 'adapter' must be strings")
    return EvalConfig(name, variant, adapter=adapter, description=f"overrides from {path.name}")


def resolve_config(spec: str, pack: Pack) -> EvalConfig:
    """A preset name, ``adapter:NAME``, or a TOML file path -> a configuration of ``pack``."""
    spec = spec.strip()
    if spec in PRESETS:
        return PRESETS[spec](pack)
    if spec.startswith("adapter:"):
        name = spec.removeprefix("adapter:").strip()
        if not name:
            raise EvalDataError("'adapter:' needs a name, e.g. --compare base,adapter:medical")
        return EvalConfig(spec, pack, adapter=name, description=f"LoRA adapter '{name}'")
    path = Path(spec).expanduser()
    if path.suffix == ".toml" or path.is_file():
        if not path.is_file():
            raise EvalDataError(f"comparison settings file {path} does not exist")
        return _from_toml(pack, path)
    known = ", ".join([*PRESETS, "adapter:NAME"])
    raise EvalDataError(f"unknown configuration '{spec}'; use one of {known} or a .toml file")


def parse_compare(value: str | None, pack: Pack) -> list[EvalConfig]:
    """``--compare A,B`` -> configurations (the pack as configured when absent)."""
    if not value:
        return [PRESETS["pack"](pack)]
    specs = [s for s in (part.strip() for part in value.split(",")) if s]
    if not specs:
        raise EvalDataError(f"--compare '{value}' names no configuration; "
                            "e.g. --compare dense,bm25")
    configs = [resolve_config(s, pack) for s in specs]
    names = [c.name for c in configs]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise EvalDataError(f"--compare names '{duplicate}' twice; compare different settings")
    return configs
