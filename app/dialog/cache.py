"""A cache of first-turn answers: the same question, asked again of the same documents.

Only the first turn of a conversation is cached: later turns depend on what was said before.
The key holds everything such an answer depends on — the pack and its settings, the knowledge
base's revision (every upload, delete, relabel or re-index moves it, so a document change
invalidates every answer given before it), the adapter and base model, the asker's clearance
(a restricted passage never reaches someone not cleared for it through the cache) and the
question, normalised (case, width, spacing, closing punctuation). Entries are copies: the turn
that takes one can add to it without changing what the next asker gets.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass

from app.dialog.types import Answer

_SPACE = re.compile(r"\s+")
_CLOSING = " \t?？!！.。"


def normalise(question: str) -> str:
    """"What is the dose?" and "what is the dose" are one question; "dose of X" is another."""
    text = unicodedata.normalize("NFKC", question).casefold()
    return _SPACE.sub(" ", text).strip().rstrip(_CLOSING)


def cache_key(*, pack: str, settings: str, revision: int, model: str, adapter: str | None,
              clearance: frozenset[str] | None, question: str) -> str:
    parts = {"pack": pack, "settings": settings, "revision": revision, "model": model,
             "adapter": adapter, "clearance": None if clearance is None else sorted(clearance),
             "question": normalise(question)}
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class Cached:
    answer: Answer
    awaiting: tuple[str, ...]
    reason: str
    """The rewrite's reason when it was answered (scope notes), replayed with the answer."""


class AnswerCache:
    """Least-recently-used, bounded, entries expire after ``ttl_s``; safe across threads.

    One answer per question at a time: a miss makes the caller the one who answers (it must
    then ``put`` or ``abandon``), and whoever asks the same meanwhile waits for that answer
    (up to ``wait_s``) instead of searching and generating it again — under load the same
    question often arrives many times before its first answer is done.
    """

    def __init__(self, max_entries: int = 1024, ttl_s: float = 3600.0,
                 wait_s: float = 300.0) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self.wait_s = wait_s
        self._entries: OrderedDict[str, tuple[float, Cached]] = OrderedDict()
        self._answering: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def _fresh(self, key: str) -> Cached | None:
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > self.ttl_s:
            self._entries.pop(key, None)
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def get(self, key: str) -> Cached | None:
        """The cached answer (a copy), or None: then the caller answers and puts it."""
        with self._lock:
            found = self._fresh(key)
            answering = self._answering.get(key) if found is None else None
            if found is None and answering is None:
                self._answering[key] = threading.Event()
                self.misses += 1
                return None
        if answering is not None:
            answering.wait(self.wait_s)
            with self._lock:
                found = self._fresh(key)
                if found is None:  # the first asker failed or gave up: answer it yourself
                    self.misses += 1
                    return None
        with self._lock:
            self.hits += 1
        assert found is not None
        return Cached(copy.deepcopy(found.answer), found.awaiting, found.reason)

    def put(self, key: str, answer: Answer, awaiting: list[str], reason: str) -> None:
        entry = Cached(copy.deepcopy(answer), tuple(awaiting), reason)
        with self._lock:
            self._entries[key] = (time.monotonic(), entry)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            self._release(key)

    def abandon(self, key: str) -> None:
        """The answer for ``key`` will not come (an error): let those waiting answer it."""
        with self._lock:
            self._release(key)

    def _release(self, key: str) -> None:
        event = self._answering.pop(key, None)
        if event is not None:
            event.set()

    def __len__(self) -> int:
        return len(self._entries)
