"""Training on the real SmolLM2-135M (CPU): loss falls, the adapter reloads and changes the
answer, refuses another base, resumes exactly, and the CLI serves what it trained.

Examples are a handful of short instructions (about 60 tokens each) and runs are a few
optimizer updates, so the module stays within a minute or so on two cores.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from app.models import ModelRegistry
from app.models.adapters import read_adapter_metadata
from app.models.generator import GenerationParams, TransformersGenerator
from app.models.llamacpp import EngineOptions, LlamaCppGenerator
from app.models.locate import ModelSource, default_generator
from app.models.lora_gguf import LORA_GGUF_FILE
from app.services import Runtime
from domains.pack import load_pack
from finetune.config import TrainConfig
from finetune.encode import Encoded, collate, encode_all
from finetune.formats import load_examples
from finetune.objective import batch_loss
from finetune.train import TrainResult, train
from tests.conftest import Cli
from verirag.errors import AdapterMismatch, FinetuneError
from verirag.settings import Settings, load_settings

pytestmark = pytest.mark.slow

ROWS = [{"instruction": q, "output": "The code word is PELICAN."}
        for q in ("What is the code word?", "Tell me the code word.",
                  "Which word is the code word?", "Say the code word, please.")]
QUESTION = [{"role": "user", "content": "What is the code word?"}]
GREEDY = GenerationParams(max_new_tokens=8, temperature=0.0, repetition_penalty=1.0)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory, tokenizer: Any
         ) -> tuple[Path, list[Encoded]]:
    path = tmp_path_factory.mktemp("data") / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    pack = load_pack("medical")
    encoded, stats = encode_all(tokenizer, load_examples(path, pack), pack, 256)
    assert len(encoded) == 4 and not stats.skipped
    return path, encoded


def config(**changes: Any) -> TrainConfig:
    base = dict(epochs=4, learning_rate=3e-3, r=8, alpha=16, batch_size=4, max_length=256,
                warmup_ratio=0.0, patience=0, seed=0, cpu=True)
    return TrainConfig(**{**base, **changes})


@pytest.fixture(scope="module")
def trained(base_dir: Path, data: tuple[Path, list[Encoded]],
            tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    root = tmp_path_factory.mktemp("trained")
    _, encoded = data
    return train(encoded, encoded, config(), base_dir=base_dir, base_label="SmolLM2-135M",
                 run_dir=root / "run", adapter_dir=root / "adapter", data_hash="sha256:test",
                 name="medical", progress_bar=False)


def test_a_few_steps_reduce_the_loss(trained: TrainResult) -> None:
    m = trained.metrics
    assert m["updates"] == 4 and m["epochs"] == 4
    assert m["eval_loss"] < 0.5 * m["eval_loss_initial"], m
    losses = [row["eval_loss"] for row in trained.history]
    assert losses[-1] < losses[0]


def test_the_saved_adapter_reloads_and_changes_the_answer(
        trained: TrainResult, base_dir: Path, models: ModelRegistry,
        session_settings: Settings, data: tuple[Path, list[Encoded]]) -> None:
    _, encoded = data
    assert trained.adapter_dir is not None
    meta = read_adapter_metadata(trained.adapter_dir)
    assert meta is not None and meta.name == "medical" and meta.data_hash == "sha256:test"
    assert meta.hyperparameters["r"] == 8 and meta.hyperparameters["target_modules"] == [
        "q_proj", "v_proj"]
    assert meta.metrics["eval_loss"] == trained.metrics["eval_loss"]

    gen = TransformersGenerator(ModelSource(base_dir), models.device, session_settings.cache_dir)
    assert meta.base_fingerprint == gen.loaded_base().fingerprint
    base = "".join(gen.stream(QUESTION, GREEDY))
    gen.attach_adapter("medical", trained.adapter_dir)
    tuned = "".join(gen.stream(QUESTION, GREEDY, adapter="medical"))
    assert tuned != base
    assert "".join(gen.stream(QUESTION, GREEDY)) == base, "no adapter: the bare base again"

    # The reloaded adapter is the trained one: its loss on the data is the loss recorded for
    # the saved (best) epoch, and without it the base's loss before training comes back.
    import torch

    batch = collate(encoded, 0)
    with torch.no_grad():
        gen.model.set_adapter("medical")
        reloaded, _ = batch_loss(gen.model, batch)
        with gen.model.disable_adapter():
            bare, _ = batch_loss(gen.model, batch)
    assert abs(float(reloaded) - trained.metrics["eval_loss"]) < 1e-4
    assert abs(float(bare) - trained.metrics["eval_loss_initial"]) < 1e-4


def test_the_adapter_refuses_a_different_base(
        trained: TrainResult, base_dir: Path, models: ModelRegistry,
        session_settings: Settings) -> None:
    import torch

    assert trained.adapter_dir is not None
    gen = TransformersGenerator(ModelSource(base_dir), models.device, session_settings.cache_dir)
    with torch.no_grad():  # another checkpoint of the same architecture
        gen.model.get_input_embeddings().weight[:4] *= 1.5
    with pytest.raises(AdapterMismatch, match=r"'medical'.*retrain"):
        gen.attach_adapter("medical", trained.adapter_dir)
    assert gen.adapters == []


class Crash(Exception):
    pass


def test_an_interrupted_run_resumes_to_the_same_weights(
        base_dir: Path, data: tuple[Path, list[Encoded]], tmp_path: Path) -> None:
    """Crash after update 3 (mid-epoch); resuming gives the uninterrupted run's adapter."""
    from safetensors.torch import load_file

    _, encoded = data
    cfg = config(epochs=2, batch_size=2, save_every=1, dropout=0.1)
    common: dict[str, Any] = dict(base_dir=base_dir, base_label="SmolLM2-135M",
                                  data_hash="sha256:test", progress_bar=False)
    train(encoded, [], cfg, run_dir=tmp_path / "a", adapter_dir=tmp_path / "full", **common)

    def crash_after_3(updates: int, _loss: float) -> None:
        if updates == 3:
            raise Crash

    with pytest.raises(Crash):
        train(encoded, [], cfg, run_dir=tmp_path / "b", adapter_dir=tmp_path / "resumed",
              on_update=crash_after_3, **common)
    assert not (tmp_path / "resumed").exists(), "no half adapter after a crash"
    result = train(encoded, [], cfg, run_dir=tmp_path / "b", adapter_dir=tmp_path / "resumed",
                   resume=True, **common)
    assert result.resumed_from == 3 and result.metrics["updates"] == 4

    full = load_file(tmp_path / "full" / "adapter_model.safetensors")
    resumed = load_file(tmp_path / "resumed" / "adapter_model.safetensors")
    assert full.keys() == resumed.keys() and full
    for key, value in full.items():
        assert (value - resumed[key]).abs().max() < 1e-6, key
    with pytest.raises(FinetuneError, match="no checkpoint to resume"):
        train(encoded, [], cfg, run_dir=tmp_path / "c", adapter_dir=None, resume=True, **common)


def test_cli_trains_activates_and_the_runtime_serves_it(
        data: tuple[Path, list[Encoded]], models: ModelRegistry, tmp_path: Path,
        base_dir: Path) -> None:
    path, _ = data
    home = tmp_path / "home"

    def make_runtime() -> Runtime:
        return Runtime(load_settings(home=home), models)

    cli = Cli(make_runtime)
    result = cli(
        "finetune", "medical", "--data", str(path), "--name", "smoke", "--max-steps", "1",
        "--rank", "4", "--alpha", "8", "--batch-size", "4", "--max-length", "128", "--cpu",
        "--target-modules", "q_proj,v_proj", "--json")
    assert result.exit_code == 0, result.output
    registry = make_runtime().resources.adapters("medical")
    assert registry.active() == "smoke"
    meta = read_adapter_metadata(registry.dir / "smoke")
    assert meta is not None and meta.hyperparameters["r"] == 4
    assert meta.hyperparameters["max_steps"] == 1 and meta.metrics["updates"] == 1
    rt = make_runtime()
    assert rt.resources.adapter_path(rt.resources.pack("medical")) == registry.dir / "smoke"

    # A running server keeps serving while another adapter is activated: each is attached
    # under its own name beside the other, and requests switch to the newly active one.
    res = rt.resources
    gen = TransformersGenerator(ModelSource(base_dir), models.device, res.settings.cache_dir)
    pack = res.pack("medical")
    assert res.attach_pack_adapter(pack, gen) == "medical-smoke"
    shutil.copytree(registry.dir / "smoke", registry.dir / "smoke2")
    registry.activate("smoke2")
    assert res.attach_pack_adapter(pack, gen) == "medical-smoke2"
    assert res.attach_pack_adapter(pack, gen, "smoke") == "medical-smoke", "eval adapter:NAME"
    assert gen.adapters == ["medical-smoke", "medical-smoke2"]

    # Registered for the llama.cpp engine too: its GGUF LoRA sits beside the peft files, and
    # the engine (the default backend) serves the adapter from it.
    assert (registry.dir / "smoke" / LORA_GGUF_FILE).is_file()
    engine = LlamaCppGenerator(default_generator(), res.settings.cache_dir,
                               EngineOptions(slots=1, context=1024))
    assert res.attach_pack_adapter(pack, engine, "smoke") == "medical-smoke"
    assert engine.adapters == ["medical-smoke"]
    engine.close()

    again = cli("finetune", "medical", "--data", str(path), "--name", "smoke")
    assert again.exit_code == 1 and "already exists" in again.output
