"""A peft LoRA adapter rewritten as a GGUF LoRA, the format llama.cpp attaches to a GGUF base.

The llama.cpp engine serves the pack's GGUF file as shipped, so an adapter trained by
``verirag finetune`` (peft ``save_pretrained`` files) is exported once, beside its peft files
(``adapter_model.gguf``), or under the model cache when that folder is read-only. The
conversion follows llama.cpp's own ``convert_lora_to_gguf.py``:

- each ``lora_A`` / ``lora_B`` pair is renamed to the base's GGUF tensor name plus ``.lora_a``
  / ``.lora_b`` (gguf-py's tensor-name map for the base's architecture);
- for the ``llama`` architecture the converter stored the Q and K projections with their rows
  permuted for llama.cpp's rotary layout, so ``lora_B`` of ``q_proj`` / ``k_proj`` gets the
  same row permutation;
- the tensors stay float32 (float16 LoRA products take a batch-size-dependent kernel path in
  llama.cpp, so an answer would change when its prompt came from the cache);
- peft's per-module scaling (alpha / r, or alpha / sqrt(r) with rsLoRA, per-module patterns
  included) is folded into ``lora_B`` and ``adapter.lora.alpha`` is written as 0, which
  llama.cpp reads as "scale 1": one rule covers every peft scaling variant.

Adapters llama.cpp cannot apply (DoRA, trained biases, fully trained modules, embedding LoRA)
are refused with the setting that serves them instead (``generator_backend = "transformers"``).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from app.models.adapters import PEFT_CONFIG_FILE, read_peft_config
from verirag.errors import AdapterMismatch, ConfigError, ModelNotFound

LORA_GGUF_FILE = "adapter_model.gguf"
WEIGHTS_FILE = "adapter_model.safetensors"
# Architectures whose converter permutes the Q/K rows (convert_hf_to_gguf's LlamaModel).
_ROPE_PERMUTED = frozenset({"llama"})
_LORA_NAME = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<part>[AB])\.weight$")
_FALLBACK = ("set generator_backend = \"transformers\" to serve this adapter with peft")


def _peft_config(adapter_dir: Path) -> dict[str, Any]:
    """peft's config, refused unless it is a LoRA llama.cpp can apply."""
    config = read_peft_config(adapter_dir)
    if not isinstance(config, dict) or config.get("peft_type", "LORA") != "LORA":
        raise ConfigError(f"{adapter_dir / PEFT_CONFIG_FILE}: not a LoRA adapter; only LoRA "
                          "adapters can be served")
    unsupported = [why for why, bad in (
        ("DoRA", config.get("use_dora")),
        ("trained biases", config.get("bias", "none") != "none"),
        ("fully trained modules", config.get("modules_to_save")),
    ) if bad]
    if unsupported:
        raise ConfigError(f"adapter {adapter_dir.name} uses {', '.join(unsupported)}, which the "
                          f"llama.cpp engine cannot apply; {_FALLBACK}")
    return config


def _pattern(config: dict[str, Any], key: str, module: str, default: float) -> float:
    """A per-module value from peft's ``rank_pattern`` / ``alpha_pattern``, else the default."""
    for suffix, value in (config.get(key) or {}).items():
        if module == suffix or module.endswith("." + suffix):
            return float(value)
    return default


def _rank(config: dict[str, Any], module: str) -> int:
    return int(_pattern(config, "rank_pattern", module, float(config.get("r", 8))))


def _scaling(config: dict[str, Any], module: str, rank: int) -> float:
    """peft's scaling for one module: its alpha over its rank (or sqrt(rank) with rsLoRA)."""
    alpha = _pattern(config, "alpha_pattern", module, float(config.get("lora_alpha", rank)))
    return alpha / (math.sqrt(rank) if config.get("use_rslora") else rank)


def _rope_permute(rows: np.ndarray, n_head: int) -> np.ndarray:
    """convert_hf_to_gguf's LlamaModel.permute, applied to the output rows of ``lora_B``."""
    out = rows.shape[0]
    return (rows.reshape(n_head, 2, out // n_head // 2, *rows.shape[1:])
            .swapaxes(1, 2).reshape(rows.shape))


class BaseLayout:
    """What the export needs to know of the GGUF base: architecture, blocks, heads, tensors."""

    def __init__(self, base_gguf: Path) -> None:
        import gguf

        reader = gguf.GGUFReader(str(base_gguf))

        def field(key: str) -> Any:
            f = reader.fields.get(key)
            return f.contents() if f is not None else None

        self.arch = str(field("general.architecture"))
        self.n_blocks = int(field(f"{self.arch}.block_count") or 0)
        self.n_head = int(field(f"{self.arch}.attention.head_count") or 0)
        self.n_head_kv = int(field(f"{self.arch}.attention.head_count_kv") or self.n_head)
        self.tensors = {t.name: tuple(int(d) for d in t.shape) for t in reader.tensors}
        self.path = base_gguf
        arch = next((a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == self.arch), None)
        if arch is None:
            raise ConfigError(f"the base {base_gguf.name} has architecture '{self.arch}', which "
                              f"this exporter does not know; {_FALLBACK}")
        self._names = gguf.get_tensor_name_map(arch, self.n_blocks)

    def gguf_name(self, module: str) -> str:
        name = self._names.get_name(f"{module}.weight", try_suffixes=(".weight",))
        if name is None or name not in self.tensors:
            raise AdapterMismatch(f"the adapter trains '{module}', which the base "
                                  f"{self.path.name} has no tensor for; retrain it on this base")
        return name


def export_lora_gguf(adapter_dir: Path, base_gguf: Path, target: Path) -> Path:
    """Write ``target`` (atomically) from the peft adapter in ``adapter_dir`` for ``base_gguf``."""
    from gguf import GGUFWriter
    from safetensors.numpy import load_file

    adapter_dir, target = Path(adapter_dir), Path(target)
    config = _peft_config(adapter_dir)
    weights_path = adapter_dir / WEIGHTS_FILE
    if not weights_path.is_file():
        raise ModelNotFound(f"{weights_path} is missing; the llama.cpp engine reads adapters "
                            "saved as safetensors (peft's default)")
    weights = load_file(str(weights_path))
    base = BaseLayout(base_gguf)
    pairs: dict[str, dict[str, np.ndarray]] = {}
    for key, value in weights.items():
        m = _LORA_NAME.match(key)
        if m is None:
            raise ConfigError(f"adapter {adapter_dir.name} holds '{key}', which is not a LoRA "
                              f"A/B weight the llama.cpp engine can apply; {_FALLBACK}")
        pairs.setdefault(m["module"], {})[m["part"]] = value.astype(np.float32)

    writer = GGUFWriter(str(target) + ".tmp", base.arch)
    writer.add_type("adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", 0.0)  # 0: scale 1, peft's scaling is in lora_b
    for module, pair in sorted(pairs.items()):
        if set(pair) != {"A", "B"}:
            raise ConfigError(f"adapter {adapter_dir.name}: '{module}' lacks its lora_A or "
                              "lora_B weight; re-save the adapter")
        rank = _rank(config, module)
        if pair["A"].shape[0] != rank or pair["B"].shape[1] != rank:
            raise AdapterMismatch(f"adapter {adapter_dir.name} does not fit its own config: "
                                  f"'{module}' has rank {pair['A'].shape[0]}, "
                                  f"{PEFT_CONFIG_FILE} says {rank}; re-save the adapter")
        a, b = pair["A"], pair["B"] * _scaling(config, module, rank)
        name = base.gguf_name(module)
        kind = name.split(".")[-2]
        if base.arch in _ROPE_PERMUTED and kind in ("attn_q", "attn_k"):
            b = _rope_permute(b, base.n_head if kind == "attn_q" else base.n_head_kv)
        stem = name.removesuffix(".weight")
        writer.add_tensor(f"{stem}.weight.lora_a", np.ascontiguousarray(a))
        writer.add_tensor(f"{stem}.weight.lora_b", np.ascontiguousarray(b))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(str(target) + ".tmp", target)
    return target


def lora_gguf_for(adapter_dir: Path, base_gguf: Path, cache_root: Path) -> Path:
    """The adapter's GGUF LoRA for ``base_gguf``, exported now unless an up-to-date one exists.

    Beside the peft files when that folder is writable (a registered adapter carries its
    export), else under ``cache_root/lora``. Re-exported when the peft weights or config are newer.
    """
    adapter_dir = Path(adapter_dir)
    stamp = max((f.stat().st_mtime for f in (adapter_dir / WEIGHTS_FILE,
                                             adapter_dir / PEFT_CONFIG_FILE) if f.is_file()),
                default=0.0)
    key = f"{adapter_dir.resolve().as_posix()}|{base_gguf.resolve().as_posix()}"
    cached = Path(cache_root) / "lora" / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.gguf"
    for candidate in (adapter_dir / LORA_GGUF_FILE, cached):
        if candidate.is_file() and candidate.stat().st_mtime >= stamp:
            return candidate
    try:
        return export_lora_gguf(adapter_dir, base_gguf, adapter_dir / LORA_GGUF_FILE)
    except PermissionError:
        cached.parent.mkdir(parents=True, exist_ok=True)
        return export_lora_gguf(adapter_dir, base_gguf, cached)

