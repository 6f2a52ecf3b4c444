"""Crash-safe files for the BM25 index: immutable segment files, manifests, a ``CURRENT`` pointer.

Layout::

    bm25/CURRENT                "gen-7-1a2b3c4d.json"
    bm25/gen-7-1a2b3c4d.json    manifest: revision, tokenizer, segments (file, sha256, dead ids)
    bm25/seg-5e6f7a8b.npz       one segment's postings, written once and never changed

A save writes the segments that are new, then a manifest, each under a temporary name that is
renamed once flushed, then swaps ``CURRENT`` with ``os.replace``: a reader sees the old index or
the new one, never a mix, and a crash at any point leaves a loadable index. Only new segments
are written, so adding or deleting a document costs a manifest, not the whole index.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from knowledge.hashing import sha256_file as sha256
from knowledge.text.tokenize import TOKENIZER_VERSION
from verirag.errors import KnowledgeBaseError

FORMAT_VERSION = 2
POINTER = "CURRENT"
GENERATION = "gen-"
SEGMENT = "seg-"
STAGING = ".tmp-"
REBUILD_HINT = "run `verirag kb rebuild DOMAIN` to rebuild it from the database"


def new_name(prefix: str, suffix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}{suffix}"


def write_durably(path: Path, write: Any) -> str:
    """Run ``write(staging_path)``, flush it, rename it to ``path``; returns its sha256."""
    staging = path.with_name(f"{STAGING}{path.name}")
    try:
        write(staging)
        fsync(staging)
        digest = sha256(staging)
        staging.rename(path)
    finally:
        staging.unlink(missing_ok=True)
    return digest


def read_pointer(directory: Path) -> str | None:
    try:
        name = (directory / POINTER).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise corrupt(directory / POINTER, exc) from exc
    if not name.startswith(GENERATION) or "/" in name or "\\" in name:
        raise corrupt(directory / POINTER, f"it names {name!r}, not an index generation")
    return name


def replace_pointer(directory: Path, generation: str) -> None:
    temporary = directory / f"{STAGING}{POINTER}-{uuid.uuid4().hex[:8]}"
    try:
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(generation + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, directory / POINTER)
    finally:
        temporary.unlink(missing_ok=True)
    fsync(directory)


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest at ``path``; ``FileNotFoundError`` passes through (a swap may be under way)."""
    if path.is_dir():  # format 1 kept a directory per generation
        raise other_version(path, "format 1")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise corrupt(path, exc) from exc
    required = {"format": int, "tokenizer": int, "revision": int, "segments": list}
    if not isinstance(meta, dict) or any(
        not isinstance(meta.get(key), kind) for key, kind in required.items()
    ):
        raise corrupt(path, f"it lacks one of {sorted(required)}")
    if meta["format"] != FORMAT_VERSION or meta["tokenizer"] != TOKENIZER_VERSION:
        raise other_version(path, f"format {meta['format']}, tokenizer {meta['tokenizer']}")
    for entry in meta["segments"]:
        if not (isinstance(entry, dict) and isinstance(entry.get("file"), str)
                and entry["file"].startswith(SEGMENT) and "/" not in entry["file"]
                and isinstance(entry.get("sha256"), str) and isinstance(entry.get("dead"), list)):
            raise corrupt(path, f"a segment entry is malformed: {str(entry)[:80]}")
    return meta


def write_manifest(path: Path, meta: dict[str, Any]) -> None:
    write_durably(path, lambda p: p.write_text(json.dumps(meta), encoding="utf-8"))


def remove_stale(directory: Path, keep: set[str | None]) -> None:
    """Delete manifests other than ``keep``, segments none of them names, crash leftovers.

    The manifest just written is always readable; the previous one is kept for a reader that
    picked it up just before the swap, unless nobody could read it (damaged, older format).
    """
    wanted: set[str] = set()
    for name in keep:
        if name is None:
            continue
        with contextlib.suppress(OSError, KnowledgeBaseError):  # unreadable: nobody can use it
            segments = read_manifest(directory / name)["segments"]
            wanted.update([name, *(entry["file"] for entry in segments)])
    for entry in directory.iterdir():
        ours = entry.name.startswith((STAGING, GENERATION, SEGMENT))
        if not ours or entry.name in wanted:
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):  # a leftover costs disk space, nothing else
                entry.unlink()


def corrupt(path: Path, cause: object) -> KnowledgeBaseError:
    return KnowledgeBaseError(f"the BM25 index in {path} is damaged ({cause}); {REBUILD_HINT}")


def other_version(path: Path, what: str) -> KnowledgeBaseError:
    return KnowledgeBaseError(
        f"the BM25 index in {path} was written by another verirag version ({what}); "
        f"{REBUILD_HINT}"
    )


def fsync(path: Path) -> None:
    """Flush to disk so a power cut cannot leave ``CURRENT`` naming empty files."""
    if path.is_dir() and os.name == "nt":
        return  # Windows cannot open a directory for fsync; NTFS journals the rename.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
