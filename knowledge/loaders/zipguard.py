"""Refuse ZIP containers (DOCX, XLSX) that would expand into more memory than they are worth.

python-docx and openpyxl read whole parts into memory, so a 40 KB upload holding a gigabyte of
compressed zeros would take the worker down. The ZIP central directory declares every member's
sizes; reading it decompresses nothing, so we check the totals and ratios there before any
library opens the file. What this leaves out: a crafted archive whose directory *lies* about
its sizes. zipfile's CRC check stops such a member at the end of a read, after the damage;
defending against that needs streaming decompression with a byte budget.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from knowledge.loaders.base import human_size, library_message
from verirag.errors import DocumentRejected

ZIP_MAGIC = b"PK\x03\x04"
MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_RATIO = 100.0
RATIO_MIN_BYTES = 10 * 1024 * 1024
MAX_MEMBERS = 10_000


def zip_listing(path: Path, name: str) -> bytes:
    """The ZIP magic and the member names, one a line: what loaders sniff OOXML files by."""
    with _open(path, name) as archive:
        names = archive.namelist()
    return ZIP_MAGIC + b"\n" + "\n".join(names).encode("utf-8", "replace")


def check_zip(
    path: Path,
    name: str,
    *,
    max_total: int = MAX_TOTAL_BYTES,
    max_ratio: float = MAX_RATIO,
    ratio_min_bytes: int = RATIO_MIN_BYTES,
) -> None:
    """Reject the archive if its declared contents are too large or suspiciously compressed."""
    with _open(path, name) as archive:
        members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise DocumentRejected(
            name, f"archive holds {len(members)} files (limit {MAX_MEMBERS}): possible zip bomb"
        )
    total = sum(m.file_size for m in members)
    if total > max_total:
        raise DocumentRejected(
            name,
            f"archive expands to {human_size(total)} (limit {human_size(max_total)}): "
            "possible zip bomb",
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > ratio_min_bytes and ratio > max_ratio:
            raise DocumentRejected(
                name,
                f"archive member {member.filename!r} is compressed {ratio:.0f}:1 "
                f"(limit {max_ratio:.0f}:1): possible zip bomb",
            )


def _open(path: Path, name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise DocumentRejected(
            name, f"corrupt or unreadable ZIP container ({library_message(exc, path, name)})"
        ) from exc
