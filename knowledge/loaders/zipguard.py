"""Refuse ZIP containers (DOCX, XLSX) that would expand into more memory than they are worth.

python-docx and openpyxl read whole parts into memory, so a 40 KB upload holding a gigabyte of
compressed zeros would take the worker down. The ZIP central directory declares every member's
sizes; reading it decompresses nothing, so we check the totals and ratios there first. A
crafted archive can *lie* in its directory, though, and zipfile's ``read()`` inflates a whole
member's compressed bytes in one call before cutting the result to the declared size: an
attack run saw peak memory grow by 0.9 GB that way. So every deflated member is then inflated
once more here, in 64 KB steps with a byte budget, and an archive whose members expand past
what they declare is refused before any library reads it.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from knowledge.loaders.base import human_size, library_message
from verirag.errors import DocumentRejected

ZIP_MAGIC = b"PK\x03\x04"
MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_RATIO = 100.0
RATIO_MIN_BYTES = 10 * 1024 * 1024
MAX_MEMBERS = 10_000
_STEP = 64 * 1024


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


    with _open(path, name) as archive:
        for member in members:
            if member.compress_type == zipfile.ZIP_DEFLATED:
                _inflate_within(archive, member, name, min(member.file_size, max_total))


def _inflate_within(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str,
                    budget: int) -> None:
    """Inflate ``member`` in bounded steps; refuse it when it yields more than ``budget``."""
    raw = zipfile.ZipInfo(member.filename, member.date_time)
    raw.header_offset, raw.flag_bits = member.header_offset, member.flag_bits
    raw.compress_type, raw.compress_size = zipfile.ZIP_STORED, member.compress_size
    raw.file_size = member.compress_size  # read the compressed bytes as they are
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    produced = 0
    try:
        with archive.open(raw) as stream:
            while chunk := stream.read(_STEP):
                while chunk:
                    produced += len(inflater.decompress(chunk, _STEP))
                    chunk = inflater.unconsumed_tail
                    if produced > budget:
                        raise DocumentRejected(
                            name, f"archive member {member.filename!r} expands past the "
                                  f"{human_size(member.file_size)} it declares: possible zip "
                                  "bomb")
    except DocumentRejected:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, RuntimeError) as exc:
        where = Path(archive.filename or name)
        raise DocumentRejected(
            name, f"corrupt or unreadable ZIP container ({library_message(exc, where, name)})"
        ) from exc


def _open(path: Path, name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise DocumentRejected(
            name, f"corrupt or unreadable ZIP container ({library_message(exc, path, name)})"
        ) from exc
