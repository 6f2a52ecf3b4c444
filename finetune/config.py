"""The settings of one training run: the pack's ``[lora]`` section, then command-line overrides.

Kept apart from the loop so the CLI, tests and the uplift script build the same validated
object, and so the adapter's metadata records exactly what was run (``hyperparameters()``).
The LoRA and optimiser settings are the pack's own ``LoraConfig``, extended here by what only a
run decides; one definition means a new setting cannot be a pack default the run forgets to
copy, and a flag is held to the same bounds as the pack file.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, ValidationError

from domains.pack import LoraConfig
from verirag.errors import FinetuneError

Precision = Literal["auto", "no", "bf16", "fp16"]


class TrainConfig(LoraConfig):
    """Hyperparameters of a LoRA SFT run; invalid values fail here, naming the value."""

    max_steps: int | None = Field(
        None, ge=1, description="Stop after this many optimizer updates (smoke runs, tests).")
    save_every: int = Field(
        50, ge=1, description="Updates between resumable checkpoints (one is also written each "
        "epoch).")
    mixed_precision: Precision = Field(
        "auto", description="auto: bf16 on a GPU that supports it, else full precision.")
    cpu: bool = Field(False, description="Train on the CPU even with a GPU.")
    time_budget: float | None = Field(
        None, gt=0, description="Seconds of training after which the run stops at the end of "
        "the current update, evaluates, and keeps the best weights evaluated.")
    dpo_beta: float = Field(
        0.1, gt=0, description="DPO temperature for preference pairs: higher keeps the adapter "
        "closer to the base.")

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            err = exc.errors()[0]
            name = ".".join(str(p) for p in err["loc"]) or "(settings)"
            if err["type"] == "extra_forbidden":
                raise FinetuneError(f"unknown training setting '{name}'") from exc
            raise FinetuneError(f"training setting {name} = {err.get('input')!r}: "
                                f"{err['msg']}") from exc

    @classmethod
    def from_pack(cls, lora: LoraConfig, **overrides: Any) -> TrainConfig:
        """The pack's ``[lora]`` defaults with the non-None ``overrides`` applied."""
        unknown = sorted(set(overrides) - set(cls.model_fields))
        if unknown:
            raise FinetuneError(f"unknown training setting '{unknown[0]}'")
        given = {k: v for k, v in overrides.items() if v is not None}
        return cls(**{**lora.model_dump(), **given})

    def hyperparameters(self) -> dict[str, Any]:
        """What the adapter's metadata records (JSON-ready)."""
        return self.model_dump(mode="json")


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600}


def parse_duration(text: str) -> float:
    """``30m``, ``90s``, ``1.5h`` or plain seconds, as seconds (``--time-budget``)."""
    m = _DURATION.match(text)
    if not m or float(m[1]) <= 0:
        raise FinetuneError(f"time budget {text!r}: give a positive duration such as 30m, "
                            "90s or 1.5h")
    return float(m[1]) * _UNIT_SECONDS[(m[2] or "s").lower()]
