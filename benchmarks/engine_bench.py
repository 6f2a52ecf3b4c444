"""Generation benchmark: the llama.cpp engine against transformers and llama.cpp called directly.

Run by hand from the repository root (not part of the test suite)::

    .venv/bin/python -m benchmarks.engine_bench                 # everything, about 10 minutes
    .venv/bin/python -m benchmarks.engine_bench --skip e2e,load --tokens 64

All in one process, on the default GGUF (SmolLM2-135M-Instruct Q4_1) and the answerer's real
prompt: the medical pack's first eval question with its five retrieved passages, rendered by
``app.dialog.prompt.build_messages`` (the same tokens for every backend). Greedy, and every
run produces exactly ``--tokens`` tokens (end-of-text ignored), best of ``--rounds``.

- **single**: time to first token (prefill of the whole prompt, cache cold) and decode
  tokens/s for the engine, transformers float32 (the GGUF dequantized), and llama.cpp's own
  high-level ``Llama`` (llama-cpp-python) — ratios against llama.cpp direct; the engine again
  with a LoRA adapter (r=16 on q/v, exported to GGUF) attached; and the engine's first token
  when another chat already cached the system prompt.
- **load**: engine decode tokens/s at 1 and 2 threads, alone and while another process keeps
  one core busy (what sets the ``generator_threads`` default).
- **concurrent**: total tokens/s with 1, 4 and 8 chats at once (different questions, each
  with its own passages), and the ratio to one chat: with every prompt read cold, and with
  the prompts already cached (a follow-up turn), which isolates the batched decode; then the
  same batched decode straight through llama.cpp's C API, the ceiling batching can reach.
- **batch**: first token for prompt batches of 128 to 2,048 tokens.
- **memory**: process RSS before the engine, with it (base + KV cache), and after three
  adapters are attached and used; the adapters' GGUF sizes.
- **e2e**: a checked answer (retrieval, generation, claim check) to every eval question of the
  bundled packs through ``Answerer.answer``: p50 and p90 seconds, engine and transformers.
"""
# ruff: noqa: E402  (the sys.path and environment set-up must precede the project imports)

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from app.dialog.prompt import build_messages
from app.models.generator import GenerationParams, TransformersGenerator
from app.models.llamacpp import EngineOptions, LlamaCppGenerator
from app.models.llamacpp.native import Batch, Context, Model
from app.models.locate import default_generator
from app.resources import Resources
from verirag.settings import load_settings

Timing = tuple[float, float]  # (seconds to first token, decode tokens/s)


def _questions(pack: str) -> list[str]:
    path = ROOT / "domains" / pack / "eval" / "questions.jsonl"
    return [json.loads(line)["question"] for line in path.read_text("utf-8").splitlines()
            if line.strip()]


def prompts(res: Resources, n: int) -> list[list[dict[str, str]]]:
    """The answerer's messages for the medical pack's first ``n`` eval questions."""
    pack = res.pack("medical")
    retriever = res.retriever("medical")
    out = []
    for question in _questions("medical")[:n]:
        passages = retriever.search(question, k=5).passages
        out.append(build_messages(pack.system_prompt, pack.refusal_for("en"), question,
                                  passages))
    return out


def _decode_rate(started: float, first: float, end: float, n: int) -> Timing:
    return first - started, (n - 1) / (end - first)


def time_engine(gen: LlamaCppGenerator, messages: Any, n: int, adapter: str | None = None,
                cold: bool = True) -> Timing:
    if cold:
        gen.scheduler.clear_cache()
    params = GenerationParams(max_new_tokens=n, temperature=0.0, repetition_penalty=1.0)
    stream = gen.stream(messages, params, adapter=adapter, ignore_end=True)
    started = time.perf_counter()
    first = None
    for _ in stream:
        first = first or time.perf_counter()
    assert first is not None and stream.n_tokens == n, stream.n_tokens
    return _decode_rate(started, first, time.perf_counter(), n)


def time_direct(llm: Any, tokens: list[int], n: int) -> Timing:
    llm.reset()
    started, first = time.perf_counter(), None
    for count, _ in enumerate(llm.generate(tokens, top_k=1, temp=0.0, repeat_penalty=1.0), 1):
        first = first or time.perf_counter()
        if count == n:
            break
    assert first is not None
    return _decode_rate(started, first, time.perf_counter(), n)


def time_transformers(gen: TransformersGenerator, messages: Any, n: int) -> Timing:
    import torch
    from transformers import TextIteratorStreamer

    ids = gen.prompt_ids(messages)
    streamer = TextIteratorStreamer(gen.tokenizer, skip_prompt=True)
    kwargs = {"input_ids": ids, "attention_mask": ids.new_ones(ids.shape), "do_sample": False,
              "max_new_tokens": n, "min_new_tokens": n, "streamer": streamer,
              "pad_token_id": gen.tokenizer.eos_token_id}

    def run() -> None:
        with torch.inference_mode():
            gen.model.generate(**kwargs)

    started, first = time.perf_counter(), None
    thread = threading.Thread(target=run)
    thread.start()
    for _ in streamer:
        first = first or time.perf_counter()
    thread.join()
    assert first is not None
    return _decode_rate(started, first, time.perf_counter(), n)


def best(runs: list[Timing]) -> Timing:
    return min(r[0] for r in runs), max(r[1] for r in runs)


def make_adapter(res: Resources, root: Path) -> Path:
    """A LoRA adapter (r=16 on q/v, random, as the fine-tune saves one) for the base."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from app.models.adapters import base_fingerprint, save_adapter_metadata
    from app.models.generator import resolve_hf_dir

    hf_dir = resolve_hf_dir(default_generator(), res.settings.cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(hf_dir, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(hf_dir, local_files_only=True)
    torch.manual_seed(0)
    peft_model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, init_lora_weights=False,
                                                  target_modules=["q_proj", "v_proj"]))
    peft_model.save_pretrained(root / "bench")
    save_adapter_metadata(root / "bench", base_model=hf_dir.name, data_hash="sha256:bench",
                          base_fingerprint=base_fingerprint(model, tokenizer))
    return root / "bench"


def single(res: Resources, messages: Any, donor: Any, n: int, rounds: int, threads: int,
           batch: int) -> None:
    from llama_cpp import Llama

    source = default_generator()
    engine = LlamaCppGenerator(source, res.settings.cache_dir,
                               EngineOptions(threads=threads, threads_batch=batch))
    tokens = engine.prompt_tokens(messages)
    size = EngineOptions().batch  # the same batch size: the comparison is of the kernels' use
    def direct(path: Path) -> Any:
        return Llama(str(path), n_ctx=4096, n_batch=size, n_ubatch=size, n_threads=threads,
                     n_threads_batch=batch, verbose=False)

    llm = direct(source.directory / (source.gguf_file or ""))
    # The engine serves a Q4_1 file from its Q8_0 copy on the CPU (app.models.llamacpp.reencode):
    # llama.cpp on that copy shows what the engine adds to the kernels it calls.
    llm_copy = direct(engine.model.path) if engine.model.path != engine.path else None
    torch_gen = TransformersGenerator(source, "cpu", res.settings.cache_dir)
    import torch

    torch.set_num_threads(batch)  # torch has one thread setting: the prompt's, its better one
    with tempfile.TemporaryDirectory() as tmp:
        engine.attach_adapter("bench", make_adapter(res, Path(tmp)))
    rows: dict[str, list[Timing]] = {k: [] for k in ("llama.cpp direct", "engine",
                                                     "engine + LoRA", "transformers float32",
                                                     "engine, system prompt cached")}
    shipped = None
    if llm_copy is not None:
        rows["llama.cpp direct, the engine's Q8_0 copy"] = []
        rows["engine, file as shipped (generator_reencode off)"] = []
        shipped = LlamaCppGenerator(source, res.settings.cache_dir,
                                    EngineOptions(threads=threads, threads_batch=batch,
                                                  reencode=False))
    for _ in range(rounds):  # interleaved, so a load spike hits every backend alike
        rows["llama.cpp direct"].append(time_direct(llm, tokens, n))
        if llm_copy is not None:
            rows["llama.cpp direct, the engine's Q8_0 copy"].append(
                time_direct(llm_copy, tokens, n))
        if shipped is not None:
            rows["engine, file as shipped (generator_reencode off)"].append(
                time_engine(shipped, messages, n))
        rows["engine"].append(time_engine(engine, messages, n))
        rows["engine + LoRA"].append(time_engine(engine, messages, n, adapter="bench"))
        rows["transformers float32"].append(time_transformers(torch_gen, messages, n))
        time_engine(engine, donor, 2)  # another question: only the system prompt is shared
        rows["engine, system prompt cached"].append(time_engine(engine, messages, n,
                                                                cold=False))
    base_ttft, base_rate = best(rows["llama.cpp direct"])
    print(f"\n### Single chat: {len(tokens)}-token prompt, {n} tokens, {threads} decode / "
          f"{batch} prompt thread(s), best of {rounds}\n")
    print("| backend | first token s | decode tok/s | decode x llama.cpp | first token x |")
    print("|---|---|---|---|---|")
    for name, runs in rows.items():
        ttft, rate = best(runs)
        print(f"| {name} | {ttft:.3f} | {rate:.1f} | {rate / base_rate:.2f} | "
              f"{ttft / base_ttft:.2f} |", flush=True)
    engine.close()
    if shipped is not None:
        shipped.close()


def _busy_core() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def load(res: Resources, messages: Any, n: int, rounds: int) -> None:
    print("\n### Threads (decode / prompt), alone and beside one busy core\n")
    print("| threads | alone: first token s | alone: decode tok/s | loaded: first token s "
          "| loaded: decode tok/s |")
    print("|---|---|---|---|---|")
    for threads, batch in ((1, 1), (1, 2), (2, 2)):
        engine = LlamaCppGenerator(default_generator(), res.settings.cache_dir,
                                   EngineOptions(threads=threads, threads_batch=batch))
        alone = best([time_engine(engine, messages, n) for _ in range(rounds)])
        hog = _busy_core()
        try:
            loaded = best([time_engine(engine, messages, n) for _ in range(rounds)])
        finally:
            hog.kill()
            hog.wait()
        engine.close()
        print(f"| {threads} / {batch} | {alone[0]:.3f} | {alone[1]:.1f} | {loaded[0]:.3f} | "
              f"{loaded[1]:.1f} |", flush=True)


def _run_chats(engine: LlamaCppGenerator, chats: list[Any], params: GenerationParams
               ) -> tuple[float, int]:
    streams = [engine.stream(chat, params, ignore_end=True) for chat in chats]
    started = time.perf_counter()
    workers = [threading.Thread(target=lambda s=s: "".join(s)) for s in streams]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - started, sum(s.n_tokens for s in streams)


def concurrent(res: Resources, chats: list[Any], n: int, threads: int, batch: int) -> None:
    """Total tokens/s with k chats at once: prompts read cold (each chat's own passages:
    bound by reading prompts, which batching cannot shorten), and prompts already cached
    (a follow-up turn: what continuous batching of the decode buys)."""
    engine = LlamaCppGenerator(default_generator(), res.settings.cache_dir,
                               EngineOptions(threads=threads, threads_batch=batch, slots=8,
                                             context=2048,
                                             reencode=res.settings.generator_reencode))
    params = GenerationParams(max_new_tokens=n, temperature=0.0, repetition_penalty=1.0)
    sizes = [len(engine.prompt_tokens(c)) for c in chats]
    print(f"\n### Concurrent chats ({n} tokens each, {threads} decode / {batch} prompt "
          f"thread(s), prompts of {min(sizes)}-{max(sizes)} tokens)\n")
    print("| chats | cold: wall s | cold: tok/s | cold: x one | cached: wall s | "
          "cached: tok/s | cached: x one |")
    print("|---|---|---|---|---|---|---|")
    one: dict[str, float] = {}
    for k in (1, 4, 8):
        row = []
        for mode in ("cold", "cached"):
            engine.scheduler.clear_cache()
            if mode == "cached":
                _run_chats(engine, chats[:k], params.model_copy(update={"max_new_tokens": 1}))
            wall, tokens = _run_chats(engine, chats[:k], params)
            rate = tokens / wall
            one.setdefault(mode, rate)
            row.append(f"{wall:.2f} | {rate:.1f} | {rate / one[mode]:.2f}")
        print(f"| {k} | {' | '.join(row)} |", flush=True)
    engine.close()
    ceiling(engine.model, engine.prompt_tokens(chats[0]), n, threads, batch)


def ceiling(model: Model, prompt: list[int], n: int, threads: int, batch: int) -> None:
    """What batching can give on this machine at all: k sequences holding the same prompt,
    decoded one token each per step straight through llama.cpp's C API (no scheduler, no
    sampling, no threads handing text over), total tokens/s against k = 1."""
    ctx = Context(model, n_ctx=(len(prompt) + n + 8) * 8, n_seq=8, n_batch=256,
                  threads=threads, threads_batch=batch)
    step = Batch(model.lib, 256)
    for start in range(0, len(prompt), 256):
        step.clear()
        for pos in range(start, min(start + 256, len(prompt))):
            step.add(prompt[pos], pos, 0, pos == len(prompt) - 1)
        ctx.decode(step)
    for seq in range(1, 8):
        ctx.share(0, seq, len(prompt))
    print(f"\n### Batched decode straight through the C API ({n} steps, the first chat's "
          f"{len(prompt)}-token prompt cached in every sequence)\n")
    print("| sequences | tok/s | x one |")
    print("|---|---|---|")
    one = 0.0
    for k in (1, 4, 8):
        started = time.perf_counter()
        for i in range(n):
            step.clear()
            for seq in range(k):
                step.add(prompt[i % len(prompt)], len(prompt) + i, seq, True)
            ctx.decode(step)
        rate = k * n / (time.perf_counter() - started)
        one = one or rate
        print(f"| {k} | {rate:.1f} | {rate / one:.2f} |", flush=True)
        for seq in range(8):
            ctx.forget(seq, len(prompt))
    del step
    ctx.__del__()


def batch_sizes(res: Resources, messages: Any, rounds: int, threads: int, batch: int) -> None:
    """First token per prompt batch size (``EngineOptions.batch``): what sets its default."""
    print(f"\n### Prompt batch size ({threads} decode / {batch} prompt threads)\n")
    print("| tokens per batch | first token s |")
    print("|---|---|")
    for size in (128, 256, 512, 1024, 2048):
        engine = LlamaCppGenerator(default_generator(), res.settings.cache_dir,
                                   EngineOptions(threads=threads, threads_batch=batch,
                                                 batch=size, slots=1))
        ttft = best([time_engine(engine, messages, 2) for _ in range(rounds)])[0]
        engine.close()
        print(f"| {size} | {ttft:.3f} |", flush=True)


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory(res: Resources, messages: Any) -> None:
    """Process memory for the engine's base, then with three adapters attached and used
    (the adapters are trained-shape LoRAs made before the first reading, torch freed)."""
    import gc

    params = GenerationParams(max_new_tokens=8, temperature=0.0)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {name: make_adapter(res, Path(tmp) / name)
                 for name in ("medical", "finance", "legal")}
        gc.collect()
        before = _rss_mib()
        engine = LlamaCppGenerator(default_generator(), res.settings.cache_dir)
        "".join(engine.stream(messages, params))
        base = _rss_mib()
        for name, path in paths.items():
            engine.attach_adapter(name, path)
            "".join(engine.stream(messages, params, adapter=name))
        loaded = _rss_mib()
        sizes = [sum(f.stat().st_size for f in p.glob("*.gguf")) / 2**20 for p in paths.values()]
        engine.close()
    print("\n### Memory (process RSS, MiB)\n")
    print("| before the engine | engine (base + KV cache) | + 3 adapters (r=16 q/v) | ratio "
          "| adapter GGUF files MiB |")
    print("|---|---|---|---|---|")
    print(f"| {before:.0f} | {base:.0f} | {loaded:.0f} | {(loaded - before) / (base - before):.3f}"
          f" | {' + '.join(f'{x:.1f}' for x in sizes)} |", flush=True)


def e2e(home: Path, backend: str) -> tuple[float, float, int]:
    """p50 / p90 seconds of a checked answer to every bundled eval question."""
    settings = load_settings(home=home, generator_backend=backend)
    res = Resources(settings)
    res.ensure_bundled_indexed()
    seconds = []
    for pack in ("medical", "finance", "legal"):
        answerer = res.answerer(pack)
        answerer.answer(_questions(pack)[0])  # warm: the first call loads and compiles
        for question in _questions(pack):
            started = time.perf_counter()
            answerer.answer(question)
            seconds.append(time.perf_counter() - started)
    qs = statistics.quantiles(seconds, n=10)
    return statistics.median(seconds), qs[8], len(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for the single and concurrent runs (default: setting)")
    parser.add_argument("--skip", default="",
                        help="comma list of: single,load,concurrent,batch,memory,e2e")
    parser.add_argument("--e2e-backends", default="llamacpp,transformers",
                        help="comma list of the backends the e2e section answers with")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        res = Resources(load_settings(home=home))
        threads = args.threads or res.settings.generator_threads
        batch = res.settings.generator_prompt_threads or os.cpu_count() or 1
        res.ensure_bundled_indexed()
        chats = prompts(res, 8)
        if "single" not in skip:
            single(res, chats[0], chats[1], args.tokens, args.rounds, threads, batch)
        if "load" not in skip:
            load(res, chats[0], args.tokens, args.rounds)
        if "concurrent" not in skip:
            concurrent(res, chats, args.tokens, threads, batch)
        if "batch" not in skip:
            batch_sizes(res, chats[0], args.rounds, threads, batch)
        if "memory" not in skip:
            memory(res, chats[0])
        if "e2e" not in skip:
            print("\n### A checked answer, end to end (bundled packs' eval questions)\n")
            print("| backend | questions | p50 s | p90 s |")
            print("|---|---|---|---|")
            for backend in args.e2e_backends.split(","):
                p50, p90, n = e2e(home, backend)
                print(f"| {backend} | {n} | {p50:.2f} | {p90:.2f} |", flush=True)


if __name__ == "__main__":
    main()
