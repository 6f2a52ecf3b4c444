"""Property-based tests: whatever bytes or structure a file holds, a loader either reads it or
rejects it with one typed line, and the chunker takes whatever a loader gives it.

Nothing here may end in a traceback (an attack run saw ``RecursionError`` from 1,500 nested
``<div>``), and no file may take memory out of proportion to its size. Runs are derandomized
(the same examples every time) and bounded in number, so the suite stays fast and stable.
"""

from __future__ import annotations

import tracemalloc
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.pack import load_pack
from knowledge.chunking import chunk_document
from knowledge.loaders import load_document
from knowledge.loaders.html import MAX_NESTING
from knowledge.types import ParsedDocument
from verirag.errors import DocumentRejected

SUFFIXES = [".pdf", ".docx", ".xlsx", ".html", ".htm", ".md", ".csv", ".txt", ".json", ""]
FUZZ = settings(max_examples=40, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])
MAX_BYTES = 2 * 1024 * 1024
CHUNKING = load_pack("medical").chunking
# Peak Python allocations while reading one file: a fixed allowance plus a multiple of its
# size. Generous, but a decompression bomb or a quadratic blow-up lands far above it.
BASE_MB, PER_BYTE = 64, 400


def _write(tmp_path: Path, data: bytes, suffix: str) -> Path:
    path = tmp_path / f"fuzzed{suffix}"
    path.write_bytes(data)
    return path


def _read(tmp_path: Path, data: bytes, suffix: str) -> ParsedDocument | None:
    path = _write(tmp_path, data, suffix)
    tracemalloc.start()
    try:
        doc = load_document(path, max_bytes=MAX_BYTES)
        chunk_document(doc, CHUNKING)
    except DocumentRejected as exc:
        assert exc.reason and "\n" not in exc.reason.strip(), exc.reason
        doc = None
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < BASE_MB * 2**20 + PER_BYTE * len(data), f"{peak / 2**20:.0f} MB"
    return doc


@FUZZ
@given(data=st.binary(max_size=4096), suffix=st.sampled_from(SUFFIXES))
def test_arbitrary_bytes_are_read_or_rejected(tmp_path: Path, data: bytes, suffix: str) -> None:
    _read(tmp_path, data, suffix)


_SIGNATURES = {".pdf": b"%PDF-1.7\n", ".docx": b"PK\x03\x04", ".xlsx": b"PK\x03\x04",
               ".html": b"<!doctype html><html><body>", ".md": b"# ", ".csv": b"a,b\n"}


@FUZZ
@given(suffix=st.sampled_from(sorted(_SIGNATURES)), tail=st.binary(max_size=4096))
def test_a_right_signature_with_garbage_after_it(tmp_path: Path, suffix: str,
                                                 tail: bytes) -> None:
    _read(tmp_path, _SIGNATURES[suffix] + tail, suffix)


@pytest.mark.parametrize("tag", ["div", "ul><li", "table><tr><td", "blockquote", "b"])
@pytest.mark.parametrize("depth", [1, 200, 1500, 20000])
def test_deeply_nested_html(tmp_path: Path, depth: int, tag: str) -> None:
    """Read up to a nesting no real page reaches; refused in one line beyond it (the parser
    slows down with the square of the depth)."""
    open_tags = "".join(f"<{t}>" for t in tag.split("><")) * depth
    html = f"<html><body>{open_tags}Visiting hours are 14:00 to 20:00.</body></html>"
    if depth > MAX_NESTING:
        with pytest.raises(DocumentRejected, match=f"more than {MAX_NESTING} levels deep"):
            load_document(_write(tmp_path, html.encode(), ".html"), max_bytes=MAX_BYTES)
        return
    doc = _read(tmp_path, html.encode(), ".html")
    assert doc is not None and "14:00" in doc.text


_cell = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)


@FUZZ
@given(rows=st.lists(st.lists(_cell, min_size=1, max_size=6), min_size=1, max_size=30),
       heading=st.text(max_size=60), sep=st.sampled_from([",", ";", "\t", "|"]))
def test_tables_and_headings_of_any_text(tmp_path: Path, rows: list[list[str]], heading: str,
                                         sep: str) -> None:
    body = "\n".join(sep.join(r) for r in rows)
    _read(tmp_path, body.encode("utf-8"), ".csv")
    md = f"# {heading}\n\n" + "\n".join("| " + " | ".join(r) + " |" for r in rows)
    _read(tmp_path, md.encode("utf-8"), ".md")


@FUZZ
@given(names=st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=8),
       payload=st.binary(max_size=2048))
def test_zip_containers_with_any_members(tmp_path: Path, names: list[str],
                                         payload: bytes) -> None:
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in names:
            zf.writestr(name.replace("\x00", "_"), payload)
    for suffix in (".docx", ".xlsx"):
        _read(tmp_path, buf.getvalue(), suffix)


def test_the_html_that_crashed_the_attack_run(tmp_path: Path) -> None:
    html = "<html><body>" + "<div>" * 1500 + "Rub hands for 20-30 seconds." + "</div>" * 1500
    assert _read(tmp_path, html.encode(), ".html") is None, "refused in one line, no traceback"
    shallow = "<html><body>" + "<div>" * 400 + "Rub for 20-30 seconds." + "</div>" * 400
    doc = _read(tmp_path, shallow.encode(), ".html")
    assert doc is not None and "20-30 seconds" in doc.text


@pytest.mark.parametrize("suffix", [".md", ".txt", ".html"])
def test_a_file_of_only_separators_and_marks(tmp_path: Path, suffix: str) -> None:
    _read(tmp_path, ("\u2028\u2029\x85\u200b|---|\n# \n" * 200).encode(), suffix)
