"""The settings of one training run: the pack's ``[lora]`` section, then command-line overrides.

Kept apart from the loop so the CLI, tests and the uplift script build the same validated
object, and so the adapter's metadata records exactly what was run (``hyperparameters()``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

from domains.pack import LoraConfig
from verirag.errors import FinetuneError

Precision = Literal["auto", "no", "bf16", "fp16"]


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of a LoRA SFT run; invalid values fail here, naming the value."""

    epochs: int = field(default=3, metadata={"help": "Passes over the training data."})
    learning_rate: float = field(default=2e-4, metadata={"help": "AdamW peak learning rate."})
    r: int = field(default=16, metadata={"help": "LoRA rank."})
    alpha: int = field(default=32, metadata={"help": "LoRA alpha (scale = alpha / r)."})
    dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA path."})
    target_modules: tuple[str, ...] = field(default=("q_proj", "v_proj"),
                                            metadata={"help": "Modules LoRA wraps."})
    batch_size: int = field(default=4, metadata={"help": "Examples per step per process."})
    grad_accum: int = field(default=1, metadata={"help": "Steps per optimizer update."})
    max_length: int = field(default=640, metadata={"help": "Tokens per example, at most."})
    warmup_ratio: float = field(default=0.1, metadata={"help": "Share of updates warming up."})
    weight_decay: float = 0.0
    patience: int = field(default=1, metadata={
        "help": "Epochs without a better eval loss before stopping early (0: never stop)."})
    seed: int = field(default=0, metadata={"help": "Data order, dropout and LoRA init."})
    gradient_checkpointing: bool = False
    max_steps: int | None = field(default=None, metadata={
        "help": "Stop after this many optimizer updates (smoke runs, tests)."})
    save_every: int = field(default=50, metadata={
        "help": "Updates between resumable checkpoints (one is also written each epoch)."})
    mixed_precision: Precision = field(default="auto", metadata={
        "help": "auto: bf16 on a GPU that supports it, else full precision."})
    cpu: bool = field(default=False, metadata={"help": "Train on the CPU even with a GPU."})

    def __post_init__(self) -> None:
        positive = ("epochs", "r", "alpha", "batch_size", "grad_accum", "max_length",
                    "save_every")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise FinetuneError(f"{name} must be a positive integer, got {value!r}")
        if not self.learning_rate > 0:
            raise FinetuneError(f"learning rate must be > 0, got {self.learning_rate!r}")
        if not 0 <= self.dropout < 1 or not 0 <= self.warmup_ratio < 1:
            raise FinetuneError(f"dropout ({self.dropout}) and warmup_ratio "
                                f"({self.warmup_ratio}) must be in [0, 1)")
        if self.max_steps is not None and self.max_steps < 1:
            raise FinetuneError(f"max_steps must be at least 1, got {self.max_steps}")
        if self.patience < 0:
            raise FinetuneError(f"patience must be >= 0, got {self.patience}")
        if not self.target_modules or not all(isinstance(m, str) and m
                                              for m in self.target_modules):
            raise FinetuneError(f"target_modules must name modules, got {self.target_modules!r}"
                                " (e.g. q_proj,v_proj)")

    @classmethod
    def from_pack(cls, lora: LoraConfig, **overrides: Any) -> TrainConfig:
        """The pack's ``[lora]`` defaults with the non-None ``overrides`` applied."""
        base = cls(epochs=lora.epochs, learning_rate=lora.learning_rate, r=lora.r,
                   alpha=lora.alpha, dropout=lora.dropout,
                   target_modules=tuple(lora.target_modules), batch_size=lora.batch_size,
                   grad_accum=lora.grad_accum, max_length=lora.max_length,
                   warmup_ratio=lora.warmup_ratio, weight_decay=lora.weight_decay,
                   patience=lora.patience, seed=lora.seed,
                   gradient_checkpointing=lora.gradient_checkpointing)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise FinetuneError(f"unknown training setting '{unknown[0]}'")
        given = {k: (tuple(v) if k == "target_modules" else v)
                 for k, v in overrides.items() if v is not None}
        return replace(base, **given)

    def hyperparameters(self) -> dict[str, Any]:
        """What the adapter's metadata records (JSON-ready)."""
        values = asdict(self)
        values["target_modules"] = list(self.target_modules)
        return values
