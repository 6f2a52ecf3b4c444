"""LoRA fine-tuning per domain pack: grounded SFT data, training, and the adapter registry.

- ``formats``: the three JSONL formats (chat, instruction, grounded), validated line by line;
- ``encode``: token ids with labels on the assistant's tokens only;
- ``make_data``: grounded examples from a pack's indexed passages (RAFT-style distractors);
- ``config`` / ``train`` / ``checkpoint``: the peft + accelerate loop, resumable;
- ``registry``: a pack's adapters on disk, the ``active`` pointer, rollback.

``app`` never imports this package: it reads the registry's ``active`` pointer through
``app.models.adapters``. The CLI (``app/cli/finetune_cmd.py``) imports it when a command runs.
"""
