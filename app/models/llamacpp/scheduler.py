"""Continuous batching over one llama.cpp context: every chat in flight advances each step.

One worker thread owns the context. Each step it

1. admits queued requests into free sequence slots (each slot has its own share of the KV
   cache; a request whose prompt plus ``max_new_tokens`` exceeds it fails at once with the
   setting to raise);
2. takes the requests that use one adapter (round-robin between adapters, because LoRA is set
   per context, as llama.cpp's server does), and fills one batch: a token for each request
   that is generating, then prompt chunks of the ones still reading their prompt;
3. decodes the batch and samples a token for each request whose logits came back.

A new request reuses cached prompt tokens: the longest common prefix with any sequence that
ran with the same adapter (the shared system prompt, or the previous turn of the same chat)
is copied from that sequence's cache instead of being recomputed.

The last prompt token, whose logits choose the answer's first token, is decoded in a step of
its own prompt: llama.cpp's tiled Q8_0 kernels and its one-row kernel round differently, so
had it ridden along with the prompt, a question asked cold and the same question with its
prompt cached would start from logits 0.6 apart (measured) and a seeded answer would change.
Other chats' tokens may still share that step, so this holds for a chat decoded alone; among
others, as before, an answer may differ in the last digits.
"""

from __future__ import annotations

import codecs
import queue
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from app.models.llamacpp.native import Batch, Context, Model
from app.models.llamacpp.sampling import Sampler
from domains.pack import GenerationParams
from verirag.errors import GenerationError

_DONE = object()


@dataclass(eq=False)
class Request:
    prompt: list[int]
    params: GenerationParams
    adapter: str | None
    ignore_end: bool = False  # benchmarks: always produce max_new_tokens
    out: queue.Queue[Any] = field(default_factory=queue.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    n_generated: int = 0

    def pieces(self) -> Iterator[str]:
        """What the caller iterates; closing it early cancels the request."""
        try:
            while (item := self.out.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.cancelled.set()


@dataclass(eq=False)
class Slot:
    """One sequence id of the context and the tokens its cache holds."""

    seq: int
    cached: list[int] = field(default_factory=list)
    adapter: str | None = None
    request: Request | None = None
    fed: int = 0  # prompt tokens already in the cache
    sampler: Sampler | None = None
    decoder: Any = None
    last: int = -1  # the token sampled last, fed at the next step
    used: int = 0  # decode step of the last use (of two cached idle slots, the older goes)


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def choose_slot(slots: list[Slot], req: Request) -> Slot | None:
    """The idle slot for ``req`` (None: all busy).

    1. The slot whose cache shares more of the prompt than any other could lend (a chat's
       follow-up; a prefix every cache holds, the system prompt, ``Scheduler._start`` copies
       from whichever slot has it).
    2. Else an empty slot, the lowest-numbered: a decode step costs more the higher the busy
       KV streams reach (timed in one process, a step of four cached chats took 32 ms in slots
       0-3, 51 ms in slots 4-7 and 49 ms in slots 0, 1, 6 and 7; 1,100-token prompts, 2
       cores), and an empty slot evicts no chat's cache.
    3. Else the cached slot unused longest: the chat likeliest to come back keeps its cache.
    """
    idle = [s for s in slots if s.request is None]
    if not idle:
        return None
    shared = {s.seq: (_common_prefix(s.cached, req.prompt) if s.adapter == req.adapter else 0)
              for s in slots}

    def gain(slot: Slot) -> int:
        lend = max((n for seq, n in shared.items() if seq != slot.seq), default=0)
        return max(shared[slot.seq] - lend, 0)

    return max(idle, key=lambda s: (gain(s), not s.cached, -s.seq if not s.cached else -s.used))


class Scheduler:
    def __init__(self, model: Model, ctx: Context, adapters: dict[str, Any], *,
                 n_batch: int) -> None:
        self.model, self.ctx, self.adapters = model, ctx, adapters
        self.slots = [Slot(i) for i in range(ctx.n_seq)]
        self.batch = Batch(model.lib, n_batch)
        self.waiting: deque[Request] = deque()
        self._wake = threading.Condition()
        self._turn = 0
        self.steps = 0  # decodes run: fewer than tokens produced when chats are batched
        self.reused_tokens = 0  # prompt tokens taken from the cache instead of recomputed
        self._stopped = False
        self._clear = False
        self._thread = threading.Thread(target=self._run, name="llamacpp-scheduler",
                                        daemon=True)
        self._thread.start()

    def submit(self, request: Request) -> None:
        need = len(request.prompt) + request.params.max_new_tokens
        if need > self.ctx.per_seq:
            raise GenerationError(
                f"the prompt ({len(request.prompt)} tokens) plus max_new_tokens "
                f"({request.params.max_new_tokens}) exceed the engine's context of "
                f"{self.ctx.per_seq} tokens per chat; raise generator_context or ask with "
                "fewer passages")
        with self._wake:
            if self._stopped:
                raise GenerationError("the generation engine was shut down; restart verirag")
            self.waiting.append(request)
            self._wake.notify()

    def clear_cache(self) -> None:
        """Forget the cached prompts of idle chats (a benchmark's cold start); waits for it."""
        with self._wake:
            self._clear = True
            self._wake.notify_all()
            while self._clear and not self._stopped:
                self._wake.wait(timeout=1)

    def close(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join(timeout=30)

    # -- the worker -------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._wake:
                while (not self._stopped and not self.waiting and not self._busy()
                       and not self._clear):
                    self._wake.wait()
                if self._stopped:
                    return
                if self._clear:
                    for slot in self.slots:
                        if slot.request is None:
                            self._drop_cache(slot)
                    self._clear = False
                    self._wake.notify_all()
                self._admit()
            try:
                self._advance()
            except Exception as exc:  # a failed decode ends the requests in it, not the engine
                for slot in self._busy():
                    self._finish(slot, GenerationError(f"generation failed: {exc}")
                                 if not isinstance(exc, GenerationError) else exc)

    def _busy(self) -> list[Slot]:
        return [s for s in self.slots if s.request is not None]

    def _admit(self) -> None:
        """Fill idle slots from the queue (``choose_slot``)."""
        while self.waiting:
            req = self.waiting.popleft()
            if req.cancelled.is_set():
                continue
            slot = choose_slot(self.slots, req)
            if slot is None:
                self.waiting.appendleft(req)
                return
            self._start(slot, req)

    def _drop_cache(self, slot: Slot) -> None:
        if slot.cached:
            self.ctx.forget(slot.seq)
            slot.cached = []

    def _start(self, slot: Slot, req: Request) -> None:
        """Put ``req`` in ``slot``, reusing the longest cached prefix of its prompt."""
        keep = _common_prefix(slot.cached, req.prompt) if slot.adapter == req.adapter else 0
        donor, best = None, keep
        for other in self.slots:
            if other is not slot and other.adapter == req.adapter:
                n = _common_prefix(other.cached, req.prompt)
                if n > best:
                    donor, best = other, n
        best = min(best, len(req.prompt) - 1)  # the last prompt token is fed for its logits
        keep = min(keep, best)
        if donor is not None and best > keep:
            self.ctx.share(donor.seq, slot.seq, best)
            keep = best
        else:
            self.ctx.forget(slot.seq, keep)
        slot.cached = req.prompt[:keep]
        self.reused_tokens += keep
        slot.adapter, slot.request, slot.fed = req.adapter, req, keep
        slot.sampler = Sampler(req.params, req.prompt, self.model.n_vocab)
        slot.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        slot.last = -1

    def _advance(self) -> None:
        busy = [s for s in self._busy() if not self._cancelled(s)]
        if not busy:
            return
        groups = sorted({s.adapter or "" for s in busy})
        adapter = groups[self._turn % len(groups)] or None
        self._turn += 1
        group = [s for s in busy if s.adapter == adapter]
        self.ctx.use_adapters([self.adapters[adapter]] if adapter else [])

        batch, rows = self.batch, {}
        batch.clear()
        for s in group:  # generating sequences first: one token each
            if s.last >= 0 and batch.room:
                rows[s.seq] = batch.add(s.last, len(s.cached), s.seq, True)
                s.cached.append(s.last)
        for s in group:  # then prompt chunks, as much as the batch holds
            req = s.request
            assert req is not None
            start = s.fed
            while s.fed < len(req.prompt) and batch.room:
                last = s.fed == len(req.prompt) - 1
                if last and s.fed > start:
                    break  # the token whose logits start the answer: alone (module doc)
                row = batch.add(req.prompt[s.fed], s.fed, s.seq, last)
                if last:
                    rows[s.seq] = row
                s.cached.append(req.prompt[s.fed])
                s.fed += 1
        if not batch.n:
            return
        self.ctx.decode(batch)
        self.steps += 1
        for s in group:
            if s.seq in rows:
                self._emit(s, s.sampler(self.ctx.logits(rows[s.seq])))  # type: ignore[misc]
            s.used = self.steps

    def _cancelled(self, slot: Slot) -> bool:
        req = slot.request
        if req is not None and req.cancelled.is_set():
            self._finish(slot, None)
            return True
        return False

    def _emit(self, slot: Slot, token: int) -> None:
        req = slot.request
        assert req is not None
        if self.model.is_end(token) and not req.ignore_end:
            self._finish(slot, None)
            return
        req.n_generated += 1
        text = slot.decoder.decode(self.model.piece(token))
        if text:
            req.out.put(text)
        slot.last = token
        if req.n_generated >= req.params.max_new_tokens:
            self._finish(slot, None)

    def _finish(self, slot: Slot, error: BaseException | None) -> None:
        req = slot.request
        if req is None:
            return
        tail = slot.decoder.decode(b"", final=True) if slot.decoder else ""
        if tail and error is None:
            req.out.put(tail)
        if error is not None:
            self.ctx.forget(slot.seq)
            slot.cached = []
            req.out.put(error)
        req.out.put(_DONE)
        slot.request, slot.sampler, slot.decoder, slot.last = None, None, None, -1
