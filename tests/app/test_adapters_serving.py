"""Per-pack LoRA adapters on one real base (SmolLM2-135M, CPU): switched per request.

The adapters are tiny (r=4 on q_proj/v_proj) but not identity-initialised, so each one visibly
changes greedy output. Each test builds its own generator from the cached converted model
(about a second) so none leaves an adapter attached to the session's shared generator.
"""

from __future__ import annotations

import gc
import json
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.models import ModelRegistry
from app.models.adapters import (
    METADATA_FILE,
    PEFT_CONFIG_FILE,
    base_fingerprint,
    read_adapter_metadata,
    save_adapter_metadata,
)
from app.models.generator import GenerationParams, TransformersGenerator, resolve_hf_dir
from app.models.llamacpp import EngineOptions, LlamaCppGenerator
from app.models.locate import ModelSource, default_generator
from verirag.errors import AdapterMismatch, ConfigError, GenerationError
from verirag.settings import Settings

MESSAGES = [{"role": "user", "content": "Name one symptom of anaemia."}]
GREEDY = GenerationParams(max_new_tokens=8, temperature=0.0, repetition_penalty=1.0)
ADAPTERS = {"medical": 1, "finance": 2, "legal": 3}  # name -> seed
HYPER = {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hf_dir(session_settings: Settings) -> Path:
    return resolve_hf_dir(default_generator(), session_settings.cache_dir)


@pytest.fixture(scope="module")
def adapter_dirs(hf_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three seeded LoRA adapters saved as the fine-tune saves them (peft files + metadata)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    root = tmp_path_factory.mktemp("adapters")
    tokenizer = AutoTokenizer.from_pretrained(hf_dir, local_files_only=True)
    model: Any = AutoModelForCausalLM.from_pretrained(hf_dir, local_files_only=True,
                                                      dtype=torch.float32)
    fingerprint = base_fingerprint(model, tokenizer)
    dirs = {}
    for name, seed in ADAPTERS.items():
        torch.manual_seed(seed)
        peft_model = get_peft_model(model, LoraConfig(
            r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
        assert base_fingerprint(peft_model, tokenizer) == fingerprint, "wrapped = its base"
        dirs[name] = root / name
        peft_model.save_pretrained(dirs[name])
        save_adapter_metadata(dirs[name], base_model=hf_dir.name, base_fingerprint=fingerprint,
                              data_hash=f"sha256:{name}-data", hyperparameters=HYPER,
                              metrics={"answer_f1": 0.5}, name=name)
        model = peft_model.unload()
    return dirs


@pytest.fixture(params=["transformers", "llamacpp"])
def make_generator(request: pytest.FixtureRequest, hf_dir: Path, models: ModelRegistry,
                   session_settings: Settings) -> Iterator[Callable[[], Any]]:
    """Fresh generators of one backend: the adapter contract is the same on both."""
    made: list[Any] = []

    def make() -> Any:
        if request.param == "llamacpp":
            gen: Any = LlamaCppGenerator(default_generator(), session_settings.cache_dir,
                                         EngineOptions(slots=4, context=2048))
        else:
            gen = TransformersGenerator(ModelSource(hf_dir), models.device,
                                        session_settings.cache_dir)
        made.append(gen)
        return gen

    yield make
    for gen in made:
        if hasattr(gen, "close"):
            gen.close()


@pytest.fixture
def make_torch_generator(hf_dir: Path, models: ModelRegistry,
                         session_settings: Settings) -> Callable[[], TransformersGenerator]:
    def make() -> TransformersGenerator:
        return TransformersGenerator(ModelSource(hf_dir), models.device,
                                     session_settings.cache_dir)
    return make


def say(gen: Any, adapter: str | None = None) -> str:
    """A greedy answer; the engine's prompt cache is emptied first so every answer reads its
    prompt the same way (a cached prompt is exact only up to float rounding)."""
    if hasattr(gen, "scheduler"):
        gen.scheduler.clear_cache()
    return "".join(gen.stream(MESSAGES, GREEDY, adapter=adapter))


def test_each_adapter_changes_the_answer_and_switching_leaves_no_residue(
        make_generator: Callable[[], Any],
        adapter_dirs: dict[str, Path]) -> None:
    gen = make_generator()
    base = say(gen)
    gen.attach_adapter("medical", adapter_dirs["medical"])
    gen.attach_adapter("finance", adapter_dirs["finance"])
    assert gen.adapters == ["medical", "finance"]

    medical = say(gen, "medical")
    finance = say(gen, "finance")
    assert medical != base
    assert finance != medical
    assert say(gen) == base, "no adapter means the bare base, exactly"
    assert say(gen, "medical") == medical, "switching back reproduces the adapter's answer"

    # Requests from several threads at once each get their own adapter (or none).
    expected = {None: base, "medical": medical, "finance": finance}
    got: dict[str | None, str] = {}

    def ask(name: str | None) -> None:
        got[name] = say(gen, name)

    threads = [threading.Thread(target=ask, args=(n,)) for n in expected]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert got == expected


def test_unknown_adapter_names_the_attached_ones(
        make_generator: Callable[[], Any],
        adapter_dirs: dict[str, Path]) -> None:
    gen = make_generator()
    with pytest.raises(GenerationError, match=r"'medical'.*attached: none"):
        gen.stream(MESSAGES, GREEDY, adapter="medical")
    gen.attach_adapter("medical", adapter_dirs["medical"])
    gen.attach_adapter("legal", adapter_dirs["legal"])
    with pytest.raises(GenerationError, match=r"'insurance'.*attached: medical, legal"):
        gen.stream(MESSAGES, GREEDY, adapter="insurance")


def test_attaching_a_name_again_is_a_no_op_but_not_from_another_folder(
        make_generator: Callable[[], Any],
        adapter_dirs: dict[str, Path]) -> None:
    gen = make_generator()
    gen.attach_adapter("medical", adapter_dirs["medical"])
    gen.attach_adapter("medical", adapter_dirs["medical"])
    assert gen.adapters == ["medical"]
    with pytest.raises(ConfigError, match="already attached"):
        gen.attach_adapter("medical", adapter_dirs["finance"])


def _copy(src: Path, dst: Path, *, edit: str, **changes: Any) -> Path:
    shutil.copytree(src, dst)
    path = dst / edit
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")
    return dst


def test_adapter_trained_on_another_base_is_refused(
        make_generator: Callable[[], Any],
        adapter_dirs: dict[str, Path], tmp_path: Path) -> None:
    gen = make_generator()
    other = _copy(adapter_dirs["medical"], tmp_path / "other", edit=METADATA_FILE,
                  base_model="HuggingFaceTB/SmolLM2-360M-Instruct", base_fingerprint="0" * 40)
    with pytest.raises(AdapterMismatch) as err:
        gen.attach_adapter("medical", other)
    msg = str(err.value)
    assert "'medical'" in msg and "SmolLM2-360M-Instruct" in msg
    assert gen.model_id in msg and "retrain" in msg
    assert gen.adapters == []


def test_plain_peft_folder_is_checked_by_the_base_it_names(
        make_generator: Callable[[], Any],
        adapter_dirs: dict[str, Path], tmp_path: Path, hf_dir: Path) -> None:
    """Without verirag metadata, peft's base_model_name_or_path must name the loaded base."""
    gen = make_generator()
    wrong = _copy(adapter_dirs["legal"], tmp_path / "wrong", edit=PEFT_CONFIG_FILE,
                  base_model_name_or_path="Qwen/Qwen2.5-0.5B-Instruct")
    (wrong / METADATA_FILE).unlink()
    with pytest.raises(AdapterMismatch, match=r"'legal'.*Qwen/Qwen2.5-0.5B-Instruct"):
        gen.attach_adapter("legal", wrong)

    # The same base converted on another machine sits at another path: still accepted.
    moved = _copy(adapter_dirs["legal"], tmp_path / "moved", edit=PEFT_CONFIG_FILE,
                  base_model_name_or_path=f"/home/ci/.cache/verirag/models/"
                                          f"{hf_dir.name[:-10]}0123456789")
    (moved / METADATA_FILE).unlink()
    gen.attach_adapter("legal", moved)
    assert say(gen, "legal") != say(gen)


def test_a_failed_first_attach_leaves_the_base_untouched(
        make_generator: Callable[[], Any],
        adapter_dirs: dict[str, Path], tmp_path: Path) -> None:
    """peft wraps the base in place before loading weights; a load that fails is undone."""
    gen = make_generator()
    base = say(gen)
    broken = _copy(adapter_dirs["medical"], tmp_path / "broken", edit=PEFT_CONFIG_FILE, r=8)
    with pytest.raises(AdapterMismatch, match=r"'medical'.*does not fit"):
        gen.attach_adapter("medical", broken)
    assert gen.adapters == []
    assert say(gen) == base
    gen.attach_adapter("medical", adapter_dirs["medical"])
    assert say(gen, "medical") != base


def test_metadata_round_trip_and_bad_files(adapter_dirs: dict[str, Path],
                                           tmp_path: Path) -> None:
    meta = read_adapter_metadata(adapter_dirs["finance"])
    assert meta is not None
    assert (meta.name, meta.data_hash, meta.hyperparameters) == (
        "finance", "sha256:finance-data", HYPER)
    assert meta.metrics == {"answer_f1": 0.5} and meta.created_at
    assert read_adapter_metadata(tmp_path) is None, "a plain peft folder has none"
    (tmp_path / METADATA_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="unreadable adapter metadata"):
        read_adapter_metadata(tmp_path)
    with pytest.raises(ConfigError, match="base_fingerprint"):
        save_adapter_metadata(tmp_path, base_model="b", base_fingerprint="abc", data_hash="d")


def test_fingerprint_ignores_dtype_but_not_weights(hf_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(hf_dir, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(hf_dir, local_files_only=True,
                                                 dtype=torch.float32)
    f32 = base_fingerprint(model, tokenizer)
    model.to(torch.bfloat16)
    assert base_fingerprint(model, tokenizer) == f32, "a bf16 GPU load is the same base"
    with torch.no_grad():
        model.get_input_embeddings().weight[0] += 0.5
    assert base_fingerprint(model, tokenizer) != f32, "another checkpoint is another base"


def _rss_bytes() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def test_three_packs_share_one_base(make_torch_generator: Callable[[], TransformersGenerator],
                                    adapter_dirs: dict[str, Path]) -> None:
    """One base in memory for every pack; prints what that saves (figures, not asserted)."""
    one_token = GenerationParams(max_new_tokens=1)

    def touch(gen: TransformersGenerator, adapter: str | None = None) -> int | None:
        # Weights are memory-mapped from safetensors: only a forward pass makes them resident.
        "".join(gen.stream(MESSAGES, one_token, adapter=adapter))
        gc.collect()
        return _rss_bytes()

    gen = make_torch_generator()
    q_proj = gen.model.model.layers[0].self_attn.q_proj.weight
    base_bytes = sum(p.numel() * p.element_size() for p in gen.model.parameters())
    rss_base = touch(gen)
    for name, path in adapter_dirs.items():
        gen.attach_adapter(name, path)
    rss_adapters = max(touch(gen, name) or 0 for name in adapter_dirs)

    lora_bytes = sum(p.numel() * p.element_size() for n, p in gen.model.named_parameters()
                     if "lora_" in n)
    shared = gen.model.get_base_model().model.layers[0].self_attn.q_proj.base_layer.weight
    assert shared.data_ptr() == q_proj.data_ptr(), "adapters wrap the base, never copy it"
    assert sorted(gen.model.peft_config) == sorted(ADAPTERS)

    copy = make_torch_generator()  # what serving a pack from a model of its own would add
    rss_copy = touch(copy)
    mib = 1024 * 1024
    print(f"\nbase parameters: {base_bytes / mib:.1f} MiB; three LoRA adapters (r=4, q/v): "
          f"{lora_bytes / mib:.2f} MiB; one base + 3 adapters: "
          f"{(base_bytes + lora_bytes) / mib:.1f} MiB vs 3 model copies: "
          f"{3 * base_bytes / mib:.1f} MiB")
    if rss_base and rss_adapters and rss_copy:
        print(f"process RSS with the base resident: {rss_base / mib:.0f} MiB; attaching 3 "
              f"adapters: +{(rss_adapters - rss_base) / mib:.1f} MiB; one more base copy: "
              f"+{(rss_copy - rss_adapters) / mib:.0f} MiB")
    del copy


def _torch_logits(model: Any, ids: list[int]) -> Any:
    import torch

    with torch.inference_mode():
        return model(torch.tensor([ids])).logits[0, -1].float().numpy()


def _engine_logits(gen: LlamaCppGenerator, ids: list[int], adapter: str | None) -> Any:
    from app.models.llamacpp.native import Batch, Context

    ctx = Context(gen.model, n_ctx=512, n_seq=1, n_batch=512, threads=1, threads_batch=1)
    ctx.use_adapters([gen._loras[adapter]] if adapter else [])
    batch = Batch(gen.model.lib, 512)
    for pos, token in enumerate(ids):
        batch.add(token, pos, 0, pos == len(ids) - 1)
    ctx.decode(batch)
    return ctx.logits(batch.n - 1).copy()


@pytest.mark.parametrize("modules", [["q_proj", "k_proj"], ["v_proj", "o_proj", "down_proj"]])
def test_exported_lora_moves_the_logits_as_peft_does(
        hf_dir: Path, session_settings: Settings, tmp_path: Path, modules: list[str]) -> None:
    """The GGUF export (names, Q/K row permutation, scaling) is the peft adapter: its effect
    on the next-token logits points the same way in llama.cpp as in transformers."""
    import numpy as np
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(hf_dir, local_files_only=True)
    model: Any = AutoModelForCausalLM.from_pretrained(hf_dir, local_files_only=True,
                                                      dtype=torch.float32)
    torch.manual_seed(7)
    peft_model = get_peft_model(model, LoraConfig(r=8, lora_alpha=32, target_modules=modules,
                                                  init_lora_weights=False))
    peft_model.save_pretrained(tmp_path / "probe")
    save_adapter_metadata(tmp_path / "probe", base_model=hf_dir.name, data_hash="sha256:p",
                          base_fingerprint=base_fingerprint(model, tokenizer))
    ids = tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True,
                                        return_dict=True)["input_ids"]
    with_adapter = _torch_logits(peft_model, ids)
    with peft_model.disable_adapter():
        bare = _torch_logits(peft_model, ids)

    gen = LlamaCppGenerator(default_generator(), session_settings.cache_dir,
                            EngineOptions(slots=1, context=512))
    gen.attach_adapter("probe", tmp_path / "probe")
    engine_delta = _engine_logits(gen, ids, "probe") - _engine_logits(gen, ids, None)
    gen.close()
    peft_delta = with_adapter - bare
    cosine = float(np.dot(engine_delta, peft_delta)
                   / (np.linalg.norm(engine_delta) * np.linalg.norm(peft_delta)))
    scale = float(np.linalg.norm(engine_delta) / np.linalg.norm(peft_delta))
    assert cosine > 0.95 and 0.8 < scale < 1.25, (cosine, scale)


def test_a_reader_who_stops_reading_stops_the_generation(
        make_torch_generator: Callable[[], TransformersGenerator]) -> None:
    """Stop in the web app closes the stream; generate() must end there rather than hold the
    model (and every other chat waiting for it) until its last token."""
    gen = make_torch_generator()
    long = GenerationParams(max_new_tokens=120, temperature=0.0, repetition_penalty=1.0)
    messages = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]
    full = gen.stream(messages, long)
    assert "".join(full.pieces) and full.n_tokens > 40, "the story runs long when read"
    stopped = gen.stream(messages, long)
    next(stopped.pieces)
    stopped.pieces.close()  # what a rerun of the page does to the abandoned generator
    after = gen.stream(messages, GREEDY)  # waits for the model, so the first has ended
    assert "".join(after.pieces)
    assert 0 < stopped.n_tokens < full.n_tokens
