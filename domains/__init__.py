"""Domain packs: one folder per domain, each with a validated ``pack.toml``.

A pack is the only place a domain differs (prompts; slots with their values and the nouns that
refer back to them; intents; retrieval, chunking and LoRA settings; sample documents); the
words of a language are in the dialog's phrasebooks (``app.dialog.phrases``). Adding a domain
is a new folder here or on ``VERIRAG_PACKS_PATH``; no code changes. This package imports
nothing of verirag's but the core settings and errors.
"""

from domains.pack import Pack, bundled_packs_dir, list_packs, load_pack

__all__ = ["Pack", "bundled_packs_dir", "list_packs", "load_pack"]
