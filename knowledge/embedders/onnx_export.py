"""Export a Hugging Face text encoder to ONNX once: fused for ONNX Runtime, checked, int8 on demand.

Why torch's own exporter and not optimum: optimum-onnx pins transformers below 4.58, and
verirag runs on transformers 5. ``dynamo=True`` because the older TorchScript tracer bakes
the example's sequence length into transformers 5's attention masks (it gave wrong vectors
for every other length). What is exported is the encoder alone: token tensors in, last hidden
state out; sentence-transformers pools and normalises as it does under torch.

Speed comes from ONNX Runtime's BERT fusions (one ``Attention`` kernel per layer, skip
layer norms, bias GELU), and for ``onnx-int8`` from int8 weights. The attention fusion
recognises the classic BERT graph only, so the encoder is given the additive mask
``(1 - mask) * -10000`` itself (where the model accepts a 4D mask), and two spots the exporter
writes differently are rewritten (:func:`_classic_attention`): measured on MiniLM that made
float32 1.14x and int8 1.95x torch instead of 1.03x and 1.73x. Every export is compared
with torch before it is kept; a mismatch is an error, never a silently worse model.
"""

from __future__ import annotations

import logging
import os
import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from verirag.errors import ConfigError

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
# Above this a model no longer fits one protobuf file; its weights go to a side file.
_EXTERNAL_DATA_BYTES = 1_800_000_000
_MASK_FILL = -10000.0


class _Encoder(torch.nn.Module):
    """The model as the exporter sees it: token tensors in, last hidden state out."""

    def __init__(self, model: torch.nn.Module, names: list[str], additive_mask: bool) -> None:
        super().__init__()
        self.model = model
        self.names = names
        self.additive_mask = additive_mask

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        features = dict(zip(self.names, tensors, strict=True))
        if self.additive_mask:
            mask = features["attention_mask"].unsqueeze(1).unsqueeze(2).to(torch.float32)
            features["attention_mask"] = (1.0 - mask) * _MASK_FILL
        return self.model(**features, return_dict=True).last_hidden_state


@contextmanager
def _quiet() -> Iterator[None]:
    """The exporter and quantiser chat on stdout, warnings and the root logger; this is a
    one-off conversion whose result is checked, so keep the user's console clean."""
    loggers = [logging.getLogger(), logging.getLogger("torch.onnx")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def is_large(model: torch.nn.Module) -> bool:
    return sum(p.numel() * p.element_size() for p in model.parameters()) > _EXTERNAL_DATA_BYTES


def _takes_additive_mask(encoder: _Encoder, sample: dict[str, torch.Tensor]) -> bool:
    """Whether the model reads a 4D additive mask as its own 2D one (transformers 5's BERT,
    XLM-R do; models on the older mask helper raise): the classic form fuses better."""
    tensors = tuple(sample[n] for n in encoder.names)
    with torch.no_grad():
        plain = encoder(*tensors)
        encoder.additive_mask = True
        try:
            additive = encoder(*tensors)
        except (ValueError, RuntimeError, TypeError):
            encoder.additive_mask = False
            return False
    keep = sample["attention_mask"].unsqueeze(-1).bool()
    encoder.additive_mask = bool(torch.allclose(plain * keep, additive * keep, atol=1e-4))
    return encoder.additive_mask


def _classic_attention(path: Path) -> None:
    """Rewrite the two spots where the exported attention differs from the graph ONNX
    Runtime's fusion looks for: the mask's ``Unsqueeze(axes=[1, 2])`` becomes two Unsqueezes,
    and ``scores * scale`` becomes ``scores / (1 / scale)`` (the fusion takes the first Mul
    feeding the mask Add as the mask, so the scaling must not be a Mul). Exact arithmetic."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(path), load_external_data=False)
    graph = model.graph
    consts = {i.name: i for i in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}

    def const(name: str) -> np.ndarray | None:
        return numpy_helper.to_array(consts[name]) if name in consts else None

    for node in list(graph.node):
        axes = const(node.input[1]) if node.op_type == "Unsqueeze" else None
        if node.input[0] == "attention_mask" and axes is not None and axes.tolist() == [1, 2]:
            graph.initializer.extend(numpy_helper.from_array(np.array([a], np.int64), f"vr_ax{a}")
                                     for a in (1, 2))
            at = list(graph.node).index(node)
            graph.node.remove(node)
            graph.node.insert(at, helper.make_node("Unsqueeze", ["vr_mask1", "vr_ax2"],
                                                   [node.output[0]], name="vr_unsqueeze2"))
            graph.node.insert(at, helper.make_node("Unsqueeze", ["attention_mask", "vr_ax1"],
                                                   ["vr_mask1"], name="vr_unsqueeze1"))
    for softmax in [n for n in graph.node if n.op_type == "Softmax"]:
        add = producer.get(softmax.input[0])
        if add is None or add.op_type != "Add":
            continue
        for mul in filter(None, (producer.get(name) for name in add.input)):
            scores = producer.get(mul.input[0])
            scale = const(mul.input[1]) if mul.op_type == "Mul" else None
            if scale is not None and scores is not None and scores.op_type == "MatMul":
                graph.initializer.append(numpy_helper.from_array(
                    (1.0 / scale).astype(scale.dtype), f"{mul.name}_divisor"))
                mul.op_type, mul.input[1] = "Div", f"{mul.name}_divisor"
    onnx.save(model, str(path))


def _check(path: Path, model: torch.nn.Module, tokenizer: Any, names: list[str]) -> None:
    """The export against torch on texts of other lengths than the traced ones."""
    import onnxruntime as ort

    texts = ["A much longer sentence than either of the two that were traced, so the "
             "sequence length differs", "一个中文句子", "x"]
    feeds = tokenizer(texts, padding=True, return_tensors="np")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {n: feeds[n].astype(np.int64) for n in names})
    with torch.no_grad():
        want = model(**{n: torch.from_numpy(feeds[n]) for n in names},
                     return_dict=True).last_hidden_state.numpy()
    keep = feeds["attention_mask"][..., None].astype(bool)
    err = float(np.abs((got - want) * keep).max())
    if err > 1e-3:
        raise ConfigError(f"the ONNX export of this embedder differs from torch (max error "
                          f"{err:.2g}); use embedder_backend = 'torch' for it")


def export(model: torch.nn.Module, tokenizer: Any, target: Path) -> None:
    """Export ``model`` to ``target/model.onnx`` (float32, fused, checked); the folder
    appears whole or not at all."""
    from onnxruntime.transformers.optimizer import optimize_model

    sample = tokenizer(["an example passage, long enough to pad the other one", "short"],
                       padding=True, return_tensors="pt")
    names = [n for n in INPUT_NAMES if n in sample]
    if hasattr(model, "set_attn_implementation"):
        # Eager attention exports as plain MatMul/Softmax, which the fusion recognises.
        model.set_attn_implementation("eager")
    model.eval()
    encoder = _Encoder(model, names, additive_mask=False)
    additive = _takes_additive_mask(encoder, dict(sample))
    dim = torch.export.Dim.DYNAMIC
    large = is_large(model)
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        with _quiet(), torch.no_grad():
            program = torch.onnx.export(
                encoder, tuple(sample[n] for n in names), input_names=names,
                output_names=["last_hidden_state"], dynamo=True, verbose=False,
                # one entry: the structure of ``*tensors``, a tuple of token tensors
                dynamic_shapes=(tuple({0: dim, 1: dim} for _ in names),))
            assert program is not None
            program.save(str(tmp / "raw.onnx"), external_data=large)
            if additive and not large:
                _classic_attention(tmp / "raw.onnx")
            config = model.config
            fused = optimize_model(str(tmp / "raw.onnx"), model_type="bert", opt_level=0,
                                   num_heads=getattr(config, "num_attention_heads", 0),
                                   hidden_size=getattr(config, "hidden_size", 0))
            fused.save_model_to_file(str(tmp / "model.onnx"), use_external_data_format=large)
        for leftover in tmp.glob("raw.onnx*"):
            leftover.unlink()
        _check(tmp / "model.onnx", model, tokenizer, names)
        try:
            tmp.rename(target)
        except OSError:  # another process finished the same export first
            if not (target / "model.onnx").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def quantize(fp32: Path, int8: Path, large: bool) -> None:
    """int8 weights per output channel, activations quantised at run time (per-tensor
    weights lost 2 points of cosine on MiniLM; per channel keeps it above 0.97)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = int8.with_name(f"{int8.name}.tmp{os.getpid()}")
    try:
        with _quiet():
            quantize_dynamic(fp32, tmp, weight_type=QuantType.QInt8, per_channel=True,
                             use_external_data_format=large)
        os.replace(tmp, int8)
    finally:
        tmp.unlink(missing_ok=True)
