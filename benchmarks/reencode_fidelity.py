"""How faithful the engine's Q8_0 copy of a Q4_1 GGUF is: next-token agreement and KL.

Run by hand from the repository root (not part of the test suite; about two minutes)::

    .venv/bin/python -m benchmarks.reencode_fidelity

On the CPU the engine serves the default Q4_1 model from a Q8_0 copy of its weights
(``app.models.llamacpp.reencode``). This feeds the answerer's real prompts (the first eight
medical eval questions with their retrieved passages, as ``engine_bench`` builds them) to
four encodings of the same model — the file as shipped (Q4_1), the engine's Q8_0 copy, a
float32 copy (the Q4_1 weights exactly, no activation rounding either) and, as a control, a
Q4_0 re-quantization (a different model) — and prints, for every pair against the shipped
file and against float32, the share of positions where both pick the same next token and
the mean KL divergence of their next-token distributions.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from app.models.llamacpp import LlamaCppGenerator
from app.models.llamacpp.native import requantize
from app.models.llamacpp.reencode import divergence, next_token_logprobs
from app.models.locate import default_generator
from app.resources import Resources
from benchmarks.engine_bench import prompts
from verirag.settings import load_settings

F32, Q4_0 = 0, 2  # llama.cpp file types


def weight_change(shipped: Path, copy: Path) -> tuple[float, float]:
    """The largest change of a Q4_1 weight in the copy, in Q4_1 rounding steps of its block,
    and the root-mean-square change relative to the weights' own."""
    import gguf
    import numpy as np
    from gguf.quants import dequantize

    copied = {t.name: t for t in gguf.GGUFReader(str(copy)).tensors}
    worst, change, size = 0.0, 0.0, 0.0
    for tensor in gguf.GGUFReader(str(shipped)).tensors:
        if tensor.tensor_type.name != "Q4_1":
            continue
        other = copied[tensor.name]
        x = dequantize(tensor.data, tensor.tensor_type).reshape(-1, 32)
        y = dequantize(other.data, other.tensor_type).reshape(-1, 32)
        step = (x.max(axis=1) - x.min(axis=1)) / 15
        step[step == 0] = 1
        worst = max(worst, float((np.abs(x - y).max(axis=1) / step).max()))
        change += float(((x - y) ** 2).sum())
        size += float((x**2).sum())
    return worst, (change / size) ** 0.5


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        res = Resources(load_settings(home=home))
        res.ensure_bundled_indexed()
        source = default_generator()
        shipped = source.directory / (source.gguf_file or "")
        engine = LlamaCppGenerator(source, res.settings.cache_dir)
        chats = [engine.prompt_tokens(messages) for messages in prompts(res, 8)]
        copy = engine.model.path  # what the engine serves
        engine.close()
        if copy == shipped:
            raise SystemExit(f"the engine serves {shipped.name} as shipped (not a Q4_1/Q5_1 "
                             "file, or generator_reencode is off): nothing to compare")
        files = {"shipped Q4_1": shipped, "engine's Q8_0 copy": copy}
        for name, kind in (("float32 copy", F32), ("Q4_0 re-quantized", Q4_0)):
            files[name] = home / f"{kind}.gguf"
            requantize(shipped, files[name], kind)
        pairs = [("shipped Q4_1", "engine's Q8_0 copy"), ("float32 copy", "shipped Q4_1"),
                 ("float32 copy", "engine's Q8_0 copy"), ("shipped Q4_1", "Q4_0 re-quantized")]
        totals = {pair: [0.0, 0.0] for pair in pairs}
        positions = 0
        for tokens in chats:
            logprobs = {name: next_token_logprobs(path, tokens) for name, path in files.items()}
            for pair in pairs:
                agree, kl = divergence(logprobs[pair[0]], logprobs[pair[1]])
                totals[pair][0] += agree * len(tokens)
                totals[pair][1] += kl * len(tokens)
            positions += len(tokens)
        worst, rms = weight_change(files["shipped Q4_1"], files["engine's Q8_0 copy"])
    print(f"\nWeights: the largest change is {worst:.3f} of a Q4_1 rounding step; "
          f"root-mean-square change {rms:.4f} of the weights'")
    print(f"\n### Next-token fidelity: {len(chats)} answerer prompts, {positions} positions\n")
    print("| reference | compared | same next token | mean KL |")
    print("|---|---|---|---|")
    for (ref, other), (agree, kl) in totals.items():
        print(f"| {ref} | {other} | {agree / positions:.3f} | {kl / positions:.4f} |")


if __name__ == "__main__":
    main()
