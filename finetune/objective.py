"""What one batch costs: cross-entropy on the replies, plus DPO on preference pairs.

A batch may mix plain examples (supervised: learn the reply) and preference pairs (learn to
rank the chosen reply above the rejected one). Pairs use Direct Preference Optimization
(Rafailov et al., 2023) with the frozen base as the reference model: the reference's
log-probabilities come from the same network with the LoRA switched off (peft's
``disable_adapter``), so no second copy of the model is loaded, which is what makes it run in
the memory of a laptop. The loss is

    -log sigmoid(beta * ((log pi(c) - log ref(c)) - (log pi(r) - log ref(r))))

for the chosen reply c and the rejected reply r, averaged over pairs, each log-probability
summed over the reply's tokens. It is log 2 while the adapter is still the base (LoRA starts
with B = 0) and falls as the adapter prefers the chosen replies more than the base did. The
batch's loss is the sum of the two parts present, so a run on plain data alone is exactly
the supervised run it was before pairs existed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from finetune.encode import IGNORE, Encoded, Item, Pair, collate


@dataclass
class BatchCost:
    loss: Any  # a scalar tensor, differentiable
    tokens: int = 0  # labelled tokens of the supervised part
    sft_loss: float | None = None
    pairs: int = 0
    dpo_loss: float | None = None
    pairs_ranked: int = 0  # pairs where the adapter's implicit reward ranks chosen first


def collate_items(items: Sequence[Item], pad_id: int) -> dict[str, Any]:
    """Plain examples under ``sft``; pairs under ``pairs`` as one padded batch, the chosen
    replies first, then the rejected ones in the same order (one forward pass for both)."""
    sft = [i for i in items if isinstance(i, Encoded)]
    pairs = [i for i in items if isinstance(i, Pair)]
    batch: dict[str, Any] = {"examples": len(items)}
    if sft:
        batch["sft"] = collate(sft, pad_id)
    if pairs:
        batch["pairs"] = collate([p.chosen for p in pairs] + [p.rejected for p in pairs],
                                 pad_id)
    return batch


def _kept(model: Any, batch: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(logits, targets, row) for every position that predicts a labelled token.

    Only those positions go through the vocabulary projection (``logits_to_keep`` as a
    boolean mask, flattened row-major): with replies a tenth of a grounded prompt, that skips
    most of the largest matrix product and the softmax over 49k tokens. A transformers
    release without mask support returns every position; they are masked here instead.
    """
    import torch

    labels = batch["labels"]
    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[:, :-1] = labels[:, 1:] != IGNORE
    targets = labels[:, 1:][keep[:, :-1]]
    rows = keep.nonzero()[:, 0]
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                logits_to_keep=keep)
    logits = out.logits.reshape(-1, out.logits.shape[-1])
    if logits.shape[0] != targets.shape[0]:  # full logits came back
        logits = out.logits[keep]
    return logits, targets, rows


def batch_loss(model: Any, batch: dict[str, Any]) -> tuple[Any, int]:
    """(mean cross-entropy, token count) over the batch's labelled (assistant) tokens; the
    figure equals the model's own ``labels=`` loss."""
    import torch.nn.functional as F

    logits, targets, _ = _kept(model, batch)
    return F.cross_entropy(logits.float(), targets), int(targets.numel())


def reply_logprobs(model: Any, batch: dict[str, Any]) -> Any:
    """Each row's log-probability of its labelled tokens (the reply), summed."""
    import torch
    import torch.nn.functional as F

    logits, targets, rows = _kept(model, batch)
    token = -F.cross_entropy(logits.float(), targets, reduction="none")
    n_rows = batch["labels"].shape[0]
    return torch.zeros(n_rows, device=token.device, dtype=token.dtype).index_add(0, rows, token)


def dpo_loss(model: Any, peft_model: Any, pairs: dict[str, Any], beta: float
             ) -> tuple[Any, int]:
    """(mean DPO loss, pairs ranked chosen-first) for a batch from :func:`collate_items`."""
    import torch
    import torch.nn.functional as F

    policy = reply_logprobs(model, pairs)
    with torch.no_grad(), peft_model.disable_adapter():
        reference = reply_logprobs(model, pairs)
    n = policy.shape[0] // 2
    margin = (policy[:n] - reference[:n]) - (policy[n:] - reference[n:])
    return -F.logsigmoid(beta * margin).mean(), int((margin > 0).sum())


def batch_cost(model: Any, peft_model: Any, batch: dict[str, Any], beta: float) -> BatchCost:
    """The training objective of one batch from :func:`collate_items`."""
    cost = BatchCost(loss=0.0)
    if "sft" in batch:
        loss, cost.tokens = batch_loss(model, batch["sft"])
        cost.loss, cost.sft_loss = loss, float(loss.detach())
    if "pairs" in batch:
        loss, cost.pairs_ranked = dpo_loss(model, peft_model, batch["pairs"], beta)
        cost.pairs = batch["pairs"]["labels"].shape[0] // 2
        cost.loss, cost.dpo_loss = cost.loss + loss, float(loss.detach())
    return cost
