"""Resumable training checkpoints: only what a LoRA run needs, written atomically.

``accelerate``'s ``save_state`` would write the whole model (the frozen base included, over
500 MB for a 135M model) at every checkpoint. A LoRA run only changes the adapter, so a
checkpoint holds the LoRA weights, the optimizer and scheduler states, the torch RNG state
(dropout) and where the loop was: an epoch and the optimizer updates done in it. The data
order is a function of (seed, epoch), so skipping the updates done restores the position.

Checkpoints live in the run folder (``$VERIRAG_HOME/finetune-runs/PACK/NAME/``); only the
newest ``KEEP`` are kept. Left out: sharded optimizer states (DeepSpeed/FSDP).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from verirag.errors import FinetuneError

KEEP = 2
STATE_FILE = "state.pt"
PROGRESS_FILE = "progress.json"
_NAME = re.compile(r"^update-(\d+)$")


@dataclass
class Progress:
    """Where the loop stands; saved as JSON beside the tensors so it is readable by people."""

    epoch: int = 0
    updates_in_epoch: int = 0
    updates: int = 0
    best_eval_loss: float | None = None
    bad_epochs: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    initial_eval_loss: float | None = None
    seconds: float = 0.0
    examples_seen: int = 0


def checkpoint_dirs(run_dir: Path) -> list[Path]:
    """The run's checkpoints, oldest first."""
    found = []
    folder = Path(run_dir) / "checkpoints"
    if folder.is_dir():
        for child in folder.iterdir():
            m = _NAME.match(child.name)
            if m and (child / PROGRESS_FILE).is_file():
                found.append((int(m[1]), child))
    return [p for _, p in sorted(found)]


def save_checkpoint(run_dir: Path, progress: Progress, state: dict[str, Any]) -> Path:
    """Write ``state`` (tensors) and ``progress``; a crash mid-write leaves older ones intact."""
    import torch

    folder = Path(run_dir) / "checkpoints"
    target = folder / f"update-{progress.updates:07d}"
    tmp = folder / f".{target.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save(state, tmp / STATE_FILE)
    (tmp / PROGRESS_FILE).write_text(json.dumps(asdict(progress), indent=2) + "\n",
                                     encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    for old in checkpoint_dirs(run_dir)[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def load_checkpoint(run_dir: Path) -> tuple[Progress, dict[str, Any]]:
    """The newest checkpoint of the run; FinetuneError when there is none to resume."""
    import torch

    dirs = checkpoint_dirs(run_dir)
    if not dirs:
        raise FinetuneError(f"no checkpoint to resume in {run_dir}; start the run without "
                            "--resume")
    latest = dirs[-1]
    try:
        progress = Progress(**json.loads((latest / PROGRESS_FILE).read_text(encoding="utf-8")))
        state = torch.load(latest / STATE_FILE, map_location="cpu", weights_only=True)
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        raise FinetuneError(f"checkpoint {latest} is unreadable ({exc}); delete it to resume "
                            "from the one before") from exc
    return progress, state
