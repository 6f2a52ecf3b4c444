"""Pick the torch device from a setting: ``auto`` means CUDA when torch sees a GPU."""

from __future__ import annotations

from verirag.errors import ConfigError


def resolve_device(setting: str) -> str:
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if setting == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device is set to 'cuda' but torch sees no GPU; set VERIRAG_DEVICE=cpu")
    return setting
