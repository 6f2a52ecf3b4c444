"""What a LoRA adapter on disk says about itself, and whether it fits the loaded base model.

An adapter folder is peft's ``save_pretrained`` output plus ``verirag_adapter.json``, written by
the fine-tune (:func:`save_adapter_metadata`): the base it was trained on (a name and a content
fingerprint), a hash of its training data, its hyperparameters, metrics and creation time.

A LoRA delta only means something on the exact weights it was trained against, and peft loads a
delta onto any base whose layer shapes agree — a different checkpoint of the same architecture
loads silently and answers badly. So attaching checks the base first:

- with metadata, the recorded fingerprint must equal the loaded base's (content beats names: a
  moved or renamed model directory is still the same base);
- without metadata (a plain peft folder), peft's ``base_model_name_or_path`` must name the
  loaded base, compared by final path component so the same model at another path matches.

Left out: loading weights (``app.models.generator``) and training (``finetune``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from verirag.errors import AdapterMismatch, ConfigError, GenerationError, ModelNotFound

METADATA_FILE = "verirag_adapter.json"
PEFT_CONFIG_FILE = "adapter_config.json"
FORMAT_VERSION = 1

# Config keys that fix the shape of the network; the rest (dtype, transformers_version,
# _name_or_path, use_cache...) differ between machines holding the same weights.
_ARCH_KEYS = ("model_type", "vocab_size", "hidden_size", "intermediate_size",
              "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim",
              "max_position_embeddings", "tie_word_embeddings")
# Rows of the input embedding hashed by value: tells apart checkpoints of one architecture.
_SAMPLE_ROWS = 8
# The suffix resolve_hf_dir adds to a converted GGUF directory (a hash of its source path).
_CACHE_SUFFIX = re.compile(r"-[0-9a-f]{10}$")


@dataclass(frozen=True)
class AdapterMetadata:
    """The contents of ``verirag_adapter.json``; validated so a bad file fails when read."""

    base_model: str = field(metadata={"help": "Name or path of the base it was trained on."})
    base_fingerprint: str = field(metadata={"help": "base_fingerprint() of that base."})
    data_hash: str = field(metadata={"help": "Hash of the training data, to tell runs apart."})
    hyperparameters: dict[str, Any] = field(default_factory=dict,
                                            metadata={"help": "LoRA and training settings."})
    metrics: dict[str, float] = field(default_factory=dict,
                                      metadata={"help": "Evaluation figures of this adapter."})
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"),
                            metadata={"help": "ISO 8601 time the adapter was saved."})
    name: str | None = field(default=None, metadata={"help": "Pack the adapter was trained for."})
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        for key in ("base_model", "base_fingerprint", "data_hash"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{key} must be a non-empty string, got {value!r}")
        if not re.fullmatch(r"[0-9a-f]{40}", self.base_fingerprint):
            raise ValueError(f"base_fingerprint {self.base_fingerprint!r} is not a "
                             "base_fingerprint() value (40 hex digits)")
        try:
            datetime.fromisoformat(self.created_at)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"created_at {self.created_at!r} is not an ISO 8601 time") from exc
        if self.format_version != FORMAT_VERSION:
            raise ValueError(f"format_version {self.format_version!r} is not {FORMAT_VERSION}")


def save_adapter_metadata(adapter_dir: Path, *, base_model: str, base_fingerprint: str,
                          data_hash: str, hyperparameters: Mapping[str, Any] | None = None,
                          metrics: Mapping[str, float] | None = None, name: str | None = None,
                          created_at: str | None = None) -> AdapterMetadata:
    """Write ``verirag_adapter.json`` beside peft's files (atomically) and return what was written.

    Called by the fine-tune right after ``save_pretrained``; ``base_fingerprint`` comes from
    :func:`base_fingerprint` on the model it trained.
    """
    adapter_dir = Path(adapter_dir)
    if not adapter_dir.is_dir():
        raise ModelNotFound(f"adapter folder {adapter_dir} does not exist; save the adapter "
                            "with save_pretrained() before its metadata")
    extra = {"created_at": created_at} if created_at else {}
    try:
        meta = AdapterMetadata(base_model=base_model, base_fingerprint=base_fingerprint,
                               data_hash=data_hash, hyperparameters=dict(hyperparameters or {}),
                               metrics=dict(metrics or {}), name=name, **extra)
        text = json.dumps(asdict(meta), indent=2, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"cannot write adapter metadata for {adapter_dir}: {exc}") from exc
    target = adapter_dir / METADATA_FILE
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return meta


def read_adapter_metadata(adapter_dir: Path) -> AdapterMetadata | None:
    """The adapter's metadata, or None for a plain peft folder that has none."""
    path = Path(adapter_dir) / METADATA_FILE
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise TypeError(f"expected a JSON object, got {type(raw).__name__}")
        return AdapterMetadata(**raw)
    except (OSError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable adapter metadata ({exc}); re-run the fine-tune "
                          "that produced it or restore the file") from exc


def _strip_peft_name(name: str) -> str | None:
    """A parameter name as it is on the bare model; None for a LoRA weight itself."""
    parts = name.split(".")
    if any(p.startswith("lora_") for p in parts):
        return None
    parts = [p for p in parts if p != "base_layer"]
    if parts[:2] == ["base_model", "model"]:
        parts = parts[2:]
    return ".".join(parts)


def base_fingerprint(model: Any, tokenizer: Any) -> str:
    """A content hash of a base model that is the same wherever the same weights are loaded.

    It hashes the shape-defining config keys, the tokenizer's size, every (non-LoRA) parameter
    name and shape, and the first rows of the input embedding rounded to bfloat16 — so a
    float32 CPU load and a bfloat16 GPU load of one checkpoint agree, a LoRA-wrapped model
    gives its base's fingerprint, and another checkpoint of the same architecture differs.
    A base quantised differently (packed 4-bit shapes) fingerprints differently.
    """
    import torch

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = base.config.to_dict()
    shapes = [(stripped, list(p.shape)) for n, p in base.named_parameters()
              if (stripped := _strip_peft_name(n)) is not None]
    described = {"config": {k: config.get(k) for k in _ARCH_KEYS},
                 "tokenizer_size": len(tokenizer), "tensors": shapes}
    digest = hashlib.sha1(json.dumps(described, sort_keys=True).encode())
    rows = base.get_input_embeddings().weight[:_SAMPLE_ROWS].detach()
    digest.update(rows.to("cpu", torch.bfloat16).contiguous().view(torch.int16).numpy().tobytes())
    return digest.hexdigest()


def base_name(name_or_path: str) -> str:
    """How two references to one base are compared: last path component, no cache suffix."""
    last = Path(str(name_or_path).rstrip("/")).name
    last = last.removesuffix(".gguf")
    return _CACHE_SUFFIX.sub("", last).lower()


@dataclass(frozen=True)
class LoadedBase:
    """The base a generator holds, as adapters are checked against it."""

    label: str
    names: frozenset[str]
    fingerprint: str

    @classmethod
    def of(cls, label: str, references: Iterable[str], fingerprint: str) -> LoadedBase:
        return cls(label, frozenset(base_name(r) for r in (label, *references) if r), fingerprint)


def read_peft_config(adapter_dir: Path) -> Any:
    """peft's ``adapter_config.json``, parsed (whatever JSON it holds; callers check the shape)."""
    path = Path(adapter_dir) / PEFT_CONFIG_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelNotFound(f"{adapter_dir} is not a LoRA adapter folder (no {PEFT_CONFIG_FILE});"
                            " point the pack's adapter at a peft save_pretrained() folder") from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable peft config ({exc}); re-save the adapter") from exc


def peft_base_name(adapter_dir: Path) -> str | None:
    """``base_model_name_or_path`` from peft's ``adapter_config.json``."""
    raw = read_peft_config(adapter_dir)
    value = raw.get("base_model_name_or_path") if isinstance(raw, dict) else None
    return str(value) if value else None


def check_adapter_base(name: str, adapter_dir: Path, loaded: LoadedBase) -> AdapterMetadata | None:
    """Refuse (AdapterMismatch) an adapter trained on another base; return its metadata."""
    adapter_dir = Path(adapter_dir)
    peft_base = peft_base_name(adapter_dir)
    meta = read_adapter_metadata(adapter_dir)
    fix = (f"load the base it was trained on (VERIRAG_GENERATOR_PATH) or retrain the adapter "
           f"on '{loaded.label}'")
    if meta is not None:
        if meta.base_fingerprint != loaded.fingerprint:
            raise AdapterMismatch(
                f"adapter '{name}' ({adapter_dir}) was trained on base '{meta.base_model}' "
                f"(fingerprint {meta.base_fingerprint[:12]}), but the loaded base is "
                f"'{loaded.label}' (fingerprint {loaded.fingerprint[:12]}); {fix}")
        return meta
    if peft_base is not None and base_name(peft_base) not in loaded.names:
        raise AdapterMismatch(
            f"adapter '{name}' ({adapter_dir}) names base '{peft_base}' in {PEFT_CONFIG_FILE}, "
            f"but the loaded base is '{loaded.label}'; {fix}")
    return None


def already_attached(attached: Mapping[str, Path], name: str, path: Path) -> bool:
    """Whether ``name`` is attached from ``path`` already (attaching again is then a no-op);
    a ConfigError when the name is taken by another folder, rather than a silent swap."""
    known = attached.get(name)
    if known is not None and known != path:
        raise ConfigError(f"adapter name '{name}' is already attached from {known}; "
                          f"give the adapter in {path} another name")
    return known == path


def require_attached(attached: Mapping[str, Path], adapter: str | None, model_id: str) -> None:
    """Refuse a request for an adapter that is not attached, naming the ones that are."""
    if adapter is not None and adapter not in attached:
        names = ", ".join(attached) or "none"
        raise GenerationError(f"no adapter named '{adapter}' is attached to {model_id} "
                              f"(attached: {names}); attach it first or fix the pack's "
                              "models.adapter")
