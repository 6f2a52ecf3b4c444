"""Choosing the next token from logits, with the same meaning transformers gives the parameters.

``repetition_penalty`` follows transformers (CTRL's rule): every token already in the sequence,
prompt included, has a positive logit divided by the penalty and a negative one multiplied by
it. ``temperature`` 0 is greedy; above 0, nucleus sampling with ``top_p``.
"""

from __future__ import annotations

import numpy as np

from domains.pack import GenerationParams


class Sampler:
    """Per-sequence sampling state: the tokens seen (for the penalty) and the random stream."""

    def __init__(self, params: GenerationParams, prompt: list[int], n_vocab: int,
                 seed: int = 0) -> None:
        self.params = params
        self.seen = np.zeros(n_vocab, dtype=bool)
        if prompt:
            self.seen[np.asarray(prompt, dtype=np.int64)] = True
        self.rng = np.random.default_rng(seed)

    def __call__(self, logits: np.ndarray) -> int:
        p = self.params
        scores = logits.astype(np.float32, copy=True)
        if p.repetition_penalty != 1.0 and self.seen.any():
            hit = scores[self.seen]
            scores[self.seen] = np.where(hit > 0, hit / p.repetition_penalty,
                                         hit * p.repetition_penalty)
        if p.temperature <= 0:
            token = int(np.argmax(scores))
        else:
            token = self._sample(scores / p.temperature, p.top_p)
        self.seen[token] = True
        return token

    def _sample(self, scores: np.ndarray, top_p: float) -> int:
        order = np.argsort(-scores)
        probs = np.exp(scores[order] - scores[order[0]])
        probs /= probs.sum()
        if 0 < top_p < 1:
            keep = int(np.searchsorted(np.cumsum(probs), top_p)) + 1
            order, probs = order[:keep], probs[:keep] / probs[:keep].sum()
        return int(order[self.rng.choice(len(order), p=probs)])
