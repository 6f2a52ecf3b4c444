"""Errors of the evaluation package, rooted in the verirag tree so the CLI shows one line."""

from __future__ import annotations

from verirag.errors import ConfigError


class EvalDataError(ConfigError):
    """An evaluation dataset or comparison setting cannot be used as given.

    The message names the file (and line, for JSONL) and what to change.
    """
