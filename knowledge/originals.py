"""The original files behind a pack's documents: kept so a citation can show its page.

Content-addressed per pack (``originals/PACK/<sha256>``): a document's row already holds its
SHA-256 (and its name, for the download), so nothing else needs recording, and a file indexed
twice under two names is kept once. Written after a file is indexed, pruned to the documents
that remain after every change (a delete, a new version replacing an old one), so a deleted
document's file does not linger. Text that never was a file (``ingest_texts``) has no
original.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path


class OriginalStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256

    def find(self, sha256: str) -> Path | None:
        path = self.path(sha256)
        return path if path.is_file() else None

    def keep(self, source: Path, sha256: str) -> None:
        """Copy ``source`` in (atomically: a reader never sees half a file)."""
        target = self.path(sha256)
        if target.is_file():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def prune(self, kept: Iterable[str]) -> int:
        """Remove every original whose SHA-256 is not in ``kept``; how many."""
        if not self.root.is_dir():
            return 0
        wanted = set(kept)
        removed = 0
        for path in self.root.iterdir():
            if path.is_file() and path.name not in wanted:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
