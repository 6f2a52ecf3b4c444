"""Run a sentence-transformers model's transformer on ONNX Runtime, exported once and cached.

Why not ``SentenceTransformer(path, backend="onnx")``: that needs optimum-onnx, whose
releases pin transformers below 4.58 while verirag runs on transformers 5. So the export is
verirag's own (:mod:`knowledge.embedders.onnx_export`) and only the transformer's forward
pass moves to plain onnxruntime: sentence-transformers keeps tokenising, pooling and
normalising exactly as under torch, so every model layout that works there works here.

The export is from the local files only (no network), into
``<model cache>/embedders/<model>-<fingerprint>-onnx<EXPORT_VERSION>/``: ``model.onnx``
(float32, fused) and, for ``onnx-int8``, ``model-int8.onnx``. Both are written under
temporary names and renamed, so a crash or a second process never leaves half a model.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from verirag.errors import ConfigError

log = logging.getLogger(__name__)

# Bump when the export recipe changes, so every cached export is redone.
EXPORT_VERSION = 1


class OnnxTransformer(torch.nn.Module):
    """Stands in for the Hugging Face model inside sentence-transformers' Transformer module."""

    def __init__(self, path: Path, config: Any) -> None:
        import onnxruntime as ort

        super().__init__()
        self.config = config
        options = ort.SessionOptions()
        # Idle workers that spin keep a core busy that the tokenizer, the next batch and other
        # processes on a small machine need; measured faster without on 2 shared cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options,
                                            providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]

    def forward(self, **features: Any) -> Any:
        from transformers.modeling_outputs import BaseModelOutput

        feeds = {name: features[name].detach().cpu().numpy().astype(np.int64, copy=False)
                 for name in self.input_names}
        (hidden,) = self.session.run(["last_hidden_state"], feeds)
        return BaseModelOutput(last_hidden_state=torch.from_numpy(hidden))


def export_dir(cache_root: Path, key: str) -> Path:
    return Path(cache_root) / "embedders" / f"{key}-onnx{EXPORT_VERSION}"


def use_onnx(st_model: Any, cache_root: Path, key: str, *, quantized: bool) -> Path:
    """Swap ``st_model``'s transformer for its ONNX export (made now if not cached); the
    torch weights are released. Returns the ``.onnx`` file in use."""
    try:
        import onnxruntime  # noqa: F401

        from knowledge.embedders import onnx_export
    except ImportError as exc:
        raise ConfigError("the onnx embedder backends need onnxruntime, onnx and onnxscript; "
                          "run: pip install onnxruntime onnx onnxscript") from exc
    module = st_model[0]
    attr = "model" if "model" in module._modules else "auto_model"
    model = getattr(module, attr, None)
    tokenizer = getattr(module, "tokenizer", None)
    if not isinstance(model, torch.nn.Module) or tokenizer is None or not hasattr(model, "config"):
        raise ConfigError(f"the onnx embedder backends run models whose first module is a "
                          f"Hugging Face text transformer, not {type(module).__name__}; "
                          "use embedder_backend = 'torch' for this model")
    target = export_dir(cache_root, key)
    fp32 = target / "model.onnx"
    if not fp32.is_file():
        log.info("exporting the embedder to ONNX once, into %s", target)
        onnx_export.export(model, tokenizer, target)
    chosen = fp32
    if quantized:
        chosen = target / "model-int8.onnx"
        if not chosen.is_file():
            onnx_export.quantize(fp32, chosen, onnx_export.is_large(model))
    setattr(module, attr, OnnxTransformer(chosen, model.config))
    return chosen
