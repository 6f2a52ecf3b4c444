"""Files built to hurt the reader (found by an attack run), each refused or read safely."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from knowledge.loaders import load_document
from verirag.errors import DocumentRejected

MAX_BYTES = 50 * 1024 * 1024


def _lying_zip_bomb(path: Path, inflated: int) -> None:
    """A DOCX-shaped ZIP whose central directory says document.xml is 1,000 bytes, while its
    compressed data inflates to ``inflated`` bytes of zeros."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"\0" * inflated)
    data = bytearray(buf.getvalue())
    second_entry = data.find(b"PK\x01\x02", data.find(b"PK\x01\x02") + 4)
    struct.pack_into("<I", data, second_entry + 24, 1000)  # uncompressed size in the directory
    path.write_bytes(bytes(data))


def test_a_zip_bomb_that_understates_its_sizes_is_refused_without_inflating_it(
        tmp_path: Path) -> None:
    path = tmp_path / "minutes.docx"
    _lying_zip_bomb(path, 200 * 1024 * 1024)
    assert path.stat().st_size < 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(DocumentRejected, match="expands past the 1000 bytes it declares"):
            load_document(path, max_bytes=MAX_BYTES)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, f"peak {peak / 2**20:.0f} MB while checking"


def test_formula_cells_without_a_cached_value_show_the_formula(tmp_path: Path) -> None:
    """openpyxl (like many report generators) saves formulas without calculating them; the
    cell must not read as empty."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Limits"
    ws.append(["desk", "limit (GBP m)"])
    ws.append(["rates", 4.5])
    ws.append(["credit", 7.5])
    ws.append(["total", "=SUM(B2:B3)"])
    path = tmp_path / "limits.xlsx"
    wb.save(path)
    doc = load_document(path, max_bytes=MAX_BYTES)
    assert "=SUM(B2:B3)" in doc.text and "total" in doc.text and "4.5" in doc.text


def test_a_new_data_directory_and_database_are_private(tmp_path: Path) -> None:
    from knowledge.store import make_engine

    home = tmp_path / "new-home"
    engine = make_engine(f"sqlite:///{home / 'verirag.db'}")
    with engine.connect():
        pass
    engine.dispose()
    assert home.stat().st_mode & 0o777 == 0o700
    assert (home / "verirag.db").stat().st_mode & 0o777 == 0o600
