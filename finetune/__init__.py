"""LoRA fine-tuning per domain pack (grounded SFT data, training, adapter registry).

Not built yet: see the open issue "LoRA fine-tuning per domain pack". Packs already declare
their LoRA settings in ``pack.toml`` ``[lora]``.
"""
